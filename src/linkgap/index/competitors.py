"""Link competitors (SPEC 13): the domains whose referring domains overlap most with T's.

For T with referring domains R(T) (the sources of its in-link slice), every
domain C ≠ T gets ``shared = |R(T) ∩ R(C)|``, read off the **out-link CSR**:
each referring domain r ∈ R(T) adds one to every domain it links to. Then
``jaccard = shared / (|R(T)| + |R(C)| - shared)``. Rows are ordered by shared
descending, then Jaccard descending, then canonical name (= id) ascending, and
the first ``limit`` are kept.

When T has more than ``cap`` referring domains (50,000 by default), only the
strongest ``cap`` of them by PageRank (ties by id) are used, in ``shared`` and
in ``|R(T)|`` alike, and the result says so (``capped``). The cost is the sum of
the out-degrees of the referring domains used, read in bounded chunks.

Pure NumPy over the index's arrays; no web, CLI or database code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_CAP", "CompetitorRows", "link_competitors", "transpose_csr"]

#: Referring domains used at most for one domain (the strongest, by PageRank).
DEFAULT_CAP = 50_000
#: Out-link positions gathered per step (bounds the scratch memory to ~100 MB).
_CHUNK_EDGES = 4_000_000


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


def link_competitors(
    in_indptr: np.ndarray, in_src: np.ndarray, out_indptr: np.ndarray, out_dst: np.ndarray,
    pagerank: np.ndarray, target: int, *, limit: int = 20, cap: int = DEFAULT_CAP,
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
        # The strongest `cap` by PageRank, ties by id: order by (-pagerank, id).
        strength = np.asarray(pagerank[referrers], dtype=np.float64)
        order = np.lexsort((referrers, -strength))
        referrers = np.sort(referrers[order[:cap]])
    used = int(referrers.shape[0])
    shared = np.zeros(n, dtype=np.int32)
    for part in _chunks(out_indptr, referrers, _CHUNK_EDGES) if used else []:
        linked = _gather(out_indptr, out_dst, part)
        shared += np.bincount(linked, minlength=n).astype(np.int32, copy=False)
    shared[target] = 0
    candidates = np.flatnonzero(shared)
    if candidates.size == 0 or limit <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return CompetitorRows(empty, empty, np.zeros(0), used, total, capped, cap)
    counts = shared[candidates].astype(np.int64)
    their = (np.asarray(in_indptr[candidates + 1], dtype=np.int64)
             - np.asarray(in_indptr[candidates], dtype=np.int64))
    jaccard = counts / (used + their - counts)
    if candidates.size > limit:
        # Only rows whose shared count reaches the limit-th largest can be kept.
        kth = np.partition(counts, candidates.size - limit)[candidates.size - limit]
        near = counts >= kth
        candidates, counts, jaccard = candidates[near], counts[near], jaccard[near]
    order = np.lexsort((candidates, -jaccard, -counts))[:limit]
    return CompetitorRows(candidates[order].astype(np.int64), counts[order], jaccard[order],
                          used, total, capped, cap)


def transpose_csr(in_indptr: np.ndarray, in_src: np.ndarray, *,
                  out_dst: np.ndarray | None = None,
                  chunk_edges: int = _CHUNK_EDGES) -> tuple[np.ndarray, np.ndarray]:
    """The out-link CSR (by source) of an in-link CSR (by target).

    Out-links of s are ``out_dst[out_indptr[s]:out_indptr[s+1]]``, targets
    ascending. ``out_dst`` may be a preallocated (memory-mapped) int32/int64
    array of the edge count; the in-link CSR is read ``chunk_edges`` at a time
    (targets ascending), so memory stays bounded for indexes of any size.
    """
    n = int(in_indptr.shape[0]) - 1
    edges = int(in_indptr[-1])
    dtype = np.int32 if n < 2**31 else np.int64
    degree = np.zeros(n, dtype=np.int64)
    for start in range(0, edges, chunk_edges):
        degree += np.bincount(np.asarray(in_src[start:start + chunk_edges]), minlength=n)
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(degree, out=out_indptr[1:])
    if out_dst is None:
        out_dst = np.empty(edges, dtype=dtype)
    cursor = out_indptr[:-1].copy()
    for start in range(0, edges, chunk_edges):
        stop = min(edges, start + chunk_edges)
        src = np.asarray(in_src[start:stop], dtype=np.int64)
        # The target of each edge: the slice it lies in.
        tgt = np.searchsorted(in_indptr, np.arange(start, stop, dtype=np.int64),
                              side="right") - 1
        order = np.argsort(src, kind="stable")  # targets stay ascending per source
        s_sorted = src[order]
        first = np.searchsorted(s_sorted, s_sorted, side="left")
        rank = np.arange(s_sorted.shape[0], dtype=np.int64) - first
        out_dst[cursor[s_sorted] + rank] = tgt[order]
        sources, counts = np.unique(s_sorted, return_counts=True)
        cursor[sources] += counts
    return out_indptr, out_dst
