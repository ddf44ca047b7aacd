"""Link competitors (SPEC 13): the domains whose referring domains overlap most with T's.

For T with referring domains R(T) (the sources of its in-link slice), every
domain C ≠ T gets ``shared = |R(T) ∩ R(C)|``, read off the **out-link CSR**:
each referring domain r ∈ R(T) adds one to every domain it links to. Then
``jaccard = shared / (|R(T)| + |R(C)| - shared)``. Rows are ordered by shared
descending, then Jaccard descending, then canonical name (= id) ascending, and
the first ``limit`` are kept.

When T has more than ``cap`` referring domains (50,000 by default), only the
strongest ``cap`` of them by PageRank (ties by id) are used, in ``shared`` and
in ``|R(T)|`` alike, and the result says so (``capped``); ``|R(C)|`` is always C's
full count. The cost is the sum of the out-degrees of the referring domains used,
read in bounded chunks; the out-link CSR is written by ``linkgap.index.outlinks``.

Pure NumPy over the index's arrays; no web, CLI or database code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_CAP", "CompetitorRows", "link_competitors"]

#: Referring domains used at most for one domain (the strongest, by PageRank).
DEFAULT_CAP = 50_000
#: Out-link positions gathered per step (bounds the scratch memory to ~100 MB).
_CHUNK_EDGES = 4_000_000
#: Out-links counted by sorting (no per-domain counter) while fewer than n / this.
_SPARSE_RATIO = 16


@dataclass(frozen=True)
class CompetitorRows:
    """The best link competitors of one domain, best first."""

    ids: np.ndarray            # int64 domain ids
    shared: np.ndarray         # int64 shared referring domains
    jaccard: np.ndarray        # float64 in (0, 1]
    referring_domains: int     # |R(T)| as used (≤ cap)
    total_referring_domains: int  # |R(T)| in the index
    capped: bool               # True when only the strongest `cap` were used
    cap: int

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _gather(indptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values`` of the CSR slices of ``rows``, concatenated (one vectorised gather)."""
    starts = np.asarray(indptr[rows], dtype=np.int64)
    lengths = np.asarray(indptr[rows + 1], dtype=np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    positions = np.arange(total, dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return np.asarray(values[positions])


def _chunks(indptr: np.ndarray, rows: np.ndarray, budget: int) -> list[np.ndarray]:
    """``rows`` split so that each part's slices hold at most about ``budget`` entries."""
    lengths = np.asarray(indptr[rows + 1], dtype=np.int64) - np.asarray(indptr[rows],
                                                                          dtype=np.int64)
    ends = np.cumsum(lengths)
    cuts = np.searchsorted(ends, np.arange(budget, int(ends[-1]) if ends.size else 0, budget),
                           side="right")
    return [part for part in np.split(rows, np.unique(cuts)) if part.size]


def _run_lengths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``values`` (sorted in place) and how often each occurs."""
    values.sort()
    if values.size == 0:
        return values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return values[starts], np.diff(np.append(starts, values.size))


def _shared_counts(out_indptr: np.ndarray, out_dst: np.ndarray, referrers: np.ndarray,
                   n: int, chunk_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """(domain ids, shared count) of every domain some referrer links to, ids ascending.

    Each referrer adds one to every domain it links to. When the referrers' out-links
    are few next to the index (under one per 16 domains: a typical domain of a large
    index) they are counted by sorting them, so the query allocates nothing per domain;
    otherwise a dense int32 counter (4 bytes per domain) is filled chunk by chunk:
    bincount while the index is small next to a chunk, else sort-and-add, so no chunk
    allocates 8 bytes per domain.
    """
    if referrers.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    degrees = (np.asarray(out_indptr[referrers + 1], dtype=np.int64)
               - np.asarray(out_indptr[referrers], dtype=np.int64))
    total = int(degrees.sum())
    if total * _SPARSE_RATIO < n:
        ids, counts = _run_lengths(_gather(out_indptr, out_dst, referrers))
        return ids.astype(np.int64), counts.astype(np.int64)
    shared = np.zeros(n, dtype=np.int32)
    for part in _chunks(out_indptr, referrers, chunk_edges):
        linked = _gather(out_indptr, out_dst, part)
        if n <= 8 * linked.size:
            shared += np.bincount(linked, minlength=n).astype(np.int32, copy=False)
        else:
            ids, counts = _run_lengths(linked)
            shared[ids] += counts.astype(np.int32)
    ids = np.flatnonzero(shared)
    return ids, shared[ids].astype(np.int64)


def _strongest(referrers: np.ndarray, strength: np.ndarray, cap: int) -> np.ndarray:
    """The ``cap`` strongest of ``referrers`` (ascending ids), ties by id, ascending.

    A partition finds the cap-th strength; everything stronger is kept, and of the
    referrers exactly that strong, the lowest ids (a linear pass, not a full sort).
    """
    threshold = np.partition(strength, strength.size - cap)[strength.size - cap]
    above = referrers[strength > threshold]
    tied = referrers[strength == threshold]  # ascending, as referrers are
    return np.sort(np.concatenate((above, tied[:cap - above.size])))


def link_competitors(
    in_indptr: np.ndarray, in_src: np.ndarray, out_indptr: np.ndarray, out_dst: np.ndarray,
    pagerank: np.ndarray, target: int, *, limit: int = 20, cap: int = DEFAULT_CAP,
    chunk_edges: int = _CHUNK_EDGES,
) -> CompetitorRows:
    """The ``limit`` domains sharing the most referring domains with ``target``."""
    if cap < 1:
        raise ValueError("cap must be at least 1")
    n = int(in_indptr.shape[0]) - 1
    referrers = np.asarray(in_src[int(in_indptr[target]):int(in_indptr[target + 1])],
                           dtype=np.int64)
    total = int(referrers.shape[0])
    capped = total > cap
    if capped:
        referrers = _strongest(referrers, np.asarray(pagerank[referrers], dtype=np.float64),
                               cap)
    used = int(referrers.shape[0])
    candidates, counts = _shared_counts(out_indptr, out_dst, referrers, n, chunk_edges)
    keep = candidates != target
    candidates, counts = candidates[keep], counts[keep]
    if candidates.size == 0 or limit <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return CompetitorRows(empty, empty, np.zeros(0), used, total, capped, cap)
    if candidates.size > limit:
        # Only rows whose shared count reaches the limit-th largest can be kept.
        kth = np.partition(counts, candidates.size - limit)[candidates.size - limit]
        near = counts >= kth
        candidates, counts = candidates[near], counts[near]
    their = (np.asarray(in_indptr[candidates + 1], dtype=np.int64)
             - np.asarray(in_indptr[candidates], dtype=np.int64))
    jaccard = counts / (used + their - counts)
    order = np.lexsort((candidates, -jaccard, -counts))[:limit]
    return CompetitorRows(candidates[order].astype(np.int64), counts[order], jaccard[order],
                          used, total, capped, cap)
