"""Per-key request rate limits (SPEC section 5, "Rate limits and sizes").

A sliding-window log: each key keeps the times of its accepted requests in the
last ``window`` seconds. A request is accepted while fewer than ``limit`` are in
the window; a rejected request is not counted, so a client that backs off for
``Retry-After`` seconds always gets through.

``SharedRateLimiter`` keeps the log in the state database (``rate_hits``), counted
atomically, so every server on one database enforces one limit per key and the
``RateLimit-*`` headers are exact whichever server answers; the servers' clocks
(epoch time) must agree to well within a second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from linkgap.service.store import RateHit

__all__ = ["RateDecision", "SharedRateLimiter", "decide"]


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


def decide(hit: RateHit, limit: int, window: float, now: float) -> RateDecision:
    """The decision and headers for a key whose window, after this request, is ``hit``."""
    # Remaining grows again when the oldest counted request leaves the window.
    wait = (hit.oldest + window - now) if hit.oldest is not None and hit.count else 0.0
    return RateDecision(
        allowed=hit.allowed,
        limit=limit,
        remaining=max(0, limit - hit.count),
        reset=max(1, math.ceil(wait)) if hit.count else 0,
        retry_after=0 if hit.allowed else max(1, math.ceil(wait)),
    )


class SharedRateLimiter:
    """``limit`` requests per ``window`` seconds per key, shared by every process using the
    store (blocking: call it off the event loop)."""

    def __init__(self, count: Callable[[str, float, float, int], RateHit], limit: int,
                 window: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        self.limit = limit
        self.window = window
        self._count = count
        self._clock = clock

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key`` if its window has room; say whether it may proceed."""
        now = self._clock()
        return decide(self._count(key, now, self.window, self.limit), self.limit,
                      self.window, now)
