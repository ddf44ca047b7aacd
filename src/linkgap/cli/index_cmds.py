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
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from linkgap.cli.output import OutputFormat, emit, stderr
from linkgap.settings import Settings

__all__ = ["register", "DOMAIN_FIELDS", "INFO_FIELDS"]

#: Columns of ``linkgap domain`` (the API's domain-metrics fields, same order).
DOMAIN_FIELDS = (
    "input", "domain", "found", "domain_rating", "backlinks", "referring_domains",
    "spam_score", "spam_signals", "rank", "linked_domains", "outlinks", "fetched_at",
)

#: Columns of ``linkgap index info``.
INFO_FIELDS = (
    "version", "built_at", "path", "psl_mode", "psl_version", "domains", "edges", "links",
    "dofollow_links", "skipped", "format", "edge_bytes", "index_bytes", "bytes_per_edge",
    "index_bytes_per_edge", "inputs",
)


class InputFormat(enum.StrEnum):
    """Input formats ``index build`` reads (SPEC 2)."""

    auto = "auto"
    warc = "warc"
    wat = "wat"
    links_csv = "links-csv"
    cc_graph = "cc-graph"


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
             "followed by its edges file. Globs are expanded.")],
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
        help="Folder for the build's spill files (default: LINKGAP_BUILD_TEMP_DIR, else "
             "inside the build folder in the index directory).")] = None,
) -> None:
    """Build a new index version from crawl files and publish it atomically."""
    from linkgap.index.budget import format_size
    from linkgap.index.build import build_index

    settings = Settings({"build_temp_dir": temp_dir})
    index_dir = _index_dir(index)
    stderr.print(f"building the index in {index_dir}", highlight=False)
    progress = _BuildProgress()
    with progress.progress, _terminate_as_interrupt():
        report = build_index(index_dir, inputs, input_format.value, icann_only=icann_only,
                             progress=progress,
                             memory_limit=memory_limit or settings.build_memory_limit,
                             temp_dir=settings.build_temp_dir)
    table = Table(title="inputs", title_justify="left")
    for col in ("input", "format", "records", "pages", "links seen", "links counted",
                "skipped"):
        table.add_column(col, overflow="fold")
    for st in report.inputs:
        skipped = ", ".join(f"{reason}: {n:,}" for reason, n in sorted(st.skipped.items()))
        table.add_row(st.input.label, st.input.format, f"{st.records:,}", f"{st.pages:,}",
                      f"{st.links_seen:,}", f"{st.links_counted:,}", skipped or "-")
    stderr.print(table)
    c = report.manifest.counts
    stderr.print(
        f"published version {report.version}: {c['domains']:,} domains, {c['edges']:,} "
        f"domain edges, {c['links']:,} distinct links ({c['dofollow_links']:,} dofollow) "
        f"from {c['occurrences']:,} link occurrences, {c['skipped']:,} items skipped, "
        f"in {report.seconds:.1f} s",
        highlight=False,
    )
    build_info = report.manifest.build or {}
    stderr.print(
        f"memory limit {format_size(int(build_info.get('memory_limit', 0)))}, "
        f"spilled at most {format_size(report.spilled_bytes)} to disk",
        highlight=False,
    )
    if report.previous_version:
        stderr.print(f"previous version {report.previous_version} kept", highlight=False)


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
        "built_at": m.built_at,
        "path": str(backlinks.path),
        "psl_mode": m.psl.get("mode"),
        "psl_version": m.psl.get("version"),
        **{k: m.counts.get(k, 0) for k in ("domains", "edges", "links", "dofollow_links",
                                           "skipped")},
        "format": m.format,
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
    from linkgap.errors import InvalidDomain
    from linkgap.index.reader import BacklinkIndex

    backlinks = BacklinkIndex.open(_index_dir(index))
    # Validate everything first: one invalid domain fails the command, as in the API.
    names: list[tuple[str, str]] = []
    for i, text in enumerate(domains):
        try:
            names.append((text, backlinks.normalize(text)))
        except InvalidDomain as exc:
            raise InvalidDomain(exc.value, exc.reason, param=f"domains[{i}]") from None
    rows = []
    seen: set[str] = set()
    for text, name in names:
        if name in seen:
            continue  # duplicates after normalisation are merged
        seen.add(name)
        domain_id = backlinks.id_of(name)
        row: dict[str, Any] = dict.fromkeys(DOMAIN_FIELDS)
        row.update(input=text, domain=name, found=domain_id is not None)
        if domain_id is not None:
            row.update(backlinks.metrics_of(domain_id).as_dict())
            row["fetched_at"] = backlinks.manifest.built_at
        rows.append(row)
    emit(rows, fmt, DOMAIN_FIELDS, title=f"domain metrics (index version {backlinks.version})")


def register(app: typer.Typer) -> None:
    """Add ``index build``, ``index info`` and ``domain`` to the linkgap app."""
    group = typer.Typer(name="index", help="Build and inspect the backlink index.",
                        no_args_is_help=True)
    group.command("build")(build)
    group.command("info")(info)
    app.add_typer(group, name="index")
    app.command("domain")(domain)
