"""UTC timestamps as linkgap stores and shows them.

Every timestamp is an ISO-8601 string in UTC ending in ``Z`` with millisecond
precision and a fixed width, so that comparing the strings compares the times
(the store sorts and expires rows by them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "iso_z", "month_period", "next_month_start", "parse_iso_z", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime from an injected test clock is read as UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    moment = _as_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso_z(text: str) -> datetime:
    """The aware UTC datetime of a string written by :func:`iso_z` (or any ISO-8601 form)."""
    return _as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def month_period(moment: datetime) -> str:
    """The quota period (``YYYY-MM``, UTC) that ``moment`` falls in."""
    moment = _as_utc(moment)
    return f"{moment.year:04d}-{moment.month:02d}"


def next_month_start(moment: datetime) -> datetime:
    """Midnight UTC on the 1st of the month after ``moment``: when the monthly quota resets."""
    moment = _as_utc(moment)
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
