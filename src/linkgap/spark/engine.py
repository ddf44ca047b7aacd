"""``index build --engine spark``: plan the inputs, stage on Spark, finalise here.

:func:`spark_build_index` is the one-step build: the Spark job writes its
staging folder inside the build folder (so a killed build leaves only a
``tmp-*`` folder that the next build removes), then the embedded build's own
finaliser (``linkgap.index.build.build_from_aggregate``) writes the CSR,
metrics and manifest and publishes. :func:`spark_stage` is ``--stage-only``:
the staging folder alone, for ``linkgap index build OUT/`` anywhere.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from linkgap.domains import psl_snapshot_version
from linkgap.errors import BuildFailed
from linkgap.index.aggregate import AggregateCounts
from linkgap.index.build import (
    AggregatedEdges,
    BuildReport,
    ProgressCallback,
    _report,
    build_from_aggregate,
    check_evidence,
)
from linkgap.index.evidence import DEFAULT_EVIDENCE
from linkgap.index.staging import MARKER, open_staging
from linkgap.ingest.base import InputStats
from linkgap.ingest.detect import FORMATS, format_from_name, plan_inputs
from linkgap.spark.extract import WorkItem, is_remote
from linkgap.spark.session import require_spark, spark_session

__all__ = ["StageReport", "plan_work", "spark_build_index", "spark_stage"]


@dataclass
class StageReport:
    """What ``--stage-only`` wrote: where, the totals, the per-input counts."""

    out: str
    totals: AggregateCounts
    inputs: list[InputStats]
    seconds: float


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


def plan_work(paths: Sequence[str], input_format: str = "auto",
              link_target: str | None = None) -> list[WorkItem]:
    """The build's inputs as Spark work items, one per file or cc-graph pair.

    Local paths are planned exactly as the embedded build plans them (globs,
    detection by name and content, pairing), so both engines name and count
    the same inputs. With a remote URL among them, every input is taken as
    given: no globs, the format from the name (or ``--input-format``).
    """
    if not any(is_remote(p) for p in paths):
        specs = plan_inputs(list(paths), input_format, link_target=link_target)
        return [WorkItem(i, s.format, tuple(p.resolve().as_uri() for p in s.paths), s.label,
                         s.link_target)
                for i, s in enumerate(specs)]
    items = _plan_by_name(list(paths), input_format)
    return [WorkItem(w.index, w.format, w.paths, w.label,
                     link_target if w.format == "links-csv" else None) for w in items]


def _plan_by_name(paths: list[str], input_format: str) -> list[WorkItem]:
    if input_format != "auto" and input_format not in FORMATS:
        raise BuildFailed(f"unknown input format {input_format!r}: use auto, {', '.join(FORMATS)}")
    if input_format == "cc-graph":
        if len(paths) % 2:
            raise BuildFailed("--input-format cc-graph takes the files in pairs (vertices file, "
                              f"then edges file); got {len(paths)} files")
        pairs = list(zip(paths[::2], paths[1::2], strict=True))
        return [WorkItem(i, "cc-graph", pair, " + ".join(pair)) for i, pair in enumerate(pairs)]
    if input_format != "auto":
        return [WorkItem(i, input_format, (p,), p) for i, p in enumerate(paths)]
    edges_by_prefix = {}
    for p in paths:
        if format_from_name(_name(p)) == "cc-graph edges":
            edges_by_prefix[p[: -len(_suffix(p, "-edges"))]] = p
    items: list[WorkItem] = []
    paired: set[str] = set()
    for p in paths:
        fmt = format_from_name(_name(p))
        if fmt == "cc-graph vertices":
            edges = edges_by_prefix.get(p[: -len(_suffix(p, "-vertices"))])
            if edges is None:
                raise BuildFailed(f"cc-graph vertices file {p} has no edges file among the inputs")
            paired.add(edges)
            items.append(WorkItem(len(items), "cc-graph", (p, edges), f"{p} + {edges}"))
        elif fmt == "cc-graph edges":
            continue
        elif fmt is None:
            raise BuildFailed(f"cannot tell the format of {p} from its name: name it .warc.gz, "
                              ".wat.gz, .csv or .parquet, or give --input-format")
        else:
            items.append(WorkItem(len(items), fmt, (p,), p))
    unpaired = [p for p in edges_by_prefix.values() if p not in paired]
    if unpaired:
        raise BuildFailed(f"cc-graph edges file {unpaired[0]} has no vertices file among "
                          "the inputs")
    return items


def _checked_work(paths: Sequence[str], input_format: str,
                  link_target: str | None = None) -> list[WorkItem]:
    """``plan_work`` once pyspark and Java are known to be there; no inputs is an error."""
    require_spark()
    items = plan_work(paths, input_format, link_target)
    if not items:
        raise BuildFailed("no input files given")
    return items


def _name(path: str) -> str:
    return urlsplit(path).path.rsplit("/", 1)[-1] if is_remote(path) else Path(path).name


def _suffix(path: str, kind: str) -> str:
    lowered = path.lower()
    for tail in (f"{kind}.txt.gz", f"{kind}.txt"):
        if lowered.endswith(tail):
            return path[-len(tail):]
    return ""


def _psl(icann_only: bool) -> dict[str, str]:
    return {"mode": "icann" if icann_only else "all", "version": psl_snapshot_version()}


def _uri(path: str | Path) -> str:
    """A location as Spark should write it: URLs as given, local paths as absolute file: URIs."""
    text = str(path)
    return text if is_remote(text) or text.startswith("file:") else Path(text).resolve().as_uri()


def spark_build_index(
    index_dir: str | Path, paths: Sequence[str], input_format: str = "auto", *,
    icann_only: bool = False, progress: ProgressCallback | None = None,
    memory_limit: str | None = None, master: str | None = None, stage_dir: str | None = None,
    link_target: str | None = None, out_links: bool = True,
    evidence: int = DEFAULT_EVIDENCE,
) -> BuildReport:
    """Stage the inputs on Spark, then finalise and publish here (same index as embedded).

    ``stage_dir`` is where the executors write the staging folder when they
    cannot write into the index directory (a cluster: ``hdfs://…``, ``s3a://…``
    or a shared mount); a fresh folder inside it is used and removed after.
    Raises BuildFailed like the embedded build; the published version is then
    untouched.
    """
    started = time.monotonic()
    report = progress or _noop
    items = _checked_work(paths, input_format, link_target)
    evidence = check_evidence(evidence)
    inputs: list[InputStats] = []

    def step(work: Path) -> tuple[AggregatedEdges, AggregateCounts]:
        from linkgap.spark.job import HadoopFolder, run_staging_job

        local = work / "staging"
        work.mkdir(parents=True, exist_ok=True)
        with spark_session(master, driver_memory=memory_limit) as spark:
            target = (f"{stage_dir.rstrip('/')}/linkgap-{secrets.token_hex(8)}" if stage_dir
                      else _uri(local))
            try:
                result = run_staging_job(spark, items, _uri(target), icann_only=icann_only,
                                         psl=_psl(icann_only), partitions=_partitions(spark),
                                         progress=report, evidence=evidence)
                if stage_dir:
                    report("spark: copying the staging folder", 0, None)
                    HadoopFolder(spark, _uri(target)).copy_to_local(str(local))
            finally:
                if stage_dir:
                    HadoopFolder(spark, _uri(target)).delete()
        inputs.extend(result.inputs)
        staged = open_staging(local)
        return staged, staged.totals

    manifest, previous = build_from_aggregate(Path(index_dir), step, inputs,
                                              icann_only=icann_only, progress=report,
                                              memory_limit=memory_limit, out_links=out_links)
    return _report(index_dir, manifest, inputs, previous, started)


def _partitions(spark: object) -> int:
    """Partitions of the sorts: Spark's shuffle partitions (set per core for local masters)."""
    conf = spark.conf  # type: ignore[attr-defined]
    return max(1, int(conf.get("spark.sql.shuffle.partitions", "200")))


def spark_stage(
    out: str, paths: Sequence[str], input_format: str = "auto", *, icann_only: bool = False,
    progress: ProgressCallback | None = None, memory_limit: str | None = None,
    master: str | None = None, link_target: str | None = None,
    evidence: int = DEFAULT_EVIDENCE,
) -> StageReport:
    """``--stage-only OUT``: write the staging folder of the inputs to ``out`` and stop.

    ``out`` is a local path or a URL the cluster can write. An existing
    staging folder there is replaced (its marker goes first, so it never looks
    complete half-way); any other non-empty folder is refused.
    """
    started = time.monotonic()
    report = progress or _noop
    items = _checked_work(paths, input_format, link_target)
    evidence = check_evidence(evidence)
    if not is_remote(out):
        _prepare_local_out(Path(str(out).removeprefix("file://")))
    with spark_session(master, driver_memory=memory_limit) as spark:
        from linkgap.spark.job import HadoopFolder, run_staging_job

        if is_remote(out):
            folder = HadoopFolder(spark, out)
            if folder.exists():
                folder.delete(MARKER)
        result = run_staging_job(spark, items, _uri(out), icann_only=icann_only,
                                 psl=_psl(icann_only), partitions=_partitions(spark),
                                 progress=report, evidence=evidence)
    return StageReport(out, result.totals, result.inputs, time.monotonic() - started)


def _prepare_local_out(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise BuildFailed(f"--stage-only {folder}: it exists and is not a folder")
    if (folder / MARKER).is_file():
        (folder / MARKER).unlink()
        return
    if any(folder.iterdir()):
        raise BuildFailed(f"--stage-only {folder}: the folder is not empty and is not a staging "
                          "folder; give a new or empty folder")
