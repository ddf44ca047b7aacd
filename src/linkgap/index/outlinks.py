"""Out-links by source: the transposed in-link CSR that link competitors read (SPEC 13).

``out_indptr.npy`` (int64, one entry per domain plus one) and ``out_dst.npy``
(int32 target ids, int64 from 2^31 domains on) hold, for each source domain
s, the domains it links to: ``out_dst[out_indptr[s]:out_indptr[s + 1]]``,
ascending. That is 4 bytes per edge and 8 per domain on disk.

The transpose is written after the metrics, when the build holds nothing else,
and stays within the build's memory budget whatever the size of the graph:

- when ``out_dst`` itself fits in the budget (4 bytes per edge, plus 8 per
  domain of write cursors), one compiled pass over the in-link CSR places each
  edge straight at its source's next free slot (a counting sort: targets are
  visited in ascending order, so every source's slice comes out ascending).
  ``in_src`` is read in pieces with plain file reads, not through the memory
  map, so the pass holds ``out_dst``, the cursors and one piece;
- without numba, or for a graph below ``COMPILED_MIN_EDGES`` edges (where
  starting numba costs more than the sort), edges are keyed
  ``source << 32 | target`` (int64), which sort into exactly the out-link
  order, and sorted in memory in one go when the keys fit (8 bytes per edge,
  plus slack);
- otherwise the sources are cut into contiguous ranges ("buckets") whose
  edges fit, one pass over ``in_src`` appends each edge's key to its bucket's
  scratch file in the build's work folder (8 bytes per edge of temporary
  disk), and each bucket is then loaded, sorted and appended to ``out_dst``
  in source order. At most ``MAX_OPEN_BUCKETS`` scratch files are open at a
  time; a tinier budget takes more passes over ``in_src``, never more memory.

Out-degrees come from ``linked_domains.npy`` (distinct domains a source links
to = its edges in the domain graph), so ``out_indptr`` is written before any
edge is read. Every file is written with plain appends (``NpyWriter``), never
through a writable memory map, whose dirty pages would count as resident
memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from linkgap.compiled import Compiled
from linkgap.index.csr import INT32_LIMIT, NpyWriter, load_array

__all__ = [
    "MAX_OPEN_BUCKETS",
    "OUT_LINK_FILES",
    "OutLinkReport",
    "out_link_bytes_per_edge",
    "write_out_links",
]

#: The files of the out-link CSR (stems; each is ``<stem>.npy``).
OUT_LINK_FILES = ("out_indptr", "out_dst")
#: Scratch bucket files open at once during one pass over ``in_src``.
MAX_OPEN_BUCKETS = 128
#: Memory per edge while a bucket is sorted: its int64 key, plus slack for the
#: int32 targets written out piece by piece.
_SORT_BYTES_PER_EDGE = 10
#: Edges read from ``in_src`` per step (bounds the pass's own temporaries, ~50 bytes each).
_READ_EDGES = 1 << 21
#: Smallest bucket, so that a tiny budget does not mean thousands of buckets.
_MIN_BUCKET_EDGES = 1 << 16
#: The compiled counting sort runs for graphs of at least this many edges. Below, the
#: NumPy sort of the edge keys in memory takes less time than importing numba and
#: loading the compiled pass (about 0.4 CPU s, most of a small build's finalise), as
#: for PageRank (``linkgap.index.metrics.COMPILED_MIN_EDGES``). The out-links are the
#: same either way; the choice depends on the graph alone. Read at each call: tests lower it.
COMPILED_MIN_EDGES = 1 << 22


@dataclass(frozen=True)
class OutLinkReport:
    """How the out-links were written (for the manifest)."""

    edges: int
    buckets: int   # 1: sorted in memory
    passes: int    # passes over in_src (0 when sorted in memory from one read)


def out_link_bytes_per_edge(domains: int) -> int:
    """Bytes of ``out_dst`` per edge: 4 while ids fit int32, else 8."""
    return 4 if domains < INT32_LIMIT else 8


def write_out_links(folder: Path, work: Path, memory_bytes: int, *,
                    read_edges: int = _READ_EDGES, min_bucket_edges: int = _MIN_BUCKET_EDGES,
                    max_open: int = MAX_OPEN_BUCKETS) -> OutLinkReport:
    """Write ``out_indptr.npy`` and ``out_dst.npy`` into ``folder`` from its in-link CSR.

    ``memory_bytes`` is what the step may hold; scratch files go to ``work``. The
    step sizes are parameters so that tests can take the bucketed path on small graphs.
    """
    in_indptr = load_array(folder / "in_indptr.npy")
    in_src = load_array(folder / "in_src.npy")
    n = int(in_indptr.shape[0]) - 1
    edges = int(in_indptr[-1]) if n >= 0 else 0
    if n > 2**32:
        raise RuntimeError("out-links are keyed by 32-bit target ids: more than 2^32 domains")
    out_indptr = _write_out_indptr(folder, n, edges)
    dst_dtype = np.int32 if n < INT32_LIMIT else np.int64
    transpose = _TRANSPOSE.get() if edges >= COMPILED_MIN_EDGES else None
    placed_bytes = edges * np.dtype(dst_dtype).itemsize + 8 * n + 8 * read_edges
    if transpose is not None and edges and placed_bytes <= int(memory_bytes):
        _write_placed(folder / "out_dst.npy", transpose, in_indptr, in_src, out_indptr,
                      dst_dtype, read_edges)
        return OutLinkReport(edges, 1, 1 if edges else 0)
    capacity = max(min_bucket_edges, int(memory_bytes) // _SORT_BYTES_PER_EDGE)
    bounds = _bucket_bounds(out_indptr, capacity)
    writer = NpyWriter(folder / "out_dst.npy", dst_dtype)
    try:
        if len(bounds) <= 2:
            _write_in_memory(writer, in_indptr, in_src, edges, read_edges)
            passes = 1 if edges else 0
        else:
            passes = _write_bucketed(writer, in_indptr, in_src, out_indptr, bounds, work,
                                     read_edges, max_open)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    if writer.count != edges:
        raise RuntimeError(f"out-links: wrote {writer.count} edges, expected {edges}")
    return OutLinkReport(edges, max(1, len(bounds) - 1), passes)


def _place(in_indptr: np.ndarray, src: np.ndarray, first_edge: int, first_target: int,
           cursor: np.ndarray, out_dst: np.ndarray) -> int:
    """Place the in-links ``first_edge .. first_edge + len(src) - 1`` at their sources'
    next out-link slots; returns the target holding the piece's last edge.

    ``src`` is one piece of ``in_src``; ``first_target`` the target whose slice
    holds ``first_edge``. A target's slice may straddle two pieces.
    """
    t = first_target
    end = first_edge + len(src)
    e = first_edge
    while e < end:
        while in_indptr[t + 1] <= e:
            t += 1
        stop = min(end, in_indptr[t + 1])
        while e < stop:
            s = src[e - first_edge]
            out_dst[cursor[s]] = t
            cursor[s] += 1
            e += 1
    return t


def _build_place(numba: object) -> object:
    return numba.njit(cache=True, nogil=True)(_place)  # type: ignore[attr-defined]


_TRANSPOSE = Compiled(_build_place)


def _write_placed(path: Path, place: object, in_indptr: np.ndarray, in_src: np.ndarray,
                  out_indptr: np.ndarray, dst_dtype: type, read_edges: int) -> None:
    """``out_dst.npy`` by one compiled counting-sort pass (see the module docstring)."""
    indptr = np.asarray(in_indptr)
    edges = int(indptr[-1])
    out_dst: np.ndarray = np.empty(edges, dtype=dst_dtype)
    cursor = np.array(out_indptr[:-1], dtype=np.int64)
    target = 0
    # Plain reads of the file behind the map: touching the map would leave all of
    # in_src resident (file pages count in the build's RSS until it is unmapped).
    # This pass runs only on graphs with edges, whose in_src is always mapped.
    mapped = cast(np.memmap, in_src)
    with open(str(mapped.filename), "rb") as fh:
        fh.seek(mapped.offset)
        for start in range(0, edges, read_edges):
            piece = np.fromfile(fh, dtype=mapped.dtype, count=min(read_edges, edges - start))
            target = place(indptr, piece, start, target, cursor, out_dst)  # type: ignore[operator]
    del cursor
    writer = NpyWriter(path, dst_dtype)
    try:
        writer.write(out_dst)
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _write_out_indptr(folder: Path, n: int, edges: int) -> np.ndarray:
    """``out_indptr.npy`` from the out-degrees, in pieces; returned memory-mapped."""
    degree = load_array(folder / "linked_domains.npy")
    writer = NpyWriter(folder / "out_indptr.npy", np.int64)
    writer.write(np.zeros(1, dtype=np.int64))
    total = 0
    piece = 1 << 22
    for lo in range(0, n, piece):
        ends = np.cumsum(np.asarray(degree[lo:lo + piece], dtype=np.int64)) + total
        writer.write(ends)
        total = int(ends[-1])
    writer.close()
    if total != edges:
        raise RuntimeError(f"out-degrees add up to {total} edges, the in-link CSR has {edges}")
    return load_array(folder / "out_indptr.npy")


def _bucket_bounds(out_indptr: np.ndarray, capacity: int) -> np.ndarray:
    """Source ids ``b0 = 0 < b1 < … < bk = n`` cutting the sources into runs of at most
    ``capacity`` edges (a single source with more edges gets a run of its own)."""
    n = int(out_indptr.shape[0]) - 1
    edges = int(out_indptr[-1])
    if edges <= capacity:
        return np.array([0, n], dtype=np.int64)
    bounds = [0]
    while bounds[-1] < n:
        start = bounds[-1]
        limit = int(out_indptr[start]) + capacity
        # The last source whose slice still ends within the capacity.
        stop = int(np.searchsorted(out_indptr, limit, side="right")) - 1
        bounds.append(min(n, max(stop, start + 1)))
    return np.asarray(bounds, dtype=np.int64)


def _edge_keys(in_indptr: np.ndarray, in_src: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``source << 32 | target`` of the in-link positions ``start..stop-1``."""
    lo_t = int(np.searchsorted(in_indptr, start, side="right")) - 1
    hi_t = int(np.searchsorted(in_indptr, stop, side="left"))
    bounds = np.clip(np.asarray(in_indptr[lo_t:hi_t + 1], dtype=np.int64), start, stop)
    targets = np.repeat(np.arange(lo_t, hi_t, dtype=np.int64), np.diff(bounds))
    keys = np.asarray(in_src[start:stop], dtype=np.int64) << 32
    keys |= targets
    return keys


def _write_sorted(writer: NpyWriter, keys: np.ndarray) -> None:
    """Sort ``keys`` in place and append their targets to ``out_dst``."""
    keys.sort()
    piece = 1 << 22
    for lo in range(0, len(keys), piece):
        writer.write(keys[lo:lo + piece] & 0xFFFFFFFF)


def _write_in_memory(writer: NpyWriter, in_indptr: np.ndarray, in_src: np.ndarray,
                     edges: int, read_edges: int) -> None:
    keys = np.empty(edges, dtype=np.int64)
    for start in range(0, edges, read_edges):
        stop = min(edges, start + read_edges)
        keys[start:stop] = _edge_keys(in_indptr, in_src, start, stop)
    _write_sorted(writer, keys)


def _write_bucketed(writer: NpyWriter, in_indptr: np.ndarray, in_src: np.ndarray,
                    out_indptr: np.ndarray, bounds: np.ndarray, work: Path, read_edges: int,
                    max_open: int) -> int:
    """Partition the edges into bucket files by source range, then sort each; returns the
    number of passes over ``in_src``."""
    work.mkdir(parents=True, exist_ok=True)
    edges = int(in_indptr[-1])
    buckets = len(bounds) - 1
    passes = 0
    for first in range(0, buckets, max_open):
        last = min(buckets, first + max_open)
        # Keys below this round's first source and from its last source on are skipped.
        key_lo = int(bounds[first]) << 32
        key_hi = int(bounds[last]) << 32
        cuts = np.asarray(bounds[first + 1:last], dtype=np.int64) << 32
        paths = [work / f"out-bucket-{b}.npy" for b in range(first, last)]
        files = [NpyWriter(p, np.int64) for p in paths]
        try:
            for start in range(0, edges, read_edges):
                keys = _edge_keys(in_indptr, in_src, start, min(edges, start + read_edges))
                if first or last < buckets:
                    keys = keys[(keys >= key_lo) & (keys < key_hi)]
                which = np.searchsorted(cuts, keys, side="right")
                order = np.argsort(which, kind="stable")
                ends = np.searchsorted(which[order], np.arange(1, len(files) + 1))
                begin = 0
                for fh, end in zip(files, ends, strict=True):
                    if end > begin:
                        fh.write(keys[order[begin:end]])
                    begin = int(end)
        finally:
            for fh in files:
                fh.close()
        passes += 1
        for b, path in zip(range(first, last), paths, strict=True):
            keys = np.load(path)
            expected = int(out_indptr[bounds[b + 1]]) - int(out_indptr[bounds[b]])
            if len(keys) != expected:
                raise RuntimeError(f"out-link bucket {b} holds {len(keys)} edges, "
                                   f"expected {expected}")
            _write_sorted(writer, keys)
            del keys
            path.unlink()
    return passes
