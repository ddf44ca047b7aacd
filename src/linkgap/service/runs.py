"""Gap-run requests: validation, normalisation and cost (SPEC sections 4 and 5).

Validation is the gap engine's own (``linkgap.gap``), so a run is checked by
the same rules the engine applies when it computes (its run-time ``filters``
and ``exclude`` too); the service adds what is a server policy: ``limit``
between 10 and ``LINKGAP_MAX_RUN_LIMIT``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linkgap import gap
from linkgap.errors import InvalidInput

__all__ = ["MIN_RUN_LIMIT", "GapRequest", "run_cost", "validate_gap_request"]

MIN_RUN_LIMIT = 10


@dataclass(frozen=True)
class GapRequest:
    """A validated gap run: canonical names, distinct competitors, effective ``min_overlap``."""

    domain: str
    competitors: list[str]
    mode: str
    min_overlap: int
    limit: int
    #: ``{min_authority, max_spam, dofollow}`` (None: not set) and the excluded domains.
    filters: dict[str, Any]
    exclude: list[str]

    @property
    def k(self) -> int:
        """The number of distinct competitors."""
        return len(self.competitors)


class _Normalizing:
    """The one part of an index the engine's validation reads: its domain normaliser."""

    def __init__(self, normalize: Callable[[str], str]) -> None:
        self.normalize = normalize


def validate_gap_request(
    normalize: Callable[[str], str], *, domain: Any, competitors: Any, mode: Any = "union",
    min_overlap: Any = None, limit: Any = 100, max_limit: int = 1000, filters: Any = None,
    exclude: Any = None,
) -> GapRequest:
    """Check and normalise a gap run's parameters; InvalidInput names the offending one
    (``domain``, ``competitors``, ``competitors[i]``, ``mode``, ``min_overlap``, ``limit``,
    ``filters.<field>``, ``exclude``, ``exclude[i]``)."""
    if mode is None:
        mode = "union"
    if isinstance(competitors, str):
        # The engine accepts one bare name for convenience; a run request needs a list.
        raise InvalidInput("competitors must be a list of domain names", param="competitors")
    normalizing = _Normalizing(normalize)
    target, comps, mode_, m, _ = gap.validate_run_inputs(
        normalizing, domain, competitors, mode, min_overlap, None  # type: ignore[arg-type]
    )
    if limit is None:
        limit = 100
    if isinstance(limit, bool) or not isinstance(limit, int) or not (
            MIN_RUN_LIMIT <= limit <= max_limit):
        raise InvalidInput(f"limit must be a whole number between {MIN_RUN_LIMIT} and "
                           f"{max_limit}", param="limit")
    run_filters = gap.validate_filters(filters)
    excluded = gap.validate_exclude(normalizing, exclude, target, comps)  # type: ignore[arg-type]
    return GapRequest(target, comps, mode_, m, limit, run_filters.as_dict(), excluded)


def run_cost(k: int, limit: int, divisor: int) -> int:
    """Credits a run costs: ``max(1, ceil(k * limit / divisor))``, in exact integer arithmetic."""
    divisor = max(1, divisor)
    return max(1, -(-k * limit // divisor))
