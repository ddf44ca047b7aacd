"""Where Common Crawl keeps what linkgap reads, and what to fetch for a request.

Two products (SPEC 10, docs/data.md):

- the domain-level web graph of a release:
  ``projects/hyperlinkgraph/<release>/domain/<release>-domain-vertices.txt.gz``
  and ``…-domain-edges.txt.gz``;
- the WAT files of a monthly crawl, listed one path per line in
  ``crawl-data/<CRAWL>/wat.paths.gz``.

Files land under the destination folder as ``cc-graph/<release>/<file>`` and
``cc-wat/<CRAWL>/<file>`` (the listing beside them), so a later run of the same
command resumes and finds what is already whole.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

from linkgap.data.download import DownloadJob
from linkgap.errors import DownloadFailed, InvalidInput

__all__ = [
    "graph_jobs",
    "listing_job",
    "normalize_base_url",
    "parse_listing",
    "validate_crawl",
    "validate_release",
    "wat_jobs",
]

_RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_CRAWL = re.compile(r"CC-MAIN-\d{4}-\d{2}")


def normalize_base_url(url: str) -> str:
    """The base URL with a trailing slash; only http and https are accepted."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"LINKGAP_CC_BASE_URL (or --base-url) must be an http(s) URL, not {url!r}",
            param="LINKGAP_CC_BASE_URL")
    return url.strip() if url.strip().endswith("/") else url.strip() + "/"


def validate_release(release: str) -> str:
    """A web-graph release name such as ``cc-main-2024-nov-dec-jan``."""
    if not _RELEASE.fullmatch(release):
        raise InvalidInput(
            f"{release!r} is not a web-graph release name (letters, digits, '-', '_' and "
            "'.', as in cc-main-2024-nov-dec-jan)", param="RELEASE")
    return release


def validate_crawl(crawl: str) -> str:
    """A crawl id such as ``CC-MAIN-2024-51`` (any case in, upper case out)."""
    name = crawl.strip().upper()
    if not _CRAWL.fullmatch(name):
        raise InvalidInput(f"{crawl!r} is not a crawl id (like CC-MAIN-2024-51)", param="CRAWL")
    return name


def graph_jobs(release: str, base_url: str, dest: Path) -> list[DownloadJob]:
    """The vertices file and then the edges file of a release's domain-level graph."""
    release = validate_release(release)
    folder = dest / "cc-graph" / release
    return [
        DownloadJob(urljoin(base_url, f"projects/hyperlinkgraph/{release}/domain/{name}"),
                    folder / name)
        for name in (f"{release}-domain-vertices.txt.gz", f"{release}-domain-edges.txt.gz")
    ]


def listing_job(crawl: str, base_url: str, dest: Path) -> DownloadJob:
    """The crawl's ``wat.paths.gz`` listing."""
    crawl = validate_crawl(crawl)
    return DownloadJob(urljoin(base_url, f"crawl-data/{crawl}/wat.paths.gz"),
                       dest / "cc-wat" / crawl / "wat.paths.gz")


def parse_listing(path: Path, crawl: str) -> list[str]:
    """The WAT paths a listing names, checked to be plain relative paths of that crawl."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        path.unlink(missing_ok=True)  # a damaged listing is fetched again next time
        raise DownloadFailed(f"{path.name} of {crawl} is not a gzip text listing: {exc}",
                             details={"path": str(path)}) from None
    for line in lines:
        parts = PurePosixPath(line).parts
        if (line.startswith("/") or ".." in parts or "://" in line
                or not line.endswith(".warc.wat.gz")):
            raise DownloadFailed(f"{path.name} of {crawl} names an unexpected path: {line!r}",
                                 details={"path": line})
    return lines


def wat_jobs(paths: Sequence[str], crawl: str, base_url: str, dest: Path, files: int,
             offset: int) -> list[DownloadJob]:
    """Jobs for ``files`` WAT files of a listing, starting at the ``offset``-th (0-based)."""
    if files < 1:
        raise InvalidInput("--files must be at least 1", param="--files")
    if offset < 0:
        raise InvalidInput("--offset must be 0 or more", param="--offset")
    if offset >= len(paths):
        raise InvalidInput(
            f"--offset {offset} is past the end of {crawl}'s listing ({len(paths):,} WAT files)",
            param="--offset")
    folder = dest / "cc-wat" / validate_crawl(crawl)
    chosen = paths[offset:offset + files]
    return [DownloadJob(urljoin(base_url, p), folder / PurePosixPath(p).name) for p in chosen]
