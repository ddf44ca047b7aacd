"""``index build``: inputs → a new published index version.

Steps (each streams; none holds the graph in Python objects, and the whole
build stays within ``--memory-limit`` plus about 1 GB, see
``linkgap.index.budget``):

1. aggregate (``linkgap.index.aggregate``, DuckDB): page links are appended
   as LINK_SCHEMA batches and grouped into domain edges in SQL; web-graph
   (cc-graph) edges arrive as interned integer ids; DuckDB spills to a temp
   folder inside the build folder, or under ``--temp-dir``;
2. finalise (``linkgap.index.finalize``): sorted names, the compact CSR
   written in chunks, PageRank over it in row blocks, DR, rank, spam;
3. write ``manifest.json`` and publish atomically (``linkgap.index.versions``).

A build that fails or is interrupted at any step removes its folder and its
temp folder; the published version stays as it was. A build that is killed
outright leaves them behind, and the next build removes them.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from linkgap.domains import DomainNormalizer, psl_snapshot_version
from linkgap.errors import BuildFailed
from linkgap.index.aggregate import LinkAggregator
from linkgap.index.budget import MemoryBudget, format_size
from linkgap.index.finalize import FinalizeResult, finalize
from linkgap.index.format import FORMAT_VERSION
from linkgap.index.versions import (
    build_lock,
    clean_stale_builds,
    drop_spill_dir,
    new_build_dir,
    next_version_id,
    publish,
    spill_dir_for,
    version_dir,
)
from linkgap.ingest.base import BATCH_ROWS, LINK_SCHEMA, InputSpec, InputStats
from linkgap.urls import normalize_url

__all__ = [
    "FORMAT_VERSION",
    "BuildReport",
    "Manifest",
    "ProgressCallback",
    "build_from_batches",
    "build_from_domain_edges",
    "build_from_links",
    "build_index",
]

#: ``progress(stage, done, total)``: a stage name ("reading <input>", "aggregating",
#: "writing", "metrics", "publishing"), items done, total when known.
ProgressCallback = Callable[[str, int, "int | None"], None]

#: Puts a build's inputs into the aggregator (batches, web-graph edges, domain edges).
Feed = Callable[[LinkAggregator], None]

_NOFOLLOW_TOKENS = frozenset({"nofollow", "ugc", "sponsored"})


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` of a version records (see docs/internals.md)."""

    version: str
    built_at: str  # ISO-8601 UTC ending in Z
    psl: dict[str, str]
    inputs: list[dict[str, Any]]
    counts: dict[str, int]
    metrics: dict[str, Any]
    format: int = FORMAT_VERSION
    build: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The manifest as stored in ``manifest.json``."""
        data = {
            "format": self.format,
            "version": self.version,
            "built_at": self.built_at,
            "psl": dict(self.psl),
            "inputs": list(self.inputs),
            "counts": dict(self.counts),
            "metrics": dict(self.metrics),
        }
        if self.build is not None:
            data["build"] = dict(self.build)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Read a manifest written by ``as_dict``."""
        return cls(
            version=str(data["version"]),
            built_at=str(data["built_at"]),
            psl=dict(data["psl"]),
            inputs=list(data.get("inputs", [])),
            counts={k: int(v) for k, v in data["counts"].items()},
            metrics=dict(data.get("metrics", {})),
            format=int(data.get("format", 1)),
            build=dict(data["build"]) if isinstance(data.get("build"), dict) else None,
        )

    @property
    def built_at_datetime(self) -> datetime:
        """``built_at`` as an aware UTC datetime."""
        return datetime.strptime(self.built_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass
class BuildReport:
    """What a build read, counted and skipped, and the version it published."""

    manifest: Manifest
    inputs: list[InputStats]
    path: Path
    previous_version: str | None
    seconds: float

    @property
    def version(self) -> str:
        """The published version id."""
        return self.manifest.version

    @property
    def spilled_bytes(self) -> int:
        """Most bytes the aggregation had spilled to its temp folder at once."""
        return int((self.manifest.build or {}).get("peak_spill_bytes", 0))


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


def build_from_batches(
    index_dir: str | Path,
    batches: Iterable[pa.RecordBatch],
    *,
    inputs_stats: Sequence[InputStats] = (),
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    temp_dir: str | Path | None = None,
) -> Manifest:
    """Build and publish a version from LINK_SCHEMA batches; returns its manifest.

    ``inputs_stats`` are read after ``batches`` is exhausted, so a generator
    may fill them while it yields. Raises BuildFailed when no valid link
    remains; the published version is then left untouched.
    """
    report = progress or _noop

    def feed(aggregator: LinkAggregator) -> None:
        rows = 0
        for batch in batches:
            aggregator.add(batch)
            rows += batch.num_rows
            report("reading", rows, None)

    return _build(Path(index_dir), feed, inputs_stats, icann_only, report, memory_limit,
                  temp_dir)[0]


def build_from_domain_edges(
    index_dir: str | Path,
    tables: Iterable[pa.Table | pa.RecordBatch],
    *,
    inputs_stats: Sequence[InputStats] = (),
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    temp_dir: str | Path | None = None,
) -> Manifest:
    """Finalise and publish domain edges aggregated elsewhere (a Spark stage's Parquet).

    Each table has ``source_domain, target_domain`` (canonical names),
    ``links, dofollow_links`` (int64) and ``first_seen, last_seen`` (epoch
    seconds, null or -1 when unknown); rows of one edge add up. The names
    must have been normalised in the ``icann_only`` mode given here.
    """
    report = progress or _noop

    def feed(aggregator: LinkAggregator) -> None:
        for table in tables:
            aggregator.add_domain_edges(table)
            report("reading", aggregator.occurrences, None)

    return _build(Path(index_dir), feed, inputs_stats, icann_only, report, memory_limit,
                  temp_dir)[0]


def _build(index_dir: Path, feed: Feed, inputs_stats: Sequence[InputStats], icann_only: bool,
           progress: ProgressCallback, memory_limit: str | None,
           temp_dir: str | Path | None) -> tuple[Manifest, str | None]:
    budget = MemoryBudget.from_text(memory_limit)  # a bad size fails before anything is made
    with build_lock(index_dir):
        clean_stale_builds(index_dir)
        tmp = new_build_dir(index_dir)
        spill = spill_dir_for(tmp, Path(temp_dir) if temp_dir else None)
        try:
            manifest = _build_into(tmp, spill, feed, inputs_stats, icann_only, progress,
                                   budget)
            progress("publishing", 0, None)
            previous = publish(index_dir, tmp, manifest.version)
        except BaseException:
            drop_spill_dir(tmp, spill)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest, previous


def _build_into(folder: Path, spill: Path, feed: Feed, inputs_stats: Sequence[InputStats],
                icann_only: bool, progress: ProgressCallback,
                budget: MemoryBudget) -> Manifest:
    aggregator = LinkAggregator(spill, budget)
    try:
        feed(aggregator)
        progress("aggregating", 0, None)
        counts = aggregator.finish()
        if counts.domains == 0:
            raise BuildFailed(_no_links_message(inputs_stats))
        result = finalize(folder, aggregator, counts.domains, budget, progress)
    except duckdb.OutOfMemoryException as exc:
        raise BuildFailed(
            f"the build needs more memory than --memory-limit {format_size(budget.limit)} "
            "allows even with spilling to disk; give it a larger limit (the previous index "
            f"version is unchanged): {str(exc).splitlines()[0]}") from None
    finally:
        aggregator.close()
    drop_spill_dir(folder, spill)
    manifest = _manifest(folder, result, counts.occurrences, inputs_stats, icann_only,
                         budget, aggregator.peak_spill)
    with open(folder / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest.as_dict(), fh, indent=2, sort_keys=False)
        fh.write("\n")
    return manifest


def _manifest(folder: Path, result: FinalizeResult, occurrences: int,
              inputs_stats: Sequence[InputStats], icann_only: bool, budget: MemoryBudget,
              peak_spill: int) -> Manifest:
    now = datetime.now(UTC)
    return Manifest(
        version=next_version_id(folder.parent),
        built_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        psl={"mode": "icann" if icann_only else "all", "version": psl_snapshot_version()},
        inputs=[s.as_dict() for s in inputs_stats],
        counts={
            "domains": result.domains,
            "edges": result.totals.edges,
            "links": result.totals.links,
            "dofollow_links": result.totals.dofollow_links,
            "occurrences": occurrences,
            "skipped": sum(sum(s.skipped.values()) for s in inputs_stats),
        },
        metrics=result.metrics,
        build={
            "memory_limit": budget.limit,
            "peak_spill_bytes": peak_spill,
            "pagerank_ids": result.pagerank_mode,
        },
    )


def _no_links_message(inputs_stats: Sequence[InputStats]) -> str:
    parts = []
    for s in inputs_stats:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(s.skipped.items())) or "nothing skipped"
        parts.append(f"{s.input.label} ({s.records} records, {skipped})")
    detail = "; ".join(parts)
    return "the build found no valid links between different domains" + (
        f" in its inputs: {detail}" if detail else ""
    ) + "; the previous index version is unchanged"


# ----------------------------------------------------------------------------
# Building from files (the ingest readers) and from plain tuples (tests, demos)


def build_index(
    index_dir: str | Path,
    paths: list[str],
    input_format: str = "auto",
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    temp_dir: str | Path | None = None,
) -> BuildReport:
    """Read crawl files with the ingest readers and publish a new index version.

    Raises BuildFailed for a missing or unreadable input, or when no valid
    link remains; the published version is then untouched.
    """
    from linkgap.ingest import plan_inputs  # the readers may load heavy parsers

    started = time.monotonic()
    report_progress = progress or _noop
    specs = plan_inputs(list(paths), input_format)
    if not specs:
        raise BuildFailed("no input files given")
    normalizer = shared_normalizer(icann_only)
    stats = [InputStats(spec) for spec in specs]

    def feed(aggregator: LinkAggregator) -> None:
        for spec, st in zip(specs, stats, strict=True):
            stage = f"reading {spec.label}"
            report_progress(stage, 0, None)
            try:
                _feed_input(aggregator, spec, normalizer, st, stage, report_progress)
            except OSError as exc:
                raise BuildFailed(f"cannot read {spec.label}: {exc}") from exc

    manifest, previous = _build(Path(index_dir), feed, stats, icann_only, report_progress,
                                memory_limit, temp_dir)
    return BuildReport(
        manifest=manifest,
        inputs=stats,
        path=version_dir(Path(index_dir), manifest.version),
        previous_version=previous,
        seconds=time.monotonic() - started,
    )


def _feed_input(aggregator: LinkAggregator, spec: InputSpec, normalizer: DomainNormalizer,
                stats: InputStats, stage: str, progress: ProgressCallback) -> None:
    """One input into the aggregator: web graphs as interned ids, the rest as link batches."""
    from linkgap.ingest import read_input
    from linkgap.ingest.cc_graph import feed_cc_graph

    if spec.format == "cc-graph" and len(spec.paths) == 2:
        for path in spec.paths:  # the checks read_input makes
            if not path.is_file():
                raise BuildFailed(f"input file not found: {path}")
        try:
            for _ in feed_cc_graph(spec, normalizer, stats, aggregator):
                progress(stage, stats.links_counted, None)
        except PermissionError as exc:
            raise BuildFailed(f"cannot read input file {exc.filename or spec.label}: {exc}"
                              ) from exc
        return
    for batch in read_input(spec, normalizer, stats):
        aggregator.add(batch)
        progress(stage, stats.links_counted, None)


def is_dofollow_rel(rel: str | None) -> bool:
    """False when an HTML ``rel`` value has nofollow, ugc or sponsored (any case)."""
    if not rel:
        return True
    return not (_NOFOLLOW_TOKENS & {t.lower() for t in rel.split()})


def links_to_batches(
    links: Iterable[tuple[str, str] | tuple[str, str, str]],
    normalizer: DomainNormalizer,
    rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches from (source_url, target_url[, rel]) tuples.

    URLs are normalised (``linkgap.urls``); links with a non-http(s) or
    unparseable end, an end that is not a domain, or both ends in one domain
    are dropped, as the readers drop them.
    """
    cols: dict[str, list[Any]] = {name: [] for name in LINK_SCHEMA.names}

    def flush() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(cols, schema=LINK_SCHEMA)
        for values in cols.values():
            values.clear()
        return batch

    for link in links:
        source = normalize_url(link[0])
        target = normalize_url(link[1])
        if source is None or target is None:
            continue
        sd = normalizer.registrable(source.host)
        td = normalizer.registrable(target.host)
        if sd is None or td is None or sd == td:
            continue
        rel = link[2] if len(link) > 2 else None
        cols["source_url"].append(source.url)
        cols["target_url"].append(target.url)
        cols["source_domain"].append(sd)
        cols["target_domain"].append(td)
        cols["dofollow"].append(is_dofollow_rel(rel))
        cols["anchor"].append(None)
        cols["seen_at"].append(None)
        if len(cols["source_url"]) >= rows:
            yield flush()
    if cols["source_url"]:
        yield flush()


@lru_cache(maxsize=2)
def shared_normalizer(icann_only: bool = False) -> DomainNormalizer:
    """One DomainNormalizer per PSL mode for the whole process (parsing the list takes ~1 s)."""
    return DomainNormalizer(icann_only=icann_only)


def build_from_links(
    index_dir: str | Path,
    links: Iterable[tuple[str, str] | tuple[str, str, str]],
    *,
    icann_only: bool = False,
) -> Manifest:
    """Build and publish a version from (source_url, target_url[, rel]) tuples.

    A helper for tests and examples: the links go through the same URL and
    domain normalisation as crawl data; internal links are dropped.
    """
    normalizer = shared_normalizer(icann_only)
    return build_from_batches(index_dir, links_to_batches(links, normalizer),
                              icann_only=icann_only)
