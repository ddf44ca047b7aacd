"""The ``wat`` reader: Common Crawl WAT metadata records → links (SPEC section 2)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from support.crawlfiles import WatLink, WatPage, truncate_file, write_wat


def test_only_a_and_area_links_count(tmp_path, read):
    page = WatPage(
        "https://a.com/page",
        [
            WatLink("https://b.com/a", "anchor  text", None, "A@/href"),
            WatLink("https://c.com/area", "map", "sponsored", "AREA@/href"),
            WatLink("https://d.com/style.css", None, "stylesheet", "LINK@/href"),
            WatLink("https://e.com/i.png", None, None, "IMG@/src"),
            WatLink("https://f.com/post", None, None, "FORM@/action"),
            WatLink("https://g.com/s.js", None, None, "SCRIPT@/src"),
        ],
    )
    result = read([write_wat(tmp_path / "x.wat.gz", [page])])
    assert [(r["target_url"], r["anchor"], r["dofollow"]) for r in result.rows] == [
        ("https://b.com/a", "anchor text", True),
        ("https://c.com/area", "map", False),
    ]
    assert result.stats[0].links_seen == 2
    assert result.stats[0].pages == 1


def test_relative_urls_resolve_against_head_base_or_page(tmp_path, read):
    pages = [
        WatPage("https://a.com/dir/p", [("../x", None, None), ("//cdn.b.com/y", None, None)]),
        WatPage("https://a.com/q", [("rel/z?q=1#f", None, None)], base="https://other.net/base/"),
    ]
    result = read([write_wat(tmp_path / "x.wat.gz", pages)])
    assert result.targets() == ["https://cdn.b.com/y", "https://other.net/base/rel/z?q=1"]
    assert result.skipped == {"internal_link": 1}


@pytest.mark.parametrize(
    ("metas", "headers", "dofollow"),
    [
        ([("robots", "noindex,nofollow")], {}, False),
        ([("ROBOTS", "None")], {}, False),
        ([("robots", "noindex")], {}, True),
        ([("description", "nofollow")], {}, True),
        ([], {"X-Robots-Tag": "googlebot: nofollow"}, False),
        ([], {"x-robots-tag": "nofollow"}, False),
        ([], {"X-Robots-Tag": ["noindex", "otherbot: none"]}, False),
        ([], {"X-Robots-Tag": "noarchive"}, True),
    ],
)
def test_robots_meta_and_header(tmp_path, read, metas, headers, dofollow):
    page = WatPage(
        "https://a.com/",
        [("https://b.com/", "b", None), ("https://c.com/", "c", "noopener")],
        metas=metas,
        headers={"Content-Type": "text/html", **headers},
    )
    result = read([write_wat(tmp_path / "x.wat.gz", [page])])
    assert [r["dofollow"] for r in result.rows] == [dofollow, dofollow]


@pytest.mark.parametrize("rel", ["nofollow", "NoFollow", "ugc noopener", "sponsored"])
def test_rel_nofollow_variants(tmp_path, read, rel):
    page = WatPage("https://a.com/", [("https://b.com/", "b", rel)])
    assert [r["dofollow"] for r in read([write_wat(tmp_path / "x.wat.gz", [page])]).rows] == [False]


def test_seen_at_is_the_record_date(tmp_path, read):
    page = WatPage(
        "https://a.com/", [("https://b.com/", "b", None)], warc_date="2022-02-02T02:02:02Z"
    )
    result = read([write_wat(tmp_path / "x.wat.gz", [page])])
    assert result.rows[0]["seen_at"] == datetime(2022, 2, 2, 2, 2, 2, tzinfo=UTC)


def test_broken_json_and_odd_records_are_counted(tmp_path, read):
    good = WatPage("https://a.com/", [("https://b.com/", "b", None)])
    pages = [
        WatPage("https://x.com/", raw_json=b'{"Envelope": {"WARC-Header-Metadata": '),
        WatPage("https://x.com/", raw_json=b"\xff\xfe not json"),
        WatPage("https://x.com/", raw_json=b'["a list"]'),
        WatPage("https://x.com/", raw_json=b'{"Container": {}}'),
        WatPage("https://x.com/", raw_json=b'{"Envelope": {"WARC-Header-Metadata": "oops"}}'),
        WatPage("https://x.com/img.png", html=False, headers={"Content-Type": "image/png"}),
        WatPage("https://x.com/", warc_type="request"),
        good,
    ]
    result = read([write_wat(tmp_path / "x.wat.gz", pages)])
    assert result.targets() == ["https://b.com/"]
    assert result.skipped == {"broken_json": 2, "bad_wat_record": 3, "not_html": 1}
    assert result.stats[0].records == 9  # the warcinfo record and eight metadata records


def test_bad_link_entries_are_ignored_not_fatal(tmp_path, read):
    doc = (
        b'{"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "response",'
        b' "WARC-Target-URI": "https://a.com/"}, "Payload-Metadata": {"HTTP-Response-Metadata":'
        b' {"Headers": {}, "HTML-Metadata": {"Links": [{"path": "A@/href"}, 7,'
        b' {"path": "A@/href", "url": 12}, {"path": "A@/href", "url": "https://b.com/",'
        b' "rel": ["nofollow"], "text": {"x": 1}}]}}}}}'
    )
    result = read([write_wat(tmp_path / "x.wat.gz", [WatPage("https://a.com/", raw_json=doc)])])
    assert [(r["target_url"], r["dofollow"], r["anchor"]) for r in result.rows] == [
        ("https://b.com/", True, None)
    ]


def test_a_truncated_wat_keeps_the_records_before_it(tmp_path, read):
    pages = [WatPage(f"https://s{i}.com/", [(f"https://t{i}.org/", "t", None)]) for i in range(4)]
    original = write_wat(tmp_path / "full.wat.gz", pages)
    cut = tmp_path / "cut.wat.gz"
    shutil.copy(original, cut)
    truncate_file(cut, -40)
    result = read([cut])
    assert sorted(result.targets()) == [f"https://t{i}.org/" for i in range(3)]
    assert result.skipped == {"truncated_record": 1}


def test_a_wat_named_like_a_warc_is_detected_by_content(tmp_path, read):
    path = write_wat(
        tmp_path / "CC-MAIN-x.warc.gz", [WatPage("https://a.com/", [("https://b.com/", "b", None)])]
    )
    result = read([path])
    assert result.stats[0].input.format == "wat"
    assert result.targets() == ["https://b.com/"]


def test_non_2xx_responses_do_not_count(tmp_path, read):
    doc = (
        b'{"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI":'
        b' "https://a.com/"}, "Payload-Metadata": {"HTTP-Response-Metadata": {"Response-Message":'
        b' {"Status": "404"}, "HTML-Metadata": {"Links": [{"path": "A@/href",'
        b' "url": "https://b.com/"}]}}}}}'
    )
    result = read([write_wat(tmp_path / "x.wat.gz", [WatPage("https://a.com/", raw_json=doc)])])
    assert result.rows == [] and result.skipped == {"http_status_not_ok": 1}
