"""Writing the on-disk arrays of a version: sorted names and the in-link CSR.

Everything is streamed: names and edges arrive in batches from the
aggregation and go straight into ``.npy`` files opened as memory maps, so a
build never holds the whole graph in Python objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = [
    "INT32_LIMIT",
    "write_names",
    "write_in_csr",
    "segment_sum",
    "segment_max",
    "open_array",
    "fsync_file",
]

#: Source ids are int32 while there are fewer domains than this.
INT32_LIMIT = 2**31 - 1


def open_array(path: Path, dtype: np.dtype | type, n: int) -> np.memmap:
    """A new ``.npy`` file of ``n`` items, open for writing as a memory map."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=(n,))


def fsync_file(path: Path) -> None:
    """Flush one file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_names(folder: Path, name_batches: Iterable[pa.Array], n: int) -> None:
    """Write ``names.bytes`` and ``names.offsets.npy`` from names already in id order."""
    offsets = open_array(folder / "names.offsets.npy", np.int64, n + 1)
    offsets[0] = 0
    done = 0
    position = 0
    with open(folder / "names.bytes", "wb") as out:
        for array in name_batches:
            # large_string gives int64 offsets and one contiguous value buffer.
            chunk = array.cast(pa.large_string())
            if isinstance(chunk, pa.ChunkedArray):
                chunk = chunk.combine_chunks()
            k = len(chunk)
            if k == 0:
                continue
            bufs = chunk.buffers()
            offs = np.frombuffer(bufs[1], dtype=np.int64, count=k + 1, offset=chunk.offset * 8)
            start, end = int(offs[0]), int(offs[-1])
            out.write(memoryview(bufs[2])[start:end])
            offsets[done + 1 : done + k + 1] = offs[1:] - start + position
            position += end - start
            done += k
    if done != n:
        raise RuntimeError(f"expected {n} domain names, wrote {done}")
    offsets.flush()
    del offsets


def write_in_csr(folder: Path, edge_batches: Iterable[pa.RecordBatch], n: int, e: int) -> None:
    """Write the in-link CSR (by target) from edges sorted by (target id, source id)."""
    src_dtype = np.int32 if n < INT32_LIMIT else np.int64
    src = open_array(folder / "in_src.npy", src_dtype, e)
    links = open_array(folder / "in_links.npy", np.int64, e)
    dofollow = open_array(folder / "in_dofollow.npy", np.int64, e)
    first = open_array(folder / "in_first_seen.npy", np.int64, e)
    last = open_array(folder / "in_last_seen.npy", np.int64, e)
    counts = np.zeros(n, dtype=np.int64)
    done = 0
    for batch in edge_batches:
        k = batch.num_rows
        if k == 0:
            continue
        cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
        dst = cols["dst"].to_numpy(zero_copy_only=False)
        counts += np.bincount(dst, minlength=n)
        sl = slice(done, done + k)
        src[sl] = cols["src"].to_numpy(zero_copy_only=False)
        links[sl] = cols["links"].to_numpy(zero_copy_only=False)
        dofollow[sl] = cols["dofollow_links"].to_numpy(zero_copy_only=False)
        first[sl] = cols["first_seen"].to_numpy(zero_copy_only=False)
        last[sl] = cols["last_seen"].to_numpy(zero_copy_only=False)
        done += k
    if done != e:
        raise RuntimeError(f"expected {e} edges, wrote {done}")
    indptr = open_array(folder / "in_indptr.npy", np.int64, n + 1)
    indptr[0] = 0
    np.cumsum(counts, out=indptr[1:])
    for arr in (src, links, dofollow, first, last, indptr):
        arr.flush()


def segment_sum(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Sum of ``values[indptr[i]:indptr[i+1]]`` for every i (0 for empty segments).

    ``indptr`` is relative to ``values`` (``indptr[0]`` may be > 0 for a block).
    """
    return _segment_reduce(np.add, values, indptr)


def segment_max(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Largest of ``values[indptr[i]:indptr[i+1]]`` for every i (0 for empty segments)."""
    return _segment_reduce(np.maximum, values, indptr)


def _segment_reduce(op: np.ufunc, values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    starts = np.asarray(indptr[:-1], dtype=np.int64)
    sizes = np.diff(np.asarray(indptr, dtype=np.int64))
    out = np.zeros(len(starts), dtype=values.dtype)
    nonempty = sizes > 0
    if not nonempty.any():
        return out
    # reduceat over the non-empty segments only: their starts are strictly
    # increasing and each runs to the next non-empty start, because the empty
    # segments in between add no items.
    lo = int(indptr[0])
    hi = int(indptr[-1])
    sub = np.asarray(values[lo:hi])
    out[nonempty] = op.reduceat(sub, starts[nonempty] - lo)
    return out
