"""The state database schema, as ordered migration steps for SQLite and PostgreSQL.

Each step takes the schema from ``version - 1`` to ``version``; a new database
runs every step in order, so a fresh database and an upgraded one are the same.
The two dialects are kept side by side, step by step, so a reader sees the
same tables, columns and rules in both; they differ only where the databases
do (``BIGINT`` and ``BYTEA`` on PostgreSQL, identity columns, how a CHECK
constraint is replaced).

The version is kept in the one-row table ``schema_version``. SQLite databases
written before that table existed carry their version in ``PRAGMA
user_version`` (1), which the SQLite store reads as a fallback.

Timestamps are ISO-8601 strings of fixed width (``timeutil.iso_z``), so comparing
the strings compares the times; rate-limit hits are epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "Migration"]


@dataclass(frozen=True)
class Migration:
    """One schema step: what it does and its SQL for each store (``;``-separated)."""

    version: int
    description: str
    sqlite: str
    postgresql: str

    def statements(self, dialect: str) -> list[str]:
        """The step's statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
        text = self.sqlite if dialect == "sqlite" else self.postgresql
        return [s.strip() for s in text.split(";") if s.strip()]


_V1_SQLITE = """
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
CREATE INDEX runs_by_status ON runs(status, created_at);
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
CREATE INDEX idempotency_by_age ON idempotency(created_at)
"""

_V1_POSTGRESQL = """
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    monthly_quota BIGINT NOT NULL CHECK (monthly_quota >= 0),
    monthly_used  BIGINT NOT NULL DEFAULT 0 CHECK (monthly_used >= 0),
    quota_period  TEXT NOT NULL,
    topup_balance BIGINT NOT NULL DEFAULT 0 CHECK (topup_balance >= 0)
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
    status          TEXT NOT NULL CONSTRAINT runs_status_check
                    CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    domain          TEXT NOT NULL,
    competitors     TEXT NOT NULL,
    mode            TEXT NOT NULL,
    min_overlap     INTEGER NOT NULL,
    "limit"         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    credits_charged BIGINT NOT NULL,
    charge_quota    BIGINT NOT NULL DEFAULT 0,
    charge_topup    BIGINT NOT NULL DEFAULT 0,
    charge_period   TEXT NOT NULL DEFAULT '',
    refunded        INTEGER NOT NULL DEFAULT 0,
    index_version   TEXT,
    prospect_count  INTEGER,
    total_found     BIGINT,
    warnings        TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_account ON runs(account_id, created_at DESC, id);
CREATE INDEX runs_by_status ON runs(status, created_at);
CREATE TABLE run_results (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    result BYTEA NOT NULL
);
CREATE TABLE ledger (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    kind       TEXT NOT NULL,
    ref        TEXT,
    from_quota BIGINT NOT NULL,
    from_topup BIGINT NOT NULL,
    period     TEXT NOT NULL
);
CREATE INDEX ledger_by_account ON ledger(account_id, id);
CREATE TABLE metrics_cache (
    account_id    TEXT NOT NULL,
    index_version TEXT NOT NULL,
    domain        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, index_version, domain)
);
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
CREATE INDEX idempotency_by_age ON idempotency(created_at)
"""

# Version 2: leases, fairness, attempts, shared rate limits, retention, a version table.
# - runs: status 'expired' (retention); seq (queue order: oldest first, insertion order within
#   a millisecond); lease_owner / lease_expires_at (the worker computing it and until when);
#   expired_leases (after 3 the run fails with a refund). A run left 'running' by an older
#   linkgap gets an expired lease, so the first worker takes it over.
# - accounts.claim_turn: when the account was last served; the queue serves the account
#   served longest ago first (round-robin across accounts).
# - run_attempts: one row per claim, with its worker, start, end and outcome.
# - rate_hits: the sliding-window log of every API key's requests, shared by all servers.
# - idempotency: the record is written with the charge and the run, in their transaction,
#   so in-flight markers are gone; markers left by version 1 are dropped.
_V2_SQLITE = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE runs_v2 (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    status          TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'expired')),
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
    attempts        INTEGER NOT NULL DEFAULT 0,
    seq             INTEGER NOT NULL UNIQUE,
    lease_owner     TEXT,
    lease_expires_at TEXT,
    expired_leases  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO runs_v2 (id, account_id, status, domain, competitors, mode, min_overlap, "limit",
    created_at, started_at, finished_at, credits_charged, charge_quota, charge_topup,
    charge_period, refunded, index_version, prospect_count, total_found, warnings, error,
    attempts, seq, lease_expires_at)
SELECT id, account_id, status, domain, competitors, mode, min_overlap, "limit", created_at,
    started_at, finished_at, credits_charged, charge_quota, charge_topup, charge_period,
    refunded, index_version, prospect_count, total_found, warnings, error, attempts, rowid,
    CASE WHEN status = 'running' THEN '' END
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs;
CREATE INDEX runs_by_account ON runs(account_id, created_at DESC, id);
CREATE INDEX runs_queue ON runs(status, seq);
CREATE INDEX runs_by_lease ON runs(status, lease_expires_at);
CREATE INDEX runs_by_finish ON runs(status, finished_at);
ALTER TABLE accounts ADD COLUMN claim_turn INTEGER NOT NULL DEFAULT 0;
CREATE TABLE run_attempts (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT CHECK (outcome IN ('completed', 'failed', 'lease_expired')),
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE rate_hits (
    key_id TEXT NOT NULL,
    at     REAL NOT NULL
);
CREATE INDEX rate_hits_by_key ON rate_hits(key_id, at);
CREATE INDEX rate_hits_by_age ON rate_hits(at);
DELETE FROM idempotency WHERE state = 'in_flight'
"""

_V2_POSTGRESQL = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'expired'));
ALTER TABLE runs ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE;
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;
ALTER TABLE runs ADD COLUMN expired_leases INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET lease_expires_at = '' WHERE status = 'running';
DROP INDEX runs_by_status;
CREATE INDEX runs_queue ON runs(status, seq);
CREATE INDEX runs_by_lease ON runs(status, lease_expires_at);
CREATE INDEX runs_by_finish ON runs(status, finished_at);
ALTER TABLE accounts ADD COLUMN claim_turn BIGINT NOT NULL DEFAULT 0;
CREATE TABLE run_attempts (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT CHECK (outcome IN ('completed', 'failed', 'lease_expired')),
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE rate_hits (
    key_id TEXT NOT NULL,
    at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX rate_hits_by_key ON rate_hits(key_id, at);
CREATE INDEX rate_hits_by_age ON rate_hits(at);
DELETE FROM idempotency WHERE state = 'in_flight'
"""

# Version 3: signed webhooks (SPEC 13).
# - runs.callback_url: where the run is POSTed when it completes or fails (NULL: nowhere).
# - webhook_secrets: each account's signing secret (kept as is: signing needs it), created
#   on first use; rotating replaces the row, so the old secret stops signing at once.
# - webhook_deliveries: one per finished run with a callback_url, written in the transaction
#   that finishes the run, so none is lost. 'pending' until delivered or given up ('failed'
#   after 24 hours); a sender claims it with a lease (lease_owner / lease_expires_at) and
#   ``next_attempt_at`` holds the backoff.
# - webhook_attempts: one row per attempt, with its sender, receiver status and error.
_V3_COMMON = """
ALTER TABLE runs ADD COLUMN callback_url TEXT;
CREATE TABLE webhook_secrets (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
    run_id           TEXT PRIMARY KEY REFERENCES runs(id),
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    url              TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    first_attempt_at TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status      INTEGER,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    finished_at      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE TABLE webhook_attempts (
    run_id      TEXT NOT NULL REFERENCES webhook_deliveries(run_id),
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    http_status INTEGER,
    outcome     TEXT CHECK (outcome IN ('delivered', 'failed', 'interrupted')),
    error       TEXT,
    PRIMARY KEY (run_id, attempt)
)
"""

# Version 4: run-time filters and exclusions, and the evidence frozen with a run (SPEC 12).
# runs.filters holds the run's ``{min_authority, max_spam, dofollow}`` as JSON,
# runs.exclude_domains its excluded domains as a JSON list; runs queued before this version
# have NULL in both (no filter, nothing excluded). run_links holds the links behind a
# completed run's first prospects (linkgap.run_links, Arrow IPC), written with its result;
# runs completed before this version have none (their links are read from the index).
_V4_SQLITE = """
ALTER TABLE runs ADD COLUMN filters TEXT;
ALTER TABLE runs ADD COLUMN exclude_domains TEXT;
CREATE TABLE run_links (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    links  BLOB NOT NULL
)
"""

_V4_POSTGRESQL = """
ALTER TABLE runs ADD COLUMN filters TEXT;
ALTER TABLE runs ADD COLUMN exclude_domains TEXT;
CREATE TABLE run_links (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    links  BYTEA NOT NULL
)
"""

# Version 5: a rate-limit lease is one row. rate_hits.n counts the requests counted at one
# time for one key (a lease of up to 1,024 requests was as many rows); the rows written
# before count one each.
_V5_COMMON = """
ALTER TABLE rate_hits ADD COLUMN n INTEGER NOT NULL DEFAULT 1
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "accounts, keys, credits ledger, runs and results, metrics cache, "
                 "idempotency keys", _V1_SQLITE, _V1_POSTGRESQL),
    Migration(2, "run leases and attempts, round-robin queue, shared rate limits, retention "
                 "('expired' runs), schema_version table", _V2_SQLITE, _V2_POSTGRESQL),
    Migration(3, "signed webhooks: runs.callback_url, account webhook secrets, deliveries "
                 "and their attempts", _V3_COMMON, _V3_COMMON),
    Migration(4, "runs: run-time filters and excluded domains; run_links: the evidence "
                 "frozen with a run", _V4_SQLITE, _V4_POSTGRESQL),
    Migration(5, "rate limits: one row per lease (rate_hits.n), not one per request",
              _V5_COMMON, _V5_COMMON),
)

#: The schema version this linkgap reads and writes.
SCHEMA_VERSION = MIGRATIONS[-1].version

#: Every table of the current schema (``db check`` verifies they exist).
TABLES = ("accounts", "api_keys", "runs", "run_results", "run_links", "run_attempts", "ledger",
          "metrics_cache", "idempotency", "rate_hits", "schema_version", "webhook_secrets",
          "webhook_deliveries", "webhook_attempts")
