"""What one Spark task runs: one planned input through linkgap's own reader.

Web graphs (cc-graph pairs) take their own path, :func:`run_graph_item`:
the task runs linkgap's cc-graph reader (vertex names normalised by
linkgap's code, edge lines parsed and every edge classified and counted by
its functions) and hands Spark integers, not strings: per edge the pair's
own host and domain numbers (:data:`GRAPH_SCHEMA`), plus one row per domain
the edges use (and, when the build has several pairs, per host) with its
name. Spark SQL then numbers the names and de-duplicates the links.

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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.errors import BuildFailed
from linkgap.ingest.base import InputSpec, InputStats

__all__ = [
    "GRAPH_DOMAIN",
    "GRAPH_EDGE",
    "GRAPH_HOST",
    "GRAPH_SCHEMA",
    "OCCURRENCE_SCHEMA",
    "WorkItem",
    "is_remote",
    "local_path",
    "occurrences",
    "run_graph_item",
    "run_item",
    "write_graph_item",
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

#: What a cc-graph task writes. ``kind`` says what a row is:
#:
#: - :data:`GRAPH_EDGE`: one edge that counts (``sh``/``dh``: the pair's numbers of its
#:   source/target canonical host, ``sd``/``dd``: of their registrable domains);
#: - :data:`GRAPH_DOMAIN`: a domain some counted edge uses (``sd``, ``name``);
#: - :data:`GRAPH_HOST`: a host of the pair (``sh``, ``name``), only when the build has
#:   several pairs (one pair's numbers already tell its hosts apart).
#:
#: The numbers are the pair's own (its hosts and domains, 0..n-1): Spark maps them to
#: the build's through these name rows, a few million rows, never a string per edge.
GRAPH_SCHEMA = pa.schema([
    pa.field("item", pa.int32(), nullable=False),
    pa.field("kind", pa.int8(), nullable=False),
    pa.field("sh", pa.int32(), nullable=True),
    pa.field("dh", pa.int32(), nullable=True),
    pa.field("sd", pa.int32(), nullable=True),
    pa.field("dd", pa.int32(), nullable=True),
    pa.field("name", pa.string(), nullable=True),
])
GRAPH_EDGE, GRAPH_DOMAIN, GRAPH_HOST = 0, 1, 2

#: ``report({item index: {"stats": InputStats.as_dict(), "error": message or None,
#: "occurrences": rows yielded}})``; a cc-graph task adds ``"one_host_per_domain"``
#: (no two of its hosts share a domain, so its domain pairs are its host pairs).
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


def _graph_batch(index: int, kind: int, n: int, sh: np.ndarray | None = None,
                 dh: np.ndarray | None = None, sd: np.ndarray | None = None,
                 dd: np.ndarray | None = None, name: pa.Array | None = None) -> pa.RecordBatch:
    def ints(values: np.ndarray | None) -> pa.Array:
        return pa.nulls(n, pa.int32()) if values is None else pa.array(values, pa.int32())

    return pa.record_batch([
        pa.array(np.full(n, index, np.int32)), pa.array(np.full(n, kind, np.int8)),
        ints(sh), ints(dh), ints(sd), ints(dd),
        pa.nulls(n, pa.string()) if name is None else name.cast(pa.string()),
    ], schema=GRAPH_SCHEMA)


def run_graph_item(item: WorkItem, icann_only: bool, report: Report,
                   with_hosts: bool) -> Iterator[pa.RecordBatch]:
    """Read one cc-graph pair with linkgap's reader; yield :data:`GRAPH_SCHEMA` rows.

    The counters are the reader's own (``linkgap.ingest.cc_graph``: the same
    functions ``feed_cc_graph`` runs for the embedded build), so both engines
    report the same skips. ``with_hosts``: also yield the host names (the
    build has more than one pair, so a host pair given by two of them must be
    recognised as one link).
    """
    from linkgap.index.build import shared_normalizer
    from linkgap.ingest.cc_graph import edge_blocks, kept_edges, load_vertices

    error: str | None = None
    rows = 0
    one_host_per_domain = False
    ids = np.zeros(0, dtype=np.int32)
    stats = InputStats(InputSpec(item.format, tuple(Path(p) for p in item.paths),
                                 shown=item.label))
    try:
        with _local_files(item.paths) as files:
            vertices, edges = files
            stats.input = InputSpec(item.format, tuple(files), shown=item.label)
            for path in files:  # the checks the embedded build makes
                if not path.is_file():
                    raise BuildFailed(f"input file not found: {path}")
            vmap = load_vertices(vertices, shared_normalizer(icann_only), stats)
            hosts = vmap.hosts.dictionary_encode()
            row_host = hosts.indices.to_numpy(zero_copy_only=False).astype(np.int32)
            # The pair's domains numbered in byte order of their names (the order of the
            # index's ids): with one pair, its numbers sort the edges as the final ids do.
            by_name = pc.sort_indices(vmap.domains).to_numpy().astype(np.int32)
            rank = np.empty(len(by_name), dtype=np.int32)
            rank[by_name] = np.arange(len(by_name), dtype=np.int32)
            one_host_per_domain = len(hosts.dictionary) == len(vmap.domains)
            if with_hosts and len(hosts.dictionary):
                n = len(hosts.dictionary)
                yield _graph_batch(item.index, GRAPH_HOST, n, sh=np.arange(n, dtype=np.int32),
                                   name=hosts.dictionary)
            used = np.zeros(len(vmap.domains), dtype=bool)
            for src, dst in edge_blocks(edges, stats):
                src_row, dst_row, src_dom, dst_dom = kept_edges(vmap, src, dst, stats)
                n = len(src_row)
                stats.links_counted += n
                if n:
                    used[src_dom] = True
                    used[dst_dom] = True
                    rows += n
                    yield _graph_batch(item.index, GRAPH_EDGE, n, row_host[src_row],
                                       row_host[dst_row], rank[src_dom], rank[dst_dom])
            ids = np.flatnonzero(used).astype(np.int32)
            if len(ids):
                yield _graph_batch(item.index, GRAPH_DOMAIN, len(ids), sd=rank[ids],
                                   name=vmap.domains.take(pa.array(ids)))
    except BuildFailed as exc:
        error = exc.message
    except PermissionError as exc:
        error = f"cannot read input file {exc.filename or item.label}: {exc}"
    except OSError as exc:
        error = f"cannot read {item.label}: {exc}"
    report({item.index: {"stats": stats.as_dict(), "error": error, "occurrences": rows,
                         "one_host_per_domain": one_host_per_domain,
                         "domain_rows": int(len(ids)) if error is None else 0}})


def _output_file(uri: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path in it) of a file: URL or a URL of a cluster filesystem."""
    from pyarrow import fs as pafs

    if not is_remote(uri):
        return pafs.LocalFileSystem(), str(local_path(uri))
    scheme = urlsplit(uri).scheme
    opened = "s3" + uri[len(scheme):] if scheme in ("s3a", "s3n") else uri
    return pafs.FileSystem.from_uri(opened)


def write_graph_item(item: WorkItem, icann_only: bool, report: Report, with_hosts: bool,
                     folder_uri: str) -> str:
    """:func:`run_graph_item` written by the task itself as ``part-<index>.parquet`` in
    ``folder_uri``; returns the file's name.

    pyarrow's Parquet writer takes the rows straight from the reader's arrays:
    handing them to Spark instead would cost a conversion to JVM rows and
    Spark's own Parquet encoding per edge, most of this step's time. The file
    is written under a temporary name and renamed, so a task Spark runs again
    leaves one whole file.
    """
    import pyarrow.parquet as pq

    name = f"part-{item.index:05d}.parquet"
    filesystem, folder = _output_file(folder_uri)
    filesystem.create_dir(folder, recursive=True)
    final, partial = f"{folder}/{name}", f"{folder}/.{name}.tmp"
    try:
        with filesystem.open_output_stream(partial) as sink, \
                pq.ParquetWriter(sink, GRAPH_SCHEMA, compression="snappy") as writer:
            for batch in run_graph_item(item, icann_only, report, with_hosts):
                writer.write_batch(batch)  # one row group per block of edges
    except BaseException:
        with contextlib.suppress(OSError):
            filesystem.delete_file(partial)
        raise
    filesystem.move(partial, final)
    return name
