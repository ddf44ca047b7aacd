"""Filtering, sorting, paging, summary and CSV over a frozen gap run (SPEC 5).

Everything here is NumPy over the columns of a :class:`linkgap.gap.GapResult`;
Python objects are made only for the rows of the page being returned. Ties in
every sort are broken by canonical domain name ascending, whatever the order,
so pages never overlap or skip. Sort permutations and recent filtered orders
are cached on the result object, so paging through a run is cheap; so are the
JSON encodings of rows already served (:func:`query_page_json`).
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.csvcells import safe_cell
from linkgap.domains import DomainNormalizer, search_fold, to_unicode
from linkgap.errors import InvalidInput
from linkgap.gap import GapResult

__all__ = [
    "ORDERS",
    "PROSPECT_FIELDS",
    "SORTS",
    "ProspectQuery",
    "all_rows",
    "cache_allowance",
    "filter_indices",
    "LINK_CSV_FIELDS",
    "iter_csv",
    "iter_csv_with_links",
    "order_is_ready",
    "page_indices",
    "prospect_row",
    "query_page",
    "query_page_json",
    "resolve_competitor",
    "rows_json",
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

#: Orders kept per result (each at most one index per prospect).
_ORDERS_CACHED = 6
#: Rows a first query orders, so that its first pages are cheap slices afterwards.
_PREFIX = 1000


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
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) \
                    or not 0 <= int(value) <= 100:
                raise InvalidInput(f"{name} must be a whole number between 0 and 100",
                                   param=name)

    @property
    def filters(self) -> tuple[Any, ...] | None:
        """The filtering part of the query (hashable); None when nothing is filtered."""
        values = (self.min_authority, self.max_spam, self.dofollow, self.competitor,
                  self.q or None)
        return None if all(v is None for v in values) else values

    @property
    def has_filters(self) -> bool:
        """True when any filter narrows the prospects."""
        return self.filters is not None


#: Rows of one result whose JSON encoding is kept (the first ones served), and a bound on
#: the memory one takes (the encoding, the bytes object and its dict slot).
ROW_JSON_KEPT = 32_768
_ROW_JSON_BYTES = 512
#: A result this small is filtered and sorted in well under a millisecond.
_SMALL_RESULT = 20_000


def cache_allowance(rows: int) -> int:
    """The most memory this module keeps beside a result of ``rows`` prospects (its sort
    orders, one row index per prospect each, and the encoded rows), for callers that
    bound results in bytes."""
    return (_ORDERS_CACHED * rows * np.dtype(np.intp).itemsize
            + min(rows, ROW_JSON_KEPT) * _ROW_JSON_BYTES)


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


#: A result does not record the PSL mode of its index, so a typed competitor is tried
#: under both: its run's competitors are canonical under one of them.
_NORMALIZERS = (DomainNormalizer(), DomainNormalizer(icann_only=True))


def resolve_competitor(result: GapResult, text: str) -> str:
    """The competitor of the run that ``text`` names, in any typed form (URL, Unicode,
    upper case); InvalidInput (``param`` competitor, ``details.allowed``) when it names none.

    The one rule for the ``competitor`` filter of the API, the CLI and the library.
    """
    for normalizer in _NORMALIZERS:
        name = normalizer.try_normalize(text)
        if name is not None and name in result.competitors:
            return name
    raise InvalidInput(
        f"competitor {text!r} is not one of this run's competitors "
        f"({', '.join(result.competitors)})",
        param="competitor", details={"allowed": list(result.competitors)},
    )


def _unicode_names(result: GapResult) -> tuple[np.ndarray, pa.Array]:
    """Rows whose name has an ``xn--`` label and their Unicode forms, folded by
    :func:`linkgap.domains.search_fold` (cached per result)."""
    cached: tuple[np.ndarray, pa.Array] | None = result.cache.get("unicode")
    if cached is not None:
        return cached
    rows = np.flatnonzero(np.asarray(
        pc.match_substring(result.names, "xn--").to_numpy(zero_copy_only=False), dtype=bool))
    names = result.names.take(pa.array(rows, pa.int64())).to_pylist()
    out = (rows, pa.array([search_fold(to_unicode(n)) for n in names],
                          type=pa.large_string()))
    with result.cache_lock:
        result.cache["unicode"] = out
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
        # The mask's own type: a run's masks are uint32, a diff's may be uint64.
        position = validate_competitor(result, query.competitor)
        bit = result.competitor_mask.dtype.type(1 << position)
        both((result.competitor_mask & bit) != 0)
    if query.dofollow is not None:
        dof = (result.dofollow_mask & bit) != 0 if bit is not None else result.dofollow_mask != 0
        both(dof if query.dofollow else ~dof)
    needle = search_fold(query.q).strip() if query.q else ""
    if needle:
        # Canonical names are lower-case ASCII, so folding them changes nothing; the
        # Unicode forms of xn-- names are folded once per result.
        hit = np.array(pc.match_substring(result.names, needle)
                       .to_numpy(zero_copy_only=False), dtype=bool)
        idn_rows, idn_names = _unicode_names(result)
        if idn_rows.shape[0]:
            idn_hit = pc.match_substring(idn_names, needle)
            hit[idn_rows] |= np.asarray(idn_hit.to_numpy(zero_copy_only=False), dtype=bool)
        both(hit)
    return keep


def filter_indices(result: GapResult, query: ProspectQuery) -> np.ndarray:
    """Row positions (ascending) of the prospects that pass the query's filters."""
    keep = _filter_mask(result, query)
    if keep is None:
        return np.arange(len(result), dtype=np.int64)
    return np.flatnonzero(keep)


def _primary(result: GapResult, sort: str, order: str, rows: np.ndarray) -> np.ndarray:
    """int64 values of ``rows`` whose ascending order is the requested order."""
    values = np.asarray(getattr(result, sort))[rows].astype(np.int64)
    # rank orders by authority: desc = strongest first = smallest rank number first.
    descending = (order == "desc") != (sort == "rank")
    return -values if descending else values


def _ordered(result: GapResult, rows: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """``rows`` sorted by (primary, domain id): ties by canonical name ascending."""
    if rows.shape[0] < 2:
        return rows
    ids = result.ids[rows]
    low = primary - primary.min()
    if int(low.max()) < 1 << 22 and int(ids.max()) < 1 << 40:
        # One unique int64 key: a plain (unstable) argsort is then exact and fast.
        return rows[np.argsort(low << 40 | ids)]
    return rows[np.lexsort((ids, primary))]


def _order_for(result: GapResult, query: ProspectQuery, stop: int | None
               ) -> tuple[np.ndarray, int]:
    """The first ``stop`` (all when None) filtered rows in order, and the filtered total.

    Results are kept in a small per-result LRU keyed by (filters, sort, order):
    a first query orders only its first ``_PREFIX`` rows (partial selection), so
    the first pages of any query are slices from then on; going deeper orders
    everything once.
    """
    key = (query.filters, query.sort, query.order)
    with result.cache_lock:
        orders: OrderedDict[Any, tuple[np.ndarray, int, bool]] = result.cache.setdefault(
            "orders", OrderedDict())
        hit = orders.get(key)
        if hit is not None:
            orders.move_to_end(key)
            rows, total, complete = hit
            if complete or (stop is not None and stop <= rows.shape[0]):
                return rows, total
        full = orders.get((None, query.sort, query.order))
    keep = _filter_mask(result, query)
    if full is not None and full[2]:
        # The unfiltered order is known: filtering it keeps it ordered, O(n).
        base = full[0]
        rows = base if keep is None else base[keep[base]]
        entry = (rows, int(rows.shape[0]), True)
    else:
        cand = np.arange(len(result), dtype=np.intp) if keep is None else np.flatnonzero(keep)
        total = int(cand.shape[0])
        want = total if stop is None else max(stop, _PREFIX)
        if query.sort == "score" and query.order == "desc":
            # Rows are stored best first (score desc, name asc): already in order.
            entry = (cand, total, True)
        elif want < total // 2:
            primary = _primary(result, query.sort, query.order, cand)
            kth = np.partition(primary, want - 1)[want - 1]
            near = primary <= kth  # every row that can be among the first `want`
            entry = (_ordered(result, cand[near], primary[near])[:want], total, False)
        else:
            primary = _primary(result, query.sort, query.order, cand)
            entry = (_ordered(result, cand, primary), total, True)
    with result.cache_lock:
        orders[key] = entry
        orders.move_to_end(key)
        while len(orders) > _ORDERS_CACHED:
            orders.popitem(last=False)
    return entry[0], entry[1]


def sorted_indices(result: GapResult, query: ProspectQuery) -> np.ndarray:
    """Every filtered row position, in the query's order (ties by name ascending)."""
    return _order_for(result, query, None)[0]


def page_indices(
    result: GapResult, query: ProspectQuery, page: int = 1, per_page: int = 50
) -> tuple[np.ndarray, int]:
    """Row positions of one page of filtered, sorted prospects and the filtered total."""
    start, stop = _page_bounds(page, per_page)
    rows, total = _order_for(result, query, stop)
    return rows[start:stop], total


def query_page(
    result: GapResult, query: ProspectQuery, page: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of filtered, sorted prospects (rows as dicts) and the filtered total."""
    rows, total = page_indices(result, query, page, per_page)
    return result.rows(rows), total


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    if isinstance(page, bool) or int(page) < 1:
        raise InvalidInput("page must be at least 1", param="page")
    if isinstance(per_page, bool) or int(per_page) < 1:
        raise InvalidInput("per_page must be at least 1", param="per_page")
    start = (int(page) - 1) * int(per_page)
    return start, start + int(per_page)


def order_is_ready(result: GapResult, query: ProspectQuery, page: int, per_page: int
                   ) -> bool:
    """True when :func:`query_page` for this page needs no work that grows with the run:
    the order is cached, or the run is small."""
    if len(result) <= _SMALL_RESULT:
        return True
    stop = _page_bounds(page, per_page)[1]
    with result.cache_lock:
        hit = result.cache.get("orders", {}).get((query.filters, query.sort, query.order))
    return hit is not None and (hit[2] or stop <= hit[0].shape[0])


def rows_json(result: GapResult, rows: np.ndarray) -> bytes:
    """The JSON array of the prospects at ``rows`` (what ``result.rows(rows)`` encodes to),
    from the encodings kept on the result; rows not encoded yet are encoded and kept
    while fewer than ROW_JSON_KEPT are."""
    kept: dict[int, bytes] | None = result.cache.get("row_json")
    if kept is None:
        with result.cache_lock:
            kept = result.cache.setdefault("row_json", {})
    wanted = rows.tolist()
    missing = [i for i in wanted if i not in kept]
    if missing:
        fresh = dict(zip(missing, map(orjson.dumps, result.rows(missing)), strict=True))
        if len(kept) < ROW_JSON_KEPT:
            kept.update(fresh)  # a plain dict update: safe under concurrent readers
        else:
            return b"[" + b",".join([kept.get(i) or fresh[i] for i in wanted]) + b"]"
    return b"[" + b",".join([kept[i] for i in wanted]) + b"]"


def query_page_json(result: GapResult, query: ProspectQuery, page: int = 1,
                    per_page: int = 50) -> tuple[bytes, int]:
    """:func:`query_page` with the rows already as one JSON array (bytes)."""
    start, stop = _page_bounds(page, per_page)
    rows, total = _order_for(result, query, stop)
    return rows_json(result, rows[start:stop]), total


def all_rows(result: GapResult, query: ProspectQuery) -> list[dict[str, Any]]:
    """Every filtered prospect, in the query's order, as dicts (for CSV export)."""
    return result.rows(sorted_indices(result, query))


def _csv_lines(rows: Sequence[Mapping[str, Any]], header: bool, newline: str = "\r\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    if header:
        writer.writerow(PROSPECT_FIELDS)
    for row in rows:
        writer.writerow([safe_cell(row.get(f)) for f in PROSPECT_FIELDS])
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


#: Columns a CSV with ``include=links`` adds after the prospect fields (SPEC 12).
LINK_CSV_FIELDS: tuple[str, ...] = ("competitor", "source_url", "target_url", "anchor",
                                    "link_dofollow")


def iter_csv_with_links(
    result: GapResult, query: ProspectQuery,
    links_of: Callable[[Sequence[int]], Iterable[list[dict[str, Any]]]],
    chunk: int = 1_000,
) -> Iterator[str]:
    """The CSV of every filtered prospect with its sample links (``include=links``): one
    row per sample link, prospect fields first, then ``LINK_CSV_FIELDS``, per competitor in
    run order. A prospect with no sample link (an index built without evidence) keeps one
    row with the link columns empty, so none is lost. ``links_of(rows)`` gives the
    ``links`` entries of those row positions, in order."""
    order = sorted_indices(result, query)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow((*PROSPECT_FIELDS, *LINK_CSV_FIELDS))
    yield buf.getvalue()
    for start in range(0, order.shape[0], chunk):
        rows = order[start:start + chunk]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        for row, links in zip(result.rows(rows), links_of(rows.tolist()), strict=True):
            cells = [safe_cell(row.get(f)) for f in PROSPECT_FIELDS]
            samples = [(entry["competitor"], s) for entry in links for s in entry["samples"]]
            if not samples:
                writer.writerow([*cells, "", "", "", "", ""])
            for competitor, s in samples:
                writer.writerow([*cells, *(safe_cell(v) for v in (
                    competitor, s["source_url"], s["target_url"], s["anchor"],
                    s["dofollow"]))])
        yield buf.getvalue()


def prospect_row(result: GapResult, domain: object) -> int | None:
    """The row position of the prospect ``domain`` names, in any typed form (URL, Unicode,
    upper case), or None when it is no prospect of the run."""
    if not isinstance(domain, str):
        return None
    for normalizer in _NORMALIZERS:
        name = normalizer.try_normalize(domain)
        if name is None:
            continue
        at = pc.index(result.names, pa.scalar(name, result.names.type)).as_py()
        if at is not None and at >= 0:
            return int(at)
    return None


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
