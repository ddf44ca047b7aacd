"""``index build``: link batches → a new published index version.

Steps (each streams; none holds the graph in Python objects):

1. append every LINK_SCHEMA batch to a DuckDB table inside the build folder;
2. aggregate in SQL (``linkgap.index.aggregate``): distinct (source URL,
   target URL) pairs → domain edges → domains sorted by canonical name;
3. write the names and the in-link CSR as ``.npy`` memory maps
   (``linkgap.index.csr``);
4. compute the metrics over the CSR (``linkgap.index.metrics``, ``spam``);
5. write ``manifest.json`` and publish atomically (``linkgap.index.versions``).

A build that fails at any step removes its folder; the published version
stays as it was.
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

import numpy as np
import pyarrow as pa

from linkgap.domains import DomainNormalizer, psl_snapshot_version
from linkgap.errors import BuildFailed
from linkgap.index import metrics as m
from linkgap.index.aggregate import AggregateCounts, LinkAggregator
from linkgap.index.csr import write_in_csr, write_names
from linkgap.index.spam import SIGNALS, compute_spam
from linkgap.index.staging import is_staging_dir, open_staging
from linkgap.index.versions import (
    build_lock,
    clean_stale_builds,
    new_build_dir,
    next_version_id,
    publish,
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
    "build_from_staging",
    "build_from_links",
    "build_index",
]

#: ``--input-format`` of a staging folder of aggregated domain edges (``linkgap.index.staging``).
DOMAIN_EDGES = "domain-edges"

#: Layout version of a version folder (``manifest.json`` ``format``).
FORMAT_VERSION = 1

#: ``progress(stage, done, total)``: a stage name ("reading <input>", "aggregating",
#: "writing", "metrics", "publishing"), items done, total when known.
ProgressCallback = Callable[[str, int, "int | None"], None]

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

    def as_dict(self) -> dict[str, Any]:
        """The manifest as stored in ``manifest.json``."""
        return {
            "format": self.format,
            "version": self.version,
            "built_at": self.built_at,
            "psl": dict(self.psl),
            "inputs": list(self.inputs),
            "counts": dict(self.counts),
            "metrics": dict(self.metrics),
        }

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
            format=int(data.get("format", FORMAT_VERSION)),
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
) -> Manifest:
    """Build and publish a version from LINK_SCHEMA batches; returns its manifest.

    ``inputs_stats`` are read after ``batches`` is exhausted, so a generator
    may fill them while it yields. Raises BuildFailed when no valid link
    remains; the published version is then left untouched.
    """
    report = progress or _noop
    return build_from_aggregate(Path(index_dir), aggregate_batches(batches, memory_limit, report),
                                inputs_stats, icann_only=icann_only, progress=report)[0]


class AggregatedEdges(Protocol):
    """Domain edges ready to finalise: names in id order, edges sorted by (dst, src)."""

    def iter_names(self) -> Iterator[pa.Array]: ...

    def iter_edges(self) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


#: ``aggregate(work_folder)`` → the build's domain edges and their totals. The
#: embedded engine aggregates in DuckDB (:func:`aggregate_batches`); the Spark
#: engine and staged folders hand over Parquet (``linkgap.index.staging``).
AggregateStep = Callable[[Path], tuple[AggregatedEdges, AggregateCounts]]


def aggregate_batches(batches: Iterable[pa.RecordBatch], memory_limit: str | None,
                      progress: ProgressCallback) -> AggregateStep:
    """The embedded engine's aggregation step: LINK_SCHEMA batches through DuckDB."""
    def step(work: Path) -> tuple[AggregatedEdges, AggregateCounts]:
        aggregator = LinkAggregator(work, memory_limit=memory_limit)
        try:
            rows = 0
            for batch in batches:
                aggregator.add(batch)
                rows += batch.num_rows
                progress("reading", rows, None)
            progress("aggregating", 0, None)
            return aggregator, aggregator.finish()
        except BaseException:
            aggregator.close()
            raise
    return step


def build_from_aggregate(
    index_dir: Path, aggregate: AggregateStep, inputs_stats: Sequence[InputStats], *,
    icann_only: bool, progress: ProgressCallback, psl_version: str | None = None,
) -> tuple[Manifest, str | None]:
    """Aggregate (under the build lock, in a fresh build folder), finalise and publish.

    Returns the manifest and the version it replaced. Whatever fails, the
    build folder is removed and the published version stays as it was; a
    killed build leaves its ``tmp-*`` folder for the next build to remove.
    """
    with build_lock(index_dir):
        clean_stale_builds(index_dir)
        tmp = new_build_dir(index_dir)
        try:
            manifest = _build_into(tmp, aggregate, inputs_stats, icann_only, progress,
                                   psl_version)
            progress("publishing", 0, None)
            previous = publish(index_dir, tmp, manifest.version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest, previous


def _build_into(folder: Path, aggregate: AggregateStep, inputs_stats: Sequence[InputStats],
                icann_only: bool, progress: ProgressCallback,
                psl_version: str | None) -> Manifest:
    work = folder / "work"
    edges, totals = aggregate(work)
    try:
        if totals.links == 0:
            raise BuildFailed(_no_links_message(inputs_stats))
        progress("writing", 0, totals.edges)
        write_names(folder, edges.iter_names(), totals.domains)
        write_in_csr(folder, edges.iter_edges(), totals.domains, totals.edges)
    finally:
        edges.close()
    shutil.rmtree(work, ignore_errors=True)
    progress("metrics", 0, None)
    metric_info = _write_metrics(folder)
    now = datetime.now(UTC)
    normalizer_mode = "icann" if icann_only else "all"
    manifest = Manifest(
        version=next_version_id(folder.parent),
        built_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        psl={"mode": normalizer_mode, "version": psl_version or psl_snapshot_version()},
        inputs=[s.as_dict() for s in inputs_stats],
        counts={
            "domains": totals.domains,
            "edges": totals.edges,
            "links": totals.links,
            "dofollow_links": totals.dofollow_links,
            "occurrences": totals.occurrences,
            "skipped": sum(sum(s.skipped.values()) for s in inputs_stats),
        },
        metrics=metric_info,
    )
    with open(folder / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest.as_dict(), fh, indent=2, sort_keys=False)
        fh.write("\n")
    return manifest


def _no_links_message(inputs_stats: Sequence[InputStats]) -> str:
    parts = []
    for s in inputs_stats:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(s.skipped.items())) or "nothing skipped"
        parts.append(f"{s.input.label} ({s.records} records, {skipped})")
    detail = "; ".join(parts)
    return "the build found no valid links between different domains" + (
        f" in its inputs: {detail}" if detail else ""
    ) + "; the previous index version is unchanged"


def _write_metrics(folder: Path) -> dict[str, Any]:
    """Compute every per-domain metric from the CSR in ``folder`` and save it there."""
    indptr = np.load(folder / "in_indptr.npy", mmap_mode="r")
    src = np.load(folder / "in_src.npy", mmap_mode="r")
    links = np.load(folder / "in_links.npy", mmap_mode="r")
    dofollow = np.load(folder / "in_dofollow.npy", mmap_mode="r")
    counts = m.compute_counts(indptr, src, links, dofollow)
    scratch_path = folder / "work-pagerank-src.npy"
    e_df = int(counts.dofollow_referring_domains.sum())
    scratch = None
    if e_df and e_df != len(src):
        scratch = np.lib.format.open_memmap(scratch_path, mode="w+", dtype=src.dtype,
                                            shape=(e_df,))
    df_indptr, df_src = m.dofollow_graph(indptr, src, dofollow,
                                         counts.dofollow_referring_domains, scratch)
    pr = m.pagerank(df_indptr, df_src, counts.dofollow_linked_domains)
    del scratch, df_src
    scratch_path.unlink(missing_ok=True)
    dr = m.domain_rating(pr.pagerank, counts.dofollow_referring_domains)
    rank = m.rank_by_pagerank(pr.pagerank)
    names = np.memmap(folder / "names.bytes", dtype=np.uint8, mode="r")
    offsets = np.load(folder / "names.offsets.npy", mmap_mode="r")
    spam_score, spam_signals = compute_spam(counts, names, offsets)
    del names
    arrays = {
        "backlinks": counts.backlinks,
        "referring_domains": counts.referring_domains,
        "linked_domains": counts.linked_domains,
        "outlinks": counts.outlinks,
        "pagerank": pr.pagerank,
        "domain_rating": dr,
        "rank": rank,
        "spam_score": spam_score,
        "spam_signals": spam_signals,
    }
    for name, arr in arrays.items():
        np.save(folder / f"{name}.npy", arr)
    return {
        "pagerank": {
            "damping": m.DAMPING,
            "tolerance": m.TOLERANCE,
            "max_iterations": m.MAX_ITERATIONS,
            "iterations": pr.iterations,
            "delta": pr.delta,
            "converged": pr.converged,
            "significant_digits": m.PAGERANK_DIGITS,
            "graph": "binary dofollow domain graph",
        },
        "domain_rating": {
            "formula": "clamp(round_half_up(scale * ln(pagerank * domains) + offset), 1, 100); "
            "0 without a dofollow referring domain",
            "scale": m.DR_SCALE,
            "offset": m.DR_OFFSET,
        },
        "spam": {"signals": [{"name": s.name, "points": s.points} for s in SIGNALS]},
    }


# ----------------------------------------------------------------------------
# Building from files (the ingest readers) and from plain tuples (tests, demos)


def build_index(
    index_dir: str | Path,
    paths: list[str],
    input_format: str = "auto",
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    link_target: str | None = None,
) -> BuildReport:
    """Read crawl files with the ingest readers and publish a new index version.

    ``link_target`` (``--target``) is the domain that links files without a
    target column (a Search Console export) link to.

    A single staging folder (input format ``domain-edges``, detected by its
    marker file) is finalised instead (:func:`build_from_staging`). Raises
    BuildFailed for a missing or unreadable input, or when no valid link
    remains; the published version is then untouched.
    """
    from linkgap.ingest import plan_inputs, read_input  # the readers may load heavy parsers

    if input_format == DOMAIN_EDGES or any(is_staging_dir(Path(p)) for p in paths):
        return build_from_staging(index_dir, paths, icann_only=icann_only, progress=progress)
    started = time.monotonic()
    report_progress = progress or _noop
    specs = plan_inputs(list(paths), input_format, link_target=link_target)
    if not specs:
        raise BuildFailed("no input files given")
    normalizer = shared_normalizer(icann_only)
    stats = [InputStats(spec) for spec in specs]

    def batches() -> Iterator[pa.RecordBatch]:
        for spec, st in zip(specs, stats, strict=True):
            stage = f"reading {spec.label}"
            report_progress(stage, 0, None)
            try:
                for batch in read_input(spec, normalizer, st):
                    yield batch
                    report_progress(stage, st.links_counted, None)
            except OSError as exc:
                raise BuildFailed(f"cannot read {spec.label}: {exc}") from exc

    step = aggregate_batches(batches(), memory_limit, report_progress)
    manifest, previous = build_from_aggregate(Path(index_dir), step, stats,
                                              icann_only=icann_only, progress=report_progress)
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


def build_from_staging(
    index_dir: str | Path,
    paths: Sequence[str],
    *,
    icann_only: bool = False,
    progress: ProgressCallback | None = None,
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
        progress=progress or _noop, psl_version=staged.psl.get("version"))
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
