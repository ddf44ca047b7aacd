"""``LinkgapService``: accounts, keys, credits, runs, domain metrics, idempotency, worker.

All business rules live here; the HTTP API, the CLI and the demo are thin
adapters over this object. State lives in a :class:`~linkgap.service.store.Store`
(SQLite by default, PostgreSQL for several machines) so any number of threads,
servers and workers can share it and runs survive a restart; the backlink index
is opened lazily and reopened when a new version is published. Worker threads
are scheduled by :mod:`linkgap.service.worker`.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkgap.errors import (
    IdempotencyConflict,
    IndexUnavailable,
    InvalidInput,
    LinkgapError,
    NotFound,
    RunExpired,
    RunNotCompleted,
    Unauthorized,
    UnsupportedDatabase,
)
from linkgap.service import faults
from linkgap.service import keys as keymod
from linkgap.service.dburl import parse_database_url
from linkgap.service.deliveries import DeliveryLoop
from linkgap.service.reads import MISSING, ReadPath
from linkgap.service.store import (
    RUN_STATUSES,
    AccountRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyWrite,
    KeyRecord,
    RateLease,
    RunRecord,
    Store,
)
from linkgap.service.timeutil import Clock, iso_z, month_period, next_month_start, utc_now
from linkgap.service.views import (
    AccountView,
    CreditsView,
    KeyView,
    Principal,
    RunView,
    StoredResponse,
)
from linkgap.service.webhooks import Webhooks
from linkgap.service.worker import WorkerPool, worker_name
from linkgap.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.competitors import LinkCompetitors
    from linkgap.gap import GapResult
    from linkgap.index.reader import BacklinkIndex
    from linkgap.run_links import FrozenLinks

__all__ = ["IdempotentRequest", "LinkgapService", "open_store"]

log = logging.getLogger("linkgap.service")

ACCOUNT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}\Z")
MAX_KEY_NAME = 100
MAX_CREDITS = 10**12
MAX_METRICS_DOMAINS = 10
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_TTL = timedelta(hours=24)
#: A run whose lease expired this many times (its worker died each time) fails, refunded.
MAX_EXPIRED_LEASES = 3
#: Worker threads look for expired leases this often (each look is a database read).
REAP_INTERVAL_S = 1.0
#: Rate-limit hits are kept this long (the window is a minute; the rest is slack).
RATE_HITS_KEPT_S = 3600.0


def open_store(database_url: str, *, upgrade: bool = False) -> Store:
    """Open the state store a database URL names: SQLite or PostgreSQL. UnsupportedDatabase
    for another URL, a database linkgap cannot read, or a schema of another version
    (``upgrade`` migrates an older one)."""
    database = parse_database_url(database_url)
    if database.kind == "postgresql":
        from linkgap.service.pg_store import PostgresStore

        return PostgresStore(database, upgrade=upgrade)
    from linkgap.service.sqlite_store import SQLiteStore

    return SQLiteStore(database, upgrade=upgrade)


@dataclass(frozen=True)
class IdempotentRequest:
    """A POST's Idempotency-Key: its answer is recorded with the charge, in one transaction.

    ``respond(result, credits_charged)`` gives the (status, body) to record and send;
    ``result`` is what the service call returns (a RunView, metrics rows)."""

    key: str
    fingerprint: str
    respond: Callable[[Any, int], tuple[int, dict[str, Any]]]


def _check_count(value: Any, param: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{param} must be a whole number", param=param)
    if not minimum <= value <= MAX_CREDITS:
        raise InvalidInput(f"{param} must be between {minimum} and {MAX_CREDITS}", param=param)
    return value


def _principal(parsed: tuple[str, str] | None, rec: KeyRecord | None) -> Principal:
    """The principal of a parsed key whose record is ``rec``; Unauthorized unless the
    secret matches and the key is not revoked (all failures alike)."""
    if (parsed is None or rec is None or rec.revoked_at is not None
            or not keymod.secret_matches(parsed[1], rec.secret_hash)):
        raise Unauthorized("a valid API key is required (Authorization: Bearer <key>)")
    return Principal(rec.account_id, rec.id)


def _run_filters(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A run's filters as it echoes them: every field present, None where not set (runs
    queued before run-time filters existed have none)."""
    from linkgap.gap import RunFilters

    return {**RunFilters().as_dict(), **(stored or {})}


def _error_body(exc: LinkgapError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message}


class LinkgapService:
    """The service core: one per process, safe to share between threads."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or utc_now
        self.store: Store = store if store is not None else open_store(settings.database_url)
        self.index_path = Path(settings.index)
        self._index: BacklinkIndex | None = None
        self._index_lock = threading.Lock()
        # Keys, completed runs and their results, read without the database when hot.
        self.reads = ReadPath(self.store, int(settings.result_cache_mb) * 2**20)
        self._last_reap = float("-inf")
        self.workers = WorkerPool(
            run_once=self._run_once, renew=self._renew_lease, housekeeping=self.housekeeping,
            lease_seconds=float(settings.run_lease_seconds), warm=self.warm_engine)
        self.webhooks = Webhooks(self.store, settings, lambda: self._now())
        self._delivery_worker = worker_name("linkgap-webhooks")
        self.deliveries: DeliveryLoop[DeliveryRecord] = DeliveryLoop(
            lambda: self.webhooks.claim(self._delivery_worker),
            lambda claimed: self.webhooks.attempt(claimed, self._delivery_worker,
                                                  self._webhook_payload))

    def close(self) -> None:
        """Stop the worker and close the state store."""
        self.stop_worker()
        self.reads.close()
        self.store.close()

    def __enter__(self) -> LinkgapService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # time -------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.clock()

    def _expired_before(self, now: datetime | None = None) -> str | None:
        """Runs completed before this moment are past retention (None: kept forever)."""
        days = self.settings.run_retention_days
        if days is None:
            return None
        return iso_z((now or self._now()) - timedelta(days=float(days)))

    # database ---------------------------------------------------------------
    @property
    def store_where(self) -> str:
        """The state database, without any password, for messages."""
        return str(getattr(self.store, "where", "the state database"))

    def verify_store(self) -> None:
        """A quick integrity check of the state database (a server's start); a damaged one
        is UnsupportedDatabase with a one-line message."""
        problems = self.store.check(quick=True)
        if problems:
            raise UnsupportedDatabase(
                f"the state database is damaged ({problems[0]}"
                + (f"; and {len(problems) - 1} more problems" if len(problems) > 1 else "")
                + "): run `linkgap db check`, and restore it from a backup")

    # index ------------------------------------------------------------------
    def index(self) -> BacklinkIndex:
        """The newest published index version (reopened when ``CURRENT`` changes)."""
        from linkgap.index.reader import BacklinkIndex

        try:
            version = BacklinkIndex.current_version(self.index_path)
        except OSError:
            version = None
        if version is None:
            raise IndexUnavailable(
                "no backlink index is published yet; build one with `linkgap index build`",
                operator_detail=f"index folder {self.index_path}")
        with self._index_lock:
            if self._index is None or str(self._index.version) != str(version):
                self._index = BacklinkIndex.open(self.index_path)
            return self._index

    # accounts ---------------------------------------------------------------
    def _account_view(self, rec: AccountRecord, now: datetime | None = None) -> AccountView:
        now = now or self._now()
        used = rec.monthly_used if rec.quota_period == month_period(now) else 0
        used = min(used, rec.monthly_quota)
        credits = CreditsView(
            available=rec.monthly_quota - used + rec.topup_balance,
            monthly_quota=rec.monthly_quota, monthly_used=used,
            topup_balance=rec.topup_balance, resets_at=iso_z(next_month_start(now)),
        )
        return AccountView(rec.id, rec.name, rec.created_at, credits)

    def _account_named(self, name: str) -> AccountRecord:
        rec = self.store.account_by_name(name) if isinstance(name, str) else None
        if rec is None:
            raise NotFound(f"no account named {name!r}")
        return rec

    def create_account(self, name: str, *, credits: int = 0,
                       monthly_credits: int = 0) -> AccountView:
        """Create an account with top-up ``credits`` and a ``monthly_credits`` quota."""
        if not isinstance(name, str) or not ACCOUNT_NAME_RE.match(name):
            raise InvalidInput(
                "an account name is 1-64 characters: letters, digits and . _ @ + - "
                "(starting with a letter or digit)", param="name")
        credits = _check_count(credits, "credits")
        monthly_credits = _check_count(monthly_credits, "monthly_credits")
        now = self._now()
        rec = AccountRecord(
            id="acct_" + secrets.token_hex(8), name=name, created_at=iso_z(now),
            monthly_quota=monthly_credits, monthly_used=0, quota_period=month_period(now),
            topup_balance=credits,
        )
        self.store.create_account(rec)
        return self._account_view(rec, now)

    def list_accounts(self) -> list[AccountView]:
        """Every account with its current balance, by name."""
        now = self._now()
        return [self._account_view(r, now) for r in self.store.list_accounts()]

    def topup(self, name: str, amount: int) -> AccountView:
        """Add ``amount`` top-up credits (they never expire) to the account named ``name``."""
        amount = _check_count(amount, "amount", minimum=1)
        rec = self._account_named(name)
        return self._account_view(self.store.add_topup(rec.id, amount, iso_z(self._now())))

    def pricing(self) -> dict[str, int]:
        """What runs and look-ups cost on this server, and how large a run may be, so a
        client can show the price before it asks: a run costs
        ``max(1, ceil(k × limit / run_cost_divisor))`` credits."""
        from linkgap.gap import MAX_COMPETITORS

        return {
            "run_cost_divisor": int(self.settings.run_cost_divisor),
            "metrics_cost": int(self.settings.metrics_cost),
            "competitors_cost": int(self.settings.competitors_cost),
            "max_run_limit": int(self.settings.max_run_limit),
            "max_competitors": MAX_COMPETITORS,
        }

    def account(self, account_id: str) -> AccountView:
        """The account with this id and its balance; NotFound when unknown."""
        rec = self.store.account_by_id(account_id)
        if rec is None:
            raise NotFound("account not found")
        return self._account_view(rec)

    # keys -------------------------------------------------------------------
    @staticmethod
    def _key_view(rec: KeyRecord, account_name: str) -> KeyView:
        return KeyView(rec.id, account_name, rec.name, rec.created_at, rec.revoked_at,
                       keymod.KEY_PREFIX + rec.id)

    def create_key(self, account_name: str, *, name: str | None = None) -> tuple[str, KeyView]:
        """A new key for the account: (the full key, shown only now; its view)."""
        if name is not None:
            name = name.strip() or None
            if name is not None and (len(name) > MAX_KEY_NAME or not name.isprintable()):
                raise InvalidInput(f"a key name is at most {MAX_KEY_NAME} printable characters",
                                   param="name")
        account = self._account_named(account_name)
        now = iso_z(self._now())
        for _ in range(8):  # a 48-bit public id collides essentially never; retry if it does
            fresh = keymod.new_key()
            rec = KeyRecord(fresh.key_id, account.id, name, fresh.secret_hash, now, None)
            if self.store.insert_key(rec):
                return fresh.full, self._key_view(rec, account.name)
        raise RuntimeError("could not allocate a unique key id")  # pragma: no cover

    def list_keys(self, account_name: str | None = None) -> list[KeyView]:
        """Keys of one account (or of all), oldest first; never their secrets."""
        names = {a.id: a.name for a in self.store.list_accounts()}
        account_id = None if account_name is None else self._account_named(account_name).id
        return [self._key_view(k, names.get(k.account_id, k.account_id))
                for k in self.store.list_keys(account_id)]

    def revoke_key(self, key_id: str) -> KeyView:
        """Revoke a key by its public id (``lgk_`` prefix optional); NotFound when unknown."""
        parsed = keymod.parse_key_id(key_id) if isinstance(key_id, str) else None
        rec = self.store.revoke_key(parsed, iso_z(self._now())) if parsed else None
        if rec is None:
            raise NotFound(f"no key with id {key_id!r}")
        self.reads.forget_key(rec.id)  # other processes see it within reads.KEY_TTL_S
        account = self.store.account_by_id(rec.account_id)
        return self._key_view(rec, account.name if account else rec.account_id)

    def authenticate(self, raw_key: str | None) -> Principal:
        """The account a key acts for; Unauthorized for a missing, malformed, unknown or
        revoked key (all alike, so a caller learns nothing about which)."""
        parsed = keymod.parse_key(raw_key)
        return _principal(parsed, self.reads.key(parsed[0]) if parsed else None)

    def authenticate_cached(self, raw_key: str | None) -> Principal | None:
        """:meth:`authenticate` from memory only: None when that needs the database."""
        parsed = keymod.parse_key(raw_key)
        if parsed is None:
            return _principal(None, None)
        rec = self.reads.cached_key(parsed[0])
        return None if rec is MISSING else _principal(parsed, rec)

    # runs -------------------------------------------------------------------
    @staticmethod
    def _status(rec: RunRecord, expired_before: str | None) -> str:
        """A completed run past retention is expired, pruned yet or not."""
        if (rec.status == "completed" and expired_before is not None
                and rec.finished_at is not None and rec.finished_at < expired_before):
            return "expired"
        return rec.status

    def _run_view(self, rec: RunRecord, expired_before: str | None = None,
                  webhook: dict[str, Any] | None = None) -> RunView:
        return RunView(
            id=rec.id, status=self._status(rec, expired_before), domain=rec.domain,
            competitors=list(rec.competitors),
            mode=rec.mode, min_overlap=rec.min_overlap, competitor_count=len(rec.competitors),
            limit=rec.limit, filters=_run_filters(rec.filters), exclude=list(rec.exclude),
            created_at=rec.created_at, prospect_count=rec.prospect_count,
            total_found=rec.total_found,
            credits_charged=0 if rec.refunded else rec.credits_charged,
            started_at=rec.started_at, finished_at=rec.finished_at,
            index_version=rec.index_version, warnings=rec.warnings, error=rec.error,
            callback_url=rec.callback_url, webhook=webhook,
        )

    def _run_views(self, recs: list[RunRecord], expired_before: str | None) -> list[RunView]:
        webhooks = self.webhooks.views(recs)
        return [self._run_view(r, expired_before, webhooks[r.id]) for r in recs]

    def _idempotency_write(self, idem: IdempotentRequest | None, now: datetime,
                           result: Callable[[], Any]) -> IdempotencyWrite | None:
        if idem is None:
            return None
        key = self._check_idempotency_key(idem.key)
        return IdempotencyWrite(
            key, idem.fingerprint, iso_z(now), iso_z(now - IDEMPOTENCY_TTL),
            lambda charged: idem.respond(result(), charged))

    def create_run(self, account_id: str, *, domain: str, competitors: list[str],
                   mode: str = "union", min_overlap: int | None = None,
                   limit: int = 100, filters: dict[str, Any] | None = None,
                   exclude: list[str] | None = None, callback_url: str | None = None,
                   idempotency: IdempotentRequest | None = None,
                   ) -> tuple[RunView, int]:
        """Validate, charge and queue a gap run; returns (the queued run, credits charged).

        Refused with IndexUnavailable (nothing charged) while no index is published:
        names are normalised by the index's PSL mode, and the run could not complete;
        refused with CompetitorsNotIndexed (nothing charged or queued) when fewer than
        ``min_overlap`` of the competitors are indexed. With ``idempotency`` the answer is
        recorded under its key in the transaction that charges and queues the run;
        ``store.Replay`` when the key already has one. With ``callback_url`` the run is
        POSTed there, signed, when it completes or fails (SPEC 13).
        """
        from linkgap.gap import competitor_ids
        from linkgap.service.runs import run_cost, validate_gap_request

        index = self.index()
        req = validate_gap_request(
            index.normalize, domain=domain, competitors=competitors, mode=mode,
            min_overlap=min_overlap, limit=limit, max_limit=int(self.settings.max_run_limit),
            filters=filters, exclude=exclude,
        )
        callback = self.webhooks.check_url(callback_url)
        # A run that cannot find anything (misspelt competitors) is refused, not charged.
        competitor_ids(index, req.competitors, req.mode, req.min_overlap)
        cost = run_cost(req.k, req.limit, int(self.settings.run_cost_divisor))
        now = self._now()
        rec = RunRecord(
            id="run_" + secrets.token_hex(16), account_id=account_id, status="queued",
            domain=req.domain, competitors=req.competitors, mode=req.mode,
            min_overlap=req.min_overlap, limit=req.limit, created_at=iso_z(now),
            credits_charged=cost, filters=req.filters, exclude=req.exclude,
            callback_url=callback,
        )
        view = self._run_views([rec], None)[0]
        self.store.insert_run(rec, month_period(now),
                              self._idempotency_write(idempotency, now, lambda: view))
        self.workers.wake.set()
        return view, cost

    def _owned_run(self, account_id: str, run_id: str) -> RunRecord:
        rec = self.reads.run(run_id) if isinstance(run_id, str) else None
        if rec is None or rec.account_id != account_id:
            raise NotFound("run not found")
        return rec

    def get_run(self, account_id: str, run_id: str) -> RunView:
        """One of the account's runs; NotFound for an unknown run or another account's."""
        return self._run_views([self._owned_run(account_id, run_id)],
                               self._expired_before())[0]

    def list_runs(self, account_id: str, *, status: str | None = None, page: int = 1,
                  per_page: int = 50) -> tuple[list[RunView], int]:
        """A page of the account's runs, newest first (ties by id), and how many there are."""
        if status is not None and status not in RUN_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(RUN_STATUSES)}",
                               param="status", details={"allowed": list(RUN_STATUSES)})
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= 1_000_000:
            raise InvalidInput("page must be between 1 and 1000000", param="page")
        if (isinstance(per_page, bool) or not isinstance(per_page, int)
                or not 1 <= per_page <= 100):
            raise InvalidInput("per_page must be between 1 and 100", param="per_page")
        expired_before = self._expired_before()
        recs, total = self.store.list_runs(account_id, status, (page - 1) * per_page, per_page,
                                           expired_before)
        return self._run_views(recs, expired_before), total

    def run_result(self, account_id: str, run_id: str) -> GapResult:
        """The frozen prospects of a completed run; RunNotCompleted (with details.status)
        while it is queued, running or failed; RunExpired once retention deleted them."""
        rec = self._owned_run(account_id, run_id)
        if self._status(rec, self._expired_before()) == "expired":
            raise RunExpired(f"run {rec.id} has expired: its prospects were deleted after "
                             f"{self.settings.run_retention_days} days",
                             details={"status": "expired", "finished_at": rec.finished_at})
        if rec.status != "completed":
            raise RunNotCompleted(f"run {rec.id} is {rec.status}, not completed",
                                  details={"status": rec.status})
        return self.reads.result(rec.id)

    def _frozen_links(self, run_id: str, result: GapResult) -> FrozenLinks | None:
        """The links frozen with a completed run (kept with its cached result), or None for
        a run completed before links were frozen."""
        from linkgap.run_links import FrozenLinks

        with result.cache_lock:
            if "links" in result.cache:
                cached: FrozenLinks | None = result.cache["links"]
                return cached
        data = self.store.run_links(run_id)
        frozen = None if data is None else FrozenLinks.from_ipc(data)
        with result.cache_lock:
            result.cache["links"] = frozen
        return frozen

    def prospect_links(self, account_id: str, run_id: str, result: GapResult,
                       rows: Iterable[int]) -> Iterator[tuple[int, list[dict[str, Any]],
                                                          str, bool]]:
        """For each row position of ``result`` (a completed run of the account): its
        ``links`` entries per competitor in run order, the index version they come from,
        and whether they were frozen with the run (else read from the current index)."""
        from linkgap.run_links import live_links_many

        frozen = self._frozen_links(run_id, result)
        wanted = [int(r) for r in rows]
        beyond = [r for r in wanted if frozen is None or not frozen.covers(r)]
        live: dict[int, list[dict[str, Any]]] = {}
        version = ""
        if beyond:
            current = self.index()
            version = str(current.version)
            items = [(str(result.names[r].as_py()),
                      result.competitors_of(int(result.competitor_mask[r]))) for r in beyond]
            live = dict(zip(beyond, live_links_many(current, items), strict=True))
        kept = [r for r in wanted if r not in live]
        saved = dict(zip(kept, frozen.links_of_many(kept, result.competitors), strict=True)) \
            if frozen is not None and kept else {}
        for row in wanted:
            if row in live:
                yield row, live[row], version, False
            else:
                assert frozen is not None
                yield row, saved[row], frozen.index_version, True

    def check_links_readable(self, run_id: str, result: GapResult) -> None:
        """IndexUnavailable now (a 503 before a CSV starts streaming) when some of the run's
        prospects have no frozen links and no index is published to read them from."""
        frozen = self._frozen_links(run_id, result)
        if frozen is None or frozen.prospects < len(result):
            self.index()

    def prospect(self, account_id: str, run_id: str, domain: Any) -> dict[str, Any]:
        """SPEC 12 ``GET …/prospects/{domain}``: the prospect's fields, ``links`` per
        competitor (in run order), and where they come from (``links_frozen``,
        ``links_index_version``). NotFound for a domain that is not a prospect of the run
        (in any typed form), or for an unknown run or another account's."""
        from linkgap.prospects import prospect_row

        result = self.run_result(account_id, run_id)
        row = prospect_row(result, domain)
        if row is None:
            raise NotFound(f"{domain!r} is not a prospect of run {run_id}")
        _, links, version, frozen = next(self.prospect_links(account_id, run_id, result,
                                                             [row]))
        return {**result.rows([row])[0], "links": links, "links_frozen": frozen,
                "links_index_version": version}

    def cached_run_result(self, account_id: str, run_id: str) -> GapResult | None:
        """:meth:`run_result` from memory only: None when that needs the database (or the
        answer is an error)."""
        rec = self.reads.cached_run(run_id)
        if rec is None or rec.account_id != account_id:
            return None
        if self._status(rec, self._expired_before()) == "expired":
            return None  # the route answers 410
        return self.reads.cached_result(rec.id)

    # webhooks ---------------------------------------------------------------
    def webhook_secret(self, account_name: str, *, rotate: bool = False) -> str:
        """The account's webhook secret (SPEC 13), created on first use; ``rotate``
        replaces it, and the old one signs nothing from now on."""
        return self.webhooks.secret(self._account_named(account_name).id, rotate=rotate)

    def _webhook_payload(self, run_id: str) -> tuple[str, bytes] | None:
        """What a delivery POSTs: the event and the run as ``GET`` shows it, now."""
        import json

        rec = self.store.get_run(run_id)
        if rec is None:  # pragma: no cover - runs are never deleted
            return None
        view = self._run_views([rec], self._expired_before())[0]
        event = "run.failed" if rec.status == "failed" else "run.completed"
        body = json.dumps(view.as_dict(), ensure_ascii=False, separators=(",", ":"))
        return event, body.encode("utf-8")

    def deliver_pending_once(self) -> bool:
        """Claim one due webhook delivery and make the attempt in this thread; True if one
        was due (what the delivery loop does, for tests and one-off tools)."""
        claimed = self.webhooks.claim(self._delivery_worker)
        if claimed is None:
            return False
        self.webhooks.attempt(claimed, self._delivery_worker, self._webhook_payload)
        return True

    # domain metrics ---------------------------------------------------------
    def domain_metrics(self, account_id: str, domains: list[str], *,
                       idempotency: IdempotentRequest | None = None,
                       ) -> tuple[list[dict[str, Any]], int]:
        """SPEC ``POST /v1/domains/metrics``: rows in input order (duplicates merged) and the
        credits charged: ``metrics_cost`` per found domain not already looked up by the
        account in this index version; all or nothing (InsufficientCredits). With
        ``idempotency``, the answer is recorded in the charge's transaction."""
        if not isinstance(domains, list | tuple) or not 1 <= len(domains) <= MAX_METRICS_DOMAINS:
            raise InvalidInput(f"domains must be a list of 1 to {MAX_METRICS_DOMAINS} domain "
                               "names", param="domains")
        from linkgap.lookup import domain_metrics_rows

        index = self.index()
        rows = domain_metrics_rows(index, domains)
        found = [str(row["domain"]) for row in rows if row["found"]]
        now = self._now()
        charged, _hits = self.store.charge_metrics(
            account_id, str(index.version), found, int(self.settings.metrics_cost),
            month_period(now), iso_z(now), self._idempotency_write(idempotency, now, lambda: rows))
        return rows, charged

    def link_competitors(self, account_id: str, domain: Any, limit: Any
                         ) -> tuple[LinkCompetitors, int]:
        """SPEC ``GET /v1/domains/{domain}/competitors``: the competitors and the credits
        charged, ``competitors_cost`` for a domain in the index, nothing for one that is
        not (as domain metrics charge nothing for a domain not found). Everything that
        can refuse the request (the domain, the limit, an index without out-links, the
        balance) does so before anything is charged."""
        from linkgap.competitors import link_competitors_of

        index = self.index()
        result = link_competitors_of(index, domain, limit)
        amount = int(self.settings.competitors_cost) if result.found else 0
        charged = 0
        if amount:
            now = self._now()
            charged = self.store.charge_credits(account_id, amount, "competitors",
                                                str(index.version), month_period(now),
                                                iso_z(now))
        return result, charged

    # idempotency ------------------------------------------------------------
    @staticmethod
    def _check_idempotency_key(key: Any) -> str:
        if not isinstance(key, str) or not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
            raise InvalidInput(f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} characters",
                               param="Idempotency-Key")
        return key

    @staticmethod
    def _stored(rec: IdempotencyRecord) -> StoredResponse:
        return StoredResponse(int(rec.status or 200), dict(rec.body or {}))

    def idempotency_lookup(self, account_id: str, key: str,
                           fingerprint: str) -> StoredResponse | None:
        """The recorded answer to ``key`` (to replay), or None when it has none yet (go
        ahead, passing an IdempotentRequest to the call). IdempotencyConflict when the key
        was used with another body. Keys are remembered for 24 hours."""
        key = self._check_idempotency_key(key)
        rec = self.store.idempotency_get(account_id, key, iso_z(self._now() - IDEMPOTENCY_TTL))
        if rec is None:
            return None
        if rec.fingerprint != fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body")
        return self._stored(rec)

    def idempotency_record(self, account_id: str, key: str, fingerprint: str, status: int,
                           body: dict[str, Any]) -> StoredResponse | None:
        """Record an answer that charged nothing (an error the request decided, such as
        402 or 422); None when recorded, else the answer a concurrent repeat recorded
        first (to send instead)."""
        key = self._check_idempotency_key(key)
        now = self._now()
        rec = self.store.idempotency_record(account_id, key, fingerprint, iso_z(now),
                                            iso_z(now - IDEMPOTENCY_TTL), int(status), body)
        if rec is None:
            return None
        if rec.fingerprint != fingerprint:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body")
        return self._stored(rec)

    # rate limits --------------------------------------------------------------
    def rate_lease(self, key_id: str, now: float, window: float, limit: int,
                   want: int) -> RateLease:
        """Count up to ``want`` requests of an API key against its limit, shared by every
        process on this database (``now`` in epoch seconds)."""
        return self.store.rate_lease(key_id, now, window, limit, want)

    def rate_return(self, key_id: str, at: float, unused: int) -> None:
        """Uncount leased requests of an API key that were never made."""
        self.store.rate_return(key_id, at, unused)

    # worker -----------------------------------------------------------------
    def _lease_until(self, now: datetime) -> str:
        return iso_z(now + timedelta(seconds=float(self.settings.run_lease_seconds)))

    def reap(self) -> tuple[int, int]:
        """Runs whose worker died (lease expired) go back to the queue, or fail, refunded,
        after MAX_EXPIRED_LEASES expired leases. Returns (requeued, failed)."""
        now = self._now()
        requeued, failed = self.store.reap_expired(iso_z(now), MAX_EXPIRED_LEASES,
                                                   month_period(now))
        if requeued or failed:
            log.info("runs with expired leases: %d requeued, %d failed", requeued, failed)
        if failed:
            self.deliveries.wake.set()
        return requeued, failed

    def run_pending_once(self, worker: str | None = None) -> bool:
        """Reap expired leases, then claim and execute one queued run in this thread; True
        if there was one."""
        self.reap()
        self._last_reap = time.monotonic()
        return self._claim_and_execute(worker or worker_name())

    def _run_once(self, worker: str) -> bool:
        """A worker thread's step: reaping (a database read) at most every
        REAP_INTERVAL_S, so a busy worker goes straight from one run to the next."""
        if time.monotonic() - self._last_reap >= REAP_INTERVAL_S:
            self._last_reap = time.monotonic()
            self.reap()
        return self._claim_and_execute(worker)

    def _claim_and_execute(self, worker: str) -> bool:
        now = self._now()
        rec = self.store.claim_run(iso_z(now), worker, self._lease_until(now))
        if rec is None:
            return False
        self.workers.track(rec.id, worker)
        try:
            self._execute(rec, worker)
        finally:
            self.workers.untrack(rec.id)
        return True

    def _renew_lease(self, run_id: str, worker: str) -> bool:
        return self.store.renew_lease(run_id, worker, self._lease_until(self._now()))

    def _execute(self, rec: RunRecord, worker: str) -> None:
        from linkgap.gap import compute_gap
        from linkgap.run_links import freeze_links

        faults.reach("run.computing")
        try:
            index = self.index()
            result = compute_gap(index, rec.domain, rec.competitors, rec.mode, rec.min_overlap,
                                 rec.limit, filters=rec.filters, exclude=rec.exclude)
            data = result.to_ipc(compression="zstd")
            # The links behind the best prospects, from the same index version (SPEC 12).
            links = freeze_links(index, result, int(self.settings.evidence_freeze_max))
        except LinkgapError as exc:
            if exc.operator_detail:
                log.warning("gap run %s failed: %s", rec.id, exc.operator_message)
            self._fail(rec, _error_body(exc), worker)  # the public message only: callers read it
            return
        except Exception:
            log.exception("gap run %s failed", rec.id)
            self._fail(rec, {"code": "internal_error",
                             "message": "the run failed unexpectedly; its credits were refunded"},
                       worker)
            return
        try:
            stored = self.store.complete_run(
                rec.id, iso_z(self._now()), str(index.version), len(result),
                int(result.total_found), [dict(w) for w in result.warnings], data, worker,
                links=links)
        except Exception:
            # The result could not be stored (disk full, a result too large for a row): fail
            # the run with a refund rather than leave it 'running' until its lease expires.
            log.exception("could not store the result of gap run %s", rec.id)
            self._fail(rec, {"code": "internal_error",
                             "message": "the run's result could not be stored; its credits "
                                        "were refunded"}, worker)
            return
        if not stored:
            log.warning("run %s: the lease expired before the result was stored; another "
                        "worker computes it", rec.id)
        elif rec.callback_url is not None:
            self.deliveries.wake.set()

    def _fail(self, rec: RunRecord, error: dict[str, Any], worker: str | None = None) -> None:
        now = self._now()
        if self.store.fail_run(rec.id, iso_z(now), error, month_period(now), worker) and \
                rec.callback_url is not None:
            self.deliveries.wake.set()

    def prune_runs(self) -> int:
        """Retention (``LINKGAP_RUN_RETENTION_DAYS``): delete the prospects of runs completed
        longer ago and mark them expired; also forget idempotency records past 24 hours and
        old rate-limit hits. Returns how many runs expired (0 when runs are kept forever)."""
        now = self._now()
        self.store.purge(iso_z(now - IDEMPOTENCY_TTL), time.time() - RATE_HITS_KEPT_S)
        expired_before = self._expired_before(now)
        if expired_before is None:
            return 0
        count = self.store.expire_runs(expired_before)
        if count:
            log.info("retention: %d runs expired (finished before %s)", count, expired_before)
        return count

    def housekeeping(self) -> None:
        """What a process with workers does now and then: retention and clean-up."""
        self.prune_runs()

    def start_worker(self) -> None:
        """Start ``settings.workers`` threads executing queued runs (none for 0) until
        ``stop_worker``; they wake when this process or, through the store, another one
        queues a run."""
        threads = int(self.settings.workers)
        if threads < 1 or self.workers.running:
            return
        self.store.watch(self.workers.wake.set)
        self.workers.start(threads)
        self.deliveries.start()

    def warm_engine(self) -> bool:
        """Make the compiled gap kernel ready for the published index's arrays (loaded
        from numba's disk cache, or compiled once); False when there is no index or no
        numba. The first worker does this before it takes a run, so the first run a
        user starts does not pay for it."""
        from linkgap.gap import kernel

        try:
            index = self.index()
        except LinkgapError:
            return False
        started = time.perf_counter()
        warmed = kernel.warm(index)
        if warmed:
            log.info("gap kernel ready in %.2f s", time.perf_counter() - started)
        return warmed

    def stop_worker(self, timeout: float = 30.0) -> None:
        """Stop the worker threads (a run being computed finishes first, up to ``timeout``;
        one cut short is taken over by another worker once its lease expires), and the
        webhook delivery loop (an attempt under way finishes first)."""
        self.workers.stop(timeout)
        self.deliveries.stop(timeout)
