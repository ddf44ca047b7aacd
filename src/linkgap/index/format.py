"""The on-disk layout of a version folder: format number, per-edge columns, encodings.

Format 2 introduced, and format 3 keeps, the in-link CSR compact enough for
Common Crawl's domain graph (SPEC section 10): a gap query reads 5 bytes per in-link
(``in_src`` int32 + the ``in_dofollow`` flag) and all per-edge columns take
15 bytes per edge. Counts saturate at the width of their column and seen
times are day numbers; the per-domain totals (``backlinks.npy`` and the
others) are summed at build time in 64-bit integers *before* the per-edge
counts saturate, so the metrics stay exact.

Format 3 keeps format 2's per-edge columns and narrows the
per-domain files that were wider than their values: ``pagerank`` float32
(stored to 6 significant digits, which float32 holds), ``rank``,
``referring_domains`` and ``linked_domains`` in the source ids' width (each
is at most the number of domains, so they stay exact) and ``spam_signals``
uint16. ``backlinks`` and ``outlinks`` stay int64: they are sums of links and
SPEC 3 wants them exact.

Format 4 (this one) keeps format 3's columns and adds *constant columns*: a
per-edge column other than the two hot ones that holds one value on every
edge is stored as that one value (a one-element ``.npy`` file, named with its
value under ``constant_columns`` in ``manifest.json``) and read as that value
broadcast over the edges. A web graph's edges all have one dofollow link and
no dates, so a cc-graph build stores 5 bytes per edge instead of 15. A
format-3 version has no constant columns and is read as it is.

Older formats are refused with a message that says how to rebuild: format 1
(int64 counts and epoch seconds per edge, 36 bytes per edge) and format 2
(the same per-edge columns as this one, 64-bit per-domain ranks and PageRank).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linkgap.errors import IndexUnavailable

__all__ = [
    "DAY_UNKNOWN",
    "DOFOLLOW_LINKS_MAX",
    "EDGE_COLUMNS",
    "FORMAT_VERSION",
    "LINKS_MAX",
    "READABLE_FORMATS",
    "EdgeColumn",
    "check_format",
    "constant_column_names",
    "days_to_dates",
    "edge_bytes",
    "encode_days",
    "saturate",
]

#: Layout version of a version folder (``manifest.json`` ``format``).
FORMAT_VERSION = 4
#: Older layouts this release still reads as they are (format 3: no constant columns).
READABLE_FORMATS = frozenset({3, FORMAT_VERSION})

#: What changed since each older format, for the message that refuses it.
_OLD_FORMATS = {
    1: "int64 counts per edge",
    2: "64-bit per-domain PageRank, ranks and counts",
}

#: ``in_links`` saturates here (uint32): an edge with more links stores this.
LINKS_MAX = int(np.iinfo(np.uint32).max)
#: ``in_dofollow_links`` saturates here (uint16).
DOFOLLOW_LINKS_MAX = int(np.iinfo(np.uint16).max)
#: Seen-day code of an edge whose links carry no date.
DAY_UNKNOWN = 0
_DAY_MAX = int(np.iinfo(np.uint16).max)  # 2149-06-05
_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class EdgeColumn:
    """One per-edge array of the in-link CSR: file stem, dtype, whether gap queries read it."""

    name: str
    dtype: np.dtype[Any]
    hot: bool
    meaning: str


#: The per-edge arrays, in the order the CSR writer fills them. ``in_src`` is
#: int64 instead of int32 from 2^31 domains on (never in practice).
EDGE_COLUMNS: tuple[EdgeColumn, ...] = (
    EdgeColumn("in_src", np.dtype(np.int32), True,
               "source domain id, ascending within a target's slice"),
    EdgeColumn("in_dofollow", np.dtype(np.uint8), True,
               "1 when at least one link on the edge is dofollow, else 0"),
    EdgeColumn("in_links", np.dtype(np.uint32), False,
               f"links on the edge (any rel), saturating at {LINKS_MAX:,}"),
    EdgeColumn("in_dofollow_links", np.dtype(np.uint16), False,
               f"dofollow links on the edge, saturating at {DOFOLLOW_LINKS_MAX:,}"),
    EdgeColumn("in_first_seen", np.dtype(np.uint16), False,
               "day the edge's first link was first seen: days since 1970-01-01 plus 1; "
               "0 when unknown"),
    EdgeColumn("in_last_seen", np.dtype(np.uint16), False,
               "day the edge's links were last seen, same code"),
)


def edge_bytes(src_dtype: np.dtype[Any] | type = np.int32) -> int:
    """Bytes that one edge takes over all per-edge arrays (15 with int32 source ids)."""
    return sum(np.dtype(src_dtype).itemsize if c.name == "in_src" else c.dtype.itemsize
               for c in EDGE_COLUMNS)


def constant_column_names() -> frozenset[str]:
    """The per-edge columns that may be stored as one value (every column but the hot ones)."""
    return frozenset(c.name for c in EDGE_COLUMNS if not c.hot)


def saturate(values: np.ndarray, dtype: np.dtype[Any] | type) -> np.ndarray:
    """Non-negative integer counts as ``dtype``, values above its maximum stored as the maximum."""
    top = np.iinfo(dtype).max
    return np.minimum(values, top).astype(dtype)


def encode_days(epoch_seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds (negative = unknown) → uint16 day codes (days since 1970-01-01 + 1, 0 unknown).

    Times before 1970 count as 1970-01-01 and times after 2149-06-05 as that day.
    """
    seconds = np.asarray(epoch_seconds, dtype=np.int64)
    days = np.clip(seconds // _SECONDS_PER_DAY + 1, 1, _DAY_MAX)
    return np.where(seconds < 0, DAY_UNKNOWN, days).astype(np.uint16)


def days_to_dates(codes: np.ndarray) -> np.ndarray:
    """uint16 day codes → ``datetime64[D]`` (NaT where unknown)."""
    codes = np.asarray(codes, dtype=np.int64)
    dates = (codes - 1).astype("datetime64[D]")
    return np.where(codes == DAY_UNKNOWN, np.datetime64("NaT", "D"), dates)


def check_format(manifest: Mapping[str, Any], folder: Path) -> None:
    """Raise IndexUnavailable unless the version in ``folder`` has this release's layout."""
    found = manifest.get("format", 1)  # format 1 wrote the key too; 1 is the oldest anyway
    if found in READABLE_FORMATS:
        return
    if isinstance(found, int) and found > FORMAT_VERSION:
        raise IndexUnavailable(
            f"the backlink index has format {found}, written by a newer linkgap; this "
            f"linkgap reads format {FORMAT_VERSION}: upgrade linkgap, or rebuild the index "
            "with `linkgap index build ...`",
            operator_detail=f"index version folder {folder}",
        )
    raise IndexUnavailable(
        f"the backlink index has the old format {found} "
        f"({_OLD_FORMATS.get(found, 'an older layout')}); this "
        f"linkgap reads format {FORMAT_VERSION}: rebuild the index from its inputs with "
        "`linkgap index build ...`",
        operator_detail=f"index version folder {folder}",
    )
