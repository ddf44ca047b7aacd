"""Per-key request rate limits (SPEC section 5, "Rate limits and sizes").

A sliding-window log: each key keeps the times of its accepted requests in the
last ``window`` seconds. A request is accepted while fewer than ``limit`` are in
the window; a rejected request is not counted, so a client that backs off for
``Retry-After`` seconds always gets through. The state lives in this process's
memory (one server process); a lock makes it safe across the server's threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "RateLimiter"]


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


class RateLimiter:
    """Thread-safe sliding-window limiter: ``limit`` requests per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> RateDecision:
        """Count one request for ``key`` if the window has room; say whether it may proceed."""
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.window
            while hits and hits[0] <= horizon:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            remaining = self.limit - len(hits)
            # Remaining grows again when the oldest counted request leaves the window.
            wait = (hits[0] + self.window - now) if hits else 0.0
            reset = max(1, math.ceil(wait)) if hits else 0
            if not hits:
                del self._hits[key]
            return RateDecision(
                allowed=allowed,
                limit=self.limit,
                remaining=remaining,
                reset=reset,
                retry_after=0 if allowed else max(1, math.ceil(wait)),
            )
