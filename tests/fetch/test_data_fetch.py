"""``linkgap data fetch`` against a local server laid out like Common Crawl's (SPEC 10).

The tree holds a release's domain graph and a crawl's ``wat.paths.gz`` with
three WAT files, all written in their real formats; the server can drop a
connection halfway, fail with 5xx, ignore ranges or announce a wrong size.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ccserver import CCServer, serve_tree
from support.crawlfiles import WatPage, write_cc_graph, write_wat

from linkgap.data.commoncrawl import graph_jobs, normalize_base_url, validate_crawl
from linkgap.data.download import DownloadJob, RetryPolicy, download_all, download_file
from linkgap.errors import DownloadFailed, InvalidInput
from linkgap.index.reader import BacklinkIndex

RELEASE = "cc-main-2024-nov-dec-jan"
CRAWL = "CC-MAIN-2024-51"
GRAPH_DIR = f"projects/hyperlinkgraph/{RELEASE}/domain"
VERTICES = f"/{GRAPH_DIR}/{RELEASE}-domain-vertices.txt.gz"
EDGES = f"/{GRAPH_DIR}/{RELEASE}-domain-edges.txt.gz"
SEGMENT = f"crawl-data/{CRAWL}/segments/1733066035857.0/wat"
WAT_NAMES = [f"{CRAWL}-20241201000{i}-0000{i}.warc.wat.gz" for i in range(3)]
FAST = RetryPolicy(retries=3, base_delay=0.01, max_delay=0.05)


def _tree(root: Path) -> Path:
    """Write the fixture tree: graph files, a WAT listing and three WAT files."""
    names = ["com.alpha", "com.beta", "com.gamma", "org.delta", "net.epsilon", "io.github.zeta"]
    write_cc_graph(root / GRAPH_DIR, f"{RELEASE}-domain",
                   [(i, name, 1) for i, name in enumerate(names)],
                   [(0, 1), (0, 2), (3, 1), (4, 2), (5, 1), (3, 2), (1, 2)] * 1)
    wat_dir = root / SEGMENT
    wat_dir.mkdir(parents=True)
    for i, name in enumerate(WAT_NAMES):
        pages = [WatPage(f"https://site{i}-{j}.com/page", [
            (f"https://target{i}.org/x{j}", "dofollow link", None),
            (f"https://shared.net/{i}/{j}", "anchor", "nofollow"),
        ]) for j in range(40)]
        write_wat(wat_dir / name, pages)
    listing = root / f"crawl-data/{CRAWL}/wat.paths.gz"
    with gzip.open(listing, "wt", encoding="utf-8") as fh:
        for name in WAT_NAMES:
            fh.write(f"{SEGMENT}/{name}\n")
    return root


@pytest.fixture
def cc(tmp_path: Path) -> CCServer:
    with serve_tree(_tree(tmp_path / "commoncrawl")) as server:
        yield server


def _cli(args: list[str], home: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LINKGAP_HOME": str(home), "LINKGAP_CC_BASE_URL": base_url,
           "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "linkgap", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cc_graph_is_fetched_and_builds_an_index(cc: CCServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _cli(["data", "fetch", "cc-graph", RELEASE], home, cc.base_url)
    assert done.returncode == 0, done.stderr
    paths = [Path(p) for p in done.stdout.split()]
    folder = home / "data" / "cc-graph" / RELEASE
    assert paths == [folder / Path(VERTICES).name, folder / Path(EDGES).name]
    for path, served in zip(paths, (VERTICES, EDGES), strict=True):
        assert path.read_bytes() == (cc.root / served.lstrip("/")).read_bytes()
    assert not list(folder.glob("*.part"))
    assert "linkgap index build" in done.stderr and "2 files ready" in done.stderr

    build = _cli(["index", "build", *map(str, paths)], home, cc.base_url)
    assert build.returncode == 0, build.stderr
    index = BacklinkIndex.open(home / "index")
    beta = index.domain("beta.com")
    assert beta is not None and beta.referring_domains == 3  # alpha, delta, zeta.github.io


def test_cc_wat_fetches_n_files_from_the_offset_and_builds(cc: CCServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _cli(["data", "fetch", "cc-wat", CRAWL.lower(), "--files", "2", "--offset", "1",
                 "--parallel", "2"], home, cc.base_url)
    assert done.returncode == 0, done.stderr
    folder = home / "data" / "cc-wat" / CRAWL
    assert [Path(p) for p in done.stdout.split()] == [folder / n for n in WAT_NAMES[1:]]
    assert (folder / "wat.paths.gz").exists() and not (folder / WAT_NAMES[0]).exists()
    fetched = [p for m, p, _ in cc.log if m == "GET"]
    assert f"/{SEGMENT}/{WAT_NAMES[0]}" not in fetched

    build = _cli(["index", "build", str(folder / "*.warc.wat.gz")], home, cc.base_url)
    assert build.returncode == 0, build.stderr
    index = BacklinkIndex.open(home / "index")
    assert index.domain("target1.org") is not None and index.domain("target2.org") is not None
    assert index.domain("target0.org") is None


def test_an_interrupted_download_resumes_with_a_range_request(cc: CCServer,
                                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    size = (cc.root / EDGES.lstrip("/")).stat().st_size
    half = size // 2
    cc.drop_after[EDGES] = half
    cc.drops[EDGES] = 1
    first = _cli(["data", "fetch", "cc-graph", RELEASE, "--retries", "0"], home, cc.base_url)
    assert first.returncode == 1
    assert "could not be downloaded" in first.stderr and "run the command again" in first.stderr
    folder = home / "data" / "cc-graph" / RELEASE
    part = folder / (Path(EDGES).name + ".part")
    assert part.stat().st_size == half and not (folder / Path(EDGES).name).exists()
    assert (folder / Path(VERTICES).name).exists()  # the other file still finished

    second = _cli(["data", "fetch", "cc-graph", RELEASE], home, cc.base_url)
    assert second.returncode == 0, second.stderr
    assert cc.gets(EDGES) == [None, f"bytes={half}-"]
    assert cc.gets(VERTICES) == [None]  # whole already: only a HEAD the second time
    assert (folder / Path(EDGES).name).read_bytes() == (cc.root / EDGES.lstrip("/")).read_bytes()
    assert not part.exists()
    assert "1 already present" in second.stderr


def test_dropped_connections_are_resumed_within_one_run(cc: CCServer, tmp_path: Path) -> None:
    path = f"/{SEGMENT}/{WAT_NAMES[0]}"
    size = (cc.root / path.lstrip("/")).stat().st_size
    step = size // 4
    cc.drop_after[path] = step
    cc.drops[path] = 3  # three cut answers in a row, each making progress
    job = DownloadJob(cc.base_url + path.lstrip("/"), tmp_path / "out" / "a.wat.gz")
    import httpx

    with httpx.Client() as client:
        result = download_file(client, job, policy=RetryPolicy(retries=1, base_delay=0.01))
    assert result.outcome == "resumed" and result.attempts == 4
    assert cc.gets(path) == [None, f"bytes={step}-", f"bytes={2 * step}-", f"bytes={3 * step}-"]
    assert job.dest.read_bytes() == (cc.root / path.lstrip("/")).read_bytes()


def test_server_errors_are_retried_with_backoff(cc: CCServer, tmp_path: Path) -> None:
    cc.fail[VERTICES] = [503, 500, 429]
    delays: list[float] = []
    job = graph_jobs(RELEASE, cc.base_url, tmp_path)[0]
    import httpx

    with httpx.Client() as client:
        result = download_file(client, job, policy=RetryPolicy(retries=3, base_delay=0.5),
                               sleep=delays.append)
    assert delays == [0.5, 1.0, 2.0]
    assert result.outcome == "downloaded" and result.attempts == 4
    assert job.dest.read_bytes() == (cc.root / VERTICES.lstrip("/")).read_bytes()


def test_too_many_failures_give_up_and_keep_nothing_half_made(cc: CCServer,
                                                              tmp_path: Path) -> None:
    cc.fail[VERTICES] = [503] * 10
    jobs = graph_jobs(RELEASE, cc.base_url, tmp_path)
    with pytest.raises(DownloadFailed, match=r"1 of 2 file could not|HTTP 503"):
        download_all(jobs, policy=FAST)
    assert not jobs[0].dest.exists() and jobs[1].dest.exists()
    assert len(cc.gets(VERTICES)) == FAST.retries + 1


def test_a_size_mismatch_is_refused(cc: CCServer, tmp_path: Path) -> None:
    size = (cc.root / EDGES.lstrip("/")).stat().st_size
    cc.head_size[EDGES] = size + 10  # the mirror announces more than it sends
    jobs = graph_jobs(RELEASE, cc.base_url, tmp_path)
    with pytest.raises(DownloadFailed, match="size mismatch") as raised:
        download_all(jobs, policy=FAST)
    assert not jobs[1].dest.exists()
    assert raised.value.details and raised.value.details["failed"][0]["url"] == jobs[1].url


def test_a_missing_release_is_a_404_without_retries(cc: CCServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _cli(["data", "fetch", "cc-graph", "cc-main-1999-jan"], home, cc.base_url)
    assert done.returncode == 1
    assert "not found" in done.stderr and "Traceback" not in done.stderr
    gets = [p for m, p, _ in cc.log if m == "GET"]
    assert len(gets) == 2  # one GET per file, no retry of a 404
    assert not list((home / "data").rglob("*.gz"))


def test_a_server_that_ignores_ranges_restarts_the_file(cc: CCServer, tmp_path: Path) -> None:
    job = graph_jobs(RELEASE, cc.base_url, tmp_path)[1]
    job.dest.parent.mkdir(parents=True)
    job.part.write_bytes(b"stale bytes of an earlier attempt")
    cc.ignore_range.add(EDGES)
    [result] = download_all([job], policy=FAST)
    assert job.dest.read_bytes() == (cc.root / EDGES.lstrip("/")).read_bytes()
    assert result.size == job.dest.stat().st_size


def test_a_changed_remote_file_is_fetched_again(cc: CCServer, tmp_path: Path) -> None:
    job = graph_jobs(RELEASE, cc.base_url, tmp_path)[0]
    job.dest.parent.mkdir(parents=True)
    job.dest.write_bytes(b"an older, shorter file")
    [result] = download_all([job], policy=FAST)
    assert result.outcome == "downloaded"
    assert job.dest.read_bytes() == (cc.root / VERTICES.lstrip("/")).read_bytes()


def test_a_part_file_longer_than_the_remote_file_starts_again(cc: CCServer,
                                                              tmp_path: Path) -> None:
    job = graph_jobs(RELEASE, cc.base_url, tmp_path)[0]
    size = (cc.root / VERTICES.lstrip("/")).stat().st_size
    job.dest.parent.mkdir(parents=True)
    job.part.write_bytes(b"x" * (size + 100))
    download_all([job], policy=FAST)
    assert job.dest.read_bytes() == (cc.root / VERTICES.lstrip("/")).read_bytes()


@pytest.mark.parametrize(("args", "message"), [
    (["cc-graph", "../etc"], "is not a web-graph release name"),
    (["cc-wat", "CC-MAIN-24", "--files", "1"], "is not a crawl id"),
    (["cc-wat", CRAWL, "--files", "1", "--offset", "3"], "past the end of"),
])
def test_bad_requests_are_one_line_errors(cc: CCServer, tmp_path: Path, args: list[str],
                                          message: str) -> None:
    done = _cli(["data", "fetch", *args], tmp_path / "home", cc.base_url)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_listing_naming_other_paths_is_refused(cc: CCServer, tmp_path: Path) -> None:
    listing = cc.root / f"crawl-data/{CRAWL}/wat.paths.gz"
    with gzip.open(listing, "wt", encoding="utf-8") as fh:
        fh.write("../../../etc/passwd.warc.wat.gz\n")
    done = _cli(["data", "fetch", "cc-wat", CRAWL, "--files", "1"], tmp_path / "home",
                cc.base_url)
    assert done.returncode == 1 and "names an unexpected path" in done.stderr


def test_the_base_url_must_be_http() -> None:
    assert normalize_base_url("http://127.0.0.1:9/cc") == "http://127.0.0.1:9/cc/"
    with pytest.raises(InvalidInput, match="LINKGAP_CC_BASE_URL"):
        normalize_base_url("file:///etc")
    assert validate_crawl(" cc-main-2024-51 ") == CRAWL
