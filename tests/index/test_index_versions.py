"""Versions on disk: atomic publication, failed builds, retention, concurrent readers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from linkgap import BacklinkIndex
from linkgap.errors import BuildFailed, IndexUnavailable
from linkgap.index.build import build_from_batches, build_from_links
from linkgap.index.format import FORMAT_VERSION
from linkgap.index.versions import read_current


def _graph(k: int) -> list[tuple[str, str]]:
    """A small graph whose size depends on k, so versions are told apart by counts."""
    return [(f"https://s{i}.com/", f"https://t{i % 3}.com/") for i in range(k + 2)]


def _versions(path: Path) -> list[str]:
    return sorted(p.name for p in (path / "versions").iterdir())


def test_open_before_any_build_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable, match="no index"):
        BacklinkIndex.open(tmp_path)
    assert BacklinkIndex.current_version(tmp_path) is None


def test_publish_writes_current_and_a_version_folder(tmp_path: Path) -> None:
    manifest = build_from_links(tmp_path, _graph(1))
    assert read_current(tmp_path) == manifest.version
    assert _versions(tmp_path) == [manifest.version]
    assert not list(tmp_path.glob("tmp-*"))
    on_disk = json.loads((tmp_path / "versions" / manifest.version / "manifest.json").read_text())
    assert on_disk["version"] == manifest.version
    assert on_disk["format"] == FORMAT_VERSION == 4
    index = BacklinkIndex.open(tmp_path)
    assert index.version == manifest.version
    assert BacklinkIndex.current_version(tmp_path) == manifest.version


def test_version_ids_sort_by_time_and_are_unique(tmp_path: Path) -> None:
    ids = [build_from_links(tmp_path, _graph(i)).version for i in range(3)]
    assert len(set(ids)) == 3
    assert ids == sorted(ids)
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}", i) for i in ids)


def test_retention_keeps_the_new_and_the_previous_version(tmp_path: Path) -> None:
    ids = [build_from_links(tmp_path, _graph(i)).version for i in range(4)]
    assert _versions(tmp_path) == sorted(ids[-2:])
    assert read_current(tmp_path) == ids[-1]
    assert BacklinkIndex.open(tmp_path).manifest.counts["links"] == 5


@pytest.mark.parametrize("failure", ["no_links", "only_internal", "reader_error"])
def test_failed_build_leaves_previous_version_untouched(tmp_path: Path, failure: str) -> None:
    first = build_from_links(tmp_path, _graph(1))
    before = (tmp_path / "CURRENT").read_bytes()
    if failure == "no_links":
        with pytest.raises(BuildFailed, match="no valid links"):
            build_from_batches(tmp_path, [])
    elif failure == "only_internal":
        with pytest.raises(BuildFailed, match="no valid links"):
            build_from_links(tmp_path, [("https://a.com/", "https://www.a.com/x")])
    else:
        def broken() -> Iterator[pa.RecordBatch]:
            yield from []
            raise BuildFailed("cannot read missing.warc.gz: no such file")

        with pytest.raises(BuildFailed, match="missing.warc.gz"):
            build_from_batches(tmp_path, broken())
    assert (tmp_path / "CURRENT").read_bytes() == before
    assert _versions(tmp_path) == [first.version]
    assert not list(tmp_path.glob("tmp-*"))
    index = BacklinkIndex.open(tmp_path)
    assert index.version == first.version
    assert index.domain("t0.com") is not None


def test_stale_build_folders_are_ignored_then_cleaned(tmp_path: Path) -> None:
    first = build_from_links(tmp_path, _graph(1))
    stale = tmp_path / "tmp-deadbeef"
    (stale / "work").mkdir(parents=True)
    (stale / "manifest.json").write_text("{broken")
    assert BacklinkIndex.open(tmp_path).version == first.version
    build_from_links(tmp_path, _graph(2))
    assert not stale.exists()


def test_reader_keeps_the_version_it_opened(tmp_path: Path) -> None:
    build_from_links(tmp_path, _graph(1))
    old = BacklinkIndex.open(tmp_path)
    old_backlinks = old.domain("t0.com").backlinks  # type: ignore[union-attr]
    for k in (5, 9):  # two more builds: the old version's folder is removed
        build_from_links(tmp_path, _graph(k))
    assert old.version not in _versions(tmp_path)
    assert old.domain("t0.com").backlinks == old_backlinks  # type: ignore[union-attr]
    assert old.names_of(range(old.num_domains))[0] == "s0.com"
    assert BacklinkIndex.open(tmp_path).domain("t0.com").backlinks == 4  # type: ignore[union-attr]


def test_a_version_folder_opens_directly(tmp_path: Path) -> None:
    manifest = build_from_links(tmp_path, _graph(1))
    index = BacklinkIndex.open(tmp_path / "versions" / manifest.version)
    assert index.version == manifest.version


def test_corrupt_current_pointer_is_unavailable(tmp_path: Path) -> None:
    build_from_links(tmp_path, _graph(1))
    (tmp_path / "CURRENT").write_text("no-such-version\n")
    with pytest.raises(IndexUnavailable):
        BacklinkIndex.open(tmp_path)


_READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from linkgap import BacklinkIndex
    path, stop = Path(sys.argv[1]), Path(sys.argv[2])
    seen, opens, problems = set(), 0, []
    while not stop.exists() or opens < 3:
        ix = BacklinkIndex.open(path)
        opens += 1
        seen.add(ix.version)
        n = ix.manifest.counts["links"]
        names = ix.names_of(range(ix.num_domains))
        # a complete version: every array agrees with its own manifest
        if int(ix.backlinks.sum()) != n or len(names) != ix.manifest.counts["domains"]:
            problems.append(ix.version)
        if ix.id_of(names[-1]) != ix.num_domains - 1 or int(ix.in_indptr[-1]) != len(ix.in_src):
            problems.append(ix.version)
    print(json.dumps({"opens": opens, "versions": sorted(seen), "problems": problems}))
    """
)


@pytest.mark.slow
def test_concurrent_reader_always_sees_a_complete_version(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_from_links(index_dir, _graph(1))
    stop = tmp_path / "stop"
    env = dict(os.environ)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(index_dir), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        published = [build_from_links(index_dir, _graph(k)).version for k in range(2, 12)]
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    result = json.loads(out)
    assert result["problems"] == []
    assert result["opens"] >= 3
    assert set(result["versions"]) <= set(published) | {result["versions"][0]}
    assert len(_versions(index_dir)) == 2
