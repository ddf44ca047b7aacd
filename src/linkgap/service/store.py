"""The state store: one interface, one implementation per database.

``Store`` is what the service needs from a database. Every method that moves
credits does it in one transaction together with the row that explains it (a
run, a metrics lookup, a refund) and, for a request with an Idempotency-Key,
the record of its answer, so a balance can never go below zero and a charge is
never lost or doubled, whatever the concurrency or a crash. The SQL lives once,
in ``sqlstore.py``; ``sqlite_store.py`` and ``pg_store.py`` add connections,
locking and schema handling for their database.

The service owns the clock: times come in as ISO strings (``timeutil.iso_z``)
and quota periods as ``YYYY-MM``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "RUN_STATUSES",
    "AccountRecord",
    "AttemptRecord",
    "Charge",
    "DeliveryAttemptRecord",
    "DeliveryRecord",
    "IdempotencyRecord",
    "IdempotencyWrite",
    "KeyRecord",
    "RateLease",
    "Replay",
    "RunRecord",
    "Store",
]

#: ``expired``: a completed run whose prospects retention has deleted (SPEC 11).
RUN_STATUSES = ("queued", "running", "completed", "failed", "expired")


@dataclass(frozen=True)
class AccountRecord:
    """An account row. ``monthly_used`` counts for ``quota_period`` only."""

    id: str
    name: str
    created_at: str
    monthly_quota: int
    monthly_used: int
    quota_period: str
    topup_balance: int


@dataclass(frozen=True)
class KeyRecord:
    """An API key row: only the hash of the secret is kept."""

    id: str
    account_id: str
    name: str | None
    secret_hash: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class Charge:
    """Where the credits of one charge came from."""

    amount: int
    from_quota: int
    from_topup: int
    period: str


@dataclass(frozen=True)
class RunRecord:
    """A gap run row (without its frozen result, which is stored separately)."""

    id: str
    account_id: str
    status: str
    domain: str
    competitors: list[str]
    mode: str
    min_overlap: int
    limit: int
    created_at: str
    credits_charged: int
    started_at: str | None = None
    finished_at: str | None = None
    charge_quota: int = 0
    charge_topup: int = 0
    charge_period: str = ""
    refunded: bool = False
    index_version: str | None = None
    prospect_count: int | None = None
    total_found: int | None = None
    warnings: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: str | None = None
    expired_leases: int = 0
    #: Run-time filters ``{min_authority, max_spam, dofollow}`` (None: none) and the
    #: excluded domains, applied before ``limit`` (SPEC 12).
    filters: dict[str, Any] | None = None
    exclude: list[str] = field(default_factory=list)
    callback_url: str | None = None


@dataclass(frozen=True)
class DeliveryRecord:
    """The webhook delivery of a finished run with a ``callback_url`` (SPEC 13).

    ``status`` is ``pending`` (to be tried at ``next_attempt_at``; possibly being tried
    now, under ``lease_owner``'s lease), ``delivered`` or ``failed`` (given up after 24
    hours). ``attempts`` counts every attempt begun, the one in progress included."""

    run_id: str
    account_id: str
    url: str
    status: str
    created_at: str
    next_attempt_at: str
    first_attempt_at: str | None
    attempts: int
    last_status: int | None
    last_error: str | None
    lease_owner: str | None
    lease_expires_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class DeliveryAttemptRecord:
    """One attempt at a delivery. ``outcome`` is ``delivered``, ``failed``, ``interrupted``
    (its sender stopped before it could say: another sender took the delivery over once
    the lease expired), or None while it runs."""

    run_id: str
    attempt: int
    worker: str
    started_at: str
    finished_at: str | None
    http_status: int | None
    outcome: str | None
    error: str | None


@dataclass(frozen=True)
class AttemptRecord:
    """One claim of a run by a worker: when it started, ended, and how.

    ``outcome`` is ``completed``, ``failed``, ``lease_expired`` (the worker stopped
    renewing it: it died, hung or lost the database; a result it still delivers is
    dropped), or None while it runs."""

    run_id: str
    attempt: int
    worker: str
    started_at: str
    finished_at: str | None
    outcome: str | None


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the store knows about an Idempotency-Key of an account."""

    fingerprint: str
    state: str  # "in_flight" or "done"
    created_at: str
    status: int | None = None
    body: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class IdempotencyWrite:
    """Record the answer to an Idempotency-Key in the same transaction as the charge.

    ``render(credits_charged)`` gives (status, body) of the answer; it is called inside
    the transaction, once the charge is known, and must not touch the database.
    Records created before ``expired_before`` are forgotten (24 hours)."""

    key: str
    fingerprint: str
    now: str
    expired_before: str
    render: Callable[[int], tuple[int, dict[str, Any]]]


class Replay(Exception):  # noqa: N818 - a signal, not an error: the answer to replay
    """The key already has an answer (written by a concurrent repeat): replay it."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("idempotent replay")
        self.record = record


@dataclass(frozen=True)
class RateLease:
    """A batch of requests counted at once for one key: how many of the ``want`` asked
    for were counted, and the window as it stands after (how many are counted, and the
    time of the oldest, None when none)."""

    granted: int
    count: int
    oldest: float | None


class Store(Protocol):
    """Persistence for accounts, keys, credits, runs, metrics cache and idempotency keys."""

    #: The schema version of the open database, and the one it had when opened (0: empty).
    schema_version: int
    upgraded_from: int

    def close(self) -> None:
        """Release connections."""

    # accounts -------------------------------------------------------------
    def create_account(self, account: AccountRecord) -> None:
        """Insert an account; Conflict when the name is taken."""

    def account_by_id(self, account_id: str) -> AccountRecord | None:
        """The account with this id, or None."""

    def account_by_name(self, name: str) -> AccountRecord | None:
        """The account with this name, or None."""

    def list_accounts(self) -> list[AccountRecord]:
        """Every account, by name."""

    def add_topup(self, account_id: str, amount: int, now: str) -> AccountRecord:
        """Add top-up credits (atomically) and return the updated account."""

    # keys -----------------------------------------------------------------
    def insert_key(self, key: KeyRecord) -> bool:
        """Insert a key; False when its public id is already taken."""

    def key_by_id(self, key_id: str) -> KeyRecord | None:
        """The key with this public id, or None."""

    def list_keys(self, account_id: str | None) -> list[KeyRecord]:
        """Keys (of one account, or all), oldest first."""

    def revoke_key(self, key_id: str, now: str) -> KeyRecord | None:
        """Mark a key revoked (keeping the first revocation time); None when unknown."""

    # runs -----------------------------------------------------------------
    def insert_run(self, run: RunRecord, period: str,
                   idempotency: IdempotencyWrite | None = None) -> Charge:
        """Charge ``run.credits_charged`` (quota of ``period`` first, then top-up), insert
        the run as queued and, when given, record the request's answer under its
        Idempotency-Key: one transaction. InsufficientCredits (nothing written) when short;
        Replay when the key already has an answer with this fingerprint;
        IdempotencyConflict when it has one for another body."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""

    def list_runs(self, account_id: str, status: str | None, offset: int, limit: int,
                  expired_before: str | None = None) -> tuple[list[RunRecord], int]:
        """One page of an account's runs, newest first (ties by id), and the total.
        Completed runs finished before ``expired_before`` count as ``expired``."""

    def claim_run(self, now: str, worker: str = "", lease_until: str | None = None
                  ) -> RunRecord | None:
        """Atomically move the next queued run to running under a lease held by ``worker``
        until ``lease_until`` (default ``now``) and return it; None if none. The next run
        is the oldest of the account served longest ago (round-robin across accounts,
        oldest first within one)."""

    def renew_lease(self, run_id: str, worker: str, lease_until: str) -> bool:
        """Extend ``worker``'s lease on a running run; False when it holds it no more."""

    def reap_expired(self, now: str, max_expired: int, period: str) -> tuple[int, int]:
        """Runs whose lease expired before ``now`` go back to the queue, or fail with a
        refund once ``max_expired`` leases have expired. Returns (requeued, failed)."""

    def complete_run(self, run_id: str, now: str, index_version: str, prospect_count: int,
                     total_found: int, warnings: list[dict[str, Any]], result: bytes,
                     worker: str | None = None, links: bytes | None = None) -> bool:
        """Store the frozen result of a running run (and ``links``, the evidence frozen
        with it) and mark it completed; False (nothing stored) when it is not running, or
        ``worker`` no longer holds its lease. A run with a ``callback_url`` gets its
        pending webhook delivery in the same transaction."""

    def fail_run(self, run_id: str, now: str, error: dict[str, Any], period: str,
                 worker: str | None = None) -> bool:
        """Mark a queued/running run failed and refund its charge where it was taken from
        (False when it is finished, or ``worker`` no longer holds its lease). A run with a
        ``callback_url`` gets its pending webhook delivery in the same transaction."""

    def run_attempts(self, run_id: str) -> list[AttemptRecord]:
        """Every claim of the run, first first."""

    def run_result(self, run_id: str) -> bytes | None:
        """The frozen result bytes of a completed run."""

    def run_links(self, run_id: str) -> bytes | None:
        """The evidence frozen with a completed run (None when it has none)."""

    def expire_runs(self, finished_before: str) -> int:
        """Retention: delete the results of runs completed before ``finished_before`` and
        mark them expired. Returns how many."""

    def purge(self, idempotency_before: str, rate_hits_before: float) -> None:
        """Forget idempotency records and rate-limit hits older than these."""

    # webhooks -------------------------------------------------------------
    def webhook_secret(self, account_id: str, fresh: str, now: str, rotate: bool) -> str:
        """The account's webhook secret; ``fresh`` becomes it when it has none, or always
        with ``rotate`` (the old one is gone at once). Atomic across processes."""

    def claim_delivery(self, now: str, worker: str, lease_until: str) -> DeliveryRecord | None:
        """Atomically take the pending delivery due longest ago (its lease, if any, expired)
        for ``worker`` until ``lease_until``, count the attempt and record it; None if none.
        An attempt left unfinished by an expired lease is marked ``interrupted``."""

    def finish_delivery(self, run_id: str, attempt: int, worker: str, now: str, *,
                        delivered: bool, http_status: int | None, error: str | None,
                        retry_at: str | None) -> bool:
        """Record how attempt ``attempt`` went: delivered; else pending until ``retry_at``,
        or failed when it is None. False (nothing written) when ``worker`` no longer
        holds the delivery's lease for this attempt."""

    def deliveries(self, run_ids: list[str]) -> dict[str, DeliveryRecord]:
        """The deliveries of these runs (runs without one are left out)."""

    def delivery_attempts(self, run_id: str) -> list[DeliveryAttemptRecord]:
        """Every attempt at the run's delivery, first first."""

    # domain metrics -------------------------------------------------------
    def charge_metrics(self, account_id: str, index_version: str, domains: list[str],
                       cost_each: int, period: str, now: str,
                       idempotency: IdempotencyWrite | None = None) -> tuple[int, set[str]]:
        """Charge ``cost_each`` per domain not looked up before by the account in this index
        version, all or nothing, remember them, and record the answer under the
        Idempotency-Key when given (one transaction). Returns (charged, cache hits)."""

    def charge_credits(self, account_id: str, amount: int, kind: str, ref: str | None,
                       period: str, now: str) -> int:
        """Take ``amount`` credits (quota first, then top-up) for a look-up of ``kind``
        (``competitors``), all or nothing (InsufficientCredits), with a ledger entry.
        Returns the amount charged."""

    # idempotency ----------------------------------------------------------
    def idempotency_get(self, account_id: str, key: str,
                        expired_before: str) -> IdempotencyRecord | None:
        """The record of the key (None when absent or older than ``expired_before``)."""

    def idempotency_record(self, account_id: str, key: str, fingerprint: str, now: str,
                           expired_before: str, status: int,
                           body: dict[str, Any]) -> IdempotencyRecord | None:
        """Record an answer that moved nothing (an error the request decided); None when
        recorded, the existing record when a concurrent request recorded one first."""

    # rate limits ------------------------------------------------------------
    def rate_lease(self, key_id: str, now: float, window: float, limit: int,
                   want: int) -> RateLease:
        """Count up to ``want`` requests of ``key_id`` at ``now``, as many as keep the
        last ``window`` seconds within ``limit``, atomically across processes (a process
        then answers that many requests from memory)."""

    def rate_return(self, key_id: str, at: float, unused: int) -> None:
        """Uncount ``unused`` requests of a lease taken at ``at`` that were never made."""

    # database -------------------------------------------------------------
    def check(self, quick: bool = False) -> list[str]:
        """Problems found by an integrity check (empty when the database is sound);
        ``quick`` for a cheaper one (a server's start)."""

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` (from a background thread) when another process may have
        queued a run, until ``close``."""
