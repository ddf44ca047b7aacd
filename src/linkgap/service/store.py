"""The state store: one interface, one implementation per database.

``Store`` is what the service needs from a database. Every method that moves
credits does it in one transaction together with the row that explains it (a
run, a metrics lookup, a refund), so a balance can never go below zero and a
charge is never lost or doubled, whatever the concurrency. The SQLite
implementation lives in ``sqlite_store.py``; a PostgreSQL one can follow the
same interface.

The service owns the clock: times come in as ISO strings (``timeutil.iso_z``)
and quota periods as ``YYYY-MM``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AccountRecord",
    "Charge",
    "IdempotencyRecord",
    "KeyRecord",
    "RunRecord",
    "Store",
]

RUN_STATUSES = ("queued", "running", "completed", "failed")


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


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the store knows about an Idempotency-Key of an account."""

    fingerprint: str
    state: str  # "in_flight" or "done"
    created_at: str
    status: int | None = None
    body: dict[str, Any] | None = field(default=None)


class Store(Protocol):
    """Persistence for accounts, keys, credits, runs, metrics cache and idempotency keys."""

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
    def insert_run(self, run: RunRecord, period: str) -> Charge:
        """Charge ``run.credits_charged`` (quota of ``period`` first, then top-up) and insert
        the run, in one transaction; InsufficientCredits (nothing written) when short."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""

    def list_runs(self, account_id: str, status: str | None, offset: int,
                  limit: int) -> tuple[list[RunRecord], int]:
        """One page of an account's runs, newest first (ties by id), and the total."""

    def claim_run(self, now: str) -> RunRecord | None:
        """Atomically move the oldest queued run (first in, first out) to running and return
        it; None if none."""

    def complete_run(self, run_id: str, now: str, index_version: str, prospect_count: int,
                     total_found: int, warnings: list[dict[str, Any]], result: bytes) -> bool:
        """Store the frozen result of a running run and mark it completed."""

    def fail_run(self, run_id: str, now: str, error: dict[str, Any], period: str) -> bool:
        """Mark a queued/running run failed and refund its charge where it was taken from."""

    def requeue_running(self, max_attempts: int, now: str, period: str) -> tuple[int, int]:
        """Startup recovery: runs left running go back to the queue (or fail with a refund
        after ``max_attempts`` claims). Returns (requeued, failed)."""

    def run_result(self, run_id: str) -> bytes | None:
        """The frozen result bytes of a completed run."""

    # domain metrics -------------------------------------------------------
    def charge_metrics(self, account_id: str, index_version: str, domains: list[str],
                       cost_each: int, period: str, now: str) -> tuple[int, set[str]]:
        """Charge ``cost_each`` per domain not looked up before by the account in this index
        version, all or nothing, and remember them. Returns (charged, cache hits)."""

    # idempotency ----------------------------------------------------------
    def idempotency_claim(self, account_id: str, key: str, fingerprint: str, now: str,
                          expired_before: str, stale_before: str) -> IdempotencyRecord | None:
        """Claim the key for a first request (None), or return the existing record. Records
        created before ``expired_before`` are forgotten; in-flight markers created before
        ``stale_before`` are taken over."""

    def idempotency_get(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The record of the key, or None."""

    def idempotency_complete(self, account_id: str, key: str, status: int,
                             body: dict[str, Any]) -> None:
        """Store the response of the first request."""

    def idempotency_abandon(self, account_id: str, key: str) -> None:
        """Forget an in-flight marker so a repeat may retry."""
