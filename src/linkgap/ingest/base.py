"""The contract between the input readers and the index builder.

Every reader turns its files into a stream of Arrow record batches with
``LINK_SCHEMA``: one row per link occurrence that counts (http(s) target,
source and target in different registrable domains). Readers do the
format-specific work (parsing, ``rel``/robots rules, URL resolution and
normalisation, domain mapping); the builder does the rest (de-duplication of
(source URL, target URL) pairs, aggregation to domain edges, metrics).

Bad records are skipped and counted in the reader's ``InputStats``; they never
raise. A missing or unreadable file raises ``linkgap.errors.BuildFailed``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = ["LINK_SCHEMA", "BATCH_ROWS", "InputSpec", "InputStats"]

#: Rows per batch a reader should aim for (bounded memory, cheap Arrow conversion).
BATCH_ROWS = 65_536

LINK_SCHEMA = pa.schema(
    [
        # Normalised page URL (see linkgap.urls). cc-graph edges, which have no
        # pages, use "ccgraph:<canonical host of the vertex>" so that the same
        # vertex pair given twice still counts once.
        pa.field("source_url", pa.string(), nullable=False),
        pa.field("target_url", pa.string(), nullable=False),
        pa.field("source_domain", pa.string(), nullable=False),  # canonical registrable domain
        pa.field("target_domain", pa.string(), nullable=False),
        pa.field("dofollow", pa.bool_(), nullable=False),
        pa.field("anchor", pa.string(), nullable=True),  # anchor text when the format has it
        pa.field("seen_at", pa.timestamp("s", tz="UTC"), nullable=True),
    ]
)


@dataclass(frozen=True)
class InputSpec:
    """One logical input of a build: a file (or, for cc-graph, a vertices+edges pair)."""

    format: str  # "warc" | "wat" | "links-csv" | "cc-graph"
    paths: tuple[Path, ...]
    # How the input is named when that is not its local paths (a URL read by a
    # Spark task from a local copy, a label read back from a staging folder).
    shown: str | None = None
    # links-csv only: the domain a file without a target column links to
    # (``index build --target``, for Search Console's "latest links" export).
    link_target: str | None = None

    @property
    def label(self) -> str:
        """How the input is named in reports and the manifest."""
        if self.shown is not None:
            return self.shown
        return " + ".join(str(p) for p in self.paths)


@dataclass
class InputStats:
    """What one input yielded: counters a build reports and stores in its manifest."""

    input: InputSpec
    records: int = 0  # WARC/WAT records, CSV rows, graph edges read
    pages: int = 0  # HTML pages parsed (warc/wat)
    links_seen: int = 0  # link elements/rows/edges seen before any rule
    links_counted: int = 0  # rows yielded in LINK_SCHEMA batches
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    columns: dict[str, str] = field(default_factory=dict)  # links-csv: role -> header name read

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` skipped items for ``reason`` (a short stable snake_case string)."""
        self.skipped[reason] += n

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for the manifest and the build report."""
        return {
            "input": self.input.label,
            "format": self.input.format,
            "records": self.records,
            "pages": self.pages,
            "links_seen": self.links_seen,
            "links_counted": self.links_counted,
            "skipped": dict(sorted(self.skipped.items())),
            **({"columns": dict(self.columns)} if self.columns else {}),
        }
