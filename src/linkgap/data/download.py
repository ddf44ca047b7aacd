"""Resumable, size-checked, retried downloads of large files over HTTP.

One file goes to ``DEST.part`` while it downloads and is renamed to ``DEST``
only when its size matches what the server announced, so a finished name is
always a whole file. An interrupted download keeps its ``.part`` file and the
next attempt (or the next run of the command) asks for the rest with an HTTP
``Range`` request; a server that ignores ranges answers 200 and the file starts
again from zero. Transport errors, 429 and 5xx answers are retried with
exponential backoff; a failure that made progress does not use up a retry.
A 404 or another 4xx is final at once.

Nothing here knows about Common Crawl: ``linkgap.data.commoncrawl`` says which
files to fetch.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from linkgap.errors import DownloadFailed

__all__ = [
    "DownloadJob",
    "DownloadProgress",
    "DownloadResult",
    "RetryPolicy",
    "download_all",
    "download_file",
]

_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class DownloadJob:
    """One file to fetch: where from, and where it ends up."""

    url: str
    dest: Path

    @property
    def part(self) -> Path:
        """The file the bytes go to until the download is whole."""
        return self.dest.with_name(self.dest.name + ".part")


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one job: ``downloaded``, ``resumed`` or ``present`` (already whole)."""

    job: DownloadJob
    outcome: str
    size: int
    fetched: int
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: delay ``base * 2**n`` seconds, at most ``cap``."""

    retries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, failures: int) -> float:
        """The wait before the attempt that follows ``failures`` failures in a row."""
        return float(min(self.max_delay, self.base_delay * (2 ** (failures - 1))))


class DownloadProgress(Protocol):
    """Receives progress; called from the download threads."""

    def started(self, job: DownloadJob, total: int | None, already: int) -> None: ...

    def advanced(self, job: DownloadJob, nbytes: int) -> None: ...

    def restarted(self, job: DownloadJob) -> None: ...

    def finished(self, job: DownloadJob, result: DownloadResult) -> None: ...


class _Retry(Exception):
    """An attempt failed in a way worth trying again."""

    def __init__(self, reason: str, progressed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progressed = progressed


def _announced_size(response: httpx.Response) -> int | None:
    """The whole file's size from a 200's Content-Length or a 206/416's Content-Range."""
    content_range = response.headers.get("content-range")
    if content_range:
        match = _CONTENT_RANGE.fullmatch(content_range.strip())
        if match and match.group(3) != "*":
            return int(match.group(3))
        return None
    length = response.headers.get("content-length")
    if response.status_code == 200 and length and length.isdigit():
        return int(length)
    return None


def _range_start(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    return int(match.group(1)) if match and match.group(1) is not None else None


def _remote_size(client: httpx.Client, url: str) -> int | None:
    """The size a HEAD request announces, or None when the server does not say."""
    try:
        response = client.head(url)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    return _announced_size(response)


def _fail(job: DownloadJob, response: httpx.Response) -> DownloadFailed:
    status = response.status_code
    what = "not found" if status == 404 else f"HTTP {status}"
    return DownloadFailed(f"{job.url}: {what}", details={"url": job.url, "status": status})


def _attempt(client: httpx.Client, job: DownloadJob, expected: int | None,
             progress: DownloadProgress | None, shown: list[bool]) -> tuple[int, int, bool]:
    """One GET of the rest of the file; returns (size, bytes fetched, resumed).

    ``expected`` is the size a HEAD request announced: every answer must agree
    with it, and the file on disk must end up that long. ``shown`` holds one
    flag: whether ``progress`` has been told the download started.
    """
    offset = job.part.stat().st_size if job.part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    fetched = 0
    with client.stream("GET", job.url, headers=headers) as response:
        status = response.status_code
        if status == 416 and offset:
            total = _announced_size(response)
            if total == offset:
                return offset, 0, True  # the part file already holds every byte
            job.part.unlink()  # the part file is longer than the file: start again
            raise _Retry("the partial file did not match the server's file", progressed=False)
        if status in _RETRYABLE_STATUS:
            raise _Retry(f"HTTP {status}", progressed=False)
        if status not in (200, 206):
            raise _fail(job, response)
        total = _announced_size(response)
        if expected is not None and total is not None and total != expected:
            job.part.unlink(missing_ok=True)
            raise _Retry(f"size mismatch: the server announced {expected:,} bytes, then "
                         f"{total:,}", progressed=False)
        total = expected if total is None else total
        if status == 206 and _range_start(response) != offset:
            raise DownloadFailed(f"{job.url}: the server sent a range that was not asked for",
                                 details={"url": job.url})
        resumed = status == 206
        mode = "ab" if resumed else "wb"
        if not resumed and offset and progress:
            progress.restarted(job)
        if progress and not shown[0]:
            progress.started(job, total, offset if resumed else 0)
            shown[0] = True
        have = offset if resumed else 0
        try:
            with open(job.part, mode) as out:
                for chunk in response.iter_raw():  # as it arrives, undecoded
                    out.write(chunk)
                    fetched += len(chunk)
                    have += len(chunk)
                    if progress:
                        progress.advanced(job, len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise _Retry(f"connection lost after {have:,} bytes ({type(exc).__name__})",
                         progressed=fetched > 0) from None
    if total is None:
        return have, fetched, resumed
    if have < total:
        raise _Retry(f"got {have:,} of {total:,} bytes", progressed=fetched > 0)
    if have > total:
        job.part.unlink()
        raise _Retry(f"size mismatch: received {have:,} bytes, the server announced {total:,}",
                     progressed=False)
    return total, fetched, resumed


def download_file(client: httpx.Client, job: DownloadJob, *, policy: RetryPolicy = RetryPolicy(),
                  progress: DownloadProgress | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> DownloadResult:
    """Fetch one file to ``job.dest`` (resuming ``job.part``); raise DownloadFailed if it can't."""
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    remote = _remote_size(client, job.url)
    if job.dest.exists() and not job.part.exists():
        size = job.dest.stat().st_size
        if remote is None or remote == size:
            result = DownloadResult(job, "present", size, 0, 0)
            if progress:
                progress.started(job, size, size)
                progress.finished(job, result)
            return result
        job.dest.unlink()  # the remote file changed: fetch it again
    failures = attempts = fetched_total = 0
    resumed_any = job.part.exists()
    shown = [False]
    while True:
        attempts += 1
        try:
            size, fetched, resumed = _attempt(client, job, remote, progress, shown)
        except _Retry as retry:
            failures = 1 if retry.progressed else failures + 1
            if failures > policy.retries:
                raise DownloadFailed(
                    f"{job.url}: {retry.reason}; gave up after {attempts} attempts "
                    f"(run the command again to resume)",
                    details={"url": job.url, "attempts": attempts}) from None
            sleep(policy.delay(failures))
            resumed_any = resumed_any or job.part.exists()
            continue
        except httpx.TransportError as exc:  # before any byte: cannot connect, timeout
            failures += 1
            if failures > policy.retries:
                raise DownloadFailed(
                    f"{job.url}: {type(exc).__name__}: {exc}; gave up after {attempts} attempts",
                    details={"url": job.url, "attempts": attempts}) from None
            sleep(policy.delay(failures))
            continue
        fetched_total += fetched
        resumed_any = resumed_any or resumed
        break
    os.replace(job.part, job.dest)
    result = DownloadResult(job, "resumed" if resumed_any else "downloaded", size,
                            fetched_total, attempts)
    if progress:
        if not shown[0]:
            progress.started(job, size, size)
        progress.finished(job, result)
    return result


def download_all(jobs: Sequence[DownloadJob], *, parallel: int = 4,
                 policy: RetryPolicy = RetryPolicy(), progress: DownloadProgress | None = None,
                 timeout: float = 60.0,
                 client: httpx.Client | None = None) -> list[DownloadResult]:
    """Fetch every job, ``parallel`` at a time; every file that can be fetched is, then
    one DownloadFailed names all that could not (their ``.part`` files stay for a resume)."""
    own = client is None
    http = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True,
                                  headers={"User-Agent": "linkgap data fetch"})
    results: dict[int, DownloadResult] = {}
    errors: dict[int, DownloadFailed] = {}
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            result = download_file(http, jobs[i], policy=policy, progress=progress)
        except DownloadFailed as exc:
            with lock:
                errors[i] = exc
            return
        with lock:
            results[i] = result

    try:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(run, range(len(jobs))))
    finally:
        if own:
            http.close()
    if errors:
        failed = [errors[i] for i in sorted(errors)]
        lines = "; ".join(e.message for e in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        noun = "file" if len(failed) == 1 else "files"
        raise DownloadFailed(
            f"{len(failed)} of {len(jobs)} {noun} could not be downloaded: {lines}{more}",
            details={"failed": [e.details for e in failed]})
    return [results[i] for i in range(len(jobs))]
