"""A run's inputs, checked and normalised (SPEC 4), and the competitors' index ids.

The service validates a run request with the same functions before it charges
for it, so a request is refused by exactly the rules the engine applies.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from linkgap.errors import CompetitorsNotIndexed, InvalidDomain, InvalidInput
from linkgap.gap.protocol import GapIndex

__all__ = ["MAX_COMPETITORS", "MODES", "competitor_ids", "normalize_param", "validate_run_inputs"]

#: Most distinct competitors a run may name (SPEC 4).
MAX_COMPETITORS = 20
MODES = ("union", "intersect")


def normalize_param(index: GapIndex, text: object, param: str) -> str:
    """``text`` as the index's canonical domain name; InvalidInput / InvalidDomain naming
    ``param`` (``domain``, ``competitors[1]``, ``exclude[0]``…) when it is not one.

    The one rule for every request field that holds a domain."""
    if not isinstance(text, str):
        raise InvalidInput(f"{param} must be a domain name given as text", param=param)
    try:
        return index.normalize(text)
    except InvalidDomain as exc:
        raise InvalidDomain(exc.value, exc.reason, param=param) from None


def validate_run_inputs(
    index: GapIndex,
    domain: object,
    competitors: object,
    mode: object,
    min_overlap: object,
    limit: object,
) -> tuple[str, list[str], str, int, int | None]:
    """Normalise and check a run's inputs; returns (T, competitors, mode, m, limit)."""
    if mode not in MODES:
        raise InvalidInput(f"mode must be 'union' or 'intersect', not {mode!r}", param="mode")
    target = normalize_param(index, domain, "domain")
    if isinstance(competitors, str):
        competitors = [competitors]
    if not isinstance(competitors, Iterable):
        raise InvalidInput("competitors must be a list of domain names", param="competitors")
    raw = list(competitors)
    if not raw:
        raise InvalidInput("give at least one competitor domain", param="competitors")
    if len(raw) > 1000:
        raise InvalidInput(
            f"at most {MAX_COMPETITORS} competitors can be compared at once", param="competitors"
        )
    comps: list[str] = []
    for i, text in enumerate(raw):
        name = normalize_param(index, text, f"competitors[{i}]")
        if name == target:
            raise InvalidInput(
                f"{text!r} is your own domain ({target}); list only competitors' domains",
                param=f"competitors[{i}]",
            )
        if name not in comps:
            comps.append(name)
    k = len(comps)
    if k > MAX_COMPETITORS:
        raise InvalidInput(
            f"at most {MAX_COMPETITORS} distinct competitors can be compared at once "
            f"({k} were given)", param="competitors",
        )
    if min_overlap is not None and (isinstance(min_overlap, bool)
                                    or not isinstance(min_overlap, int | np.integer)):
        raise InvalidInput("min_overlap must be a whole number", param="min_overlap")
    if mode == "intersect":
        if min_overlap is not None and int(min_overlap) != k:
            raise InvalidInput(
                f"min_overlap cannot be {min_overlap} in intersect mode, which always means "
                f"{_all_of(k)}; leave it out or use union mode", param="min_overlap",
            )
        m = k
    else:
        m = 1 if min_overlap is None else int(min_overlap)
        if not 1 <= m <= k:
            raise InvalidInput(
                f"min_overlap must be between 1 and the number of distinct competitors ({k})",
                param="min_overlap",
            )
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int | np.integer):
            raise InvalidInput("limit must be a whole number", param="limit")
        if int(limit) < 1:
            raise InvalidInput("limit must be at least 1", param="limit")
        limit = int(limit)
    return target, comps, str(mode), m, limit


def competitor_ids(index: GapIndex, competitors: list[str], mode: str,
                   min_overlap: int) -> list[int | None]:
    """The index ids of a run's (validated) competitors, None where one is not indexed.

    Raises ``CompetitorsNotIndexed`` when fewer than ``min_overlap`` of them are
    indexed: no prospect could exist, so the run is refused rather than computed
    (and, over the API, charged).
    """
    ids = [index.id_of(c) for c in competitors]
    missing = [c for c, i in zip(competitors, ids, strict=True) if i is None]
    indexed = len(ids) - len(missing)
    if indexed >= min_overlap:
        return ids
    k = len(competitors)
    if mode == "intersect":
        reason = f"in intersect mode a prospect must link to {_all_of(k)}"
    elif indexed == 0:
        reason = "no competitor of the run is indexed"
    else:
        reason = (f"only {indexed} of the {k} competitors {'is' if indexed == 1 else 'are'} "
                  f"indexed, fewer than the min_overlap of {min_overlap}")
    raise CompetitorsNotIndexed(
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the backlink "
        f"index: {reason}, so no prospect can exist. Check the spelling of the competitors.",
        missing=missing,
    )


def _all_of(k: int) -> str:
    """"all 3 competitors", or "the one competitor": never "all 1 competitors"."""
    return "the one competitor" if k == 1 else f"all {k} competitors"
