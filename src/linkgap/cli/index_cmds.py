"""``linkgap index build``, ``linkgap index info`` and ``linkgap domain`` (SPEC 7).

Thin over ``linkgap.index``: the build reports what it read, counted and
skipped per input on stderr (with a progress bar while it runs); ``info`` and
``domain`` are read commands with ``--format table|json|csv`` on stdout.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from linkgap.cli.output import OutputFormat, count, emit, say, stderr
from linkgap.lookup import DOMAIN_METRICS_FIELDS
from linkgap.service.timeutil import iso_z
from linkgap.settings import Settings

if TYPE_CHECKING:
    from linkgap.ingest.base import InputStats

__all__ = ["register", "DOMAIN_FIELDS", "INFO_FIELDS"]

#: Columns of ``linkgap domain``: the API's domain-metrics fields, in the same order.
DOMAIN_FIELDS = DOMAIN_METRICS_FIELDS

#: Columns of ``linkgap index info``.
INFO_FIELDS = (
    "version", "built_at", "path", "psl_mode", "psl_version", "domains", "edges", "links",
    "dofollow_links", "skipped", "format", "evidence_per_edge", "edge_bytes", "evidence_bytes",
    "index_bytes", "bytes_per_edge", "evidence_bytes_per_edge", "index_bytes_per_edge",
    "out_links", "out_link_bytes", "out_link_bytes_per_edge", "inputs",
)


class InputFormat(enum.StrEnum):
    """Input formats ``index build`` reads (SPEC 2)."""

    auto = "auto"
    warc = "warc"
    wat = "wat"
    links_csv = "links-csv"
    cc_graph = "cc-graph"
    domain_edges = "domain-edges"


class Engine(enum.StrEnum):
    """Where ``index build`` reads and aggregates (finalising always runs here)."""

    embedded = "embedded"
    spark = "spark"


IndexOption = Annotated[Path | None, typer.Option(
    "--index", metavar="DIR", show_default=False,
    help="Index directory (default: LINKGAP_INDEX, else $LINKGAP_HOME/index).")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def _index_dir(index: Path | None) -> Path:
    return Path(Settings({"index": index}).index)


class _BuildProgress:
    """A rich progress line on stderr fed by the builder's progress callback."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TimeElapsedColumn(),
            console=stderr, transient=True,
        )
        self.task = self.progress.add_task("starting", total=None)
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and stage.startswith("reading"):
            return  # redraw at most ten times a second while reading
        self._last = now
        text = f"{stage}: {done:,} links" if stage.startswith("reading") else stage
        self.progress.update(self.task, description=text, completed=done, total=total)


def build(
    inputs: Annotated[list[str], typer.Argument(
        metavar="INPUT...", show_default=False,
        help="Crawl files: WARC, WAT, links CSV/Parquet, or a cc-graph vertices file "
             "followed by its edges file; or one domain-edges staging folder. Globs are "
             "expanded.")],
    index: IndexOption = None,
    input_format: Annotated[InputFormat, typer.Option(
        "--input-format", help="Format of every input; auto detects each from its name "
                               "and content.")] = InputFormat.auto,
    icann_only: Annotated[bool, typer.Option(
        "--icann-only", help="Use only the ICANN section of the Public Suffix List "
                             "(alice.github.io counts as github.io).")] = False,
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", metavar="SIZE", show_default=False,
        help="Memory the build may use (peak: this plus about 1 GB; the aggregation spills "
             "to disk beyond it), e.g. 4GB (default: LINKGAP_BUILD_MEMORY_LIMIT, else half "
             "of physical memory).")] = None,
    temp_dir: Annotated[Path | None, typer.Option(
        "--temp-dir", metavar="DIR", show_default=False,
        help="Folder for the embedded build's spill and scratch files (default: "
             "LINKGAP_BUILD_TEMP_DIR, "
             "else inside the build folder in the index directory).")] = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="embedded: read and aggregate in this process; spark: in Spark "
                         "tasks (pip install 'linkgap[spark]'), finalising here.")
    ] = Engine.embedded,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", metavar="URL", show_default=False,
        help="Spark master for --engine spark: local[N], spark://host:7077, yarn … "
             "(default: LINKGAP_SPARK_MASTER, else spark-submit's, else local[*]).")] = None,
    stage_only: Annotated[str | None, typer.Option(
        "--stage-only", metavar="OUT", show_default=False,
        help="With --engine spark: write only the Parquet domain edges to OUT (a folder or a "
             "URL the cluster writes); finalise later with linkgap index build OUT.")] = None,
    stage_dir: Annotated[str | None, typer.Option(
        "--stage-dir", metavar="URL", show_default=False,
        help="With --engine spark on a cluster: where executors write the staging folder "
             "before it is copied here (default: inside the index directory).")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="DOMAIN", show_default=False,
        help="The site a links export without a target column is for (a Search Console "
             "'latest links' export): each row links to http://DOMAIN/.")] = None,
    no_out_links: Annotated[bool, typer.Option(
        "--no-out-links",
        help="Leave out the out-links by source (4 bytes per edge) that link competitors "
             "need: `linkgap competitors` and the competitors endpoint then refuse.")] = False,
    evidence: Annotated[int | None, typer.Option(
        "--evidence", metavar="N", show_default=False,
        help="Sample links kept per domain edge (page URL, target URL, anchor, dofollow, "
             "dates), 0 to 100; 0 keeps none (default: LINKGAP_BUILD_EVIDENCE, else 3).")
    ] = None,
) -> None:
    """Build a new index version from crawl files and publish it atomically."""
    settings = Settings({"index": index, "build_memory_limit": memory_limit,
                         "spark_master": spark_master, "build_temp_dir": temp_dir,
                         "build_evidence": evidence})
    index_dir = Path(settings.index)
    if engine is Engine.embedded and (stage_only or stage_dir or spark_master):
        flag = "--stage-only" if stage_only else "--stage-dir" if stage_dir else "--spark-master"
        raise typer.BadParameter(f"{flag} needs --engine spark", param_hint="'--engine'")
    if stage_only and no_out_links:
        raise typer.BadParameter("out-links are written when the staged edges are finalised: "
                                 "give --no-out-links to that `linkgap index build OUT`",
                                 param_hint="'--no-out-links'")
    if engine is Engine.spark and temp_dir:
        raise typer.BadParameter("--temp-dir is where the embedded engine spills; Spark keeps "
                                 "its own (spark.local.dir)", param_hint="'--temp-dir'")
    if engine is Engine.spark and input_format is InputFormat.domain_edges:
        raise typer.BadParameter("a domain-edges folder is finalised by the embedded engine: "
                                 "drop --engine spark", param_hint="'--engine'")
    if engine is Engine.spark:
        from linkgap.spark import require_spark

        require_spark()  # before anything is printed: one line when pyspark or Java is missing
    progress = _BuildProgress()
    if stage_only:
        from linkgap.spark import spark_stage

        say(f"staging domain edges in {stage_only} with Spark")
        with progress.progress:
            staged = spark_stage(stage_only, inputs, input_format.value, icann_only=icann_only,
                                 progress=progress, memory_limit=settings.build_memory_limit,
                                 master=settings.spark_master, link_target=target,
                                 evidence=settings.build_evidence)
        _say_inputs(staged.inputs)
        t = staged.totals
        say(f"staged {count(t.domains, 'domain')}, {count(t.edges, 'domain edge')}, "
            f"{count(t.links, 'distinct link')} ({t.dofollow_links:,} dofollow) from "
            f"{count(t.occurrences, 'link occurrence')} in {staged.out}, in "
            f"{staged.seconds:.1f} s; publish it with: linkgap index build {staged.out}")
        return
    say(f"building the index in {index_dir}")
    with progress.progress, _terminate_as_interrupt():
        if engine is Engine.spark:
            from linkgap.spark import spark_build_index

            report = spark_build_index(
                index_dir, inputs, input_format.value, icann_only=icann_only, progress=progress,
                memory_limit=settings.build_memory_limit, master=settings.spark_master,
                stage_dir=stage_dir, link_target=target, out_links=not no_out_links,
                evidence=settings.build_evidence)
        else:
            from linkgap.index.build import build_index

            report = build_index(index_dir, inputs, input_format.value, icann_only=icann_only,
                                 progress=progress, memory_limit=settings.build_memory_limit,
                                 temp_dir=settings.build_temp_dir, link_target=target,
                                 out_links=not no_out_links,
                                 evidence=settings.build_evidence)
    _say_inputs(report.inputs)
    c = report.manifest.counts
    say(f"published version {report.version}: {count(c['domains'], 'domain')}, "
        f"{count(c['edges'], 'domain edge')}, {count(c['links'], 'distinct link')} "
        f"({c['dofollow_links']:,} dofollow) from {count(c['occurrences'], 'link occurrence')}, "
        f"{count(c['skipped'], 'item')} skipped, in {report.seconds:.1f} s")
    build_info = report.manifest.build or {}
    per_edge = report.manifest.evidence_per_edge
    if per_edge:
        say(f"evidence: up to {per_edge} sample links per domain edge, "
            f"{count((report.manifest.evidence or {}).get('samples', 0), 'sample')} kept")
    if build_info.get("memory_limit"):
        from linkgap.index.budget import format_size

        say(f"memory limit {format_size(int(build_info['memory_limit']))}, spilled at most "
            f"{format_size(report.spilled_bytes)} to disk")
    if report.previous_version:
        say(f"previous version {report.previous_version} kept")
    _warm_gap_kernel(index_dir)


def _warm_gap_kernel(index_dir: Path) -> None:
    """Compile the gap kernel for the new index's arrays now (once; numba caches it on
    disk), so that the first ``linkgap gap`` or served run does not wait for it."""
    from linkgap.gap import kernel
    from linkgap.index.reader import BacklinkIndex

    kernel.warm(BacklinkIndex.open(index_dir))


def _say_inputs(inputs: list[InputStats]) -> None:
    # One line per input, never wrapped: a table would fold long paths mid-name.
    for st in inputs:
        skipped = ", ".join(f"{reason} {n:,}" for reason, n in sorted(st.skipped.items()))
        say(f"input {st.input.label} ({st.input.format}): {count(st.records, 'record')}, "
            f"{count(st.pages, 'page')}, {count(st.links_seen, 'link')} seen, "
            f"{st.links_counted:,} counted; skipped: {skipped or 'nothing'}")
        if st.columns:
            mapped = ", ".join(f"{role} <- {name!r}" for role, name in st.columns.items())
            say(f"columns read from {st.input.label}: {mapped}")


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the build like Ctrl-C: its folders are removed on the way out."""
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (an embedding application): leave it be
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def info(index: IndexOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Show the published index version: build time, PSL mode, counts and inputs."""
    from linkgap.index.reader import BacklinkIndex

    backlinks = BacklinkIndex.open(_index_dir(index))
    m = backlinks.manifest
    row: dict[str, Any] = {
        "version": m.version,
        "built_at": iso_z(backlinks.built_at),  # the format of every linkgap timestamp
        "path": str(backlinks.path),
        "psl_mode": m.psl.get("mode"),
        "psl_version": m.psl.get("version"),
        **{k: m.counts.get(k, 0) for k in ("domains", "edges", "links", "dofollow_links",
                                           "skipped")},
        "format": m.format,
        "evidence_per_edge": backlinks.evidence_per_edge,
        **backlinks.disk_usage(),
    }
    if fmt is OutputFormat.json:
        emit([{**row, "inputs": m.inputs, "metrics": m.metrics}], fmt)
        return
    row["inputs"] = [i.get("input", "") for i in m.inputs]
    if fmt is OutputFormat.csv:
        emit([row], fmt, INFO_FIELDS)
        return
    emit([{"field": k, "value": v} for k, v in row.items()], fmt, ("field", "value"),
         title="backlink index")


def domain(
    domains: Annotated[list[str], typer.Argument(
        metavar="DOMAIN...", show_default=False,
        help="Domains to look up (URLs and host names are normalised).")],
    index: IndexOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the metrics of domains; unknown ones come back with found false."""
    from linkgap.index.reader import BacklinkIndex
    from linkgap.lookup import domain_metrics_rows

    backlinks = BacklinkIndex.open(_index_dir(index))
    # The rule of POST /v1/domains/metrics: same validation, merging, fields and formats.
    rows = domain_metrics_rows(backlinks, domains)
    emit(rows, fmt, DOMAIN_FIELDS, title=f"domain metrics (index version {backlinks.version})")


def register(app: typer.Typer) -> None:
    """Add ``index build``, ``index info`` and ``domain`` to the linkgap app."""
    group = typer.Typer(name="index", help="Build and inspect the backlink index.",
                        no_args_is_help=True, rich_markup_mode=None)
    group.command("build")(build)
    group.command("info")(info)
    app.add_typer(group, name="index")
    app.command("domain", short_help="Show the metrics of domains.")(domain)
