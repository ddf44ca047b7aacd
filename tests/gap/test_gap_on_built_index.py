"""The gap engine on a real index built from a links-csv file by ``build_index``."""

from __future__ import annotations

import pytest
from support.indexes import build_test_index

from linkgap import BacklinkIndex
from linkgap.errors import CompetitorsNotIndexed
from linkgap.gap import GapResult
from linkgap.prospects import PROSPECT_FIELDS, ProspectQuery, query_page

LINKS = [
    ("https://blog.p1.com/post", "https://a.com/"),
    ("https://blog.p1.com/post", "https://www.b.com/x", "nofollow"),
    ("https://p2.org/", "https://a.com/pricing"),
    ("https://p2.org/", "https://me.com/", "ugc"),  # any rel excludes
    ("https://p3.net/a", "https://b.com/", "sponsored"),
    ("https://p3.net/b", "https://b.com/", ""),
    ("https://shop.p4.co.uk/", "https://a.com/", "nofollow"),
    ("https://shop.p4.co.uk/", "https://b.com/", "nofollow"),
    ("https://a.com/", "https://b.com/"),
    ("https://me.com/", "https://a.com/"),
    ("https://me.com/", "https://p1.com/"),
    ("https://notme.com/", "https://a.com/"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> BacklinkIndex:
    path = tmp_path_factory.mktemp("gap-index")
    build_test_index(path, LINKS)
    return BacklinkIndex.open(path)


def by_domain(result: GapResult) -> dict[str, dict]:
    return {p["domain"]: p for p in result.prospects()}


def test_union_on_a_built_index(index) -> None:
    result = index.gap("https://www.me.com/", ["a.com", "b.com"])
    rows = by_domain(result)
    assert set(rows) == {"p1.com", "p3.net", "p4.co.uk", "notme.com"}
    assert rows["p1.com"]["competitors"] == ["a.com", "b.com"]
    assert rows["p1.com"]["dofollow"] is True
    assert rows["p4.co.uk"]["dofollow"] is False
    assert rows["p3.net"]["dofollow"] is True  # one of its two links is plain
    assert result.index_version == index.version
    assert all(tuple(r) == PROSPECT_FIELDS for r in rows.values())


def test_metrics_are_the_index_metrics(index) -> None:
    rows = by_domain(index.gap("me.com", ["a.com"]))
    for name, row in rows.items():
        metrics = index.domain(name)
        assert metrics is not None
        for field in ("domain_rating", "backlinks", "referring_domains", "spam_score", "rank"):
            assert row[field] == getattr(metrics, field), (name, field)


def test_intersect_and_paging_on_a_built_index(index) -> None:
    result = index.gap("me.com", ["b.com", "a.com"], mode="intersect")
    assert set(by_domain(result)) == {"p1.com", "p4.co.uk"}
    rows, total = query_page(result, ProspectQuery(dofollow=True, competitor="b.com"), 1, 10)
    assert total == 0 and rows == []
    rows, total = query_page(result, ProspectQuery(dofollow=True, competitor="a.com"), 1, 10)
    assert [r["domain"] for r in rows] == ["p1.com"]


def test_frozen_run_survives_as_bytes(index) -> None:
    result = index.gap("me.com", ["a.com", "b.com"], limit=2)
    again = GapResult.from_ipc(result.to_ipc())
    assert again.prospects() == result.prospects() and again.total_found == 4


def test_unindexed_names_warn(index) -> None:
    result = index.gap("brand-new.io", ["a.com", "unseen.dev"])
    assert [w["code"] for w in result.warnings] == ["target_not_indexed", "competitor_not_indexed"]
    assert len(result) > 0
    with pytest.raises(CompetitorsNotIndexed) as err:
        index.gap("brand-new.io", ["a.com", "unseen.dev"], mode="intersect")
    assert err.value.missing == ["unseen.dev"]
