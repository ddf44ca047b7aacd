"""Evidence from real WARC, WAT and links-csv files equals what the pages contain (SPEC 12).

Each test writes a crawl file in its real format, builds an index from it
with ``index build``'s own code, and reads the sample links back through
``BacklinkIndex.links``: page URL, target URL, anchor, dofollow (from
``rel`` and robots) and the dates must be those of the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from support.crawlfiles import (
    Page,
    WatLink,
    WatPage,
    html_page,
    write_links_csv,
    write_warc,
    write_wat,
)

from linkgap import BacklinkIndex, LinkSample
from linkgap.index.build import build_index


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _build(tmp_path: Path, path: Path, evidence: int = 3) -> BacklinkIndex:
    build_index(tmp_path / "index", [str(path)], evidence=evidence)
    return BacklinkIndex.open(tmp_path / "index")


def test_warc_evidence_is_the_pages_links(tmp_path: Path) -> None:
    first, later = "2023-03-01T10:00:00Z", "2024-06-02T08:30:00Z"
    warc = write_warc(tmp_path / "crawl.warc.gz", [
        Page("https://blog.src.com/post", html_page([
            ("https://shop.target.com/item?id=1#reviews", "  Great   item ", None),
            ("/local", "internal", None),
            ("https://target.com/", "home", "nofollow noopener"),
        ]), warc_date=first),
        # the same pair crawled again later: one link, first seen on the first crawl
        Page("https://blog.src.com/post", html_page([
            ("https://shop.target.com/item?id=1", "Great item", None)]), warc_date=later),
        # a relative link resolved against <base href>, on a page that says nofollow
        Page("http://www.src.com/about", html_page(
            [("item?id=2", "second", None)], base="https://shop.target.com/",
            robots="noindex, nofollow"), warc_date=first),
    ])
    index = _build(tmp_path, warc)
    assert index.evidence_per_edge == 3
    assert index.links("src.com", "target.com") == [
        LinkSample("https://blog.src.com/post", "https://shop.target.com/item?id=1",
                   "Great item", True, _day(first), _day(later)),
        LinkSample("http://www.src.com/about", "https://shop.target.com/item?id=2",
                   "second", False, _day(first), _day(first)),
        LinkSample("https://blog.src.com/post", "https://target.com/", "home", False,
                   _day(first), _day(first)),
    ]
    edge = index.edge_evidence(index.id_of("src.com"), index.id_of("target.com"))
    assert edge is not None
    assert (edge.links_total, edge.dofollow_links) == (3, 1)
    assert edge.first_seen == datetime(2023, 3, 1, tzinfo=UTC)  # the edge's dates are days
    assert edge.last_seen == datetime(2024, 6, 2, tzinfo=UTC)


def test_wat_evidence_is_the_metadata_links(tmp_path: Path) -> None:
    wat = write_wat(tmp_path / "crawl.wat.gz", [
        WatPage("https://news.src.org/a", links=[
            WatLink("https://target.net/x", text="Read this", rel="ugc"),
            WatLink("/img/map", path="IMG@/src"),  # not a link
            WatLink("https://target.net/y", text=None),
            WatLink("https://target.net/area", text="area link", path="AREA@/href"),
        ], warc_date="2022-05-05T00:00:00Z"),
        WatPage("https://news.src.org/b", links=[WatLink("https://target.net/x", "x again")],
                metas=[("robots", "NOFOLLOW")], warc_date="2021-01-01T00:00:00Z"),
    ])
    index = _build(tmp_path, wat, evidence=10)
    samples = index.links("https://news.src.org/", "target.net")
    when = _day("2022-05-05T00:00:00Z")
    assert samples == [
        LinkSample("https://news.src.org/a", "https://target.net/area", "area link", True,
                   when, when),
        LinkSample("https://news.src.org/a", "https://target.net/y", None, True, when, when),
        LinkSample("https://news.src.org/b", "https://target.net/x", "x again", False,
                   _day("2021-01-01T00:00:00Z"), _day("2021-01-01T00:00:00Z")),
        LinkSample("https://news.src.org/a", "https://target.net/x", "Read this", False,
                   when, when),
    ]


def test_links_csv_evidence_is_the_rows(tmp_path: Path) -> None:
    long_anchor = "word " * 80  # 400 characters: cut to 200
    path = write_links_csv(tmp_path / "links.csv", [
        ("https://src.io/p1", "https://dst.io/", "sponsored", "paid", "2024-02-01"),
        ("https://src.io/p2", "https://dst.io/page", "", long_anchor, "2024-03-01T12:00:00Z"),
        ("https://src.io/p3", "https://dst.io/", "", "", ""),
    ])
    index = _build(tmp_path, path)
    samples = index.links("src.io", "dst.io")
    assert [(s.source_url, s.target_url, s.dofollow) for s in samples] == [
        ("https://src.io/p2", "https://dst.io/page", True),
        ("https://src.io/p3", "https://dst.io/", True),  # no date: after the dated ones
        ("https://src.io/p1", "https://dst.io/", False),
    ]
    assert samples[0].anchor == long_anchor.strip()[:200] and len(samples[0].anchor) == 200
    assert samples[0].first_seen == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert samples[1].anchor is None and samples[1].first_seen is None
    assert samples[2].anchor == "paid" and samples[2].last_seen == datetime(2024, 2, 1,
                                                                            tzinfo=UTC)


def test_inputs_of_every_format_merge_into_one_edges_samples(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "a.warc.gz", [
        Page("https://src.com/w", html_page([("https://dst.com/", "from warc", "nofollow")]),
             warc_date="2020-01-01T00:00:00Z")])
    csv_path = write_links_csv(tmp_path / "b.csv", [
        ("https://src.com/w", "https://dst.com/", "", "from csv", "2021-01-01"),
        ("https://src.com/c", "https://dst.com/", "", "", "2019-01-01")])
    build_index(tmp_path / "index", [str(warc), str(csv_path)], evidence=1)
    index = BacklinkIndex.open(tmp_path / "index")
    # the pair given by both inputs is one dofollow link (the csv row is dofollow), first
    # seen in 2020 (the warc), and keeps the anchor of its dofollow occurrence; it still
    # comes after the 2019 link, and the cap of one keeps only that
    assert index.links("src.com", "dst.com") == [
        LinkSample("https://src.com/c", "https://dst.com/", None, True,
                   datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 1, 1, tzinfo=UTC))]
    build_index(tmp_path / "index2", [str(warc), str(csv_path)], evidence=2)
    both = BacklinkIndex.open(tmp_path / "index2").links("src.com", "dst.com")
    assert both[1] == LinkSample("https://src.com/w", "https://dst.com/", "from csv", True,
                                 datetime(2020, 1, 1, tzinfo=UTC),
                                 datetime(2021, 1, 1, tzinfo=UTC))
