"""Signed webhooks in the service (SPEC 13): callback URLs, account secrets, deliveries.

A run may carry a ``callback_url`` (checked when the run is made:
``linkgap.webhooks.addresses``). When the run completes or fails, the store
writes its pending delivery in the same transaction, so none is lost, whatever
crashes when. A delivery loop (``deliveries.DeliveryLoop``) in every process that
runs workers claims due deliveries under a lease and sends each with
:meth:`Webhooks.attempt`: the address is resolved and checked again, the run
object (the JSON of ``GET /v1/backlinks/gap/{run_id}``) is signed with the
account's secret as it is *now* (a rotation applies at once) and POSTed once. A
failure is retried with exponential backoff (``LINKGAP_WEBHOOK_RETRY_BASE``
seconds, doubling, at most an hour apart) for up to 24 hours after the first
attempt, then the delivery is ``failed``. Every attempt is recorded.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from linkgap.service.cache import TtlCache
from linkgap.service.store import DeliveryRecord, RunRecord, Store
from linkgap.service.timeutil import iso_z, parse_iso_z
from linkgap.settings import Settings
from linkgap.webhooks.addresses import Resolver, check_callback_url, system_resolver
from linkgap.webhooks.schedule import next_attempt_at
from linkgap.webhooks.sender import AttemptResult, send_once
from linkgap.webhooks.signing import SIGNATURE_HEADER, new_secret, signature_header

__all__ = ["ATTEMPT_HEADER", "EVENT_HEADER", "LEASE_MARGIN_S", "Webhooks"]

log = logging.getLogger("linkgap.service")

#: The attempt number (1, 2, …) of a delivery, and the event it reports.
ATTEMPT_HEADER = "Linkgap-Attempt"
EVENT_HEADER = "Linkgap-Event"
#: A sender's lease on a delivery lasts the attempt's timeout plus this (the name's
#: resolution is not bounded by the timeout); a sender that died is taken over after it.
LEASE_MARGIN_S = 60.0
#: Deliveries that ended (delivered or failed) kept in memory per process: they never change.
FINISHED_KEPT = 100_000
#: The longest ``last_error`` kept (a TLS or network error can be wordy).
MAX_ERROR_CHARS = 500

_PENDING: dict[str, Any] = {"status": "pending", "attempts": 0, "last_error": None,
                            "next_attempt_at": None}


class Webhooks:
    """The webhook rules over the store: URLs, secrets, the run's webhook view, attempts."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime], *,
                 resolver: Resolver = system_resolver,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.resolver = resolver
        self.verify = verify
        self._finished: TtlCache[str, DeliveryRecord] = TtlCache(None, FINISHED_KEPT)

    @property
    def timeout(self) -> float:
        return float(self.settings.webhook_timeout)

    # when a run is made -------------------------------------------------------------
    def check_url(self, url: Any) -> str | None:
        """The callback URL a run will carry (None for none); InvalidInput (param
        ``callback_url``) when this server would never deliver to it."""
        if url is None:
            return None
        return check_callback_url(url, allow_http=bool(self.settings.webhook_allow_http),
                                  allow_private=bool(self.settings.webhook_allow_private))

    # secrets ------------------------------------------------------------------------
    def secret(self, account_id: str, *, rotate: bool = False) -> str:
        """The account's webhook secret, created on first use; ``rotate`` replaces it (the
        old one stops signing at once: every attempt reads the secret afresh)."""
        return self.store.webhook_secret(account_id, new_secret(), iso_z(self.clock()), rotate)

    # what a run shows ---------------------------------------------------------------
    def views(self, runs: Iterable[RunRecord]) -> dict[str, dict[str, Any] | None]:
        """``webhook`` of each run: None without a callback_url, else ``{status, attempts,
        last_error, next_attempt_at}`` (``pending`` with no attempt until it finishes)."""
        out: dict[str, dict[str, Any] | None] = {}
        wanted: list[str] = []
        known: dict[str, DeliveryRecord] = {}
        for rec in runs:
            out[rec.id] = None
            if rec.callback_url is None:
                continue
            out[rec.id] = dict(_PENDING)
            if rec.status in ("queued", "running"):
                continue
            cached = self._finished.get(rec.id)
            if cached is TtlCache.MISSING:
                wanted.append(rec.id)
            else:
                known[rec.id] = cached
        if wanted:
            for run_id, delivery in self.store.deliveries(wanted).items():
                known[run_id] = delivery
                if delivery.status != "pending":
                    self._finished.put(run_id, delivery)
        for run_id, delivery in known.items():
            out[run_id] = self.view(delivery)
        return out

    @staticmethod
    def view(delivery: DeliveryRecord) -> dict[str, Any]:
        """The ``webhook`` object of a run whose delivery is ``delivery``."""
        return {"status": delivery.status, "attempts": delivery.attempts,
                "last_error": delivery.last_error,
                "next_attempt_at": delivery.next_attempt_at
                if delivery.status == "pending" else None}

    # delivering ---------------------------------------------------------------------
    def claim(self, worker: str) -> DeliveryRecord | None:
        """The next due delivery, now leased to ``worker`` (None when none is due)."""
        now = self.clock()
        lease = timedelta(seconds=self.timeout + LEASE_MARGIN_S)
        return self.store.claim_delivery(iso_z(now), worker, iso_z(now + lease))

    def attempt(self, delivery: DeliveryRecord, worker: str,
                payload: Callable[[str], tuple[str, bytes] | None]) -> AttemptResult:
        """Send one claimed delivery and record how it went (and when to try again).

        ``payload(run_id)`` gives the event name and the JSON body: the run as the API
        shows it now (None when the run is gone, which never happens in practice)."""
        made = payload(delivery.run_id)
        if made is None:  # pragma: no cover - runs are never deleted
            result = AttemptResult(False, None, "the run no longer exists")
        else:
            event, body = made
            secret = self.secret(delivery.account_id)
            headers = {SIGNATURE_HEADER: signature_header(secret, body),
                       ATTEMPT_HEADER: str(delivery.attempts), EVENT_HEADER: event}
            result = send_once(delivery.url, body, headers, timeout=self.timeout,
                               allow_private=bool(self.settings.webhook_allow_private),
                               resolver=self.resolver, verify=self.verify)
        if result.error is not None and len(result.error) > MAX_ERROR_CHARS:
            result = AttemptResult(False, result.status, result.error[:MAX_ERROR_CHARS - 1] + "…")
        now = self.clock()
        retry_at = None
        if not result.ok:
            first = parse_iso_z(delivery.first_attempt_at or iso_z(now))
            when = next_attempt_at(first, now, delivery.attempts,
                                   float(self.settings.webhook_retry_base))
            retry_at = iso_z(when) if when is not None else None
        recorded = self.store.finish_delivery(
            delivery.run_id, delivery.attempts, worker, iso_z(now), delivered=result.ok,
            http_status=result.status, error=result.error, retry_at=retry_at)
        if not recorded:
            log.warning("webhook of run %s: the lease on attempt %d expired before it was "
                        "recorded; another sender has taken the delivery over",
                        delivery.run_id, delivery.attempts)
        elif not result.ok:
            log.info("webhook of run %s, attempt %d failed (%s); %s", delivery.run_id,
                     delivery.attempts, result.error,
                     f"next attempt at {retry_at}" if retry_at else "giving up (24 hours)")
        return result
