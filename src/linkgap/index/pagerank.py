"""PageRank compiled with numba: one parallel pass over the in-link CSR per iteration.

The SciPy loop of ``linkgap.index.metrics`` multiplies a float32 CSR matrix
(a value array of ones, as many bytes again as the source ids) by a vector,
then makes separate passes for damping, teleport, the change and the next
iteration's ``r / out``. Here one pass per iteration reads each row's source
ids (int32), gathers ``x[src]`` (float32), and for the row writes the new rank
``y = d · Σ x + teleport``, the next iteration's ``x = y / out`` and, per
block of rows, the partial L1 change and dangling mass. So an iteration reads
about the bytes of its arrays once: ``bench/bench_pagerank.py`` compares it
with a plain streaming pass over the same bytes. A row of fewer than 64
in-links sums in one float64 running sum, one in-link a step: on these short
rows the pass waits on instructions, and this is the fewest per in-link
(docs/benchmarks.md, "PageRank", lists the layouts measured slower). A longer
row sums in four float64 sums, so that its adds do not wait on each other.
The starting vectors and the final normalised, rounded vector are parallel
passes too; the final rounding gives the bits of ``metrics.round_significant``.

The source ids are an array (in memory or memory-mapped) or a
``metrics.FileSource`` read chunk by chunk in every iteration when they do not
fit the build's memory budget; the next chunk is read while the current one is
summed. Both run the same compiled pass over the same blocks of rows, so the
result does not depend on where the ids are, nor on the thread count: rows are
cut into blocks of about ``BLOCK_EDGES`` edges by the graph alone, a chunk is
whole blocks, each row's sum has a fixed order, and the per-block partial sums
are added exactly (``math.fsum``). Same formula and stopping rule as
``metrics.pagerank`` (docs/metrics.md); results agree with the SciPy loop to
the 6 significant digits kept (a last digit may differ).
"""

from __future__ import annotations

import functools
import math
import struct
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from linkgap.compiled import Compiled
from linkgap.index.metrics import (
    PAGERANK_DIGITS,
    FileSource,
    PageRankResult,
    round_significant,
    row_blocks,
)

__all__ = ["BLOCK_EDGES", "LONG_ROW", "STREAM_EDGES", "available", "pagerank"]

#: Edges per block of rows: the unit of work of a thread and of the partial sums.
BLOCK_EDGES = 1 << 16
#: Rows with at least this many in-links sum in float64 (the others in float32:
#: eight float32 sums of at most 8 terms each keep the 6 significant digits).
LONG_ROW = 64
#: Edges per chunk of streamed ids (int32: 16 MiB; two chunks are held, one being
#: summed while the next is read).
STREAM_EDGES = 1 << 22

#: numba's default threading layer runs one parallel loop at a time per process.
_LAUNCH_LOCK = threading.Lock()


def _iterate(indptr: np.ndarray, src: np.ndarray, edge_base: int, starts: np.ndarray,
             first_block: int, end_block: int, x: np.ndarray, r: np.ndarray,
             inv_out: np.ndarray, damping: np.float32, teleport: np.float32, y: np.ndarray,
             x_next: np.ndarray, change: np.ndarray, dangling: np.ndarray) -> None:
    """Blocks ``first_block..end_block`` of one PageRank iteration: ``y`` from ``x = r /
    out``, the next ``x``, and per block the L1 change and the dangling mass (float64).

    ``src`` holds the source ids of edges ``edge_base`` on (all of them, or one chunk).
    """
    # Indices as unsigned integers: numba then skips its negative-index checks,
    # which cost about a third of the time of the gather loop.
    one = np.uint64(1)
    long_row = np.uint64(LONG_ROW)
    two = np.uint64(2)
    three = np.uint64(3)
    four = np.uint64(4)
    for i in _prange(end_block - first_block):
        b = first_block + i
        moved = 0.0
        mass = 0.0
        e = np.uint64(indptr[starts[b]] - edge_base)
        for row in range(starts[b], starts[b + 1]):
            t = np.uint64(row)  # unsigned, as above: no wraparound code per row
            hi = np.uint64(indptr[t + one] - edge_base)
            if hi - e < long_row:
                # One running float64 sum, one in-link a step. It is the fewest
                # instructions per in-link, and on short rows (the median has 12
                # in-links) instructions are what an iteration waits on: eight
                # interleaved sums, a 4-way unrolled loop with a tail, rows sorted by
                # length and 16-lane vector gathers were each measured slower
                # (docs/benchmarks.md, "PageRank").
                acc = 0.0
                while e < hi:
                    acc += np.float64(x[np.uint64(src[e])])
                    e += one
                value = np.float32(acc) * damping
            else:
                # A long row: four float64 sums, so that the adds do not wait on each
                # other (a hub's in-links number millions).
                w0 = 0.0
                w1 = 0.0
                w2 = 0.0
                w3 = 0.0
                while e + three < hi:
                    w0 += np.float64(x[np.uint64(src[e])])
                    w1 += np.float64(x[np.uint64(src[e + one])])
                    w2 += np.float64(x[np.uint64(src[e + two])])
                    w3 += np.float64(x[np.uint64(src[e + three])])
                    e += four
                while e < hi:
                    w0 += np.float64(x[np.uint64(src[e])])
                    e += one
                value = np.float32((w0 + w1) + (w2 + w3)) * damping
            value += teleport
            y[t] = value
            moved += abs(np.float64(value) - np.float64(r[t]))
            scale = inv_out[t]
            # a select, not a branch: dangling rows come at random
            mass += np.float64(value) if scale == 0 else 0.0
            x_next[t] = value * scale
        change[b] = moved
        dangling[b] = mass


def _prepare(out_degree: np.ndarray, inv_out: np.ndarray, r: np.ndarray,
             x: np.ndarray) -> int:
    """The starting vectors: ``inv_out = 1 / out`` (0 for a dangling domain), ``r =
    1/n`` and ``x = r · inv_out`` (float32, the operations of the NumPy setup they
    replace); returns the number of dangling domains."""
    n = out_degree.shape[0]
    start = np.float32(1.0 / n)
    dangling = 0
    for i in _prange(n):
        degree = out_degree[i]
        scale = np.float32(1.0 / np.float64(degree)) if degree > 0 else np.float32(0.0)
        inv_out[i] = scale
        r[i] = start
        x[i] = start * scale
        dangling += 1 if degree <= 0 else 0
    return dangling


def _partial_sums(values: np.ndarray, step: int, parts: np.ndarray) -> None:
    """``parts[k]``: the float64 sum of ``values[k·step : (k+1)·step]``, in order."""
    n = values.shape[0]
    for k in _prange(parts.shape[0]):
        acc = 0.0
        for i in range(k * step, min(n, (k + 1) * step)):
            acc += np.float64(values[i])
        parts[k] = acc


def _normalise_and_round(values: np.ndarray, total: float, lowest: int, powers: np.ndarray,
                         table: np.ndarray, out: np.ndarray) -> int:
    """``out = round_significant(float64(values) / total)``: for exponent ``k`` the
    power of ten ``powers[k - lowest]`` and the scale ``table[k - lowest]`` are the
    floats ``round_significant`` uses, and the float operations are its own, so its
    bits. Returns how many values fell
    outside what the tables cover (not positive, not a normal float, or too small
    or large); the caller then rounds with NumPy instead.

    The decimal exponent comes from the binary one, read from the value's bits,
    not from ``log10`` (six times as slow): for a value in ``[2^b, 2^(b+1))``,
    ``floor(b · log10 2)`` is ``k`` or ``k - 1``, and one comparison with
    ``10^(k+1)`` settles it. Where that comparison and the floor of ``log10``
    could disagree, within an ulp of a power of ten, both exponents round to the
    same value.
    """
    outside = 0
    log10_2 = math.log10(2.0)
    last = powers.shape[0] - 1
    for i in _prange(values.shape[0]):
        value = np.float64(values[i]) / total
        out[i] = value
        biased = (_float64_bits(value) >> np.uint64(52)) & np.uint64(0x7FF)
        if value > 0.0 and biased != 0 and biased != 0x7FF:
            k = int(math.floor((np.int64(biased) - 1023) * log10_2)) - lowest
            if 0 <= k < last:
                if value >= powers[k + 1]:
                    k += 1
                scale = table[k]
                out[i] = np.rint(value * scale) / scale
                continue
        outside += 1
    return outside


def _prange(n: int) -> range:
    """``range`` when run as Python; numba's parallel ``prange`` once compiled."""
    return range(n)


def _float64_bits(value: float) -> int:
    """The bits of a float64 as an unsigned integer (as Python; compiled, a bitcast)."""
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def _bitcast_intrinsic(numba: Any) -> Any:
    """``_float64_bits`` for compiled code: one register move, no memory (a view of
    an array written in the same loop could be read before the write lands)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def float64_bits(typingctx: Any, value: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], ir.IntType(64))
        return types.uint64(types.float64), codegen

    return float64_bits


def _compiled(function: Any) -> Compiled:
    """``function`` compiled on first use: parallel, cached on disk."""
    def build(numba: Any) -> Any:
        # resolved when numba compiles ``function``
        globals()["_prange"] = numba.prange
        globals()["_float64_bits"] = _bitcast_intrinsic(numba)
        return numba.njit(parallel=True, cache=True, nogil=True)(function)
    return Compiled(build)


_KERNEL = _compiled(_iterate)
_PREPARE = _compiled(_prepare)
_PARTIAL_SUMS = _compiled(_partial_sums)
_NORMALISE_AND_ROUND = _compiled(_normalise_and_round)
#: Rows per partial sum of the final vector: fixed, so the total does not depend on
#: the threads.
_SUM_ROWS = 1 << 16
#: The decimal exponents the rounding table covers: its powers of ten are finite
#: normal floats for any digits up to 8 (values outside are rounded by NumPy).
_LOWEST_EXPONENT = -290
_HIGHEST_EXPONENT = 300


def available() -> bool:
    """True when the compiled PageRank can run (numba imports)."""
    return _KERNEL.available()


def _chunks(edge_starts: np.ndarray, chunk_edges: int) -> list[tuple[int, int]]:
    """Consecutive ranges of whole blocks holding about ``chunk_edges`` edges each
    (a block wider than that is a chunk of its own). ``edge_starts[b]`` is the first
    edge of block ``b``; the last entry is the edge count."""
    blocks = len(edge_starts) - 1
    out: list[tuple[int, int]] = []
    first = 0
    for b in range(1, blocks + 1):
        if b == blocks or edge_starts[b + 1] - edge_starts[first] > chunk_edges:
            out.append((first, b))
            first = b
    return out


class _StreamedIds:
    """Chunks of a FileSource's ids, the next one read (``preadv``, no GIL) while the
    current one is summed; two buffers, reused in every iteration."""

    def __init__(self, source: FileSource, edge_ranges: list[tuple[int, int]]) -> None:
        self.source = source
        self.ranges = edge_ranges
        widest = max(hi - lo for lo, hi in edge_ranges)
        count = 2 if len(edge_ranges) > 1 else 1
        self.buffers = [np.empty(widest, dtype=source.dtype) for _ in range(count)]
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkgap-pagerank")
        self.pending: tuple[int, Future[np.ndarray]] | None = None
        self.slot = 0

    def _read(self, k: int, slot: int) -> np.ndarray:
        lo, hi = self.ranges[k]
        return self.source.read_into(lo, self.buffers[slot][: hi - lo])

    def chunk(self, k: int) -> np.ndarray:
        """Chunk ``k``'s ids (valid until the next call), and chunk ``k + 1`` (wrapping
        to the first for the next iteration) read into the other buffer meanwhile."""
        if self.pending is not None and self.pending[0] == k:
            ids = self.pending[1].result()
        else:
            ids = self._read(k, self.slot)
        self.pending = None
        if len(self.buffers) > 1:
            self.slot ^= 1  # the buffer not holding chunk k
            following = (k + 1) % len(self.ranges)
            self.pending = (following, self.pool.submit(self._read, following, self.slot))
        return ids

    def close(self) -> None:
        """Wait for a read under way, then stop the reader thread."""
        if self.pending is not None:
            self.pending[1].exception()  # a read past the last iteration: ignored
        self.pool.shutdown()


def pagerank(indptr: np.ndarray, src: np.ndarray | FileSource, out_degree: np.ndarray, *,
             damping: float, tolerance: float, max_iterations: int,
             stream_edges: int = STREAM_EDGES) -> PageRankResult:
    """PageRank of the binary graph given as an in-link CSR (rows = targets).

    The contract of ``linkgap.index.metrics.pagerank``: ``out_degree[s]`` is the
    number of distinct targets of ``s``; dangling mass and the teleport share
    ``1 - damping`` spread uniformly; float64 result normalised to sum 1 and
    rounded to ``PAGERANK_DIGITS`` significant digits. ``src`` is an array or a
    FileSource read in chunks of about ``stream_edges`` edges; the bits of the
    result are the same either way.
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
    edge_starts = indptr_a[starts]
    if isinstance(src, FileSource):
        chunks = _chunks(edge_starts, stream_edges)
        streamed: _StreamedIds | None = _StreamedIds(
            src, [(int(edge_starts[b0]), int(edge_starts[b1])) for b0, b1 in chunks])
    else:
        chunks, streamed = [(0, blocks)], None
    inv_out = np.empty(n, dtype=np.float32)
    r = np.empty(n, dtype=np.float32)
    x = np.empty(n, dtype=np.float32)
    y = np.empty(n, dtype=np.float32)
    x_next = np.empty(n, dtype=np.float32)
    change = np.zeros(blocks, dtype=np.float64)
    dangling_part = np.zeros(blocks, dtype=np.float64)
    # one parallel pass, not NumPy's masked copies (a fifth of a 20-iteration run)
    dangling_domains = _PREPARE.get()(np.asarray(out_degree), inv_out, r, x)
    dangling = dangling_domains * float(r[0])
    d32 = np.float32(damping)
    delta = math.inf
    iterations = 0
    try:
        with _LAUNCH_LOCK:
            while iterations < max_iterations and delta >= tolerance:
                iterations += 1
                teleport = np.float32((1.0 - damping + damping * dangling) / n)
                for k, (b0, b1) in enumerate(chunks):
                    if streamed is None:
                        ids, base = src, 0
                    else:
                        ids, base = streamed.chunk(k), int(edge_starts[b0])
                    iterate(indptr_a, ids, np.int64(base), starts, np.int64(b0), np.int64(b1),
                            x, r, inv_out, d32, teleport, y, x_next, change, dangling_part)
                # fsum is exact: the same sum whatever the threads or the chunks
                delta = math.fsum(change.tolist())
                dangling = math.fsum(dangling_part.tolist())
                r, y = y, r
                x, x_next = x_next, x
    finally:
        if streamed is not None:
            streamed.close()
    return PageRankResult(_normalised(r), iterations, delta, delta < tolerance)


def _normalised(r: np.ndarray) -> np.ndarray:
    """``r`` as float64 normalised to sum 1 and rounded to ``PAGERANK_DIGITS``
    significant digits: the sum from fixed slices added exactly (the same whatever
    the threads), the rounding of ``round_significant`` in one parallel pass."""
    parts = np.empty(-(-len(r) // _SUM_ROWS), dtype=np.float64)
    _PARTIAL_SUMS.get()(r, _SUM_ROWS, parts)
    total = math.fsum(parts.tolist())
    powers, scales = _rounding_tables(PAGERANK_DIGITS)
    result = np.empty(len(r), dtype=np.float64)
    if _NORMALISE_AND_ROUND.get()(r, total, _LOWEST_EXPONENT, powers, scales, result):
        result = round_significant(r.astype(np.float64) / total, PAGERANK_DIGITS)
    return result


@functools.cache
def _rounding_tables(digits: int) -> tuple[np.ndarray, np.ndarray]:
    """For each exponent ``k`` the tables cover: ``10 ** k``, and the scale ``10 **
    (digits - 1 - k)`` computed as ``round_significant`` computes it."""
    exponents = np.arange(_LOWEST_EXPONENT, _HIGHEST_EXPONENT + 1, dtype=np.float64)
    powers = 10.0 ** exponents
    scales = 10.0 ** (digits - 1 - exponents)
    for table in (powers, scales):
        table.flags.writeable = False
    return powers, scales
