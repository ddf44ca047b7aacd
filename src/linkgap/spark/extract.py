"""What one Spark task runs: one planned input through linkgap's own reader.

No pyspark here: the task body is plain linkgap code (``linkgap.ingest``),
so both engines read every format through the same readers and count the
same skips. A task gets one :class:`WorkItem` (a file, or a cc-graph
vertices + edges pair), makes local copies of inputs named by a remote URL,
streams the reader's LINK_SCHEMA batches as link occurrences
(:data:`OCCURRENCE_SCHEMA`) and reports the input's counters once, when the
input is done (``report``: a Spark accumulator's ``add``).

A file that cannot be opened or read does not fail the task (Spark would
retry it); it is reported with the message the embedded build gives, and the
driver fails the build with it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from linkgap.errors import BuildFailed
from linkgap.ingest.base import InputSpec, InputStats

__all__ = [
    "OCCURRENCE_SCHEMA",
    "WorkItem",
    "is_remote",
    "local_path",
    "occurrences",
    "run_item",
]

#: One row per link occurrence a reader counted (``seen``: epoch seconds or null).
OCCURRENCE_SCHEMA = pa.schema([
    pa.field("source_url", pa.string(), nullable=False),
    pa.field("target_url", pa.string(), nullable=False),
    pa.field("source_domain", pa.string(), nullable=False),
    pa.field("target_domain", pa.string(), nullable=False),
    pa.field("dofollow", pa.bool_(), nullable=False),
    pa.field("seen", pa.int64(), nullable=True),
    pa.field("anchor", pa.string(), nullable=True),  # for the evidence samples (SPEC 12)
])

#: ``report({item index: {"stats": InputStats.as_dict(), "error": message or None,
#: "occurrences": rows yielded}})``
Report = Callable[[dict[int, dict[str, Any]]], None]


@dataclass(frozen=True)
class WorkItem:
    """One input of a build as a task gets it: position, format, files, label."""

    index: int
    format: str
    paths: tuple[str, ...]  # local paths, file: URLs, or remote URLs
    label: str  # how the input is named in reports (the paths as the user gave them)
    link_target: str | None = None  # links-csv: index build --target


def is_remote(path: str) -> bool:
    """True for a URL whose scheme is not ``file`` (``hdfs://``, ``s3a://``, ``gs://`` …)."""
    scheme = urlsplit(path).scheme
    return len(scheme) > 1 and scheme != "file" and "://" in path


def local_path(path: str) -> Path:
    """A local path or ``file:`` URL as a Path."""
    if path.startswith("file:"):
        return Path(unquote(urlsplit(path).path))
    return Path(path)


def _copy_remote(url: str, folder: Path) -> Path:
    """Copy a remote file to ``folder`` through pyarrow's filesystems (hdfs, s3, gs)."""
    from pyarrow import fs as pafs

    parts = urlsplit(url)
    opened = url
    if parts.scheme in ("s3a", "s3n"):
        opened = "s3" + url[len(parts.scheme):]
    target = folder / (Path(parts.path).name or "input")
    try:
        filesystem, inner = pafs.FileSystem.from_uri(opened)
        with filesystem.open_input_stream(inner) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 4 << 20)
    except (OSError, pa.ArrowException) as exc:
        raise BuildFailed(f"cannot read input file {url}: {exc}") from exc
    return target


@contextlib.contextmanager
def _local_files(paths: Sequence[str]) -> Iterator[list[Path]]:
    folder: Path | None = None
    try:
        out = []
        for path in paths:
            if is_remote(path):
                folder = folder or Path(tempfile.mkdtemp(prefix="linkgap-input-"))
                out.append(_copy_remote(path, folder))
            else:
                out.append(local_path(path))
        yield out
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def occurrences(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A LINK_SCHEMA batch as link occurrences: ``seen`` in epoch seconds.

    Internal links are dropped here too, as the embedded aggregation drops
    them: a reader that let one through must still never count it.
    """
    seen = pc.cast(pc.cast(batch.column("seen_at"), pa.timestamp("s", tz="UTC")), pa.int64())
    columns = [batch.column(name).cast(pa.string()) for name in OCCURRENCE_SCHEMA.names[:4]]
    out = pa.record_batch([*columns, batch.column("dofollow"), seen,
                           batch.column("anchor").cast(pa.string())], schema=OCCURRENCE_SCHEMA)
    external = pc.not_equal(out.column("source_domain"), out.column("target_domain"))
    return out if pc.all(external).as_py() is not False else out.filter(external)


def run_item(item: WorkItem, icann_only: bool, report: Report) -> Iterator[pa.RecordBatch]:
    """Read one input with linkgap's reader; yield its occurrences, then report its counts."""
    from linkgap.index.build import shared_normalizer
    from linkgap.ingest import read_input

    error: str | None = None
    rows = 0
    stats = InputStats(InputSpec(item.format, tuple(Path(p) for p in item.paths),
                                 shown=item.label, link_target=item.link_target))
    try:
        with _local_files(item.paths) as files:
            spec = InputSpec(item.format, tuple(files), shown=item.label,
                             link_target=item.link_target)
            stats.input = spec
            for batch in read_input(spec, shared_normalizer(icann_only), stats):
                out = occurrences(batch)
                if out.num_rows:
                    rows += out.num_rows
                    yield out
    except BuildFailed as exc:
        error = exc.message
    except OSError as exc:
        error = f"cannot read {item.label}: {exc}"
    report({item.index: {"stats": stats.as_dict(), "error": error, "occurrences": rows}})
