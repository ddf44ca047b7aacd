"""``index build``: inputs → a new published index version.

Steps (each streams; none holds the graph in Python objects, and the whole
build stays within ``--memory-limit`` plus about 1 GB, see
``linkgap.index.budget``):

1. aggregate (``linkgap.index.aggregate``, DuckDB): page links are appended
   as LINK_SCHEMA batches and grouped into domain edges in SQL; web-graph
   (cc-graph) edges arrive as interned integer ids; DuckDB spills to a temp
   folder inside the build folder, or under ``--temp-dir``;
2. finalise (``linkgap.index.finalize``): sorted names, the compact CSR
   written in chunks, PageRank over it in row blocks, DR, rank, spam, the
   out-links; its scratch files go to ``work/`` in the same temp folder;
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
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from linkgap.domains import DomainNormalizer, psl_snapshot_version
from linkgap.errors import BuildFailed, InvalidInput
from linkgap.index.aggregate import AggregateCounts, LinkAggregator
from linkgap.index.budget import MemoryBudget
from linkgap.index.evidence import DEFAULT_EVIDENCE, MAX_EVIDENCE
from linkgap.index.finalize import FinalizeResult, finalize
from linkgap.index.format import FORMAT_VERSION
from linkgap.index.staging import is_staging_dir, open_staging
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
from linkgap.ingest.base import InputSpec, InputStats
from linkgap.ingest.collect import LinkCollector
from linkgap.ingest.rules import rel_is_nofollow

__all__ = [
    "DOMAIN_EDGES",
    "FORMAT_VERSION",
    "AggregateStep",
    "AggregatedEdges",
    "BuildReport",
    "Manifest",
    "ProgressCallback",
    "aggregate_batches",
    "build_from_aggregate",
    "build_from_batches",
    "build_from_domain_edges",
    "build_from_links",
    "build_from_staging",
    "build_index",
]

#: ``--input-format`` of a staging folder of aggregated domain edges (``linkgap.index.staging``).
DOMAIN_EDGES = "domain-edges"

#: ``progress(stage, done, total)``: a stage name ("reading <input>", "aggregating",
#: "writing", "metrics", "publishing"), items done, total when known.
ProgressCallback = Callable[[str, int, "int | None"], None]

#: Puts a build's inputs into the aggregator (batches, web-graph edges, domain edges).
Feed = Callable[[LinkAggregator], None]


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
    #: ``{"per_edge": N, "samples": S}`` when the version keeps evidence files
    #: (``linkgap.index.evidence``); None for ``--evidence 0`` and older versions.
    evidence: dict[str, int] | None = None
    #: Per-edge columns stored as one value (format 4): column name → the value of every
    #: edge. None when every column is written in full.
    constant_columns: dict[str, int] | None = None

    @property
    def evidence_per_edge(self) -> int:
        """The build's ``--evidence N``; 0 when the version keeps no evidence."""
        return int((self.evidence or {}).get("per_edge", 0))

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
        if self.evidence is not None:
            data["evidence"] = dict(self.evidence)
        if self.constant_columns:
            data["constant_columns"] = dict(self.constant_columns)
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
            evidence=({k: int(v) for k, v in data["evidence"].items()}
                      if isinstance(data.get("evidence"), dict) else None),
            constant_columns=({str(k): int(v) for k, v in data["constant_columns"].items()}
                              if isinstance(data.get("constant_columns"), dict) else None),
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
    out_links: bool = True,
    evidence: int = DEFAULT_EVIDENCE,
) -> Manifest:
    """Build and publish a version from LINK_SCHEMA batches; returns its manifest.

    ``inputs_stats`` are read after ``batches`` is exhausted, so a generator
    may fill them while it yields. Raises BuildFailed when no valid link
    remains; the published version is then left untouched.
    """
    report = progress or _noop
    step = aggregate_batches(batches, memory_limit, report, temp_dir, evidence)
    return build_from_aggregate(Path(index_dir), step, inputs_stats, icann_only=icann_only,
                                progress=report, out_links=out_links)[0]


def build_from_domain_edges(
    index_dir: str | Path,
    tables: Iterable[pa.Table | pa.RecordBatch],
    *,
    inputs_stats: Sequence[InputStats] = (),
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    temp_dir: str | Path | None = None,
    out_links: bool = True,
) -> Manifest:
    """Finalise and publish domain edges aggregated elsewhere, given by name.

    Each table has ``source_domain, target_domain`` (canonical names),
    ``links, dofollow_links`` (int64) and ``first_seen, last_seen`` (epoch
    seconds, null or -1 when unknown); rows of one edge add up. The names
    must have been normalised in the ``icann_only`` mode given here. (A
    staging folder, whose edges carry final ids already, goes through
    :func:`build_from_staging` instead.)
    """
    report = progress or _noop

    def feed(aggregator: LinkAggregator) -> None:
        for table in tables:
            aggregator.add_domain_edges(table)
            report("reading", aggregator.occurrences, None)

    step = aggregate_feed(feed, memory_limit, temp_dir, report)
    return build_from_aggregate(Path(index_dir), step, inputs_stats, icann_only=icann_only,
                                progress=report, out_links=out_links)[0]


class AggregatedEdges(Protocol):
    """Domain edges ready to finalise: names in id order, edges sorted by (dst, src).

    ``iter_edges`` yields record batches (or ``EdgeChunk`` s) with the
    columns ``dst, src, links, dofollow_links, first_seen, last_seen``
    (int64; seen in epoch seconds, -1 unknown), each edge once. It may only
    be called after ``iter_names`` has run to its end.
    """

    def iter_names(self) -> Iterator[pa.Array]: ...

    def iter_edges(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


#: ``aggregate(work_folder)`` → the build's domain edges and their totals. The
#: embedded engine aggregates in DuckDB (:func:`aggregate_feed`); the Spark
#: engine and staged folders hand over Parquet (``linkgap.index.staging``).
#: Totals of -1 (links, edges) are counted while finalising.
AggregateStep = Callable[[Path], tuple[AggregatedEdges, AggregateCounts]]


def aggregate_feed(feed: Feed, memory_limit: str | None, temp_dir: str | Path | None,
                   progress: ProgressCallback, evidence: int = 0) -> AggregateStep:
    """The embedded engine's aggregation step: ``feed`` fills a DuckDB ``LinkAggregator``.

    The memory limit is checked here, before anything is built. The
    aggregator spills into ``spill/`` of the build folder, or under
    ``temp_dir``; it carries the build's memory budget to the finaliser.
    ``evidence`` is the samples kept per domain edge (``--evidence``).
    """
    budget = MemoryBudget.from_text(memory_limit)  # a bad size fails before anything is made
    evidence = check_evidence(evidence)

    def step(work: Path) -> tuple[AggregatedEdges, AggregateCounts]:
        spill = spill_dir_for(work.parent, Path(temp_dir) if temp_dir else None)
        aggregator = LinkAggregator(spill, budget, evidence=evidence)
        try:
            feed(aggregator)
            progress("aggregating", 0, None)
            return aggregator, aggregator.finish()
        except BaseException:
            aggregator.close()
            raise
    return step


def aggregate_batches(batches: Iterable[pa.RecordBatch], memory_limit: str | None,
                      progress: ProgressCallback,
                      temp_dir: str | Path | None = None,
                      evidence: int = DEFAULT_EVIDENCE) -> AggregateStep:
    """The embedded engine's aggregation step over LINK_SCHEMA batches."""
    def feed(aggregator: LinkAggregator) -> None:
        rows = 0
        for batch in batches:
            aggregator.add(batch)
            rows += batch.num_rows
            progress("reading", rows, None)
    return aggregate_feed(feed, memory_limit, temp_dir, progress, evidence)


def build_from_aggregate(
    index_dir: Path, aggregate: AggregateStep, inputs_stats: Sequence[InputStats], *,
    icann_only: bool, progress: ProgressCallback, psl_version: str | None = None,
    memory_limit: str | None = None, out_links: bool = True,
) -> tuple[Manifest, str | None]:
    """Aggregate (under the build lock, in a fresh build folder), finalise and publish.

    Returns the manifest and the version it replaced. Whatever fails, the
    build folder and its temp folder are removed and the published version
    stays as it was; a killed build leaves them for the next build to remove.
    ``memory_limit`` is the finaliser's budget when the aggregation brings
    none (the embedded one carries its own). ``out_links=False``
    (``--no-out-links``) leaves out the out-links by source that link
    competitors need.
    """
    fallback = MemoryBudget.from_text(memory_limit)
    with build_lock(index_dir):
        clean_stale_builds(index_dir)
        tmp = new_build_dir(index_dir)
        try:
            manifest = _build_into(tmp, aggregate, inputs_stats, icann_only, progress,
                                   psl_version, fallback, out_links)
            progress("publishing", 0, None)
            previous = publish(index_dir, tmp, manifest.version)
        except BaseException:
            drop_spill_dir(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest, previous


def _build_into(folder: Path, aggregate: AggregateStep, inputs_stats: Sequence[InputStats],
                icann_only: bool, progress: ProgressCallback, psl_version: str | None,
                fallback: MemoryBudget, out_links: bool = True) -> Manifest:
    work = folder / "work"
    budget = fallback
    try:
        edges, totals = aggregate(work)
        budget = getattr(edges, "budget", None) or fallback
        try:
            if totals.domains == 0 or totals.links == 0:
                raise BuildFailed(_no_links_message(inputs_stats))
            result = finalize(folder, edges, totals.domains, budget, progress,
                              out_links=out_links, work=_scratch_dir(folder, edges))
        finally:
            edges.close()
    except duckdb.OutOfMemoryException as exc:
        raise BuildFailed(
            "the build needs more memory than its --memory-limit allows even with spilling "
            "to disk; give it a larger limit (the previous index version is unchanged): "
            f"{str(exc).splitlines()[0]}") from None
    for key, counted in (("links", result.totals.links), ("edges", result.totals.edges),
                         ("dofollow_links", result.totals.dofollow_links)):
        given = getattr(totals, key)
        if given >= 0 and given != counted:  # a staging folder's marker disagrees with its parts
            raise BuildFailed(f"the aggregated edges hold {counted:,} {key.replace('_', ' ')}, "
                              f"their totals say {given:,}: the input is damaged")
    drop_spill_dir(folder)
    peak_spill = int(getattr(edges, "peak_spill", 0))
    manifest = _manifest(folder, result, totals.occurrences, inputs_stats, icann_only,
                         budget, peak_spill, psl_version,
                         int(getattr(edges, "evidence", 0) or 0))
    with open(folder / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest.as_dict(), fh, indent=2, sort_keys=False)
        fh.write("\n")
    return manifest


def _scratch_dir(folder: Path, edges: object) -> Path:
    """Where finalising writes its scratch files: ``work/`` in the build folder, or in
    the build's folder under ``--temp-dir`` when the aggregation spilled there (so
    that the out-link ranges, up to 8 bytes per edge, stay off the index's disk too).
    Either is removed with the build's temp folder, whatever ends the build."""
    spill = getattr(edges, "spill_dir", None)
    if spill is not None and not Path(spill).resolve().is_relative_to(folder.resolve()):
        return Path(spill) / "work"
    return folder / "work"


def _manifest(folder: Path, result: FinalizeResult, occurrences: int,
              inputs_stats: Sequence[InputStats], icann_only: bool, budget: MemoryBudget,
              peak_spill: int, psl_version: str | None, evidence_per_edge: int) -> Manifest:
    now = datetime.now(UTC)
    return Manifest(
        version=next_version_id(folder.parent),
        built_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        psl={"mode": "icann" if icann_only else "all",
             "version": psl_version or psl_snapshot_version()},
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
        evidence=(None if result.samples is None else
                  {"per_edge": evidence_per_edge, "samples": result.samples}),
        constant_columns=dict(result.totals.constant_columns) or None,
        build={
            "memory_limit": budget.limit,
            "peak_spill_bytes": peak_spill,
            "pagerank_ids": result.pagerank_mode,
            # Out-links by source (link competitors); false: built with --no-out-links.
            "out_links": result.out_links is not None,
        },
    )


def check_evidence(evidence: int) -> int:
    """``--evidence N`` checked: a whole number from 0 to MAX_EVIDENCE, else InvalidInput."""
    if isinstance(evidence, bool) or not isinstance(evidence, int) or not (
            0 <= evidence <= MAX_EVIDENCE):
        raise InvalidInput(f"evidence {evidence!r} is not valid: it must be a whole number "
                           f"of sample links per domain edge from 0 to {MAX_EVIDENCE}",
                           param="evidence")
    return evidence


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
    link_target: str | None = None,
    out_links: bool = True,
    evidence: int = DEFAULT_EVIDENCE,
) -> BuildReport:
    """Read crawl files with the ingest readers and publish a new index version.

    ``link_target`` (``--target``) is the domain that links files without a
    target column (a Search Console export) link to. ``evidence``
    (``--evidence``) is how many sample links each domain edge keeps
    (``linkgap.index.evidence``; 0 keeps none).

    A single staging folder (input format ``domain-edges``, detected by its
    marker file) is finalised instead (:func:`build_from_staging`). Raises
    BuildFailed for a missing or unreadable input, or when no valid link
    remains; the published version is then untouched.
    """
    from linkgap.ingest import plan_inputs  # the readers may load heavy parsers

    if input_format == DOMAIN_EDGES or any(is_staging_dir(Path(p)) for p in paths):
        return build_from_staging(index_dir, paths, icann_only=icann_only, progress=progress,
                                  memory_limit=memory_limit, out_links=out_links)
    started = time.monotonic()
    report_progress = progress or _noop
    specs = plan_inputs(list(paths), input_format, link_target=link_target)
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

    step = aggregate_feed(feed, memory_limit, temp_dir, report_progress, evidence)
    manifest, previous = build_from_aggregate(Path(index_dir), step, stats,
                                              icann_only=icann_only, progress=report_progress,
                                              out_links=out_links)
    return _report(index_dir, manifest, stats, previous, started)


def _report(index_dir: str | Path, manifest: Manifest, stats: list[InputStats],
            previous: str | None, started: float) -> BuildReport:
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


def build_from_staging(
    index_dir: str | Path,
    paths: Sequence[str],
    *,
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    out_links: bool = True,
) -> BuildReport:
    """Finalise a staging folder of domain edges (``--stage-only``) into a published version.

    The version gets the staging's PSL mode and per-input counts, so it equals
    a one-step build of the same inputs. Raises BuildFailed for anything but
    exactly one complete staging folder, or a ``--icann-only`` that contradicts it.
    """
    started = time.monotonic()
    if len(paths) != 1:
        raise BuildFailed("a domain-edges staging folder is finalised on its own: give just "
                          f"the folder (got {len(paths)} inputs)")
    folder = Path(paths[0]).expanduser()
    if not folder.is_dir():
        raise BuildFailed(f"domain-edges input {folder} is not a folder")
    staged = open_staging(folder)
    staged_icann = staged.psl.get("mode") == "icann"
    if icann_only and not staged_icann:
        raise BuildFailed(f"{folder} was staged with the whole Public Suffix List; "
                          "finalise it without --icann-only (or stage it again with it)")

    def step(work: Path) -> tuple[AggregatedEdges, AggregateCounts]:
        return staged, staged.totals

    manifest, previous = build_from_aggregate(
        Path(index_dir), step, staged.inputs, icann_only=staged_icann,
        progress=progress or _noop, psl_version=staged.psl.get("version"),
        memory_limit=memory_limit, out_links=out_links)
    return _report(index_dir, manifest, staged.inputs, previous, started)


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

    A helper for examples: each tuple goes through the readers' own rules, as
    a links-csv row does (``LinkCollector.add_link``: URL and domain
    normalisation, ``rel`` read by ``linkgap.ingest.rules``); links that are
    internal or whose ends are not http(s) URLs of domains are dropped.
    """
    normalizer = shared_normalizer(icann_only)
    stats = InputStats(InputSpec("links-csv", ()))

    def batches() -> Iterator[pa.RecordBatch]:
        collector = LinkCollector(normalizer, stats)
        for link in links:
            rel = link[2] if len(link) > 2 else None
            collector.add_link(link[0], link[1], dofollow=not rel_is_nofollow(rel),
                               anchor=None, seen_at=None)
            yield from collector.ready_batches()
        yield from collector.ready_batches(final=True)

    return build_from_batches(index_dir, batches(), icann_only=icann_only)
