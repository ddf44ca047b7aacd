"""Run-time filters and exclusions (SPEC 12): what a run drops *before* it keeps ``limit``.

``RunFilters`` holds ``min_authority`` (domain_rating ≥), ``max_spam``
(spam_score ≤) and ``dofollow`` (true: at least one of the prospect's links to
the competitors is dofollow; false: none is), with the meanings of the
prospects endpoint's filters. ``exclude`` names up to ``MAX_EXCLUDE`` domains:
a domain linking (any rel) to one of them, or one of them itself, is not a
prospect, exactly as for the target. Both engines apply them while they find
the prospects, so ``total_found`` counts what passes and the run keeps the
best ``limit`` of those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from linkgap.errors import InvalidInput
from linkgap.gap.protocol import GapIndex
from linkgap.gap.validation import normalize_param

__all__ = ["FILTER_FIELDS", "MAX_EXCLUDE", "RunFilters", "validate_exclude", "validate_filters"]

#: Most domains one run may exclude.
MAX_EXCLUDE = 100
#: The filter fields, in the order the run echoes them.
FILTER_FIELDS = ("min_authority", "max_spam", "dofollow")


@dataclass(frozen=True)
class RunFilters:
    """The run-time filters; None means "not filtered on this"."""

    min_authority: int | None = None
    max_spam: int | None = None
    dofollow: bool | None = None

    @property
    def active(self) -> bool:
        """True when any filter narrows the prospects."""
        return any(v is not None for v in (self.min_authority, self.max_spam, self.dofollow))

    def as_dict(self) -> dict[str, Any]:
        """``{min_authority, max_spam, dofollow}``, every key present (None: not set)."""
        return {name: getattr(self, name) for name in FILTER_FIELDS}

    def keeps(self, domain_rating: np.ndarray, spam_score: np.ndarray,
              dofollow_mask: np.ndarray) -> np.ndarray:
        """Per prospect: True when it passes (metrics read as the score reads them: uint8)."""
        keep = np.ones(np.shape(dofollow_mask)[0], dtype=bool)
        if self.min_authority is not None:
            keep &= np.asarray(domain_rating, dtype=np.uint8) >= self.min_authority
        if self.max_spam is not None:
            keep &= np.asarray(spam_score, dtype=np.uint8) <= self.max_spam
        if self.dofollow is not None:
            keep &= (np.asarray(dofollow_mask) != 0) == self.dofollow
        return keep


def _whole_0_100(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) \
            or not 0 <= int(value) <= 100:
        # The message names the filter as the prospects endpoint does; param says where.
        raise InvalidInput(f"{name} must be a whole number between 0 and 100",
                           param=f"filters.{name}")
    return int(value)


def validate_filters(filters: object) -> RunFilters:
    """``filters`` (None, a ``RunFilters`` or a mapping with the ``FILTER_FIELDS``) checked;
    InvalidInput names the offending field as ``filters.<field>``."""
    if filters is None:
        return RunFilters()
    if isinstance(filters, RunFilters):
        filters = filters.as_dict()
    if not isinstance(filters, Mapping):
        raise InvalidInput("filters must be an object with min_authority, max_spam and "
                           "dofollow", param="filters")
    unknown = [str(k) for k in filters if k not in FILTER_FIELDS]
    if unknown:
        raise InvalidInput(f"unknown filter {unknown[0]!r}: the run filters are "
                           f"{', '.join(FILTER_FIELDS)}", param=f"filters.{unknown[0]}")
    dofollow = filters.get("dofollow")
    if dofollow is not None and not isinstance(dofollow, bool | np.bool_):
        raise InvalidInput("dofollow must be true or false", param="filters.dofollow")
    return RunFilters(
        min_authority=_whole_0_100(filters.get("min_authority"), "min_authority"),
        max_spam=_whole_0_100(filters.get("max_spam"), "max_spam"),
        dofollow=None if dofollow is None else bool(dofollow),
    )


def validate_exclude(index: GapIndex, exclude: object, target: str,
                     competitors: list[str]) -> list[str]:
    """The excluded domains normalised, duplicates merged, in the order given.

    Your own domain is dropped (its referrers are never prospects anyway); a
    competitor is refused (``exclude[i]``): excluding it would contradict
    comparing against it. At most ``MAX_EXCLUDE`` items (``exclude``).
    """
    if exclude is None:
        return []
    if isinstance(exclude, str) or not isinstance(exclude, list | tuple):
        raise InvalidInput("exclude must be a list of domain names", param="exclude")
    if len(exclude) > MAX_EXCLUDE:
        raise InvalidInput(f"at most {MAX_EXCLUDE} domains can be excluded from a run "
                           f"({len(exclude)} were given)", param="exclude")
    names: list[str] = []
    for i, text in enumerate(exclude):
        param = f"exclude[{i}]"
        name = normalize_param(index, text, param)
        if name in competitors:
            raise InvalidInput(
                f"{text!r} is one of the competitors ({name}); a run cannot exclude the "
                "domains it compares against", param=param)
        if name != target and name not in names:
            names.append(name)
    return names
