"""Writing the on-disk arrays of a version: sorted names and the compact in-link CSR.

Everything streams: names and edges arrive in chunks sorted the way they are
stored and go to ``.npy`` files with plain file writes (never through a
writable memory map, whose dirty pages would count as the build's resident
memory). The per-domain totals of SPEC section 3 are summed here in 64-bit
integers from the exact edge counts, *before* the per-edge columns saturate
(``linkgap.index.format``), so the metrics stay exact.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from linkgap.index.format import (
    DOFOLLOW_LINKS_MAX,
    EDGE_COLUMNS,
    LINKS_MAX,
    encode_days,
    saturate,
)

__all__ = [
    "INT32_LIMIT",
    "CsrTotals",
    "CsrWriter",
    "NpyWriter",
    "fsync_file",
    "load_array",
    "segment_max",
    "segment_sum",
    "write_names",
]

#: Source ids are int32 while there are fewer domains than this.
INT32_LIMIT = 2**31 - 1
_HEADER_BYTES = 128  # fixed, so the shape can be written when the file is complete
_PIECE_ROWS = 1 << 20  # per-domain values are written in pieces of this many rows


class NpyWriter:
    """An append-only one-dimensional ``.npy`` file, written with plain file writes.

    The length need not be known in advance: the header is rewritten with the
    final shape by ``close``.
    """

    def __init__(self, path: Path, dtype: np.dtype[Any] | type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.count = 0
        self._fh = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._fh.write(self._header(0))

    def _header(self, n: int) -> bytes:
        descr = np.lib.format.dtype_to_descr(self.dtype)
        text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': ({n},), }}"
        body = text.ljust(_HEADER_BYTES - 10 - 1) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")

    def write(self, values: np.ndarray) -> None:
        """Append ``values`` (cast to the file's dtype)."""
        arr = np.ascontiguousarray(values, dtype=self.dtype)
        self._fh.write(arr.data.cast("B"))
        self.count += len(arr)

    def close(self) -> None:
        """Write the final shape into the header and close the file."""
        if self._fh.closed:
            return
        self._fh.seek(0)
        self._fh.write(self._header(self.count))
        self._fh.close()

    def abort(self) -> None:
        """Close without caring for the header (the build is failing)."""
        self._fh.close()


def load_array(path: Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped read-only."""
    return np.load(path, mmap_mode="r")


def fsync_file(path: Path) -> None:
    """Flush one file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_names(folder: Path, name_batches: Iterable[pa.Array], n: int) -> None:
    """Write ``names.bytes`` and ``names.offsets.npy`` from names already in id order."""
    offsets = NpyWriter(folder / "names.offsets.npy", np.int64)
    offsets.write(np.zeros(1, dtype=np.int64))
    position = 0
    try:
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
                offs = np.frombuffer(bufs[1], dtype=np.int64, count=k + 1,
                                     offset=chunk.offset * 8)
                start, end = int(offs[0]), int(offs[-1])
                out.write(memoryview(bufs[2])[start:end])
                offsets.write(offs[1:] - start + position)
                position += end - start
    finally:
        offsets.close()
    if offsets.count != n + 1:
        raise RuntimeError(f"expected {n} domain names, wrote {offsets.count - 1}")


@dataclass
class CsrTotals:
    """What the CSR writer counted: edges, exact link totals, whether every edge is dofollow,
    and the per-edge columns stored as one value (``ConstantColumnWriter``)."""

    edges: int
    links: int
    dofollow_links: int
    all_dofollow: bool
    constant_columns: dict[str, int] = field(default_factory=dict)


class ConstantColumnWriter:
    """A per-edge column that is stored as one value while every edge has the same one.

    Web graphs (cc-graph inputs) give every edge one dofollow link and no
    dates, so ``in_links``, ``in_dofollow_links`` and both seen days hold one
    value on every edge: 10 of the 15 bytes per edge say nothing. This writer
    only counts while the values stay equal to the first; at the first other
    value it writes what it has counted in full and goes on as a plain
    ``NpyWriter``. ``close`` then leaves a one-element file and returns the
    value, or None when the column was written in full (or has no edges).
    """

    def __init__(self, path: Path, dtype: np.dtype[Any] | type) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.count = 0
        self._value: Any = None
        self._full: NpyWriter | None = None

    def write(self, values: np.ndarray) -> None:
        """Append ``values`` (cast to the column's dtype)."""
        arr = np.asarray(values, dtype=self.dtype)
        if len(arr) == 0:
            return
        if self._full is None:
            if self._value is None:
                self._value = arr[0]
            if bool((arr == self._value).all()):
                self.count += len(arr)
                return
            self._full = NpyWriter(self.path, self.dtype)
            step = 1 << 22
            for done in range(0, self.count, step):
                self._full.write(np.full(min(step, self.count - done), self._value, self.dtype))
        self._full.write(arr)
        self.count += len(arr)

    def close(self) -> int | None:
        """Finish the file; the column's one value, or None when it was written in full."""
        if self._full is not None:
            self._full.close()
            return None
        writer = NpyWriter(self.path, self.dtype)
        if self.count:
            writer.write(np.array([self._value], dtype=self.dtype))
        writer.close()
        return int(self._value) if self.count else None

    def abort(self) -> None:
        """Close without caring for the file (the build is failing)."""
        if self._full is not None:
            self._full.abort()


class _RowStream:
    """Per-target values of edges sorted by target, reduced and written row by row.

    Edges arrive in chunks; a target's edges may straddle two chunks, so the
    last target of a chunk is held back (``carry``) until the next chunk shows
    whether it continues. Rows without edges get zeros.
    """

    def __init__(self, n: int, writers: list[NpyWriter], ops: list[np.ufunc],
                 indptr: NpyWriter) -> None:
        self.n = n
        self.writers = writers
        self.ops = ops
        self.indptr = indptr
        self.indptr.write(np.zeros(1, dtype=np.int64))
        self.edges_written = 0
        self.next_row = 0
        self.carry_row = -1
        self.carry_count = 0
        self.carry: list[int] = []

    def add(self, rows: np.ndarray, values: list[np.ndarray]) -> None:
        if len(rows) == 0:
            return
        starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
        urows = rows[starts]
        counts = np.diff(np.append(starts, len(rows)))
        reduced = [op.reduceat(v, starts) for v, op in zip(values, self.ops, strict=True)]
        if urows[0] == self.carry_row:
            counts[0] += self.carry_count
            for k, op in enumerate(self.ops):
                reduced[k][0] = op(reduced[k][0], self.carry[k])
        elif self.carry_row >= 0:
            urows = np.concatenate(([self.carry_row], urows))
            counts = np.concatenate(([self.carry_count], counts))
            reduced = [np.concatenate(([c], r)) for c, r in zip(self.carry, reduced, strict=True)]
        self._emit(urows[:-1], counts[:-1], [r[:-1] for r in reduced], upto=int(urows[-1]))
        self.carry_row = int(urows[-1])
        self.carry_count = int(counts[-1])
        self.carry = [int(r[-1]) for r in reduced]

    def finish(self) -> None:
        if self.carry_row >= 0:
            self._emit(np.array([self.carry_row]), np.array([self.carry_count]),
                       [np.array([c]) for c in self.carry], upto=self.carry_row + 1)
            self.carry_row = -1
        self._emit(np.zeros(0, np.int64), np.zeros(0, np.int64),
                   [np.zeros(0, np.int64) for _ in self.ops], upto=self.n)

    def _emit(self, rows: np.ndarray, counts: np.ndarray, values: list[np.ndarray],
              upto: int) -> None:
        """Write rows ``next_row..upto-1``: the given ones with their values, zeros between."""
        for lo in range(self.next_row, upto, _PIECE_ROWS):
            hi = min(upto, lo + _PIECE_ROWS)
            a, b = np.searchsorted(rows, [lo, hi])
            at = rows[a:b] - lo
            dense_counts = np.zeros(hi - lo, dtype=np.int64)
            dense_counts[at] = counts[a:b]
            ends = np.cumsum(dense_counts)
            ends += self.edges_written
            self.indptr.write(ends)
            self.edges_written = int(ends[-1])
            for writer, vals in zip(self.writers, values, strict=True):
                dense = np.zeros(hi - lo, dtype=np.int64)
                dense[at] = vals[a:b]
                writer.write(dense)
        self.next_row = max(self.next_row, upto)


class CsrWriter:
    """Streams edges sorted by (target id, source id) into the compact in-link CSR.

    Writes the per-edge arrays of ``linkgap.index.format.EDGE_COLUMNS`` and
    ``in_indptr.npy`` into ``folder``, the per-target totals ``backlinks.npy``
    (int64) and ``referring_domains.npy`` (the source ids' width) there too, and
    the build's scratch totals (dofollow backlinks, dofollow referring domains,
    links from the strongest referrer, and the dofollow-only source ids
    PageRank needs when some edge is not dofollow) into ``work``. Per-source totals (linked domains,
    outlinks, dofollow linked domains) are summed in memory: 24 bytes per
    domain.
    """

    def __init__(self, folder: Path, work: Path, n: int) -> None:
        self.folder = folder
        self.work = work
        self.n = n
        src_dtype = np.int32 if n < INT32_LIMIT else np.int64
        # The hot columns (read by every gap query) are always written in full.
        self._src = NpyWriter(folder / "in_src.npy", src_dtype)
        self.columns: dict[str, NpyWriter | ConstantColumnWriter] = {
            c.name: self._src if c.name == "in_src" else
            (NpyWriter if c.hot else ConstantColumnWriter)(folder / f"{c.name}.npy", c.dtype)
            for c in EDGE_COLUMNS}
        work.mkdir(parents=True, exist_ok=True)
        self._row_files = [
            NpyWriter(folder / "backlinks.npy", np.int64),
            # at most n - 1 referring domains: the source ids' width is exact
            NpyWriter(folder / "referring_domains.npy", src_dtype),
            NpyWriter(work / "dofollow_backlinks.npy", np.int64),
            NpyWriter(work / "dofollow_referring_domains.npy", np.int64),
            NpyWriter(work / "top_referrer_links.npy", np.int64),
        ]
        self.indptr = NpyWriter(folder / "in_indptr.npy", np.int64)
        self.rows = _RowStream(n, self._row_files,
                               [np.add, np.add, np.add, np.add, np.maximum], self.indptr)
        self.linked_domains = np.zeros(n, dtype=np.int64)
        self.outlinks = np.zeros(n, dtype=np.int64)
        self.dofollow_linked_domains = np.zeros(n, dtype=np.int64)
        self.df_src: NpyWriter | None = None  # opened at the first edge that is not dofollow
        self.edges = 0
        self.links = 0
        self.dofollow_links = 0
        self._last_key = -1

    @staticmethod
    def memory_bytes(n: int) -> int:
        """What the writer holds in memory for ``n`` domains (its per-source totals)."""
        return 24 * n

    def add(self, dst: np.ndarray, src: np.ndarray, links: np.ndarray,
            dofollow_links: np.ndarray, first_seen: np.ndarray, last_seen: np.ndarray) -> None:
        """Append edges (int64 arrays, exact counts, seen times in epoch seconds or -1)."""
        k = len(dst)
        if k == 0:
            return
        key0 = int(dst[0]) * (self.n + 1) + int(src[0])
        if key0 <= self._last_key:
            raise RuntimeError("edges must arrive sorted by (target, source), each once")
        self._last_key = int(dst[-1]) * (self.n + 1) + int(src[-1])
        links = np.asarray(links, dtype=np.int64)
        dofollow_links = np.asarray(dofollow_links, dtype=np.int64)
        flag = dofollow_links > 0
        all_df = bool(flag.all())
        if not all_df and self.df_src is None:
            self._start_dofollow_sources()  # before this chunk's ids are written
        cols = self.columns
        cols["in_src"].write(src)
        cols["in_dofollow"].write(flag.view(np.uint8))
        cols["in_links"].write(saturate(links, np.uint32))
        cols["in_dofollow_links"].write(saturate(dofollow_links, np.uint16))
        cols["in_first_seen"].write(encode_days(first_seen))
        cols["in_last_seen"].write(encode_days(last_seen))
        flag64 = flag.astype(np.int64)
        self.rows.add(np.asarray(dst, dtype=np.int64),
                      [links, np.ones(k, dtype=np.int64), dofollow_links, flag64, links])
        # Per-source totals by scatter-add; most edges of a web graph have one
        # dofollow link, so only the others need a second and third pass.
        np.add.at(self.linked_domains, src, 1)
        extra = links != 1
        np.add.at(self.outlinks, src[extra], links[extra] - 1)
        if not all_df:
            np.add.at(self.dofollow_linked_domains, src[~flag], -1)
        if self.df_src is not None:
            self.df_src.write(src[flag] if not all_df else src)
        self.edges += k
        self.links += int(links.sum())
        self.dofollow_links += int(dofollow_links.sum())

    def _start_dofollow_sources(self) -> None:
        # Every edge so far was dofollow: the dofollow sources so far are in_src so far.
        self.df_src = NpyWriter(self.work / "pagerank-src.npy", self._src.dtype)
        self._src._fh.flush()
        written = self._src.count
        if written:
            with open(self._src.path, "rb") as fh:
                fh.seek(_HEADER_BYTES)
                step = 1 << 24
                done = 0
                while done < written:
                    take = min(step, written - done)
                    data = fh.read(take * self.df_src.dtype.itemsize)
                    self.df_src.write(np.frombuffer(data, dtype=self.df_src.dtype))
                    done += take

    def close(self) -> CsrTotals:
        """Finish every file; returns the totals."""
        self.rows.finish()
        constant: dict[str, int] = {}
        for name, column in self.columns.items():
            value = column.close()
            if value is not None:
                constant[name] = value
        for writer in (*self._row_files, self.indptr):
            writer.close()
        if self.df_src is not None:
            self.df_src.close()
        self.outlinks += self.linked_domains
        self.dofollow_linked_domains += self.linked_domains
        # at most n - 1 linked domains, exact in the source ids' width
        np.save(self.folder / "linked_domains.npy",
                self.linked_domains.astype(self._src.dtype))
        np.save(self.folder / "outlinks.npy", self.outlinks)
        np.save(self.work / "dofollow_linked_domains.npy", self.dofollow_linked_domains)
        return CsrTotals(self.edges, self.links, self.dofollow_links, self.df_src is None,
                         constant)

    def abort(self) -> None:
        """Close every file of a failing build."""
        for writer in (*self.columns.values(), *self._row_files, self.indptr):
            writer.abort()
        if self.df_src is not None:
            self.df_src.abort()


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


#: Saturation limits, re-exported for the writer's docs and tests.
SATURATION = {"in_links": LINKS_MAX, "in_dofollow_links": DOFOLLOW_LINKS_MAX}
