"""The suites' small indexes are built the way real files are: links-csv files, ``build_index``."""

from __future__ import annotations

from pathlib import Path

from api.apitest_support import build_index as build_api_index
from api.apitest_support import demo_links
from service.servicetest_support import LINKS_V1
from support.indexes import build_test_index

from linkgap import BacklinkIndex


def test_the_api_index_is_read_from_a_links_csv_file(tmp_path: Path) -> None:
    build_api_index(tmp_path / "index")
    manifest = BacklinkIndex.open(tmp_path / "index").manifest
    [stats] = manifest.inputs
    assert stats["format"] == "links-csv" and stats["input"].endswith(".csv")
    assert stats["records"] == stats["links_seen"] == len(demo_links())
    assert stats["links_counted"] == manifest.counts["occurrences"]


def test_several_files_make_the_same_index_as_one(tmp_path: Path) -> None:
    one = build_test_index(tmp_path / "one", LINKS_V1)
    three = build_test_index(tmp_path / "three", LINKS_V1, files=3)
    assert len(one.inputs) == 1 and len(three.inputs) == 3
    assert sum(s.records for s in three.inputs) == len(LINKS_V1)
    a, b = BacklinkIndex.open(tmp_path / "one"), BacklinkIndex.open(tmp_path / "three")
    assert a.names_of(range(a.num_domains)) == b.names_of(range(b.num_domains))
    assert list(a.domain_rating) == list(b.domain_rating)
    assert one.manifest.counts == three.manifest.counts
