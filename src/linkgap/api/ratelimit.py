"""Per-key request rate limits (SPEC section 5 "Rate limits and sizes", section 11).

A sliding-window log: each key's accepted requests of the last ``window``
seconds are counted in the state database (``rate_hits``), so every server on
one database enforces one limit per key. A request is accepted while fewer than
``limit`` are in the window; a rejected request is not counted, so a client that
backs off for ``Retry-After`` seconds always gets through.

Counting every request in the database would cost a write transaction per
request, so a process **leases** requests in batches: one transaction counts up
to ``want`` requests at once (never past the limit), and the process then
answers that many from memory, on the event loop. The batch starts at one
request, doubles while leases are used up within ``LEASE_S``, and is at most
``limit // BATCH_SHARE`` (at most ``MAX_BATCH``), so small limits stay exact
(a limit under 128 a minute leases one request at a time). A lease lives
``LEASE_S`` seconds; what it did not use is given back to the database then.

The tolerance this buys, documented in docs/api.md:

- never more than ``limit`` requests are counted in a window, whichever
  servers answer them; a leased request is counted from the moment of its
  lease, up to ``LEASE_S`` before it is made, so a key gets at most ``limit``
  requests in any ``window - LEASE_S`` seconds (59 of 60);
- a server holding unused leased requests (at most one batch per key, for at
  most ``LEASE_S``) may make another server refuse up to that many early, and
  the ``RateLimit-Remaining`` another server reports is low by as many.

The servers' clocks (epoch time) must agree to well within a second.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from linkgap.service.store import RateLease

__all__ = ["BATCH_SHARE", "FORGET_S", "LEASE_S", "MAX_BATCH", "RateDecision", "SharedRateLimiter",
           "decide"]

logger = logging.getLogger("linkgap.api")

#: Seconds a lease of requests is used before its unused requests go back.
LEASE_S = 1.0
#: A lease takes at most this fraction (1/BATCH_SHARE) of a key's limit ...
BATCH_SHARE = 64
#: ... and at most this many requests.
MAX_BATCH = 1024
#: Seconds a used-up lease is remembered (its size is where the next lease starts).
FORGET_S = 60.0
#: Locks that serialise leasing per key in one process (keys hash onto them).
_LEASE_LOCKS = 64


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request against its key's limit."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the oldest counted request leaves the window (0: none counted)
    retry_after: int  # seconds to wait when not allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        """The RateLimit-* headers every authenticated response carries (plus Retry-After)."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


def decide(allowed: bool, count: int, oldest: float | None, limit: int, window: float,
           now: float) -> RateDecision:
    """The decision and headers for a key with ``count`` requests counted in its window
    (the oldest at ``oldest``) after this one."""
    # Remaining grows again when the oldest counted request leaves the window.
    wait = (oldest + window - now) if oldest is not None and count else 0.0
    return RateDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - count),
        reset=max(1, math.ceil(wait)) if count else 0,
        retry_after=0 if allowed else max(1, math.ceil(wait)),
    )


@dataclass
class _Lease:
    """Requests counted for one key in one transaction, answered from memory."""

    at: float  # when they were counted (epoch seconds)
    granted: int
    left: int
    count: int  # the key's window after the lease, every process's requests included
    oldest: float | None

    @property
    def used(self) -> int:
        return self.granted - self.left


class SharedRateLimiter:
    """``limit`` requests per ``window`` seconds per key, shared by every process using the
    store, leased from it in batches.

    ``lease(key, now, window, limit, want)`` and ``give_back(key, at, unused)`` are the
    store's ``rate_lease`` and ``rate_return``. :meth:`local_hit` never does I/O (the
    event loop calls it); :meth:`hit` and :meth:`sweep` may block on the store.
    Thread-safe."""

    def __init__(self, lease: Callable[[str, float, float, int, int], RateLease],
                 give_back: Callable[[str, float, int], None], limit: int,
                 window: float = 60.0, *, lease_s: float = LEASE_S,
                 clock: Callable[[], float] = time.time) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        self.limit = limit
        self.window = window
        self.lease_s = lease_s
        self.max_batch = max(1, min(MAX_BATCH, limit // BATCH_SHARE))
        self._lease = lease
        self._give_back = give_back
        self._clock = clock
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()  # guards _leases; never held during I/O
        self._lease_locks = [threading.Lock() for _ in range(_LEASE_LOCKS)]

    # answering ----------------------------------------------------------------
    def local_hit(self, key: str) -> RateDecision | None:
        """Count one request for ``key`` from this process's lease; None when the lease
        is used up or too old (then call :meth:`hit`)."""
        now = self._clock()
        with self._lock:
            lease = self._leases.get(key)
            if lease is None or lease.left == 0 or now >= lease.at + self.lease_s:
                return None
            lease.left -= 1
            return self._allowed(lease, now)

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key`` if its window has room; say whether it may proceed
        (blocking: leases from the store when this process has no request left)."""
        decision = self.local_hit(key)
        if decision is not None:
            return decision
        with self._lease_locks[hash(key) % _LEASE_LOCKS]:
            decision = self.local_hit(key)  # another thread may have leased meanwhile
            if decision is not None:
                return decision
            now = self._clock()
            with self._lock:
                old = self._leases.pop(key, None)
            if old is not None and old.left:
                self._return(key, old)  # too old to use: give it back before leasing
            got = self._lease(key, now, self.window, self.limit, self._want(old, now))
            if not got.granted:
                return decide(False, got.count, got.oldest, self.limit, self.window, now)
            lease = _Lease(now, got.granted, got.granted - 1, got.count, got.oldest)
            with self._lock:
                self._leases[key] = lease
            return self._allowed(lease, now)

    def _allowed(self, lease: _Lease, now: float) -> RateDecision:
        # The requests this process still holds are the key's to make: not counted yet.
        return decide(True, lease.count - lease.left, lease.oldest, self.limit, self.window,
                      now)

    def _want(self, old: _Lease | None, now: float) -> int:
        """The next batch for a key: doubled when the last was used up within its life,
        what it used when it expired unused, one to start."""
        if old is None:
            return 1
        if old.left:
            return max(1, old.used)
        if now < old.at + self.lease_s:
            return min(self.max_batch, 2 * old.granted)
        return old.granted

    # giving back --------------------------------------------------------------
    def holding(self) -> bool:
        """Whether this process remembers leases (a :meth:`sweep` is due after
        ``lease_s``)."""
        return bool(self._leases)

    def sweep(self) -> int:
        """Give the unused requests of leases older than ``lease_s`` back to the store, and
        forget leases older than ``FORGET_S``; how many requests went back (blocking).

        A lease given back is remembered as used up, at the size it used, so a busy key
        does not start again from a batch of one."""
        now = self._clock()
        back: list[tuple[str, _Lease]] = []
        with self._lock:
            for key, lease in list(self._leases.items()):
                if now < lease.at + self.lease_s:
                    continue
                if lease.left:
                    back.append((key, lease))
                    self._leases[key] = _Lease(lease.at, max(1, lease.used), 0, lease.count,
                                               lease.oldest)
                elif now >= lease.at + FORGET_S:
                    del self._leases[key]
        for key, lease in back:
            self._return(key, lease)
        return sum(lease.left for _, lease in back)

    def _return(self, key: str, lease: _Lease) -> None:
        try:
            self._give_back(key, lease.at, lease.left)
        except Exception as exc:  # a lost give-back only refuses a few requests early
            logger.warning("could not give back %d leased requests of a key: %s",
                           lease.left, exc)
