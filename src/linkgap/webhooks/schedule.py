"""When a failed webhook delivery is tried again (SPEC 13: exponential backoff, 24 hours).

Attempt n (1-based) that fails is followed by attempt n+1 after
``base × 2^(n-1)`` seconds, at most ``cap`` (an hour) apart, for as long as
the next attempt would start within 24 hours of the first; after that the
delivery is ``failed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["MAX_AGE", "MAX_INTERVAL", "next_attempt_at", "retry_delay"]

#: How long after its first attempt a delivery is still retried.
MAX_AGE = timedelta(hours=24)
#: The longest wait between two attempts.
MAX_INTERVAL = timedelta(hours=1)


def retry_delay(attempts: int, base_seconds: float,
                cap: timedelta = MAX_INTERVAL) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    exponent = max(0, attempts - 1)
    seconds = base_seconds * (2 ** min(exponent, 40))
    return min(timedelta(seconds=seconds), cap)


def next_attempt_at(first_attempt: datetime, now: datetime, attempts: int,
                    base_seconds: float) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None when 24 hours are up."""
    when = now + retry_delay(attempts, base_seconds)
    return when if when <= first_attempt + MAX_AGE else None
