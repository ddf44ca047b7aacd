"""The store's rules, written once in SQL that SQLite and PostgreSQL both run.

:class:`SQLStore` implements :class:`~linkgap.service.store.Store`; a subclass
per database (``sqlite_store.SQLiteStore``, ``pg_store.PostgresStore``) supplies
connections, transactions and the few fragments where the two differ:

- ``_write()`` is a transaction that serialises what must be serialised. On
  SQLite it is ``BEGIN IMMEDIATE`` (the database's one write lock, taken before
  anything is read); on PostgreSQL a plain transaction in which the rows that
  decide are locked: ``FOR UPDATE`` on the account being charged (``_FOR_UPDATE``),
  ``FOR UPDATE OF r SKIP LOCKED`` on a run being claimed or reaped
  (``_SKIP_LOCKED``), an advisory lock per API key for its rate limit
  (``_lock_name``).
- SQL is written with ``?`` placeholders; the PostgreSQL store turns them into
  ``%s``. Every statement here runs unchanged on both, except the fragments above
  and ``_NEXT_SEQ`` (the queue position of a new run).

Invariants, whatever the concurrency or a crash: a balance never goes below
zero; a charge, the row it pays for and (with an Idempotency-Key) the recorded
answer commit together; a run is computed under one live lease at a time and
stores one result; a rate-limit window never counts more than its limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from linkgap.errors import Conflict, IdempotencyConflict, InsufficientCredits, NotFound
from linkgap.service import faults
from linkgap.service.store import (
    AccountRecord,
    AttemptRecord,
    Charge,
    DeliveryAttemptRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyWrite,
    KeyRecord,
    RateLease,
    Replay,
    RunRecord,
)

__all__ = ["SQLStore"]

Row = Any  # sqlite3.Row or a psycopg dict row: both are read by column name


def _account(row: Row) -> AccountRecord:
    return AccountRecord(
        id=row["id"], name=row["name"], created_at=row["created_at"],
        monthly_quota=row["monthly_quota"], monthly_used=row["monthly_used"],
        quota_period=row["quota_period"], topup_balance=row["topup_balance"],
    )


def _key(row: Row) -> KeyRecord:
    return KeyRecord(
        id=row["id"], account_id=row["account_id"], name=row["name"],
        secret_hash=row["secret_hash"], created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def _run(row: Row) -> RunRecord:
    return RunRecord(
        id=row["id"], account_id=row["account_id"], status=row["status"],
        domain=row["domain"], competitors=json.loads(row["competitors"]), mode=row["mode"],
        min_overlap=row["min_overlap"], limit=row["limit"], created_at=row["created_at"],
        credits_charged=row["credits_charged"], started_at=row["started_at"],
        finished_at=row["finished_at"], charge_quota=row["charge_quota"],
        charge_topup=row["charge_topup"], charge_period=row["charge_period"],
        refunded=bool(row["refunded"]), index_version=row["index_version"],
        prospect_count=row["prospect_count"], total_found=row["total_found"],
        warnings=_json(row["warnings"]), error=_json(row["error"]), attempts=row["attempts"],
        lease_owner=row["lease_owner"], lease_expires_at=row["lease_expires_at"],
        expired_leases=row["expired_leases"], callback_url=row["callback_url"],
        filters=_json(row["filters"]), exclude=_json(row["exclude_domains"]) or [],
    )


def _delivery(row: Row) -> DeliveryRecord:
    return DeliveryRecord(
        run_id=row["run_id"], account_id=row["account_id"], url=row["url"],
        status=row["status"], created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"], first_attempt_at=row["first_attempt_at"],
        attempts=row["attempts"], last_status=row["last_status"], last_error=row["last_error"],
        lease_owner=row["lease_owner"], lease_expires_at=row["lease_expires_at"],
        finished_at=row["finished_at"],
    )


def _delivery_attempt(row: Row) -> DeliveryAttemptRecord:
    return DeliveryAttemptRecord(
        run_id=row["run_id"], attempt=row["attempt"], worker=row["worker"],
        started_at=row["started_at"], finished_at=row["finished_at"],
        http_status=row["http_status"], outcome=row["outcome"], error=row["error"],
    )


def _idempotency(row: Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        fingerprint=row["fingerprint"], state=row["state"], created_at=row["created_at"],
        status=row["status"], body=_json(row["body"]),
    )


def _attempt(row: Row) -> AttemptRecord:
    return AttemptRecord(
        run_id=row["run_id"], attempt=row["attempt"], worker=row["worker"],
        started_at=row["started_at"], finished_at=row["finished_at"], outcome=row["outcome"],
    )


_DELIVERY_INTERRUPTED = ("the sender stopped before the attempt ended (its lease expired); "
                         "another sender took the delivery over")

_RUN_INTERRUPTED = ("the run's worker stopped {n} times while computing it (its lease "
                    "expired each time); credits refunded")


class SQLStore:
    """The Store rules over a DB-API connection; subclasses provide the connections."""

    #: Appended to a SELECT of the account row a charge reads (PostgreSQL: `` FOR UPDATE``).
    _FOR_UPDATE = ""
    #: Appended to the SELECT that picks runs to claim or reap (PostgreSQL: skip locked rows).
    _SKIP_LOCKED = ""
    #: The queue position of a new run (PostgreSQL: its identity column's ``DEFAULT``).
    _NEXT_SEQ = "(SELECT coalesce(max(seq), 0) + 1 FROM runs)"

    # what a subclass provides ------------------------------------------------
    def _write(self, durable: bool = True) -> AbstractContextManager[Any]:
        """A write transaction (committed when the block ends, rolled back on error).

        ``durable=False`` for writes that may be lost if the database server itself
        crashes, because losing them is harmless: a rate-limit count, a claim or lease
        renewal (the run is claimed again), a completion (the run is computed again).
        Writes that move credits or record an answer are always durable."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        """A connection for reads."""
        raise NotImplementedError

    def _x(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement; a cursor."""
        raise NotImplementedError

    def _xmany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for each parameter row."""
        raise NotImplementedError

    def _skip_locked(self, alias: str) -> str:
        """Appended to a SELECT that picks rows of ``alias`` to claim (PostgreSQL: lock them,
        skipping rows another transaction holds; SQLite: the write lock already serialises)."""
        return ""

    def _lock_name(self, conn: Any, name: str) -> None:
        """Serialise transactions on ``name`` until this one ends (SQLite: already are)."""

    def _notify_queued(self, conn: Any) -> None:
        """Tell waiting workers elsewhere that a run was queued, at commit."""

    # helpers ------------------------------------------------------------------
    def _one(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._x(conn, sql, params).fetchone()

    def _rows(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._x(conn, sql, params).fetchall())

    def _read_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._read() as conn:
            return self._one(conn, sql, params)

    def _read_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._read() as conn:
            return self._rows(conn, sql, params)

    # credits (inside a write transaction) -------------------------------------
    def _locked_account(self, conn: Any, account_id: str) -> Row:
        row = self._one(conn, "SELECT * FROM accounts WHERE id = ?" + self._FOR_UPDATE,
                        (account_id,))
        if row is None:
            raise NotFound("account not found")
        return row

    def _ledger(self, conn: Any, account_id: str, now: str, kind: str, ref: str | None,
                from_quota: int, from_topup: int, period: str) -> None:
        self._x(conn, "INSERT INTO ledger (account_id, created_at, kind, ref, from_quota, "
                      "from_topup, period) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account_id, now, kind, ref, from_quota, from_topup, period))

    def _charge(self, conn: Any, account_id: str, amount: int, period: str, kind: str,
                ref: str | None, now: str) -> Charge:
        row = self._locked_account(conn, account_id)
        # The quota resets lazily: usage recorded for an earlier month no longer counts.
        used = row["monthly_used"] if row["quota_period"] == period else 0
        quota_left = max(0, row["monthly_quota"] - used)
        available = quota_left + row["topup_balance"]
        if amount > available:
            raise InsufficientCredits(
                f"this request costs {amount} credits but the account has {available}",
                details={"required": amount, "available": available},
            )
        from_quota = min(amount, quota_left)
        from_topup = amount - from_quota
        self._x(conn, "UPDATE accounts SET monthly_used = ?, quota_period = ?, "
                      "topup_balance = topup_balance - ? WHERE id = ?",
                (used + from_quota, period, from_topup, account_id))
        if amount:
            self._ledger(conn, account_id, now, kind, ref, -from_quota, -from_topup, period)
        return Charge(amount, from_quota, from_topup, period)

    def _refund(self, conn: Any, run: Row, period: str, now: str) -> None:
        # Top-up credits go back to the top-up balance. Quota credits go back to the quota
        # only while the month they were taken from is still the current one: once the quota
        # has reset, the month's usage no longer counts, so returning them is moot.
        acct = self._locked_account(conn, run["account_id"])
        from_quota = run["charge_quota"] if run["charge_period"] == period else 0
        if not (from_quota and acct["quota_period"] == period):
            from_quota = 0
        from_topup = run["charge_topup"]
        self._x(conn, "UPDATE accounts SET monthly_used = ?, topup_balance = topup_balance + ? "
                      "WHERE id = ?",
                (max(0, acct["monthly_used"] - from_quota), from_topup, run["account_id"]))
        self._x(conn, "UPDATE runs SET refunded = 1 WHERE id = ?", (run["id"],))
        self._ledger(conn, run["account_id"], now, "refund", run["id"], from_quota, from_topup,
                     run["charge_period"])

    # idempotency (inside a write transaction) ---------------------------------
    def _claim_key(self, conn: Any, account_id: str, idem: IdempotencyWrite) -> None:
        """Take the key for this request, or raise Replay / IdempotencyConflict.

        On PostgreSQL the INSERT waits while a concurrent transaction holds the same key
        uncommitted: a repeat waits for the first request, then replays its answer (or,
        when the first rolled back, goes ahead as new)."""
        self._x(conn, "DELETE FROM idempotency WHERE account_id = ? AND key = ? AND "
                      "created_at < ?", (account_id, idem.key, idem.expired_before))
        taken = self._one(
            conn, "INSERT INTO idempotency (account_id, key, fingerprint, state, created_at) "
                  "VALUES (?, ?, ?, 'done', ?) ON CONFLICT (account_id, key) DO NOTHING "
                  "RETURNING key", (account_id, idem.key, idem.fingerprint, idem.now))
        if taken is not None:
            return
        row = self._one(conn, "SELECT * FROM idempotency WHERE account_id = ? AND key = ?",
                        (account_id, idem.key))
        record = _idempotency(row)
        if record.fingerprint != idem.fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body")
        raise Replay(record)

    def _answer_key(self, conn: Any, account_id: str, idem: IdempotencyWrite,
                    charged: int) -> None:
        status, body = idem.render(charged)
        self._x(conn, "UPDATE idempotency SET status = ?, body = ? WHERE account_id = ? AND "
                      "key = ?", (status, json.dumps(body), account_id, idem.key))

    # accounts -----------------------------------------------------------------
    def create_account(self, account: AccountRecord) -> None:
        """Insert an account; Conflict when the name is taken."""
        with self._write() as conn:
            made = self._one(
                conn, "INSERT INTO accounts (id, name, created_at, monthly_quota, "
                      "monthly_used, quota_period, topup_balance) VALUES (?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT DO NOTHING RETURNING id",
                (account.id, account.name, account.created_at, account.monthly_quota,
                 account.monthly_used, account.quota_period, account.topup_balance))
            if made is None:
                raise Conflict(f"an account named {account.name!r} already exists",
                               param="name")
            if account.topup_balance:
                self._ledger(conn, account.id, account.created_at, "topup", None, 0,
                             account.topup_balance, account.quota_period)

    def account_by_id(self, account_id: str) -> AccountRecord | None:
        """The account with this id, or None."""
        row = self._read_one("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return _account(row) if row else None

    def account_by_name(self, name: str) -> AccountRecord | None:
        """The account with this name, or None."""
        row = self._read_one("SELECT * FROM accounts WHERE name = ?", (name,))
        return _account(row) if row else None

    def list_accounts(self) -> list[AccountRecord]:
        """Every account, by name."""
        return [_account(r) for r in self._read_all("SELECT * FROM accounts ORDER BY name")]

    def add_topup(self, account_id: str, amount: int, now: str) -> AccountRecord:
        """Add top-up credits (atomically) and return the updated account."""
        with self._write() as conn:
            row = self._one(conn, "UPDATE accounts SET topup_balance = topup_balance + ? "
                                  "WHERE id = ? RETURNING *", (amount, account_id))
            if row is None:
                raise NotFound("account not found")
            self._ledger(conn, account_id, now, "topup", None, 0, amount, "")
        return _account(row)

    # keys ---------------------------------------------------------------------
    def insert_key(self, key: KeyRecord) -> bool:
        """Insert a key; False when its public id is already taken."""
        with self._write() as conn:
            made = self._one(
                conn, "INSERT INTO api_keys (id, account_id, name, secret_hash, created_at, "
                      "revoked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (key.id, key.account_id, key.name, key.secret_hash, key.created_at,
                 key.revoked_at))
        return made is not None

    def key_by_id(self, key_id: str) -> KeyRecord | None:
        """The key with this public id, or None."""
        row = self._read_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    def list_keys(self, account_id: str | None) -> list[KeyRecord]:
        """Keys (of one account, or all), oldest first."""
        if account_id is None:
            rows = self._read_all("SELECT * FROM api_keys ORDER BY created_at, id")
        else:
            rows = self._read_all("SELECT * FROM api_keys WHERE account_id = ? "
                                  "ORDER BY created_at, id", (account_id,))
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: str) -> KeyRecord | None:
        """Mark a key revoked (keeping the first revocation time); None when unknown."""
        with self._write() as conn:
            self._x(conn, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND "
                          "revoked_at IS NULL", (now, key_id))
            row = self._one(conn, "SELECT * FROM api_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    # runs ---------------------------------------------------------------------
    def insert_run(self, run: RunRecord, period: str,
                   idempotency: IdempotencyWrite | None = None) -> Charge:
        """Record the key's answer, charge, and queue the run: one transaction."""
        with self._write() as conn:
            faults.reach("run.begin")
            if idempotency is not None:
                self._claim_key(conn, run.account_id, idempotency)
                faults.reach("run.idempotency_recorded")
            charge = self._charge(conn, run.account_id, run.credits_charged, period, "run",
                                  run.id, run.created_at)
            faults.reach("run.charged")
            self._x(conn,
                    'INSERT INTO runs (id, account_id, status, domain, competitors, mode, '
                    'min_overlap, "limit", created_at, credits_charged, charge_quota, '
                    'charge_topup, charge_period, callback_url, filters, exclude_domains, seq) '
                    f'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {self._NEXT_SEQ})',
                    (run.id, run.account_id, run.status, run.domain,
                     json.dumps(run.competitors), run.mode, run.min_overlap, run.limit,
                     run.created_at, run.credits_charged, charge.from_quota, charge.from_topup,
                     charge.period, run.callback_url,
                     None if run.filters is None else json.dumps(run.filters),
                     json.dumps(list(run.exclude))))
            if idempotency is not None:
                self._answer_key(conn, run.account_id, idempotency, run.credits_charged)
            self._notify_queued(conn)
            faults.reach("run.inserted")
        faults.reach("run.committed")
        return charge

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        row = self._read_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    def list_runs(self, account_id: str, status: str | None, offset: int, limit: int,
                  expired_before: str | None = None) -> tuple[list[RunRecord], int]:
        """One page of an account's runs, newest first (ties by id ascending), and the total.
        A completed run finished before ``expired_before`` is listed as expired."""
        where = "account_id = ?"
        args: list[Any] = [account_id]
        if status is not None and expired_before is not None and status == "expired":
            where += " AND (status = 'expired' OR (status = 'completed' AND finished_at < ?))"
            args.append(expired_before)
        elif status is not None and expired_before is not None and status == "completed":
            where += " AND status = 'completed' AND finished_at >= ?"
            args.append(expired_before)
        elif status is not None:
            where += " AND status = ?"
            args.append(status)
        with self._read() as conn:
            # The total rides along with the page, so the two agree.
            rows = self._rows(conn, f"SELECT *, count(*) OVER () AS total_rows FROM runs "
                                   f"WHERE {where} ORDER BY created_at DESC, id ASC "
                                   "LIMIT ? OFFSET ?", [*args, limit, offset])
            if rows:
                total = int(rows[0]["total_rows"])
            else:
                total = int(self._one(conn, f"SELECT count(*) AS n FROM runs WHERE {where}",
                                      args)["n"]) if offset else 0
        return [_run(r) for r in rows], total

    def claim_run(self, now: str, worker: str = "", lease_until: str | None = None
                  ) -> RunRecord | None:
        """Take the next queued run under a lease: round-robin across accounts (the one
        served longest ago first), oldest first within one."""
        if self._read_one("SELECT 1 AS x FROM runs WHERE status = 'queued' LIMIT 1") is None:
            return None  # the common idle case, without taking a write lock
        with self._write(durable=False) as conn:
            pick = self._one(conn, "SELECT r.id FROM runs r JOIN accounts a ON "
                                   "a.id = r.account_id WHERE r.status = 'queued' "
                                   "ORDER BY a.claim_turn, r.seq LIMIT 1" + self._SKIP_LOCKED)
            if pick is None:
                return None
            row = self._one(conn, "UPDATE runs SET status = 'running', started_at = ?, "
                                  "attempts = attempts + 1, lease_owner = ?, "
                                  "lease_expires_at = ? WHERE id = ? RETURNING *",
                            (now, worker, lease_until or now, pick["id"]))
            self._x(conn, "INSERT INTO run_attempts (run_id, attempt, worker, started_at) "
                          "VALUES (?, ?, ?, ?)", (row["id"], row["attempts"], worker, now))
            self._x(conn, "UPDATE accounts SET claim_turn = "
                          "(SELECT max(claim_turn) FROM accounts) + 1 WHERE id = ?",
                    (row["account_id"],))
        faults.reach("claim.committed")
        return _run(row)

    def renew_lease(self, run_id: str, worker: str, lease_until: str) -> bool:
        """Extend ``worker``'s lease on a running run; False when it holds it no more."""
        with self._write(durable=False) as conn:
            cur = self._x(conn, "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND "
                                "status = 'running' AND lease_owner = ?",
                          (lease_until, run_id, worker))
            return bool(cur.rowcount == 1)

    def reap_expired(self, now: str, max_expired: int, period: str) -> tuple[int, int]:
        """Requeue runs whose lease expired (their worker died), or fail and refund them
        once ``max_expired`` leases have expired."""
        expired_sql = ("SELECT r.* FROM runs r WHERE r.status = 'running' AND "
                       "r.lease_expires_at < ?")
        if self._read_one(expired_sql + " LIMIT 1", (now,)) is None:
            return 0, 0
        requeued = failed = 0
        with self._write() as conn:
            for row in self._rows(conn, expired_sql + self._SKIP_LOCKED, (now,)):
                self._x(conn, "UPDATE run_attempts SET finished_at = ?, outcome = "
                              "'lease_expired' WHERE run_id = ? AND attempt = ? AND "
                              "outcome IS NULL", (now, row["id"], row["attempts"]))
                expiries = row["expired_leases"] + 1
                self._x(conn, "UPDATE runs SET expired_leases = ?, lease_owner = NULL, "
                              "lease_expires_at = NULL WHERE id = ?", (expiries, row["id"]))
                if expiries >= max_expired:
                    self._fail(conn, row, now, {
                        "code": "run_interrupted",
                        "message": _RUN_INTERRUPTED.format(n=expiries)}, period)
                    failed += 1
                else:
                    self._x(conn, "UPDATE runs SET status = 'queued', started_at = NULL "
                                  "WHERE id = ?", (row["id"],))
                    requeued += 1
            if requeued:
                self._notify_queued(conn)
        return requeued, failed

    def complete_run(self, run_id: str, now: str, index_version: str, prospect_count: int,
                     total_found: int, warnings: list[dict[str, Any]], result: bytes,
                     worker: str | None = None, links: bytes | None = None) -> bool:
        """Store the frozen result (and the links frozen with it) and mark the run
        completed, if ``worker`` still holds its lease (any running run when ``worker``
        is None)."""
        owner, args = ("", ()) if worker is None else (" AND lease_owner = ?", (worker,))
        with self._write(durable=False) as conn:
            row = self._one(
                conn, "UPDATE runs SET status = 'completed', finished_at = ?, "
                      "index_version = ?, prospect_count = ?, total_found = ?, warnings = ?, "
                      "error = NULL, lease_owner = NULL, lease_expires_at = NULL "
                      f"WHERE id = ? AND status = 'running'{owner} "
                      "RETURNING attempts, account_id, callback_url",
                (now, index_version, prospect_count, total_found, json.dumps(warnings), run_id,
                 *args))
            if row is None:
                return False
            self._x(conn, "INSERT INTO run_results (run_id, result) VALUES (?, ?) "
                          "ON CONFLICT (run_id) DO UPDATE SET result = excluded.result",
                    (run_id, result))
            if links is not None:
                self._x(conn, "INSERT INTO run_links (run_id, links) VALUES (?, ?) "
                              "ON CONFLICT (run_id) DO UPDATE SET links = excluded.links",
                        (run_id, links))
            self._x(conn, "UPDATE run_attempts SET finished_at = ?, outcome = 'completed' "
                          "WHERE run_id = ? AND attempt = ?", (now, run_id, row["attempts"]))
            self._queue_delivery(conn, run_id, row, now)
        return True

    def fail_run(self, run_id: str, now: str, error: dict[str, Any], period: str,
                 worker: str | None = None) -> bool:
        """Mark a queued/running run failed and refund its charge where it was taken from."""
        with self._write() as conn:
            row = self._one(conn, "SELECT * FROM runs WHERE id = ?" + self._FOR_UPDATE,
                            (run_id,))
            if row is None or row["status"] not in ("queued", "running"):
                return False
            if worker is not None and (row["status"] != "running"
                                       or row["lease_owner"] != worker):
                return False
            self._fail(conn, row, now, error, period)
        return True

    def _fail(self, conn: Any, row: Row, now: str, error: dict[str, Any], period: str) -> None:
        self._x(conn, "UPDATE runs SET status = 'failed', finished_at = ?, error = ?, "
                      "lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
                (now, json.dumps(error), row["id"]))
        self._x(conn, "UPDATE run_attempts SET finished_at = ?, outcome = 'failed' "
                      "WHERE run_id = ? AND attempt = ? AND outcome IS NULL",
                (now, row["id"], row["attempts"]))
        if not row["refunded"] and row["credits_charged"] > 0:
            self._refund(conn, row, period, now)
        self._queue_delivery(conn, row["id"], row, now)

    def _queue_delivery(self, conn: Any, run_id: str, row: Row, now: str) -> None:
        """The run just finished: if it has a callback_url, its webhook is due now (in the
        transaction that finished it, so a delivery is never lost)."""
        if row["callback_url"] is None:
            return
        self._x(conn, "INSERT INTO webhook_deliveries (run_id, account_id, url, status, "
                      "created_at, next_attempt_at) VALUES (?, ?, ?, 'pending', ?, ?) "
                      "ON CONFLICT (run_id) DO NOTHING",
                (run_id, row["account_id"], row["callback_url"], now, now))

    def run_attempts(self, run_id: str) -> list[AttemptRecord]:
        """Every claim of the run, first first."""
        rows = self._read_all("SELECT * FROM run_attempts WHERE run_id = ? ORDER BY attempt",
                              (run_id,))
        return [_attempt(r) for r in rows]

    def run_result(self, run_id: str) -> bytes | None:
        """The frozen result bytes of a completed run."""
        row = self._read_one("SELECT result FROM run_results WHERE run_id = ?", (run_id,))
        return bytes(row["result"]) if row else None

    def run_links(self, run_id: str) -> bytes | None:
        """The links frozen with a completed run (None when it has none)."""
        row = self._read_one("SELECT links FROM run_links WHERE run_id = ?", (run_id,))
        return bytes(row["links"]) if row else None

    def expire_runs(self, finished_before: str) -> int:
        """Delete the results of runs completed before ``finished_before``; mark them expired."""
        old = "SELECT id FROM runs WHERE status = 'completed' AND finished_at < ?"
        if self._read_one(old + " LIMIT 1", (finished_before,)) is None:
            return 0
        with self._write() as conn:
            self._x(conn, f"DELETE FROM run_results WHERE run_id IN ({old})",
                    (finished_before,))
            self._x(conn, f"DELETE FROM run_links WHERE run_id IN ({old})",
                    (finished_before,))
            cur = self._x(conn, "UPDATE runs SET status = 'expired' WHERE status = "
                                "'completed' AND finished_at < ?", (finished_before,))
            return int(cur.rowcount)

    def purge(self, idempotency_before: str, rate_hits_before: float) -> None:
        """Forget idempotency records and rate-limit hits older than these."""
        with self._write() as conn:
            self._x(conn, "DELETE FROM idempotency WHERE created_at < ?",
                    (idempotency_before,))
            self._x(conn, "DELETE FROM rate_hits WHERE at < ?", (rate_hits_before,))

    # webhooks -----------------------------------------------------------------
    def webhook_secret(self, account_id: str, fresh: str, now: str, rotate: bool) -> str:
        """The account's secret, ``fresh`` when it has none (or with ``rotate``)."""
        conflict = ("DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at"
                    if rotate else "DO NOTHING")
        with self._write() as conn:
            self._locked_account(conn, account_id)
            self._x(conn, "INSERT INTO webhook_secrets (account_id, secret, created_at) "
                          f"VALUES (?, ?, ?) ON CONFLICT (account_id) {conflict}",
                    (account_id, fresh, now))
            row = self._one(conn, "SELECT secret FROM webhook_secrets WHERE account_id = ?",
                            (account_id,))
        return str(row["secret"])

    def claim_delivery(self, now: str, worker: str, lease_until: str) -> DeliveryRecord | None:
        """Take the pending delivery due longest ago whose lease (if any) has expired."""
        due = ("SELECT d.run_id, d.attempts, d.lease_owner FROM webhook_deliveries d "
               "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND "
               "(d.lease_expires_at IS NULL OR d.lease_expires_at < ?) "
               "ORDER BY d.next_attempt_at, d.run_id LIMIT 1")
        if self._read_one(due, (now, now)) is None:
            return None  # the common idle case, without taking a write lock
        with self._write(durable=False) as conn:
            pick = self._one(conn, due + self._skip_locked("d"), (now, now))
            if pick is None:
                return None
            if pick["lease_owner"] is not None:
                self._x(conn, "UPDATE webhook_attempts SET finished_at = ?, outcome = "
                              "'interrupted', error = ? WHERE run_id = ? AND attempt = ? AND "
                              "outcome IS NULL",
                        (now, _DELIVERY_INTERRUPTED, pick["run_id"], pick["attempts"]))
            row = self._one(conn, "UPDATE webhook_deliveries SET attempts = attempts + 1, "
                                  "lease_owner = ?, lease_expires_at = ?, first_attempt_at = "
                                  "coalesce(first_attempt_at, ?) WHERE run_id = ? RETURNING *",
                            (worker, lease_until, now, pick["run_id"]))
            self._x(conn, "INSERT INTO webhook_attempts (run_id, attempt, worker, started_at) "
                          "VALUES (?, ?, ?, ?)", (row["run_id"], row["attempts"], worker, now))
        return _delivery(row)

    def finish_delivery(self, run_id: str, attempt: int, worker: str, now: str, *,
                        delivered: bool, http_status: int | None, error: str | None,
                        retry_at: str | None) -> bool:
        """Record attempt ``attempt``'s outcome, if ``worker`` still holds it."""
        outcome = "delivered" if delivered else "failed"
        if delivered:
            status, next_at, finished = "delivered", None, now
        elif retry_at is not None:
            status, next_at, finished = "pending", retry_at, None
        else:
            status, next_at, finished = "failed", None, now
        with self._write() as conn:
            row = self._one(
                conn, "UPDATE webhook_deliveries SET status = ?, "
                      "next_attempt_at = coalesce(?, next_attempt_at), last_status = ?, "
                      "last_error = ?, finished_at = ?, lease_owner = NULL, "
                      "lease_expires_at = NULL WHERE run_id = ? AND status = 'pending' AND "
                      "lease_owner = ? AND attempts = ? RETURNING run_id",
                (status, next_at, http_status, error, finished, run_id, worker, attempt))
            if row is None:
                return False
            self._x(conn, "UPDATE webhook_attempts SET finished_at = ?, http_status = ?, "
                          "outcome = ?, error = ? WHERE run_id = ? AND attempt = ?",
                    (now, http_status, outcome, error, run_id, attempt))
        return True

    def deliveries(self, run_ids: list[str]) -> dict[str, DeliveryRecord]:
        """The deliveries of these runs (runs without one are left out)."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        rows = self._read_all(f"SELECT * FROM webhook_deliveries WHERE run_id IN ({marks})",
                              list(run_ids))
        return {r["run_id"]: _delivery(r) for r in rows}

    def delivery_attempts(self, run_id: str) -> list[DeliveryAttemptRecord]:
        """Every attempt at the run's delivery, first first."""
        rows = self._read_all("SELECT * FROM webhook_attempts WHERE run_id = ? "
                              "ORDER BY attempt", (run_id,))
        return [_delivery_attempt(r) for r in rows]

    # domain metrics -----------------------------------------------------------
    def charge_metrics(self, account_id: str, index_version: str, domains: list[str],
                       cost_each: int, period: str, now: str,
                       idempotency: IdempotencyWrite | None = None) -> tuple[int, set[str]]:
        """Charge per domain not already looked up (account + index version), all or nothing."""
        with self._write() as conn:
            if idempotency is not None:
                self._claim_key(conn, account_id, idempotency)
            # Lock the account before reading its cache, so two concurrent look-ups of the
            # same domain cannot both miss it and both pay.
            self._locked_account(conn, account_id)
            hits: set[str] = set()
            if domains:
                marks = ",".join("?" * len(domains))
                hits = {r["domain"] for r in self._rows(
                    conn, f"SELECT domain FROM metrics_cache WHERE account_id = ? AND "
                          f"index_version = ? AND domain IN ({marks})",
                    [account_id, index_version, *domains])}
            fresh = [d for d in domains if d not in hits]
            amount = cost_each * len(fresh)
            self._charge(conn, account_id, amount, period, "metrics", index_version, now)
            if fresh:
                self._xmany(conn, "INSERT INTO metrics_cache (account_id, index_version, "
                                  "domain, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            [(account_id, index_version, d, now) for d in fresh])
            if idempotency is not None:
                self._answer_key(conn, account_id, idempotency, amount)
        return amount, hits

    def charge_credits(self, account_id: str, amount: int, kind: str, ref: str | None,
                       period: str, now: str) -> int:
        """Take ``amount`` credits for one look-up, all or nothing."""
        with self._write() as conn:
            return self._charge(conn, account_id, amount, period, kind, ref, now).amount

    # idempotency ----------------------------------------------------------------
    def idempotency_get(self, account_id: str, key: str,
                        expired_before: str) -> IdempotencyRecord | None:
        """The record of the key (None when absent or forgotten)."""
        row = self._read_one("SELECT * FROM idempotency WHERE account_id = ? AND key = ? AND "
                             "created_at >= ?", (account_id, key, expired_before))
        return _idempotency(row) if row else None

    def idempotency_record(self, account_id: str, key: str, fingerprint: str, now: str,
                           expired_before: str, status: int,
                           body: dict[str, Any]) -> IdempotencyRecord | None:
        """Record an answer that moved nothing; the existing record if one came first."""
        with self._write() as conn:
            self._x(conn, "DELETE FROM idempotency WHERE account_id = ? AND key = ? AND "
                          "created_at < ?", (account_id, key, expired_before))
            made = self._one(
                conn, "INSERT INTO idempotency (account_id, key, fingerprint, state, status, "
                      "body, created_at) VALUES (?, ?, ?, 'done', ?, ?, ?) "
                      "ON CONFLICT (account_id, key) DO NOTHING RETURNING key",
                (account_id, key, fingerprint, status, json.dumps(body), now))
            if made is not None:
                return None
            row = self._one(conn, "SELECT * FROM idempotency WHERE account_id = ? AND key = ?",
                            (account_id, key))
        return _idempotency(row)

    # rate limits ------------------------------------------------------------------
    def rate_lease(self, key_id: str, now: float, window: float, limit: int,
                   want: int) -> RateLease:
        """Count up to ``want`` requests at ``now`` as far as the window has room (atomically)."""
        with self._write(durable=False) as conn:
            self._lock_name(conn, "linkgap.rate:" + key_id)
            self._x(conn, "DELETE FROM rate_hits WHERE key_id = ? AND at <= ?",
                    (key_id, now - window))
            row = self._one(conn, "SELECT coalesce(sum(n), 0) AS n, min(at) AS oldest "
                                  "FROM rate_hits WHERE key_id = ?", (key_id,))
            count = int(row["n"])
            oldest = None if row["oldest"] is None else float(row["oldest"])
            granted = max(0, min(want, limit - count))
            if granted:
                # one row for the whole lease: its requests share their time
                self._x(conn, "INSERT INTO rate_hits (key_id, at, n) VALUES (?, ?, ?)",
                        (key_id, now, granted))
                count += granted
                oldest = now if oldest is None else oldest
        return RateLease(granted, count, oldest)

    def rate_return(self, key_id: str, at: float, unused: int) -> None:
        """Uncount ``unused`` of the requests counted for ``key_id`` at ``at``."""
        with self._write(durable=False) as conn:
            self._lock_name(conn, "linkgap.rate:" + key_id)
            # Requests of one key at one time are indistinguishable (rows written before
            # schema 5 count one each): keep all but ``unused``, in one row.
            row = self._one(conn, "SELECT coalesce(sum(n), 0) AS n FROM rate_hits "
                                  "WHERE key_id = ? AND at = ?", (key_id, at))
            counted = int(row["n"])
            keep = max(0, counted - unused)
            if keep == counted:
                return
            self._x(conn, "DELETE FROM rate_hits WHERE key_id = ? AND at = ?", (key_id, at))
            if keep:
                self._x(conn, "INSERT INTO rate_hits (key_id, at, n) VALUES (?, ?, ?)",
                        (key_id, at, keep))
