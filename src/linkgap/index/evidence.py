"""Evidence: the sample links kept per domain edge (SPEC section 12), written and read.

A build keeps up to ``--evidence N`` links per domain edge (default 3, 0
keeps none), chosen among the edge's distinct (source URL, target URL) pairs
in this order, so that a rebuild of the same inputs keeps the same samples:

1. dofollow links before nofollow ones;
2. then the earliest first seen (links without a date last);
3. then the source URL, then the target URL (byte order of the UTF-8 text).

A link's anchor is that of its first occurrence in the same order among the
occurrences that have one (dofollow first, then earliest seen, then the
anchor text itself); its first and last seen are those of all its
occurrences. Both engines compute this in SQL (``SAMPLE_ORDER`` and
``ANCHOR_KEY`` hold the shared text): DuckDB in ``linkgap.index.aggregate``,
Spark in ``linkgap.spark.job``.

The samples live in their own files of the version folder, read only when
asked for (the gap query's hot path never opens them)::

    evidence_indptr.npy   int64, domains + 1: the samples of the in-links of
                          target t are rows indptr[t] .. indptr[t+1]
    evidence_src.npy      int32, one per sample: its source domain id; within
                          a target's rows ascending, then in sample order
    evidence.arrow        Arrow IPC file, one row per sample, in the same
                          order: source_url, target_url, anchor, dofollow,
                          first_seen, last_seen (timestamp[s, UTC]); record
                          batches of exactly EVIDENCE_BATCH_ROWS rows (the last
                          may be shorter), zstd-compressed, so one lookup
                          decompresses one or two small batches

``manifest.json`` records ``evidence: {"per_edge": N, "samples": S}``; a
version without that key (built before evidence existed, or with
``--evidence 0``) has none of the files and reports ``evidence_per_edge`` 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.index.csr import NpyWriter

__all__ = [
    "ANCHOR_KEY",
    "DEFAULT_EVIDENCE",
    "EVIDENCE_BATCH_ROWS",
    "EVIDENCE_FILES",
    "LINK_CSV_FIELDS",
    "MAX_EVIDENCE",
    "SAMPLE_COLUMNS",
    "SAMPLE_ORDER",
    "STAGED_SAMPLE_SCHEMA",
    "EdgeEvidence",
    "EvidenceFiles",
    "EvidenceWriter",
    "LinkSample",
    "evidence_json",
    "sample_json",
    "samples_of_table",
]

#: Samples per domain edge a build keeps unless told otherwise.
DEFAULT_EVIDENCE = 3
#: The most ``--evidence`` accepts.
MAX_EVIDENCE = 100
#: Rows per record batch of ``evidence.arrow``.
EVIDENCE_BATCH_ROWS = 1024
#: The files of a version folder that hold its evidence.
EVIDENCE_FILES = ("evidence_indptr.npy", "evidence_src.npy", "evidence.arrow")

#: The ORDER BY of the sample choice over distinct links (columns ``dofollow``,
#: ``first_seen`` (epoch seconds, NULL unknown), ``source_url``, ``target_url``);
#: the same text in DuckDB and Spark SQL.
SAMPLE_ORDER = ("dofollow DESC, first_seen ASC NULLS LAST, source_url ASC, target_url ASC")
#: The fields of the key whose smallest value picks a link's anchor among its
#: occurrences (columns ``dofollow``, ``seen`` and ``anchor`` of an occurrence,
#: over those with an anchor); every field is non-null, so the key compares
#: alike in both engines (DuckDB wraps it in ``row(…)``, Spark in ``struct(…)``).
ANCHOR_KEY = ("CASE WHEN dofollow THEN 0 ELSE 1 END, "
              "coalesce(seen, 9223372036854775807), anchor")

_TS = pa.timestamp("s", tz="UTC")

#: Columns of ``evidence.arrow``.
SAMPLE_SCHEMA = pa.schema([
    pa.field("source_url", pa.string(), nullable=False),
    pa.field("target_url", pa.string(), nullable=False),
    pa.field("anchor", pa.string()),
    pa.field("dofollow", pa.bool_(), nullable=False),
    pa.field("first_seen", _TS),
    pa.field("last_seen", _TS),
])
SAMPLE_COLUMNS = tuple(SAMPLE_SCHEMA.names)

#: What an aggregation hands to :class:`EvidenceWriter`, sorted by (dst, src,
#: sample): final domain ids, the 0-based rank, the sample columns (seen times
#: in epoch seconds, NULL unknown). Spark stages it as ``samples/part-*.parquet``.
STAGED_SAMPLE_SCHEMA = pa.schema([
    pa.field("dst", pa.int64()), pa.field("src", pa.int64()), pa.field("sample", pa.int64()),
    pa.field("source_url", pa.string()), pa.field("target_url", pa.string()),
    pa.field("anchor", pa.string()), pa.field("dofollow", pa.bool_()),
    pa.field("first_seen", pa.int64()), pa.field("last_seen", pa.int64()),
])

_PIECE_ROWS = 1 << 20


@dataclass(frozen=True)
class LinkSample:
    """One sample link of a domain edge."""

    source_url: str
    target_url: str
    anchor: str | None  # up to 200 characters, None when the link had none
    dofollow: bool
    first_seen: datetime | None  # UTC; None when unknown
    last_seen: datetime | None


@dataclass(frozen=True)
class EdgeEvidence:
    """A domain edge's link counts and dates with its sample links."""

    links_total: int  # the edge's link count (from in_links)
    dofollow_links: int
    first_seen: datetime | None
    last_seen: datetime | None
    samples: list[LinkSample]  # at most the index's --evidence N, in the SPEC 12 order


#: Columns a CSV with links adds after the prospect fields: one row per sample link.
LINK_CSV_FIELDS = ("competitor", "source_url", "target_url", "anchor", "link_dofollow")


def _iso(moment: datetime | None) -> str | None:
    from linkgap.service.timeutil import iso_z

    return None if moment is None else iso_z(moment)


def sample_json(sample: LinkSample) -> dict[str, Any]:
    """A sample link as JSON: ``{source_url, target_url, anchor, dofollow, first_seen,
    last_seen}`` (ISO-8601 UTC times, null when unknown)."""
    return {"source_url": sample.source_url, "target_url": sample.target_url,
            "anchor": sample.anchor, "dofollow": sample.dofollow,
            "first_seen": _iso(sample.first_seen), "last_seen": _iso(sample.last_seen)}


def evidence_json(competitor: str, evidence: EdgeEvidence) -> dict[str, Any]:
    """One competitor's entry of a prospect's ``links`` (SPEC 12): ``{competitor,
    links_total, dofollow_links, first_seen, last_seen, samples: [...]}``."""
    return {"competitor": competitor, "links_total": evidence.links_total,
            "dofollow_links": evidence.dofollow_links,
            "first_seen": _iso(evidence.first_seen), "last_seen": _iso(evidence.last_seen),
            "samples": [sample_json(s) for s in evidence.samples]}


def samples_of_table(table: pa.Table) -> list[LinkSample]:
    """LinkSamples of rows with the ``evidence.arrow`` columns, in row order."""
    rows = table.select(list(SAMPLE_COLUMNS)).to_pylist()
    return [LinkSample(r["source_url"], r["target_url"], r["anchor"], bool(r["dofollow"]),
                       _aware(r["first_seen"]), _aware(r["last_seen"])) for r in rows]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ----------------------------------------------------------------------------
# Writing


class EvidenceWriter:
    """Streams samples sorted by (dst, src, sample) into the evidence files of a version.

    Only one Arrow batch of samples and one piece of ``evidence_indptr`` are
    held at a time, whatever the number of samples.
    """

    def __init__(self, folder: Path, domains: int) -> None:
        self.folder = folder
        self.domains = domains
        self.samples = 0
        self._rows_done = 0  # indptr entries written after the leading 0 (rows < this)
        self._last_key = -1
        self._indptr = NpyWriter(folder / "evidence_indptr.npy", np.int64)
        self._indptr.write(np.zeros(1, dtype=np.int64))
        self._src = NpyWriter(folder / "evidence_src.npy", np.int32)
        self._sink = pa.OSFile(str(folder / "evidence.arrow"), "wb")
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        self._arrow = pa.ipc.new_file(self._sink, SAMPLE_SCHEMA, options=options)
        self._held: list[pa.Table] = []
        self._held_rows = 0

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append samples (STAGED_SAMPLE_SCHEMA columns; any integer widths)."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        k = table.num_rows
        if k == 0:
            return
        dst = _int64(table.column("dst"))
        src = _int64(table.column("src"))
        if min(int(dst.min()), int(src.min())) < 0 or max(int(dst.max()),
                                                          int(src.max())) >= self.domains:
            raise ValueError("a sample names a domain id outside the index")
        key = dst * (1 << 32) + src  # ids < 2^31: the key orders like (dst, src)
        if int(key[0]) < self._last_key or (k > 1 and bool(np.any(key[1:] < key[:-1]))):
            raise ValueError("samples must arrive sorted by (dst, src)")
        self._last_key = int(key[-1])
        self._advance_rows(dst, int(dst[-1]))
        self.samples += k
        self._src.write(src.astype(np.int32))
        self._hold(_sample_columns(table))

    def _advance_rows(self, dst: np.ndarray, upto: int) -> None:
        """Write indptr entries of rows ``_rows_done .. upto-1``: no later sample is for them."""
        for lo in range(self._rows_done, upto, _PIECE_ROWS):
            hi = min(upto, lo + _PIECE_ROWS)
            ends = np.searchsorted(dst, np.arange(lo, hi, dtype=np.int64), side="right")
            self._indptr.write(ends + self.samples)
        self._rows_done = max(self._rows_done, upto)

    def _hold(self, table: pa.Table) -> None:
        self._held.append(table)
        self._held_rows += table.num_rows
        if self._held_rows < EVIDENCE_BATCH_ROWS:
            return
        whole = pa.concat_tables(self._held)
        cut = (whole.num_rows // EVIDENCE_BATCH_ROWS) * EVIDENCE_BATCH_ROWS
        for start in range(0, cut, EVIDENCE_BATCH_ROWS):
            self._write(whole.slice(start, EVIDENCE_BATCH_ROWS))
        rest = whole.slice(cut)
        self._held = [rest] if rest.num_rows else []
        self._held_rows = rest.num_rows

    def _write(self, table: pa.Table) -> None:
        self._arrow.write_batch(table.combine_chunks().to_batches(
            max_chunksize=EVIDENCE_BATCH_ROWS)[0])

    def close(self) -> int:
        """Finish the files; returns the number of samples written."""
        if self._held_rows:
            self._write(pa.concat_tables(self._held))
            self._held = []
            self._held_rows = 0
        if self._rows_done < self.domains:
            rest = self.domains - self._rows_done
            for lo in range(0, rest, _PIECE_ROWS):
                self._indptr.write(np.full(min(_PIECE_ROWS, rest - lo), self.samples,
                                           dtype=np.int64))
            self._rows_done = self.domains
        self._indptr.close()
        self._src.close()
        self._arrow.close()
        self._sink.close()
        return self.samples

    def abort(self) -> None:
        """Close every file of a failing build (the folder is removed after)."""
        self._indptr.abort()
        self._src.abort()
        self._sink.close()


def _int64(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


def _sample_columns(table: pa.Table) -> pa.Table:
    """The ``evidence.arrow`` columns of staged samples (seen seconds → timestamps)."""
    columns: dict[str, Any] = {}
    for field in SAMPLE_SCHEMA:
        col = table.column(field.name)
        if field.name in ("first_seen", "last_seen"):
            col = _seen_column(col)
        elif col.type != field.type:
            col = col.cast(field.type)
        columns[field.name] = _canonical(col)
    return pa.table(columns, schema=SAMPLE_SCHEMA)


def _canonical(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One array without a validity buffer when it has no null: engines differ in
    whether they allocate one, and the same samples must give the same bytes."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count == 0 and col.buffers()[0] is not None:
        col = pa.Array.from_buffers(col.type, len(col), [None, *col.buffers()[1:]],
                                    offset=col.offset)
    return col


def _seen_column(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Seen times as timestamp[s, UTC]: NULL (or a negative "unknown") stays NULL.

    The values under NULL slots are set to 0: an engine may leave anything
    there, and the file of the same samples must be the same bytes.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    seconds = (pc.cast(col, pa.int64()) if not pa.types.is_timestamp(col.type)
               else pc.cast(pc.cast(col, _TS), pa.int64()))
    values = seconds.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    unknown = values < 0
    values[unknown] = 0
    return _canonical(pa.array(values, type=pa.int64(), mask=unknown).cast(_TS))


# ----------------------------------------------------------------------------
# Reading


class EvidenceFiles:
    """The evidence files of one version folder, memory-mapped when first used."""

    def __init__(self, folder: Path) -> None:
        self.indptr: np.ndarray = np.load(folder / "evidence_indptr.npy", mmap_mode="r")
        src_path = folder / "evidence_src.npy"
        self.src: np.ndarray = (np.load(src_path, mmap_mode="r") if src_path.stat().st_size > 128
                                else np.zeros(0, dtype=np.int32))
        self._reader = pa.ipc.open_file(pa.memory_map(str(folder / "evidence.arrow"), "r"))

    def rows_of(self, target_id: int, source_id: int) -> tuple[int, int]:
        """Rows ``lo, hi`` of the samples of the edge ``source_id → target_id``."""
        t = int(target_id)
        lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
        if lo == hi:
            return lo, lo
        srcs = self.src[lo:hi]
        a = int(np.searchsorted(srcs, source_id, side="left"))
        b = int(np.searchsorted(srcs, source_id, side="right"))
        return lo + a, lo + b

    def read_rows(self, rows: np.ndarray) -> pa.Table:
        """The sample rows at the given (ascending) positions, one batch decompressed once."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return SAMPLE_SCHEMA.empty_table()
        batch_of = rows // EVIDENCE_BATCH_ROWS
        parts = []
        for b in np.unique(batch_of):
            batch = self._reader.get_batch(int(b))
            within = rows[batch_of == b] - int(b) * EVIDENCE_BATCH_ROWS
            parts.append(pa.Table.from_batches([batch]).take(pa.array(within)))
        return pa.concat_tables(parts)

    def table_of(self, target_ids: np.ndarray,
                 source_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, pa.Table]:
        """For each (target, source) pair: which pair each sample row is of, its rank, the rows.

        Pairs are grouped by target (a run's pairs have a few competitors as
        targets): one vectorised binary search per target.
        """
        targets = np.asarray(target_ids, dtype=np.int64)
        sources = np.asarray(source_ids, dtype=np.int64)
        starts = np.zeros(len(targets), dtype=np.int64)
        ends = np.zeros(len(targets), dtype=np.int64)
        by_target = np.argsort(targets, kind="stable")
        cuts = np.flatnonzero(np.diff(targets[by_target])) + 1
        for at in np.split(by_target, cuts) if len(targets) else []:
            t = int(targets[at[0]])
            lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
            if lo == hi:
                continue
            srcs = self.src[lo:hi]
            starts[at] = lo + np.searchsorted(srcs, sources[at], side="left")
            ends[at] = lo + np.searchsorted(srcs, sources[at], side="right")
        counts = ends - starts
        if not counts.any():
            return (np.zeros(0, np.int64), np.zeros(0, np.int16), SAMPLE_SCHEMA.empty_table())
        pair_of = np.repeat(np.arange(len(targets), dtype=np.int64), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        rank = (np.arange(len(pair_of), dtype=np.int64) - first).astype(np.int16)
        all_rows = np.repeat(starts, counts) + rank.astype(np.int64)
        order = np.argsort(all_rows, kind="stable")
        table = self.read_rows(all_rows[order])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return pair_of, rank, table.take(pa.array(back))

