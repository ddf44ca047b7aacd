"""The SQLite implementation of :class:`~linkgap.service.store.Store`.

- One connection per thread (``threading.local``), WAL journal
  (``synchronous = NORMAL``), a generous ``busy_timeout``: readers never block
  the writer and many processes can share one file.
- Every change of a balance runs inside ``BEGIN IMMEDIATE``: the write lock is
  taken before the balance is read, so two charges can never both see the
  same balance (no lost update, never below zero). CHECK constraints guard the
  same invariant a second time.
- The schema is created on first use; ``PRAGMA user_version`` holds its
  version, and a database written by a newer linkgap is refused.
- An in-memory database (``sqlite://``) is a single connection shared by all
  threads behind a lock, since each SQLite memory connection is its own
  database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from linkgap.errors import Conflict, InsufficientCredits, NotFound, UnsupportedDatabase
from linkgap.service.dburl import DatabaseURL
from linkgap.service.store import (
    AccountRecord,
    Charge,
    IdempotencyRecord,
    KeyRecord,
    RunRecord,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    monthly_quota INTEGER NOT NULL CHECK (monthly_quota >= 0),
    monthly_used  INTEGER NOT NULL DEFAULT 0 CHECK (monthly_used >= 0),
    quota_period  TEXT NOT NULL,
    topup_balance INTEGER NOT NULL DEFAULT 0 CHECK (topup_balance >= 0)
);
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_keys_by_account ON api_keys(account_id, created_at);
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    domain          TEXT NOT NULL,
    competitors     TEXT NOT NULL,
    mode            TEXT NOT NULL,
    min_overlap     INTEGER NOT NULL,
    "limit"         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    credits_charged INTEGER NOT NULL,
    charge_quota    INTEGER NOT NULL DEFAULT 0,
    charge_topup    INTEGER NOT NULL DEFAULT 0,
    charge_period   TEXT NOT NULL DEFAULT '',
    refunded        INTEGER NOT NULL DEFAULT 0,
    index_version   TEXT,
    prospect_count  INTEGER,
    total_found     INTEGER,
    warnings        TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_account ON runs(account_id, created_at DESC, id);
CREATE INDEX runs_by_status ON runs(status, created_at);  -- rowid (insertion order) breaks ties
CREATE TABLE run_results (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    result BLOB NOT NULL
);
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    kind       TEXT NOT NULL,
    ref        TEXT,
    from_quota INTEGER NOT NULL,
    from_topup INTEGER NOT NULL,
    period     TEXT NOT NULL
);
CREATE INDEX ledger_by_account ON ledger(account_id, id);
CREATE TABLE metrics_cache (
    account_id    TEXT NOT NULL,
    index_version TEXT NOT NULL,
    domain        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, index_version, domain)
) WITHOUT ROWID;
CREATE TABLE idempotency (
    account_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status      INTEGER,
    body        TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_by_age ON idempotency(created_at);
"""


def _account(row: sqlite3.Row) -> AccountRecord:
    return AccountRecord(
        id=row["id"], name=row["name"], created_at=row["created_at"],
        monthly_quota=row["monthly_quota"], monthly_used=row["monthly_used"],
        quota_period=row["quota_period"], topup_balance=row["topup_balance"],
    )


def _key(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        id=row["id"], account_id=row["account_id"], name=row["name"],
        secret_hash=row["secret_hash"], created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], account_id=row["account_id"], status=row["status"],
        domain=row["domain"], competitors=json.loads(row["competitors"]), mode=row["mode"],
        min_overlap=row["min_overlap"], limit=row["limit"], created_at=row["created_at"],
        credits_charged=row["credits_charged"], started_at=row["started_at"],
        finished_at=row["finished_at"], charge_quota=row["charge_quota"],
        charge_topup=row["charge_topup"], charge_period=row["charge_period"],
        refunded=bool(row["refunded"]), index_version=row["index_version"],
        prospect_count=row["prospect_count"], total_found=row["total_found"],
        warnings=json.loads(row["warnings"]) if row["warnings"] is not None else None,
        error=json.loads(row["error"]) if row["error"] is not None else None,
        attempts=row["attempts"],
    )


def _idempotency(row: sqlite3.Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        fingerprint=row["fingerprint"], state=row["state"], created_at=row["created_at"],
        status=row["status"], body=json.loads(row["body"]) if row["body"] is not None else None,
    )


class SQLiteStore:
    """State in one SQLite file (or in memory), safe across threads and processes."""

    def __init__(self, database: DatabaseURL, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.database = database
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Every connection opened, with the thread that owns it: a server's thread pool
        # replaces idle threads, so connections of finished threads are closed as new ones
        # open (otherwise file descriptors would leak over a long uptime).
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        self._closed = False
        # In memory there is one connection, so one thread at a time may use it.
        self._memory_lock: threading.RLock | None = None
        self._memory_conn: sqlite3.Connection | None = None
        if database.path is None:
            self._memory_lock = threading.RLock()
            self._memory_conn = self._open(":memory:")
        else:
            database.path.parent.mkdir(parents=True, exist_ok=True)
        self._ensure_schema()

    # connections ------------------------------------------------------------
    def _open(self, target: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                target, isolation_level=None, check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
        except sqlite3.Error as exc:
            raise UnsupportedDatabase(f"cannot open the state database {target}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut can
            # lose the last commits but never splits one (a run and its charge go together).
            conn.execute("PRAGMA synchronous = NORMAL")
        with self._all_lock:
            alive = []
            for thread, old in self._all:
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    with contextlib.suppress(sqlite3.Error):
                        old.close()
            alive.append((threading.current_thread(), conn))
            self._all = alive
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise RuntimeError("the state store is closed")
        if self._memory_lock is not None and self._memory_conn is not None:
            with self._memory_lock:
                yield self._memory_conn
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            assert self.database.path is not None
            conn = self._open(str(self.database.path))
            self._local.conn = conn
        yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from its first statement."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _ensure_schema(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise UnsupportedDatabase(
                    f"the state database {self.database.url} has schema version {version}, "
                    f"newer than this linkgap understands ({SCHEMA_VERSION}); upgrade linkgap"
                )

    @property
    def open_connections(self) -> int:
        """How many connections this store holds open (one per live thread that used it)."""
        with self._all_lock:
            return len(self._all)

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for _thread, conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing is best effort
                conn.close()

    # credits (inside a write transaction) -----------------------------------
    @staticmethod
    def _charge(conn: sqlite3.Connection, account_id: str, amount: int, period: str,
                kind: str, ref: str | None, now: str) -> Charge:
        row = conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise NotFound("account not found")
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
        conn.execute(
            "UPDATE accounts SET monthly_used = ?, quota_period = ?, "
            "topup_balance = topup_balance - ? WHERE id = ?",
            (used + from_quota, period, from_topup, account_id),
        )
        if amount:
            conn.execute(
                "INSERT INTO ledger (account_id, created_at, kind, ref, from_quota, from_topup, "
                "period) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account_id, now, kind, ref, -from_quota, -from_topup, period),
            )
        return Charge(amount, from_quota, from_topup, period)

    @staticmethod
    def _refund(conn: sqlite3.Connection, run: sqlite3.Row, period: str, now: str) -> None:
        # Top-up credits go back to the top-up balance. Quota credits go back to the quota
        # only while the month they were taken from is still the current one: once the quota
        # has reset, the month's usage no longer counts, so returning them is moot.
        from_quota = run["charge_quota"] if run["charge_period"] == period else 0
        from_topup = run["charge_topup"]
        acct = conn.execute(
            "SELECT monthly_used, quota_period FROM accounts WHERE id = ?", (run["account_id"],)
        ).fetchone()
        if from_quota and acct["quota_period"] == period:
            conn.execute(
                "UPDATE accounts SET monthly_used = max(0, monthly_used - ?) WHERE id = ?",
                (from_quota, run["account_id"]),
            )
        else:
            from_quota = 0
        conn.execute(
            "UPDATE accounts SET topup_balance = topup_balance + ? WHERE id = ?",
            (from_topup, run["account_id"]),
        )
        conn.execute("UPDATE runs SET refunded = 1 WHERE id = ?", (run["id"],))
        conn.execute(
            "INSERT INTO ledger (account_id, created_at, kind, ref, from_quota, from_topup, period)"
            " VALUES (?, ?, 'refund', ?, ?, ?, ?)",
            (run["account_id"], now, run["id"], from_quota, from_topup, run["charge_period"]),
        )

    # accounts ---------------------------------------------------------------
    def create_account(self, account: AccountRecord) -> None:
        """Insert an account; Conflict when the name is taken."""
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO accounts (id, name, created_at, monthly_quota, monthly_used, "
                    "quota_period, topup_balance) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (account.id, account.name, account.created_at, account.monthly_quota,
                     account.monthly_used, account.quota_period, account.topup_balance),
                )
                if account.topup_balance:
                    conn.execute(
                        "INSERT INTO ledger (account_id, created_at, kind, ref, from_quota, "
                        "from_topup, period) VALUES (?, ?, 'topup', NULL, 0, ?, ?)",
                        (account.id, account.created_at, account.topup_balance,
                         account.quota_period),
                    )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"an account named {account.name!r} already exists",
                           param="name") from exc

    def account_by_id(self, account_id: str) -> AccountRecord | None:
        """The account with this id, or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row) if row else None

    def account_by_name(self, name: str) -> AccountRecord | None:
        """The account with this name, or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        return _account(row) if row else None

    def list_accounts(self) -> list[AccountRecord]:
        """Every account, by name."""
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM accounts ORDER BY name").fetchall()
        return [_account(r) for r in rows]

    def add_topup(self, account_id: str, amount: int, now: str) -> AccountRecord:
        """Add top-up credits (atomically) and return the updated account."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE accounts SET topup_balance = topup_balance + ? WHERE id = ?",
                (amount, account_id),
            )
            if cur.rowcount != 1:
                raise NotFound("account not found")
            conn.execute(
                "INSERT INTO ledger (account_id, created_at, kind, ref, from_quota, from_topup, "
                "period) VALUES (?, ?, 'topup', NULL, 0, ?, '')",
                (account_id, now, amount),
            )
            row = conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row)

    # keys -------------------------------------------------------------------
    def insert_key(self, key: KeyRecord) -> bool:
        """Insert a key; False when its public id is already taken."""
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO api_keys (id, account_id, name, secret_hash, created_at, "
                    "revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (key.id, key.account_id, key.name, key.secret_hash, key.created_at,
                     key.revoked_at),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def key_by_id(self, key_id: str) -> KeyRecord | None:
        """The key with this public id, or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    def list_keys(self, account_id: str | None) -> list[KeyRecord]:
        """Keys (of one account, or all), oldest first."""
        with self._conn() as conn:
            if account_id is None:
                rows = conn.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at, id",
                    (account_id,),
                ).fetchall()
        return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, now: str) -> KeyRecord | None:
        """Mark a key revoked (keeping the first revocation time); None when unknown."""
        with self._write() as conn:
            conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, key_id),
            )
            row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    # runs -------------------------------------------------------------------
    def insert_run(self, run: RunRecord, period: str) -> Charge:
        """Charge the run's cost and insert it as queued, in one transaction."""
        with self._write() as conn:
            charge = self._charge(conn, run.account_id, run.credits_charged, period, "run",
                                  run.id, run.created_at)
            conn.execute(
                'INSERT INTO runs (id, account_id, status, domain, competitors, mode, '
                'min_overlap, "limit", created_at, credits_charged, charge_quota, charge_topup, '
                'charge_period) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                (run.id, run.account_id, run.status, run.domain, json.dumps(run.competitors),
                 run.mode, run.min_overlap, run.limit, run.created_at, run.credits_charged,
                 charge.from_quota, charge.from_topup, charge.period),
            )
        return charge

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def list_runs(self, account_id: str, status: str | None, offset: int,
                  limit: int) -> tuple[list[RunRecord], int]:
        """One page of an account's runs, newest first (ties by id ascending), and the total."""
        where = "account_id = ?"
        args: list[Any] = [account_id]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        with self._conn() as conn:
            # One read transaction so the page and the total agree.
            conn.execute("BEGIN")
            try:
                total = conn.execute(f"SELECT count(*) FROM runs WHERE {where}", args).fetchone()[0]
                rows = conn.execute(
                    f"SELECT * FROM runs WHERE {where} ORDER BY created_at DESC, id ASC "
                    "LIMIT ? OFFSET ?", [*args, limit, offset],
                ).fetchall()
            finally:
                conn.execute("COMMIT")
        return [_run(r) for r in rows], int(total)

    def claim_run(self, now: str) -> RunRecord | None:
        """Atomically move the oldest queued run to running and return it (first in, first
        out: runs created in the same millisecond go in insertion order)."""
        with self._write() as conn:
            row = conn.execute(
                "UPDATE runs SET status = 'running', started_at = ?, attempts = attempts + 1 "
                "WHERE id = (SELECT id FROM runs WHERE status = 'queued' "
                "ORDER BY created_at, rowid LIMIT 1) AND status = 'queued' RETURNING *",
                (now,),
            ).fetchone()
        return _run(row) if row else None

    def complete_run(self, run_id: str, now: str, index_version: str, prospect_count: int,
                     total_found: int, warnings: list[dict[str, Any]], result: bytes) -> bool:
        """Store the frozen result of a running run and mark it completed."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = 'completed', finished_at = ?, index_version = ?, "
                "prospect_count = ?, total_found = ?, warnings = ?, error = NULL "
                "WHERE id = ? AND status = 'running'",
                (now, index_version, prospect_count, total_found, json.dumps(warnings), run_id),
            )
            if cur.rowcount != 1:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO run_results (run_id, result) VALUES (?, ?)",
                (run_id, sqlite3.Binary(result)),
            )
        return True

    def fail_run(self, run_id: str, now: str, error: dict[str, Any], period: str) -> bool:
        """Mark a queued/running run failed and refund its charge where it was taken from."""
        with self._write() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["status"] not in ("queued", "running"):
                return False
            self._fail(conn, row, now, error, period)
        return True

    def _fail(self, conn: sqlite3.Connection, row: sqlite3.Row, now: str,
              error: dict[str, Any], period: str) -> None:
        conn.execute(
            "UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE id = ?",
            (now, json.dumps(error), row["id"]),
        )
        if not row["refunded"] and row["credits_charged"] > 0:
            self._refund(conn, row, period, now)

    def requeue_running(self, max_attempts: int, now: str, period: str) -> tuple[int, int]:
        """Startup recovery: put runs left 'running' back in the queue, or fail them (with a
        refund) once they have been claimed ``max_attempts`` times."""
        requeued = failed = 0
        with self._write() as conn:
            rows = conn.execute("SELECT * FROM runs WHERE status = 'running'").fetchall()
            for row in rows:
                if row["attempts"] >= max_attempts:
                    self._fail(conn, row, now, {
                        "code": "run_interrupted",
                        "message": f"the run was interrupted {row['attempts']} times "
                                   "(the server stopped while computing it); credits refunded",
                    }, period)
                    failed += 1
                else:
                    conn.execute(
                        "UPDATE runs SET status = 'queued', started_at = NULL WHERE id = ?",
                        (row["id"],),
                    )
                    requeued += 1
        return requeued, failed

    def run_result(self, run_id: str) -> bytes | None:
        """The frozen result bytes of a completed run."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT result FROM run_results WHERE run_id = ?", (run_id,)
            ).fetchone()
        return bytes(row["result"]) if row else None

    # domain metrics ---------------------------------------------------------
    def charge_metrics(self, account_id: str, index_version: str, domains: list[str],
                       cost_each: int, period: str, now: str) -> tuple[int, set[str]]:
        """Charge per domain not already looked up (account + index version), all or nothing."""
        with self._write() as conn:
            hits: set[str] = set()
            if domains:
                marks = ",".join("?" * len(domains))
                hits = {
                    r["domain"] for r in conn.execute(
                        f"SELECT domain FROM metrics_cache WHERE account_id = ? AND "
                        f"index_version = ? AND domain IN ({marks})",
                        [account_id, index_version, *domains],
                    )
                }
            fresh = [d for d in domains if d not in hits]
            amount = cost_each * len(fresh)
            self._charge(conn, account_id, amount, period, "metrics", index_version, now)
            conn.executemany(
                "INSERT OR IGNORE INTO metrics_cache (account_id, index_version, domain, "
                "created_at) VALUES (?, ?, ?, ?)",
                [(account_id, index_version, d, now) for d in fresh],
            )
        return amount, hits

    # idempotency ------------------------------------------------------------
    def idempotency_claim(self, account_id: str, key: str, fingerprint: str, now: str,
                          expired_before: str, stale_before: str) -> IdempotencyRecord | None:
        """Claim the key for a first request (None), or return the existing record."""
        with self._write() as conn:
            conn.execute("DELETE FROM idempotency WHERE created_at < ?", (expired_before,))
            row = conn.execute(
                "SELECT * FROM idempotency WHERE account_id = ? AND key = ?", (account_id, key)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO idempotency (account_id, key, fingerprint, state, created_at) "
                    "VALUES (?, ?, ?, 'in_flight', ?)", (account_id, key, fingerprint, now),
                )
                return None
            if (row["state"] == "in_flight" and row["created_at"] < stale_before
                    and row["fingerprint"] == fingerprint):
                # The first request's process died without finishing: take the key over.
                conn.execute(
                    "UPDATE idempotency SET created_at = ? WHERE account_id = ? AND key = ?",
                    (now, account_id, key),
                )
                return None
            return _idempotency(row)

    def idempotency_get(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The record of the key, or None."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT * FROM idempotency WHERE account_id = ? AND key = ?", (account_id, key)
            ).fetchone()
        return _idempotency(row) if row else None

    def idempotency_complete(self, account_id: str, key: str, status: int,
                             body: dict[str, Any]) -> None:
        """Store the response of the first request."""
        with self._write() as conn:
            conn.execute(
                "UPDATE idempotency SET state = 'done', status = ?, body = ? "
                "WHERE account_id = ? AND key = ?",
                (status, json.dumps(body), account_id, key),
            )

    def idempotency_abandon(self, account_id: str, key: str) -> None:
        """Forget an in-flight marker so a repeat may retry."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE account_id = ? AND key = ? AND state = 'in_flight'",
                (account_id, key),
            )
