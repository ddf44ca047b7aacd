"""Filtering, sorting, paging, summary and CSV over a frozen gap run (SPEC 5).

Everything here is NumPy over the columns of a :class:`linkgap.gap.GapResult`;
Python objects are made only for the rows of the page being returned. Ties in
every sort are broken by canonical domain name ascending, whatever the order,
so pages never overlap or skip. Sort permutations and recent filtered orders
are cached on the result object, so paging through a run is cheap.
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.domains import to_unicode
from linkgap.errors import InvalidInput
from linkgap.gap import GapResult

__all__ = [
    "ORDERS",
    "PROSPECT_FIELDS",
    "SORTS",
    "ProspectQuery",
    "all_rows",
    "filter_indices",
    "iter_csv",
    "query_page",
    "sorted_indices",
    "summarize",
    "to_csv",
    "validate_competitor",
]

#: Prospect fields, in the order of the API, the CLI and the CSV header.
PROSPECT_FIELDS: tuple[str, ...] = (
    "domain", "domain_rating", "backlinks", "referring_domains", "competitor_overlap",
    "competitors", "dofollow", "spam_score", "score", "rank",
)
SORTS: tuple[str, ...] = (
    "score", "rank", "backlinks", "referring_domains", "domain_rating",
    "competitor_overlap", "spam_score",
)
ORDERS: tuple[str, ...] = ("asc", "desc")

_FILTERED_CACHE_SIZE = 4
_CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ProspectQuery:
    """Filters and order for a run's prospects; ``competitor`` is already canonical."""

    min_authority: int | None = None
    max_spam: int | None = None
    dofollow: bool | None = None
    competitor: str | None = None
    q: str | None = None
    sort: str = "score"
    order: str = "desc"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(
                f"sort must be one of {', '.join(SORTS)}, not {self.sort!r}", param="sort"
            )
        if self.order not in ORDERS:
            raise InvalidInput(f"order must be asc or desc, not {self.order!r}", param="order")
        for name in ("min_authority", "max_spam"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not 0 <= int(value) <= 100):
                raise InvalidInput(f"{name} must be between 0 and 100", param=name)

    @property
    def filters(self) -> tuple[Any, ...]:
        """The filtering part of the query (hashable)."""
        return (self.min_authority, self.max_spam, self.dofollow, self.competitor,
                self.q or None)

    @property
    def has_filters(self) -> bool:
        """True when any filter narrows the prospects."""
        return any(v is not None for v in self.filters)


def validate_competitor(result: GapResult, competitor: str) -> int:
    """The bit position of ``competitor`` in the run; InvalidInput when it is not one."""
    try:
        return result.competitors.index(competitor)
    except ValueError:
        raise InvalidInput(
            f"{competitor} is not one of this run's competitors "
            f"({', '.join(result.competitors)})",
            param="competitor", details={"allowed": list(result.competitors)},
        ) from None


def _unicode_names(result: GapResult) -> pa.Array | None:
    """Unicode forms of the names, or None when every name is plain ASCII (cached)."""
    key = ("unicode",)
    if key in result.cache:
        cached: pa.Array | None = result.cache[key]
        return cached
    idn = pc.match_substring(result.names, "xn--")
    out: pa.Array | None = None
    if pc.any(idn).as_py():
        values = result.names.to_pylist()
        flags = idn.to_numpy(zero_copy_only=False)
        out = pa.array(
            [to_unicode(v) if f else v for v, f in zip(values, flags, strict=True)],
            type=pa.large_string(),
        )
    with result.cache_lock:
        result.cache[key] = out
    return out


def _filter_mask(result: GapResult, query: ProspectQuery) -> np.ndarray | None:
    """Boolean row mask for the query's filters; None when nothing is filtered."""
    keep: np.ndarray | None = None

    def both(m: np.ndarray) -> None:
        nonlocal keep
        keep = m if keep is None else keep & m

    if query.min_authority is not None:
        both(result.domain_rating >= int(query.min_authority))
    if query.max_spam is not None:
        both(result.spam_score <= int(query.max_spam))
    bit = None
    if query.competitor is not None:
        bit = np.uint32(1 << validate_competitor(result, query.competitor))
        both((result.competitor_mask & bit) != 0)
    if query.dofollow is not None:
        dof = (result.dofollow_mask & bit) != 0 if bit is not None else result.dofollow_mask != 0
        both(dof if query.dofollow else ~dof)
    if query.q:
        needle = query.q.strip()
        hit = pc.match_substring(result.names, needle, ignore_case=True)
        uni = _unicode_names(result)
        if uni is not None:
            hit = pc.or_(hit, pc.match_substring(uni, needle, ignore_case=True))
        both(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool))
    return keep


def filter_indices(result: GapResult, query: ProspectQuery) -> np.ndarray:
    """Row positions (ascending) of the prospects that pass the query's filters."""
    keep = _filter_mask(result, query)
    if keep is None:
        return np.arange(len(result), dtype=np.int64)
    return np.flatnonzero(keep)


def _sort_key(result: GapResult, sort: str) -> np.ndarray:
    """Values whose ascending order is the sort's ``asc`` order."""
    if sort == "rank":
        # rank orders by authority: asc = weakest first = largest rank number first.
        return -result.rank
    return np.asarray(getattr(result, sort))


def _positions(result: GapResult, sort: str, order: str) -> tuple[np.ndarray, np.ndarray]:
    """(permutation, inverse) of every row in the chosen order, cached per (sort, order).

    ``perm[i]`` is the row shown i-th; ``pos[row]`` is that row's place.
    """
    key = ("perm", sort, order)
    cached = result.cache.get(key)
    if cached is not None:
        return cached
    if sort == "score" and order == "desc":
        # Rows are stored best first: score descending, then name ascending.
        perm = np.arange(len(result), dtype=np.int64)
    else:
        values = _sort_key(result, sort)
        primary = values if order == "asc" else -values.astype(np.int64)
        # Ties by canonical name = domain id, ascending in both orders.
        perm = np.lexsort((result.ids, primary))
    pos = np.empty_like(perm)
    pos[perm] = np.arange(perm.shape[0], dtype=perm.dtype)
    with result.cache_lock:
        result.cache[key] = (perm, pos)
    return perm, pos


def sorted_indices(result: GapResult, query: ProspectQuery) -> np.ndarray:
    """Every filtered row position, in the query's order (cached for recent queries)."""
    perm, _ = _positions(result, query.sort, query.order)
    if not query.has_filters:
        return perm
    key = ("filtered", query.filters, query.sort, query.order)
    with result.cache_lock:
        recent = result.cache.setdefault("recent", OrderedDict())
        hit = recent.get(key)
        if hit is not None:
            recent.move_to_end(key)
            return hit
    keep = _filter_mask(result, query)
    assert keep is not None
    out = perm[keep[perm]]
    with result.cache_lock:
        recent[key] = out
        while len(recent) > _FILTERED_CACHE_SIZE:
            recent.popitem(last=False)
    return out


def _page_indices(result: GapResult, query: ProspectQuery, start: int, stop: int
                  ) -> tuple[np.ndarray, int]:
    """Row positions shown at places [start, stop) of the filtered order, and the total."""
    if not query.has_filters:
        perm, _ = _positions(result, query.sort, query.order)
        return perm[start:stop], int(perm.shape[0])
    key = ("filtered", query.filters, query.sort, query.order)
    recent = result.cache.get("recent")
    if recent is not None and key in recent:
        rows = sorted_indices(result, query)
        return rows[start:stop], int(rows.shape[0])
    candidates = filter_indices(result, query)
    total = int(candidates.shape[0])
    if stop >= total // 4 or start >= total:
        rows = sorted_indices(result, query)
        return rows[start:stop], total
    # First pages of a new query: partial selection on each row's place in the
    # cached full order instead of ordering every filtered row.
    _, pos = _positions(result, query.sort, query.order)
    places = pos[candidates]
    top = np.argpartition(places, stop - 1)[:stop]
    top = top[np.argsort(places[top], kind="stable")]
    return candidates[top[start:stop]], total


def query_page(
    result: GapResult, query: ProspectQuery, page: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of filtered, sorted prospects (rows as dicts) and the filtered total."""
    if isinstance(page, bool) or int(page) < 1:
        raise InvalidInput("page must be at least 1", param="page")
    if isinstance(per_page, bool) or int(per_page) < 1:
        raise InvalidInput("per_page must be at least 1", param="per_page")
    start = (int(page) - 1) * int(per_page)
    idx, total = _page_indices(result, query, start, start + int(per_page))
    return result.rows(idx), total


def all_rows(result: GapResult, query: ProspectQuery) -> list[dict[str, Any]]:
    """Every filtered prospect, in the query's order, as dicts (for CSV export)."""
    return result.rows(sorted_indices(result, query))


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = ";".join(_csv_cell(v) for v in value)
    else:
        text = str(value)
    # A leading formula character would be evaluated by spreadsheet programs.
    return "'" + text if text.startswith(_CSV_DANGER) else text


def _csv_lines(rows: Sequence[Mapping[str, Any]], header: bool, newline: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    if header:
        writer.writerow(PROSPECT_FIELDS)
    for row in rows:
        writer.writerow([_csv_cell(row.get(f)) for f in PROSPECT_FIELDS])
    return buf.getvalue()


def to_csv(rows: Sequence[Mapping[str, Any]], newline: str = "\r\n") -> str:
    """Prospect rows as CSV text: header = PROSPECT_FIELDS, formula cells guarded with '.

    Lines end with CRLF (RFC 4180) unless ``newline`` says otherwise.
    """
    return _csv_lines(rows, header=True, newline=newline)


def iter_csv(result: GapResult, query: ProspectQuery, chunk: int = 10_000) -> Iterator[str]:
    """The CSV of every filtered prospect in pieces, for streaming large runs."""
    order = sorted_indices(result, query)
    yield _csv_lines([], header=True)
    for start in range(0, order.shape[0], chunk):
        yield _csv_lines(result.rows(order[start:start + chunk]), header=False)


def summarize(result: GapResult, query: ProspectQuery | None = None) -> dict[str, Any]:
    """Counts over the filtered prospects: DR bands, competitor overlap, dofollow split.

    With a ``competitor`` filter, the dofollow split uses that competitor's
    link, as the ``dofollow`` filter does.
    """
    query = query or ProspectQuery()
    keep = _filter_mask(result, query)
    sel = slice(None) if keep is None else keep
    dr = result.domain_rating[sel]
    bands = np.bincount(np.minimum(dr // 10, 9), minlength=10)
    overlap = np.bincount(result.competitor_overlap[sel], minlength=result.k + 1)
    dmask = result.dofollow_mask[sel]
    if query.competitor is not None:
        dof = int(np.count_nonzero(dmask & np.uint32(1 << validate_competitor(
            result, query.competitor))))
    else:
        dof = int(np.count_nonzero(dmask))
    total = int(dr.shape[0])
    return {
        "total": total,
        "domain_rating": [
            {"band": f"{10 * b}-{10 * b + 9 if b < 9 else 100}", "min": 10 * b,
             "max": 10 * b + 9 if b < 9 else 100, "count": int(bands[b])}
            for b in range(10)
        ],
        "competitor_overlap": [
            {"overlap": o, "count": int(overlap[o])} for o in range(1, result.k + 1)
        ],
        "dofollow": {"dofollow": dof, "nofollow": total - dof},
    }
