"""PageRank compiled with numba: one parallel pass over the in-link CSR per iteration.

The SciPy loop of ``linkgap.index.metrics`` multiplies a float32 CSR matrix
(a value array of ones, as many bytes again as the source ids) by a vector,
then makes separate passes for damping, teleport, the change and the next
iteration's ``r / out``. Here one pass per iteration reads each row's source
ids (int32), gathers ``x[src]`` (float32), and for the row writes the new rank
``y = d · Σ x + teleport``, the next iteration's ``x = y / out`` and, per
block of rows, the partial L1 change and dangling mass. So an iteration reads
about the bytes of its arrays once: ``bench/bench_pagerank.py`` compares it
with a plain streaming pass over the same bytes. A row's sum runs as four
interleaved float32 sums (in-links 0, 4, 8, … in one, 1, 5, 9, … in the next),
added pairwise at the end: one chain of adds would be bound by their latency.

Deterministic whatever the thread count: rows are cut into blocks of about
``BLOCK_EDGES`` edges by the graph alone, each row's sum has a fixed order,
and the per-block partial sums are added in block order. Same formula and
stopping rule as ``metrics.pagerank`` (docs/metrics.md); results agree with
the SciPy loop to the 6 significant digits kept (a last digit may differ).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from linkgap.compiled import Compiled
from linkgap.index.metrics import (
    PAGERANK_DIGITS,
    PageRankResult,
    round_significant,
    row_blocks,
)

__all__ = ["BLOCK_EDGES", "available", "pagerank"]

#: Edges per block of rows: the unit of work of a thread and of the partial sums.
BLOCK_EDGES = 1 << 16

#: numba's default threading layer runs one parallel loop at a time per process.
_LAUNCH_LOCK = threading.Lock()


def _iterate(indptr: np.ndarray, src: np.ndarray, starts: np.ndarray, x: np.ndarray,
             r: np.ndarray, inv_out: np.ndarray, damping: np.float32, teleport: np.float32,
             y: np.ndarray, x_next: np.ndarray, change: np.ndarray,
             dangling: np.ndarray) -> None:
    """One PageRank iteration: ``y`` from ``x = r / out``, plus the next ``x``, and per
    block the L1 change and the dangling mass (float64)."""
    # Indices as unsigned integers: numba then skips its negative-index checks,
    # which cost about a third of the time of the gather loop.
    one = np.uint64(1)
    two = np.uint64(2)
    three = np.uint64(3)
    four = np.uint64(4)
    for b in _prange(starts.shape[0] - 1):
        moved = 0.0
        mass = 0.0
        e = np.uint64(indptr[starts[b]])
        for t in range(starts[b], starts[b + 1]):
            hi = np.uint64(indptr[t + 1])
            # Four running sums, so that the adds do not wait on each other (one
            # chain of float32 adds is bound by their latency, not by memory).
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            a3 = np.float32(0.0)
            while e + three < hi:
                a0 += x[np.uint64(src[e])]
                a1 += x[np.uint64(src[e + one])]
                a2 += x[np.uint64(src[e + two])]
                a3 += x[np.uint64(src[e + three])]
                e += four
            while e < hi:
                a0 += x[np.uint64(src[e])]
                e += one
            value = ((a0 + a1) + (a2 + a3)) * damping
            value += teleport
            y[t] = value
            moved += abs(np.float64(value) - np.float64(r[t]))
            scale = inv_out[t]
            if scale == 0:
                mass += np.float64(value)
            x_next[t] = value * scale
        change[b] = moved
        dangling[b] = mass


def _prange(n: int) -> range:
    """``range`` when run as Python; numba's parallel ``prange`` once compiled."""
    return range(n)


def _build(numba: Any) -> Any:
    globals()["_prange"] = numba.prange  # resolved when numba compiles ``_iterate``
    return numba.njit(parallel=True, cache=True, nogil=True)(_iterate)


_KERNEL = Compiled(_build)


def available() -> bool:
    """True when the compiled PageRank can run (numba imports)."""
    return _KERNEL.available()


def pagerank(indptr: np.ndarray, src: np.ndarray, out_degree: np.ndarray, *,
             damping: float, tolerance: float, max_iterations: int) -> PageRankResult:
    """PageRank of the binary graph given as an in-link CSR (rows = targets).

    The contract of ``linkgap.index.metrics.pagerank``: ``out_degree[s]`` is the
    number of distinct targets of ``s``; dangling mass and the teleport share
    ``1 - damping`` spread uniformly; float64 result normalised to sum 1 and
    rounded to ``PAGERANK_DIGITS`` significant digits.
    """
    iterate = _KERNEL.get()
    if iterate is None:
        raise RuntimeError("the compiled PageRank needs numba")
    n = len(indptr) - 1
    if n == 0:
        return PageRankResult(np.zeros(0), 0, 0.0, True)
    indptr_a = np.asarray(indptr, dtype=np.int64)
    starts = np.array([r0 for r0, _ in row_blocks(indptr_a, BLOCK_EDGES)] + [n],
                      dtype=np.int64)
    blocks = starts.shape[0] - 1
    has_out = np.asarray(out_degree) > 0
    inv_out = np.zeros(n, dtype=np.float32)
    inv_out[has_out] = 1.0 / np.asarray(out_degree)[has_out]
    r = np.full(n, 1.0 / n, dtype=np.float32)
    x = r * inv_out
    y = np.empty(n, dtype=np.float32)
    x_next = np.empty(n, dtype=np.float32)
    change = np.zeros(blocks, dtype=np.float64)
    dangling_part = np.zeros(blocks, dtype=np.float64)
    dangling = float(r[~has_out].sum(dtype=np.float64))
    d32 = np.float32(damping)
    delta = math.inf
    iterations = 0
    with _LAUNCH_LOCK:
        while iterations < max_iterations and delta >= tolerance:
            iterations += 1
            teleport = np.float32((1.0 - damping + damping * dangling) / n)
            iterate(indptr_a, src, starts, x, r, inv_out, d32, teleport, y, x_next, change,
                    dangling_part)
            # the partial sums in block order: the same whatever the threads
            delta = math.fsum(change.tolist())
            dangling = math.fsum(dangling_part.tolist())
            r, y = y, r
            x, x_next = x_next, x
    result = r.astype(np.float64)
    result /= result.sum()
    return PageRankResult(round_significant(result, PAGERANK_DIGITS), iterations, delta,
                          delta < tolerance)
