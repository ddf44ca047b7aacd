"""``linkgap data fetch cc-graph`` and ``linkgap data fetch cc-wat`` (SPEC 10).

Thin over ``linkgap.data``: a progress bar with rate and ETA on stderr, the
paths of the fetched files on stdout (one per line, so they can feed
``linkgap index build``), and the build command to run next on stderr.
"""

from __future__ import annotations

import shlex
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from linkgap.cli.output import stderr
from linkgap.data.download import DownloadJob, DownloadResult, RetryPolicy, download_all
from linkgap.settings import Settings

__all__ = ["register"]

DestOption = Annotated[Path | None, typer.Option(
    "--dest", metavar="DIR", show_default=False,
    help="Download folder (default: LINKGAP_DATA_DIR, else $LINKGAP_HOME/data).")]
BaseUrlOption = Annotated[str | None, typer.Option(
    "--base-url", metavar="URL", show_default=False,
    help="Common Crawl's HTTP endpoint or a mirror (default: LINKGAP_CC_BASE_URL).")]
ParallelOption = Annotated[int, typer.Option(
    "--parallel", min=1, max=32, help="Files downloaded at once.")]
RetriesOption = Annotated[int, typer.Option(
    "--retries", min=0, max=100,
    help="Retries per file after a failure that made no progress (backoff doubles).")]


class _BarProgress:
    """A rich progress display: one bar for all bytes, one line per file in flight."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=stderr, transient=True)
        self.total = self.progress.add_task("all files", total=0)
        self._tasks: dict[Path, TaskID] = {}
        self._lock = threading.Lock()

    def started(self, job: DownloadJob, total: int | None, already: int) -> None:
        with self._lock:
            task = self.progress.add_task(job.dest.name, total=total, completed=already)
            self._tasks[job.dest] = task
            whole = self.progress.tasks[self.total]
            self.progress.update(self.total, total=(whole.total or 0) + (total or 0),
                                 advance=already)

    def advanced(self, job: DownloadJob, nbytes: int) -> None:
        self.progress.update(self._tasks[job.dest], advance=nbytes)
        self.progress.update(self.total, advance=nbytes)

    def restarted(self, job: DownloadJob) -> None:
        stderr.print(f"{job.dest.name}: the server ignored the resume request; starting "
                     "the file again", highlight=False)

    def finished(self, job: DownloadJob, result: DownloadResult) -> None:
        with self._lock:
            self.progress.remove_task(self._tasks.pop(job.dest))


def _settings(dest: Path | None, base_url: str | None) -> tuple[Path, str]:
    from linkgap.data.commoncrawl import normalize_base_url

    settings = Settings({"data_dir": dest, "cc_base_url": base_url})
    return Path(settings.data_dir), normalize_base_url(settings.cc_base_url)


def _fetch(jobs: list[DownloadJob], parallel: int, retries: int) -> list[DownloadResult]:
    bar = _BarProgress()
    with bar.progress:
        results = download_all(jobs, parallel=parallel, policy=RetryPolicy(retries=retries),
                               progress=bar)
    for result in results:
        typer.echo(str(result.job.dest))
    fetched = sum(r.fetched for r in results)
    present = sum(r.outcome == "present" for r in results)
    noun = "file" if len(results) == 1 else "files"
    note = f", {present} already present" if present else ""
    stderr.print(f"{len(results)} {noun} ready ({fetched:,} bytes downloaded{note})",
                 highlight=False)
    return results


def fetch_cc_graph(
    release: Annotated[str, typer.Argument(
        metavar="RELEASE", show_default=False,
        help="Web-graph release, as named on Common Crawl's blog "
             "(e.g. cc-main-2024-nov-dec-jan).")],
    dest: DestOption = None,
    base_url: BaseUrlOption = None,
    parallel: ParallelOption = 2,
    retries: RetriesOption = 5,
) -> None:
    """Download a release's domain-level graph (vertices and edges files)."""
    from linkgap.data.commoncrawl import graph_jobs

    folder, base = _settings(dest, base_url)
    results = _fetch(graph_jobs(release, base, folder), parallel, retries)
    paths = " ".join(shlex.quote(str(r.job.dest)) for r in results)
    stderr.print(f"next: linkgap index build {paths}", highlight=False, soft_wrap=True)


def fetch_cc_wat(
    crawl: Annotated[str, typer.Argument(
        metavar="CRAWL", show_default=False, help="Crawl id, e.g. CC-MAIN-2024-51.")],
    files: Annotated[int, typer.Option(
        "--files", min=1, show_default=False, help="How many WAT files to download.")],
    offset: Annotated[int, typer.Option(
        "--offset", min=0, help="Skip this many files of the crawl's listing first.")] = 0,
    dest: DestOption = None,
    base_url: BaseUrlOption = None,
    parallel: ParallelOption = 4,
    retries: RetriesOption = 5,
) -> None:
    """Download N WAT files of a crawl, chosen from its wat.paths.gz listing."""
    from linkgap.data.commoncrawl import listing_job, parse_listing, wat_jobs

    folder, base = _settings(dest, base_url)
    listing = listing_job(crawl, base, folder)
    download_all([listing], parallel=1, policy=RetryPolicy(retries=retries))
    paths = parse_listing(listing.dest, crawl)
    results = _fetch(wat_jobs(paths, crawl, base, folder, files, offset), parallel, retries)
    wat_dir = shlex.quote(str(results[0].job.dest.parent))
    stderr.print(f"next: linkgap index build {wat_dir}/'*.warc.wat.gz'", highlight=False,
                 soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``data fetch cc-graph`` and ``data fetch cc-wat`` to the linkgap app."""
    data = typer.Typer(name="data", help="Get crawl data to build an index from.",
                       no_args_is_help=True)
    fetch = typer.Typer(name="fetch", no_args_is_help=True,
                        help="Download Common Crawl files (resumable, size-checked).")
    fetch.command("cc-graph")(fetch_cc_graph)
    fetch.command("cc-wat")(fetch_cc_wat)
    data.add_typer(fetch, name="fetch")
    app.add_typer(data, name="data")
