"""Domain metrics of SPEC section 3, computed over the memory-mapped in-link CSR.

Counts (``backlinks``, ``referring_domains``, ``linked_domains``,
``outlinks``), PageRank on the binary dofollow domain graph, ``domain_rating``
and ``rank``. The method and its numbers are written up in
``docs/metrics.md``; the constants below are the ones that page quotes.

Every pass walks the CSR in blocks of target rows, so the work needs memory
for a few per-domain vectors plus one block of edges, not for the whole graph.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from linkgap.index.csr import segment_max, segment_sum

__all__ = [
    "DAMPING",
    "DR_OFFSET",
    "DR_SCALE",
    "MAX_ITERATIONS",
    "PAGERANK_DIGITS",
    "TOLERANCE",
    "DomainCounts",
    "PageRankResult",
    "compute_counts",
    "domain_rating",
    "pagerank",
    "rank_by_pagerank",
    "row_blocks",
]

DAMPING = 0.85
#: Stop when the L1 change of the PageRank vector in one iteration is below this.
TOLERANCE = 1e-6
MAX_ITERATIONS = 150
#: PageRank is stored rounded to this many significant digits: the precision
#: the float32 products carry, so domains in symmetric positions tie exactly.
PAGERANK_DIGITS = 6
#: DR = clamp(round(DR_SCALE * ln(PageRank * N) + DR_OFFSET), 1, 100) for a domain
#: with a dofollow referring domain, else 0. PageRank * N is 1 for the average
#: domain whatever N is, so the scale does not drift with the size of the index.
DR_SCALE = 7.5
DR_OFFSET = 10.0
#: Edges per block of the chunked passes (int32 ids: 16 MiB of source ids; blocks
#: this size also balance well over threads and keep output slices in cache).
BLOCK_EDGES = 1 << 22
#: Edges per block when counting: each block adds full-length per-domain
#: bincounts, so counting uses fewer, larger blocks.
COUNT_BLOCK_EDGES = 1 << 26
#: PageRank runs its blocks on up to this many threads (SciPy's product
#: releases the GIL) once the graph has PARALLEL_MIN_EDGES edges.
MAX_THREADS = 4
PARALLEL_MIN_EDGES = 1 << 20
#: The compiled iteration runs ("auto") for graphs of at least this many edges.
#: Below, the SciPy loop takes less time than importing numba and loading the
#: compiled code (about 0.75 CPU s), which a small build would pay for nothing.
#: The choice depends on the graph alone, never on the memory limit.
COMPILED_MIN_EDGES = 1 << 22


def row_blocks(indptr: np.ndarray, block_edges: int = BLOCK_EDGES) -> list[tuple[int, int]]:
    """Split rows ``0..n`` into consecutive ranges holding about ``block_edges`` edges each."""
    n = len(indptr) - 1
    if n <= 0:
        return []
    total = int(indptr[-1])
    if total <= block_edges:
        return [(0, n)]
    cuts = np.searchsorted(indptr, np.arange(block_edges, total, block_edges), side="left")
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


@dataclass
class DomainCounts:
    """Per-domain link counts (int64 arrays by domain id)."""

    backlinks: np.ndarray
    referring_domains: np.ndarray
    dofollow_referring_domains: np.ndarray
    linked_domains: np.ndarray
    outlinks: np.ndarray
    dofollow_linked_domains: np.ndarray
    top_referrer_links: np.ndarray  # links from the domain's strongest single referrer
    dofollow_backlinks: np.ndarray


def compute_counts(indptr: np.ndarray, src: np.ndarray, links: np.ndarray,
                   dofollow: np.ndarray, block_edges: int = COUNT_BLOCK_EDGES) -> DomainCounts:
    """Backlinks, referring domains and out-counts from the in-link CSR, block by block."""
    n = len(indptr) - 1
    indptr_a = np.asarray(indptr, dtype=np.int64)
    referring = np.diff(indptr_a)
    backlinks = np.zeros(n, dtype=np.int64)
    dofollow_backlinks = np.zeros(n, dtype=np.int64)
    dofollow_rd = np.zeros(n, dtype=np.int64)
    top = np.zeros(n, dtype=np.int64)
    linked = np.zeros(n, dtype=np.int64)
    outlinks = np.zeros(n, dtype=np.int64)
    df_linked = np.zeros(n, dtype=np.int64)
    for r0, r1 in row_blocks(indptr_a, block_edges):
        lo, hi = int(indptr_a[r0]), int(indptr_a[r1])
        ptr = indptr_a[r0 : r1 + 1] - lo
        blk_links = np.asarray(links[lo:hi])
        blk_df = np.asarray(dofollow[lo:hi])
        blk_src = np.asarray(src[lo:hi])
        has_df = (blk_df > 0).astype(np.int64)
        backlinks[r0:r1] = segment_sum(blk_links, ptr)
        dofollow_backlinks[r0:r1] = segment_sum(blk_df, ptr)
        dofollow_rd[r0:r1] = segment_sum(has_df, ptr)
        top[r0:r1] = segment_max(blk_links, ptr)
        linked += np.bincount(blk_src, minlength=n)
        # float64 weights are exact for counts below 2**53.
        outlinks += np.bincount(blk_src, weights=blk_links, minlength=n).astype(np.int64)
        df_linked += np.bincount(blk_src, weights=has_df, minlength=n).astype(np.int64)
    return DomainCounts(backlinks, referring, dofollow_rd, linked, outlinks, df_linked, top,
                        dofollow_backlinks)


@dataclass
class PageRankResult:
    """PageRank by domain id (float64, sums to 1) and how the iteration went."""

    pagerank: np.ndarray
    iterations: int
    delta: float  # L1 change of the last iteration
    converged: bool


def dofollow_graph(indptr: np.ndarray, src: np.ndarray, dofollow: np.ndarray,
                   dofollow_rd: np.ndarray, scratch: np.ndarray | None = None,
                   block_edges: int = BLOCK_EDGES) -> tuple[np.ndarray, np.ndarray]:
    """The binary dofollow in-link CSR: edges with at least one dofollow link.

    Returns the CSR unchanged when every edge is dofollow (a web graph input);
    otherwise the filtered source ids go into ``scratch`` (a memory map sized
    ``dofollow_rd.sum()``) or a new array.
    """
    indptr_a = np.asarray(indptr, dtype=np.int64)
    total = int(indptr_a[-1])
    e_df = int(dofollow_rd.sum())
    if e_df == total:
        return indptr_a, src
    df_indptr = np.zeros(len(indptr_a), dtype=np.int64)
    np.cumsum(dofollow_rd, out=df_indptr[1:])
    out = scratch if scratch is not None else np.empty(e_df, dtype=src.dtype)
    for r0, r1 in row_blocks(indptr_a, block_edges):
        lo, hi = int(indptr_a[r0]), int(indptr_a[r1])
        keep = np.asarray(dofollow[lo:hi]) > 0
        out[int(df_indptr[r0]) : int(df_indptr[r1])] = np.asarray(src[lo:hi])[keep]
    return df_indptr, out


class FileSource:
    """Source ids of a CSR in a ``.npy`` file, read block by block with ``pread``.

    Never mapped whole: a block's ids are read into a fresh array and freed
    after use, so PageRank's resident memory does not grow with the graph
    (the operating system's page cache still serves repeated reads).
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            major, _minor = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            shape, _fortran, dtype = read_header(fh)
            self.offset = fh.tell()
        self.path = path
        self.dtype = np.dtype(dtype)
        self.shape = (int(shape[0]),)
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def block(self, lo: int, hi: int) -> np.ndarray:
        """Ids ``lo:hi`` as a new array."""
        return self.read_into(lo, np.empty(hi - lo, dtype=self.dtype))

    def read_into(self, lo: int, out: np.ndarray) -> np.ndarray:
        """Ids ``lo:lo + len(out)`` read into ``out`` (contiguous, this dtype); returns it."""
        view = out.data.cast("B")
        done = 0
        start = self.offset + lo * self.dtype.itemsize
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], start + done)
            if got <= 0:
                raise OSError(f"{self.path} ends early")
            done += got
        return out

    def load(self) -> np.ndarray:
        """All ids in memory."""
        return self.block(0, self.shape[0])

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def _block_matrix(indptr: np.ndarray, src: np.ndarray, r0: int, r1: int, n: int,
                  ones: np.ndarray) -> sp.csr_matrix:
    lo, hi = int(indptr[r0]), int(indptr[r1])
    ptr_dtype = np.int32 if hi - lo < 2**31 and n < 2**31 else np.int64
    ptr = (np.asarray(indptr[r0 : r1 + 1]) - lo).astype(ptr_dtype)
    return sp.csr_matrix((ones[: hi - lo], src, ptr), shape=(r1 - r0, n), copy=False)


class _Blocks:
    """The row blocks of the in-link matrix, built once (ids in memory) or per use (from a file)."""

    def __init__(self, indptr: np.ndarray, src: np.ndarray | FileSource, n: int,
                 block_edges: int) -> None:
        self.indptr = indptr
        self.src = src
        self.n = n
        self.ranges = row_blocks(indptr, block_edges)  # consecutive, covering rows 0..n
        widest = max((int(indptr[r1]) - int(indptr[r0]) for r0, r1 in self.ranges), default=0)
        # every block views the same ones; float64, so that a row's sum runs in float64
        # (float32 sums of a hub's thousands of in-links would lose digits)
        self.ones = np.ones(widest, dtype=np.float64)
        self.cached: list[sp.csr_matrix] | None = None
        if not isinstance(src, FileSource):
            self.cached = [self._matrix(i) for i in range(len(self.ranges))]

    def _matrix(self, i: int) -> sp.csr_matrix:
        r0, r1 = self.ranges[i]
        lo, hi = int(self.indptr[r0]), int(self.indptr[r1])
        ids = self.src.block(lo, hi) if isinstance(self.src, FileSource) else self.src[lo:hi]
        return _block_matrix(self.indptr, ids, r0, r1, self.n, self.ones)

    def matrix(self, i: int) -> sp.csr_matrix:
        return self.cached[i] if self.cached is not None else self._matrix(i)


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_THREADS))


def pagerank(indptr: np.ndarray, src: np.ndarray | FileSource, out_degree: np.ndarray, *,
             damping: float = DAMPING, tolerance: float = TOLERANCE,
             max_iterations: int = MAX_ITERATIONS,
             block_edges: int | None = None, threads: int | None = None,
             engine: str = "auto") -> PageRankResult:
    """PageRank of the binary graph given as an in-link CSR (rows = targets).

    ``src`` is an array (kept whole, e.g. loaded or memory-mapped) or a
    :class:`FileSource` (read block by block in every iteration, for graphs
    whose ids do not fit the memory budget). ``out_degree[s]`` is the number
    of distinct targets of ``s``. The mass of
    domains without out-links (dangling) is spread uniformly, as is the
    teleport share ``1 - damping``. The result is float64, normalised to sum 1
    and rounded to ``PAGERANK_DIGITS`` significant digits.

    ``engine``: "compiled" runs the numba iteration of ``linkgap.index.pagerank``
    (a FileSource is read in chunks of about ``block_edges`` edges, default
    BLOCK_EDGES; the bits are those of the ids in memory); "scipy" this module's SciPy loop (float32
    products block by block, blocks on ``threads`` threads, default the cores up
    to MAX_THREADS; the result does not depend on the blocks or threads either);
    "auto" the compiled iteration for graphs of at least COMPILED_MIN_EDGES
    edges when numba is available, else the SciPy loop. The two agree to the
    digits kept (a last digit may differ); which one runs depends on the graph,
    never on where its ids are.
    """
    if engine not in ("auto", "compiled", "scipy"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'scipy', not {engine!r}")
    if block_edges is None:
        block_edges = BLOCK_EDGES  # read here, not bound at import: tests lower it
    if engine != "scipy":
        from linkgap.index import pagerank as compiled

        edges = int(indptr[-1]) if len(indptr) else 0
        if engine == "compiled" or (edges >= COMPILED_MIN_EDGES and compiled.available()):
            return compiled.pagerank(indptr, src, out_degree, damping=damping,
                                     tolerance=tolerance, max_iterations=max_iterations,
                                     stream_edges=block_edges)
    n = len(indptr) - 1
    if n == 0:
        return PageRankResult(np.zeros(0), 0, 0.0, True)
    indptr_a = np.asarray(indptr, dtype=np.int64)
    workers = threads or _threads()
    edges = int(indptr_a[-1])
    if workers > 1 and edges >= PARALLEL_MIN_EDGES:
        # at least one block per thread, so a graph that fits one block still
        # uses every core
        block_edges = min(block_edges, -(-edges // workers))
    else:
        workers = 1
    blocks = _Blocks(indptr_a, src, n, block_edges)
    has_out = out_degree > 0
    inv_out = np.zeros(n, dtype=np.float32)
    inv_out[has_out] = 1.0 / out_degree[has_out]
    dangling = ~has_out  # r.sum(where=dangling) = the dangling mass (1 byte a domain)
    r = np.full(n, 1.0 / n, dtype=np.float32)
    # r / out, computed in float32 as the compiled pass has it, held in float64 so
    # that the products sum in float64 (4 bytes a domain more than float32, 1 fewer
    # for the mask: the ~40 bytes a domain the build's budget counts still hold)
    x = np.empty(n, dtype=np.float64)
    y = np.zeros(n, dtype=np.float32)
    diff = np.empty(n, dtype=np.float32)
    d32 = np.float32(damping)
    teleport = np.float32(0.0)

    def step(i: int) -> None:
        # one block of rows, updated in place: product, damping, teleport, change
        r0, r1 = blocks.ranges[i]
        matrix = blocks.matrix(i)
        out = y[r0:r1]
        out[:] = matrix @ x
        out *= d32
        out += teleport
        np.subtract(out, r[r0:r1], out=diff[r0:r1])

    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    delta = math.inf
    iterations = 0
    try:
        while iterations < max_iterations and delta >= tolerance:
            iterations += 1
            np.multiply(r, inv_out, out=x, dtype=np.float32)
            mass = float(r.sum(where=dangling, dtype=np.float64))
            teleport = np.float32((1.0 - damping + damping * mass) / n)
            if pool is not None:
                list(pool.map(step, range(len(blocks.ranges))))
            else:
                for i in range(len(blocks.ranges)):  # the blocks cover every row
                    step(i)
            np.abs(diff, out=diff)
            # one float32 pairwise sum over the whole vector: the same whatever
            # the blocks, and ample for a 1e-6 test
            delta = float(diff.sum())
            r, y = y, r
    finally:
        if pool is not None:
            pool.shutdown()
    result = r.astype(np.float64)
    result /= result.sum()
    return PageRankResult(round_significant(result, PAGERANK_DIGITS), iterations, delta,
                          delta < tolerance)


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Positive values rounded to ``digits`` significant decimal digits (others are 0)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] and values.min() > 0 and values.max() < np.inf:
        # Every value positive and finite (a PageRank vector always is): no masked
        # copies, and the power of ten from a table over the few exponents that
        # occur, not one ``pow`` per value. The same float operations on the same
        # inputs as below, so the same bits, in a fifth of the time (it was a fifth
        # of a 20-iteration PageRank of 2M domains).
        exponent = np.log10(values)
        np.floor(exponent, out=exponent)
        low = int(exponent.min())
        table = 10.0 ** (digits - 1 - np.arange(low, int(exponent.max()) + 1, dtype=np.float64))
        exponent -= low
        scale = table[exponent.astype(np.intp)]
        rounded = values * scale
        np.round(rounded, out=rounded)
        rounded /= scale
        return rounded
    out = np.zeros_like(values, dtype=np.float64)
    pos = values > 0
    exponent = np.floor(np.log10(values[pos]))
    scale = 10.0 ** (digits - 1 - exponent)
    out[pos] = np.round(values[pos] * scale) / scale
    return out


def domain_rating(pr: np.ndarray, dofollow_rd: np.ndarray) -> np.ndarray:
    """DR 0-100: ``round(DR_SCALE * ln(PR * N) + DR_OFFSET)`` clamped to 1..100; 0 without
    a dofollow referring domain. Rounds half up."""
    n = len(pr)
    dr = np.zeros(n, dtype=np.uint8)
    has = (dofollow_rd > 0) & (pr > 0)
    if n == 0 or not has.any():
        return dr
    raw = DR_SCALE * np.log(pr[has] * n) + DR_OFFSET
    dr[has] = np.clip(np.floor(raw + 0.5), 1, 100).astype(np.uint8)
    return dr


def rank_by_pagerank(pr: np.ndarray) -> np.ndarray:
    """1-based rank by PageRank descending; ties by id, which is canonical-name order."""
    order = np.argsort(-pr, kind="stable")
    rank = np.empty(len(pr), dtype=np.int64)
    rank[order] = np.arange(1, len(pr) + 1, dtype=np.int64)
    return rank
