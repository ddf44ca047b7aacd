"""A Spark build killed half-way (SIGKILL of the linkgap process) publishes nothing.

The published version stays readable and current, Spark's JVM goes with the
process, and the next build removes the killed build's temp folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.corpus import all_inputs, require_spark_or_skip

from linkgap import BacklinkIndex
from linkgap.index.build import build_index
from linkgap.index.versions import read_current

# A Spark session can take minutes to start on a busy machine: a longer budget than the
# suite's 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_killed_spark_build_leaves_the_published_index(
        corpus: dict[str, list[str]], tmp_path: Path) -> None:
    require_spark_or_skip()
    index_dir = tmp_path / "index"
    build_index(index_dir, corpus["links-csv"])
    published = read_current(index_dir)
    before = BacklinkIndex.open(index_dir).manifest.counts

    linkgap = Path(sys.executable).with_name("linkgap")
    proc = subprocess.Popen(
        [str(linkgap), "index", "build", "--index", str(index_dir), "--engine", "spark",
         "--spark-master", "local[2]", *all_inputs(corpus)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Kill it while Spark writes the staging folder inside the build's tmp folder.
        staging_started = _wait_for(
            lambda: any(index_dir.glob("tmp-*/work/staging/_work/*")) or proc.poll() is not None,
            900)
        assert staging_started and proc.poll() is None, "the build ended before it was killed"
        descendants = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # Spark's JVM notices its parent is gone (its stdin closes) and exits.
        assert _wait_for(lambda: not any(_alive(p) for p in descendants), 60), (
            "Spark's JVM outlived the killed build")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)

    assert read_current(index_dir) == published
    assert BacklinkIndex.open(index_dir).manifest.counts == before
    assert list(index_dir.glob("tmp-*")), "the killed build's temp folder should be there"
    build_index(index_dir, corpus["links-csv"])  # the next build cleans up
    assert not list(index_dir.glob("tmp-*"))
