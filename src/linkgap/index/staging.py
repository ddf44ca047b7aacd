"""Aggregated domain edges staged as Parquet: the hand-over between a cluster and a finaliser.

``linkgap index build --engine spark`` (and ``--stage-only OUT``) writes a
folder laid out like this; ``linkgap index build OUT/`` (input format
``domain-edges``) turns it into a published index version::

    OUT/
      domain-edges.json        the marker, written last: layout version, PSL mode,
                               totals, per-input counts, the part files in order
      names/part-*.parquet     id int64, name string: every domain, ids 0..n-1 in
                               byte order of the canonical names
      edges/part-*.parquet     dst int64, src int64, links int64, dofollow_links
                               int64, first_seen int64, last_seen int64 (epoch
                               seconds, -1 unknown): one row per domain edge,
                               sorted by (dst, src) across the parts in order
      samples/part-*.parquet   (with ``evidence`` N > 0 in the marker) the sample
                               links of the edges: dst, src, sample (0-based
                               rank), source_url, target_url, anchor, dofollow,
                               first_seen, last_seen (epoch seconds, null
                               unknown), sorted by (dst, src, sample) across the
                               parts in order (``linkgap.index.evidence``)

The columns are those ``linkgap.index.aggregate`` hands to the CSR writer, so
the finaliser is the embedded build's own. A marker without ``evidence`` (an
older staging folder) finalises into a version without evidence. Reading checks what it can afford
to check while streaming: ids consecutive, edges strictly sorted, ids in
range, and the totals of the marker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from linkgap.errors import BuildFailed
from linkgap.index.aggregate import AggregateCounts
from linkgap.ingest.base import InputSpec, InputStats

__all__ = [
    "EDGE_COLUMNS",
    "LAYOUT",
    "MARKER",
    "StagedEdges",
    "is_staging_dir",
    "marker_document",
    "open_staging",
    "stats_from_dict",
]

#: The marker file of a staging folder (its presence says the folder is complete).
MARKER = "domain-edges.json"
#: ``layout`` of the marker: what this linkgap writes and reads.
LAYOUT = "linkgap-domain-edges/1"
#: Columns of the edge parts, in order.
EDGE_COLUMNS = ("dst", "src", "links", "dofollow_links", "first_seen", "last_seen")
#: Columns of the sample parts, in order (``linkgap.index.evidence.STAGED_SAMPLE_SCHEMA``).
SAMPLE_COLUMNS = ("dst", "src", "sample", "source_url", "target_url", "anchor", "dofollow",
                  "first_seen", "last_seen")
NAME_COLUMNS = ("id", "name")
_BATCH_ROWS = 1_000_000
_SAMPLE_ROWS = 1 << 16  # sample rows carry URLs: smaller batches bound the memory


def is_staging_dir(path: Path) -> bool:
    """True when ``path`` is a folder holding a staging marker."""
    return path.is_dir() and (path / MARKER).is_file()


def marker_document(
    *, psl: dict[str, str], totals: AggregateCounts, inputs: Sequence[InputStats],
    names: Sequence[str], edges: Sequence[str], samples: Sequence[str] = (),
    evidence: int = 0,
) -> dict[str, Any]:
    """The marker's JSON content; ``names``/``edges``/``samples`` are part files relative
    to the folder; ``evidence`` is the samples kept per domain edge (0: none)."""
    return {
        "layout": LAYOUT,
        "psl": dict(psl),
        "counts": {
            "domains": totals.domains,
            "edges": totals.edges,
            "links": totals.links,
            "dofollow_links": totals.dofollow_links,
            "occurrences": totals.occurrences,
        },
        "inputs": [s.as_dict() for s in inputs],
        "names": list(names),
        "edges": list(edges),
        "evidence": int(evidence),
        "samples": list(samples),
    }


def stats_from_dict(data: dict[str, Any]) -> InputStats:
    """An InputStats back from ``InputStats.as_dict`` (the label is kept as written)."""
    label = str(data["input"])
    spec = InputSpec(str(data["format"]), tuple(Path(p) for p in label.split(" + ")),
                     shown=label)
    stats = InputStats(spec, records=int(data.get("records", 0)),
                       pages=int(data.get("pages", 0)),
                       links_seen=int(data.get("links_seen", 0)),
                       links_counted=int(data.get("links_counted", 0)))
    for reason, n in dict(data.get("skipped", {})).items():
        stats.skip(str(reason), int(n))
    stats.columns = {str(k): str(v) for k, v in dict(data.get("columns", {})).items()}
    return stats


@dataclass
class StagedEdges:
    """A staging folder opened for finalising: totals, per-input counts, streams in order."""

    folder: Path
    psl: dict[str, str]
    totals: AggregateCounts
    inputs: list[InputStats]
    name_parts: list[Path]
    edge_parts: list[Path]
    sample_parts: list[Path] = field(default_factory=list)
    evidence: int = 0  # samples kept per domain edge; 0 = the folder has none

    def iter_names(self, rows: int = _BATCH_ROWS) -> Iterator[pa.Array]:
        """Domain names in id order (checks that the ids run 0, 1, 2, …)."""
        expected = 0
        for batch in _batches(self.name_parts, NAME_COLUMNS, rows):
            ids = batch.column(0).to_numpy(zero_copy_only=False)
            if len(ids) and not np.array_equal(ids, np.arange(expected, expected + len(ids))):
                raise self._damaged("names/ ids do not run 0, 1, 2, … in part order")
            expected += len(ids)
            yield batch.column(1)
        if expected != self.totals.domains:
            raise self._damaged(f"names/ holds {expected:,} names, the marker says "
                                f"{self.totals.domains:,}")

    def iter_edges(self, rows: int = _BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Edges sorted by (dst, src), as the CSR writer takes them (order and ids checked)."""
        n = self.totals.domains
        last = -1
        for batch in _batches(self.edge_parts, EDGE_COLUMNS, rows):
            dst = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            src = batch.column(1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            if len(dst) == 0:
                continue
            if min(int(dst.min()), int(src.min())) < 0 or max(int(dst.max()),
                                                              int(src.max())) >= n:
                raise self._damaged("edges/ names a domain id outside names/")
            key = dst * (1 << 32) + src  # ids < 2^31: the key orders like (dst, src)
            if int(key[0]) <= last or (len(key) > 1 and not bool(np.all(key[1:] > key[:-1]))):
                raise self._damaged("edges/ are not sorted by (dst, src) without repeats")
            last = int(key[-1])
            yield batch

    def iter_samples(self, rows: int = _SAMPLE_ROWS) -> Iterator[pa.RecordBatch] | None:
        """The staged sample links in (dst, src, sample) order, or None without evidence.

        The evidence writer checks their order and ids as they stream.
        """
        if not self.evidence:
            return None
        return _batches(self.sample_parts, SAMPLE_COLUMNS, rows)

    def close(self) -> None:
        """Nothing to release (the part files are opened while streaming)."""

    def _damaged(self, what: str) -> BuildFailed:
        return BuildFailed(f"staging folder {self.folder} is damaged: {what}; write it again "
                           "with linkgap index build --stage-only")


def _batches(parts: Sequence[Path], columns: Sequence[str], rows: int) -> Iterator[pa.RecordBatch]:
    for part in parts:
        with pq.ParquetFile(part) as pf:
            yield from pf.iter_batches(batch_size=rows, columns=list(columns))


def open_staging(folder: Path) -> StagedEdges:
    """Open a staging folder written by ``--stage-only`` (or the Spark engine).

    Raises BuildFailed when the marker is missing, of another layout, or names
    part files that are not there.
    """
    marker = folder / MARKER
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildFailed(f"{folder} is not a domain-edges staging folder: it has no {MARKER} "
                          "(an unfinished --stage-only run leaves none)") from None
    except (OSError, ValueError) as exc:
        raise BuildFailed(f"cannot read {marker}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("layout") != LAYOUT:
        found = doc.get("layout") if isinstance(doc, dict) else None
        raise BuildFailed(f"{marker} has layout {found!r}; this linkgap reads {LAYOUT!r}: "
                          "write the staging folder again with this linkgap")
    try:
        counts = doc["counts"]
        totals = AggregateCounts(int(counts["occurrences"]), int(counts["links"]),
                                 int(counts["dofollow_links"]), int(counts["edges"]),
                                 int(counts["domains"]))
        names = [folder / p for p in doc["names"]]
        edges = [folder / p for p in doc["edges"]]
        inputs = [stats_from_dict(d) for d in doc["inputs"]]
        psl = {str(k): str(v) for k, v in doc["psl"].items()}
        evidence = int(doc.get("evidence", 0))
        samples = [folder / p for p in doc.get("samples", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildFailed(f"{marker} is damaged: {exc!r}") from None
    missing = [p for p in names + edges + samples if not p.is_file()]
    if missing:
        raise BuildFailed(f"staging folder {folder} is incomplete: {missing[0]} is missing")
    return StagedEdges(folder, psl, totals, inputs, names, edges, samples, evidence)


def write_marker(folder: Path, document: dict[str, Any]) -> None:
    """Write the marker (last, after every part file is in place)."""
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / MARKER)
