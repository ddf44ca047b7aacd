"""The ``warc`` reader: which links of an HTML response count, and how (SPEC section 2)."""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.crawlfiles import Page, html_page, request_record, truncate_file, write_warc

HTML = {"Content-Type": "text/html; charset=utf-8"}


def one_page(tmp_path: Path, read, url: str, html: str | bytes, headers=None, **kw):
    path = write_warc(tmp_path / "p.warc.gz", [Page(url, html, headers or HTML, **kw)])
    return read([path])


def test_absolute_links_are_normalised_and_internal_ones_dropped(tmp_path, read):
    html = html_page(
        [
            ("HTTPS://B.COM:443/Path?Q=1#frag", "b", None),
            ("http://www.a.com/self", "self", None),
            ("https://blog.a.com/post", "sub", None),
            ("https://c.org", "root", None),
            ("https://bücher.de/x", "idn", None),
        ]
    )
    result = one_page(tmp_path, read, "https://a.com/page", html)
    assert result.targets() == [
        "https://b.com/Path?Q=1",
        "https://c.org/",
        "https://xn--bcher-kva.de/x",
    ]
    assert {r["target_domain"] for r in result.rows} == {"b.com", "c.org", "xn--bcher-kva.de"}
    assert all(r["source_url"] == "https://a.com/page" for r in result.rows)
    assert all(r["source_domain"] == "a.com" for r in result.rows)
    assert result.skipped["internal_link"] == 2
    stats = result.stats[0]
    assert (stats.records, stats.pages, stats.links_seen, stats.links_counted) == (1, 1, 5, 3)


def test_private_suffix_domains_are_separate_owners(tmp_path, read):
    html = html_page([("https://bob.github.io/", "bob", None), ("/x", "self", None)])
    result = one_page(tmp_path, read, "https://alice.github.io/", html)
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == [
        ("alice.github.io", "bob.github.io")
    ]


def test_relative_links_resolve_against_the_page_and_stay_internal(tmp_path, read):
    html = html_page(
        [("../up", "", None), ("sibling.html", "", None), ("?q=1", "", None), ("/root", "", None)]
    )
    result = one_page(tmp_path, read, "https://a.com/dir/page.html", html)
    assert result.rows == []
    assert result.skipped == {"internal_link": 4}


def test_base_href_on_another_domain_changes_where_relative_links_go(tmp_path, read):
    html = html_page(
        [
            ("x/y?q=1#top", "rel", None),
            ("/abs", "root", None),
            ("//cdn.d.net/z", "proto", None),
            ("https://a.com/back", "back", None),
        ],
        base="https://other.net/sub/",
    )
    result = one_page(tmp_path, read, "https://a.com/page", html)
    assert result.targets() == [
        "https://other.net/sub/x/y?q=1",
        "https://other.net/abs",
        "https://cdn.d.net/z",
    ]
    assert result.skipped == {"internal_link": 1}


def test_relative_base_href_resolves_against_the_page(tmp_path, read):
    html = html_page([("x", "", None)], base="/base/")
    result = one_page(tmp_path, read, "https://a.com/dir/page", html)
    assert result.rows == [] and result.skipped == {"internal_link": 1}


def test_only_the_first_base_href_counts(tmp_path, read):
    html = html_page(
        [("x", "", None)], base="https://first.net/", extra_head='<base href="https://second.net/">'
    )
    result = one_page(tmp_path, read, "https://a.com/", html)
    assert result.targets() == ["https://first.net/x"]


@pytest.mark.parametrize(
    ("page", "expected"),
    [("https://a.com/", "https://cdn.b.com/lib"), ("http://a.com/", "http://cdn.b.com/lib")],
)
def test_protocol_relative_links_take_the_page_scheme(tmp_path, read, page, expected):
    result = one_page(tmp_path, read, page, html_page([("//cdn.b.com/lib", "cdn", None)]))
    assert result.targets() == [expected]


@pytest.mark.parametrize(
    "href",
    [
        "mailto:someone@b.com",
        "javascript:void(0)",
        "#section",
        "data:text/html,<a>",
        "tel:+123",
        "ftp://b.com/file",
        "",
        "  ",
        "java\nscript:alert(1)",
    ],
)
def test_targets_that_are_not_web_pages_are_skipped(tmp_path, read, href):
    result = one_page(tmp_path, read, "https://a.com/", html_page([(href, "x", None)]))
    assert result.rows == []
    assert result.skipped == {"not_http_target": 1}


def test_targets_whose_host_is_not_a_domain_are_counted(tmp_path, read):
    html = html_page(
        [
            ("http://1.2.3.4/x", "", None),
            ("http://localhost/", "", None),
            ("https://co.uk/", "", None),
            ("http://[::1]/", "", None),
            ("https://b.com/ok", "", None),
        ]
    )
    result = one_page(tmp_path, read, "https://a.com/", html)
    assert result.targets() == ["https://b.com/ok"]
    assert result.skipped == {"target_not_domain": 4}


def test_unparseable_urls_are_counted(tmp_path, read):
    html = html_page(
        [
            ("http://b.com:99999/", "", None),
            ("http:///nohost", "", None),
            ("https://b.com/ok", "", None),
        ]
    )
    result = one_page(tmp_path, read, "https://a.com/", html)
    assert result.targets() == ["https://b.com/ok"]
    assert result.skipped == {"bad_url": 2}


@pytest.mark.parametrize(
    ("rel", "dofollow"),
    [
        (None, True),
        ("noopener", True),
        ("nofollow", False),
        ("NoFollow", False),
        ("ugc noopener", False),
        ("noopener UGC", False),
        ("sponsored", False),
        ("external  nofollow\tnoreferrer", False),
        ("nofollowme", True),
        ("follow", True),
    ],
)
def test_rel_tokens_decide_dofollow(tmp_path, read, rel, dofollow):
    result = one_page(tmp_path, read, "https://a.com/", html_page([("https://b.com/", "b", rel)]))
    assert [r["dofollow"] for r in result.rows] == [dofollow]


@pytest.mark.parametrize(
    ("robots", "dofollow"),
    [
        ("nofollow", False),
        ("noindex, nofollow", False),
        ("NONE", False),
        ("noindex", True),
        ("index,follow", True),
        ("noindex,NoFollow", False),
    ],
)
def test_meta_robots_applies_to_every_link(tmp_path, read, robots, dofollow):
    html = html_page(
        [("https://b.com/", "b", None), ("https://c.com/", "c", "noopener")], robots=robots
    )
    result = one_page(tmp_path, read, "https://a.com/", html)
    assert [r["dofollow"] for r in result.rows] == [dofollow, dofollow]


def test_meta_robots_for_a_named_crawler_counts_too(tmp_path, read):
    html = html_page(
        [("https://b.com/", "b", None)],
        extra_head='<meta name="GoogleBot" content="nofollow">'
        '<meta name="description" content="nofollow">',
    )
    assert [r["dofollow"] for r in one_page(tmp_path, read, "https://a.com/", html).rows] == [False]


@pytest.mark.parametrize(
    ("header", "dofollow"),
    [
        ("nofollow", False),
        ("noindex, nofollow", False),
        ("none", False),
        ("googlebot: nofollow", False),
        ("otherbot: noindex, nofollow", False),
        ("googlebot: noindex", True),
        (["noindex", "bingbot: none"], False),
        (["noarchive", "noindex"], True),
        ("unavailable_after: 25 Jun 2010 15:00:00 PST", True),
    ],
)
def test_x_robots_tag_header(tmp_path, read, header, dofollow):
    headers = {"Content-Type": "text/html", "X-Robots-Tag": header}
    result = one_page(
        tmp_path, read, "https://a.com/", html_page([("https://b.com/", "b", None)]), headers
    )
    assert [r["dofollow"] for r in result.rows] == [dofollow]


def test_links_in_comments_scripts_and_text_do_not_count(tmp_path, read):
    extra = (
        "<!-- <a href='https://comment.com/'>c</a> -->"
        "<script>document.write('<a href=\"https://script.com/\">s</a>')</script>"
        "<style>a[href='https://style.com/'] {}</style>"
        "<textarea><a href='https://textarea.com/'>t</a></textarea>"
        "<p>see https://plaintext.com/ or &lt;a href='https://escaped.com/'&gt;</p>"
        "<a>no href</a><link rel=stylesheet href='https://css.com/s.css'>"
        "<img src='https://img.com/i.png'>"
    )
    html = html_page([("https://real.com/", "real", None)], extra_body=extra)
    result = one_page(tmp_path, read, "https://a.com/", html)
    assert result.targets() == ["https://real.com/"]
    assert result.stats[0].links_seen == 1


def test_area_elements_count_with_their_alt_as_anchor(tmp_path, read):
    extra = (
        '<map name="m"><area shape="rect" href="https://area.net/x" alt="Area  text" '
        'rel="sponsored"><area nohref alt="none"></map>'
    )
    result = one_page(tmp_path, read, "https://a.com/", html_page(extra_body=extra))
    assert result.rows[0]["target_url"] == "https://area.net/x"
    assert result.rows[0]["anchor"] == "Area text"
    assert result.rows[0]["dofollow"] is False


def test_anchor_text_is_collapsed_and_falls_back_to_image_alt(tmp_path, read):
    extra = (
        '<a href="https://b.com/1">  Read\n  <b>more</b>  </a>'
        '<a href="https://b.com/2"><img src="x.png" alt="Logo of B"></a>'
        '<a href="https://b.com/3"></a>'
    )
    result = one_page(tmp_path, read, "https://a.com/", html_page(extra_body=extra))
    assert [r["anchor"] for r in result.rows] == ["Read more", "Logo of B", None]


def test_seen_at_is_the_warc_date(tmp_path, read):
    result = one_page(
        tmp_path,
        read,
        "https://a.com/",
        html_page([("https://b.com/", "b", None)]),
        warc_date="2021-03-04T05:06:07Z",
    )
    assert result.rows[0]["seen_at"] == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_only_html_responses_are_read(tmp_path, read):
    links = html_page([("https://b.com/", "b", None)])
    path = write_warc(
        tmp_path / "mixed.warc.gz",
        [
            Page(
                "",
                b"software: test\r\n",
                {},
                kind="warcinfo",
                content_type="application/warc-fields",
            ),
            request_record("https://a.com/"),
            Page("https://a.com/", links, HTML),
            Page(
                "https://a.com/meta", links.encode(), {}, kind="metadata", content_type="text/html"
            ),
            Page(
                "https://a.com/res", links.encode(), {}, kind="resource", content_type="text/html"
            ),
            Page("https://a.com/img.png", b"\x89PNG....", {"Content-Type": "image/png"}),
            Page("https://a.com/doc.json", links, {"Content-Type": "application/json"}),
            Page("https://a.com/none", links, {}),
            Page("https://x.com/x", links, {"Content-Type": "application/xhtml+xml"}),
            Page("https://y.com/404", links, HTML, status="404 Not Found"),
            Page("https://y.com/301", links, HTML, status="301 Moved Permanently"),
        ],
    )
    result = read([path])
    assert sorted(r["source_url"] for r in result.rows) == ["https://a.com/", "https://x.com/x"]
    assert result.skipped == {"not_html": 3, "http_status_not_ok": 2}
    assert result.stats[0].records == 11
    assert result.stats[0].pages == 2


def test_charset_from_http_header_and_from_meta(tmp_path, read):
    body = '<a href="https://b.com/">Café</a>'
    latin = body.encode("iso-8859-1")
    meta = ('<meta charset="windows-1251"><a href="https://c.com/">Привет</a>').encode("cp1251")
    path = write_warc(
        tmp_path / "cs.warc.gz",
        [
            Page("https://a.com/1", latin, {"Content-Type": "text/html; charset=ISO-8859-1"}),
            Page("https://a.com/2", meta, {"Content-Type": "text/html"}),
            Page("https://a.com/3", latin, {"Content-Type": "text/html; charset=bogus-charset"}),
        ],
    )
    anchors = [r["anchor"] for r in read([path]).rows]
    assert anchors[:2] == ["Café", "Привет"]
    assert len(anchors) == 3  # an unknown charset still yields the link


def test_transfer_and_content_encodings_are_undone(tmp_path, read):
    html = html_page([("https://b.com/", "b", None)]).encode()
    chunked = (
        b"".join(
            b"%x\r\n%s\r\n" % (len(html[i : i + 50]), html[i : i + 50])
            for i in range(0, len(html), 50)
        )
        + b"0\r\n\r\n"
    )
    deflated = zlib.compress(html)
    path = write_warc(
        tmp_path / "enc.warc.gz",
        [
            Page(
                "https://a.com/gz",
                gzip.compress(html),
                {"Content-Type": "text/html", "Content-Encoding": "gzip"},
            ),
            Page(
                "https://a.com/chunk",
                chunked,
                {"Content-Type": "text/html", "Transfer-Encoding": "chunked"},
            ),
            Page(
                "https://a.com/deflate",
                deflated,
                {"Content-Type": "text/html", "Content-Encoding": "deflate"},
            ),
            Page(
                "https://a.com/br",
                b"\x0b\x02\x80",
                {"Content-Type": "text/html", "Content-Encoding": "br"},
            ),
            Page(
                "https://a.com/badgz",
                b"not gzip at all",
                {"Content-Type": "text/html", "Content-Encoding": "gzip"},
            ),
        ],
    )
    result = read([path])
    assert sorted(r["source_url"] for r in result.rows) == [
        "https://a.com/chunk",
        "https://a.com/deflate",
        "https://a.com/gz",
    ]
    assert result.skipped == {"undecodable_body": 2}


def test_pages_whose_url_is_not_a_domain_are_skipped(tmp_path, read):
    links = html_page([("https://b.com/", "b", None)])
    path = write_warc(
        tmp_path / "ip.warc.gz",
        [
            Page("http://10.0.0.1/", links, HTML),
            Page("http://localhost/", links, HTML),
            Page("ftp://a.com/", links, HTML),
            Page("https://a.com/", links, HTML),
        ],
    )
    result = read([path])
    assert [r["source_url"] for r in result.rows] == ["https://a.com/"]
    assert result.skipped == {"page_not_domain": 2, "bad_page_url": 1}


def _five_pages() -> list[Page]:
    return [
        Page(f"https://site{i}.com/", html_page([(f"https://t{i}.org/", "t", None)]), HTML)
        for i in range(5)
    ]


@pytest.mark.parametrize("compressed", [True, False])
def test_a_truncated_last_record_keeps_the_records_before_it(tmp_path, read, compressed):
    name = "cut.warc.gz" if compressed else "cut.warc"
    original = write_warc(tmp_path / "full", _five_pages(), gzip=compressed)
    size = original.stat().st_size
    full = read([write_warc(tmp_path / name, _five_pages(), gzip=compressed)])
    assert len(full.rows) == 5 and full.skipped == {}
    last_start = size - (size // 5)  # records are about the same size
    # Cut at many places inside the last record: four pages survive every time.
    for cut in range(last_start + 5, size - 1, 37):
        shutil.copy(original, tmp_path / name)
        truncate_file(tmp_path / name, cut)
        result = read([tmp_path / name])
        assert sorted(result.targets()) == [f"https://t{i}.org/" for i in range(4)], cut
        assert sum(result.skipped.values()) == 1, (cut, result.skipped)
        assert set(result.skipped) <= {"truncated_record", "truncated_gzip"}


def test_a_missing_gzip_trailer_is_counted_but_the_complete_record_kept(tmp_path, read):
    path = write_warc(tmp_path / "t.warc.gz", _five_pages())
    truncate_file(path, -4)  # the last member loses part of its CRC/size trailer
    result = read([path])
    assert len(result.rows) == 5
    assert result.skipped == {"truncated_gzip": 1}


def test_a_file_cut_inside_its_first_record_yields_nothing_but_is_counted(tmp_path, read):
    path = write_warc(tmp_path / "t.warc.gz", _five_pages())
    truncate_file(path, 100)
    result = read([path])
    assert result.rows == [] and result.skipped == {"truncated_record": 1}


@pytest.mark.parametrize("compressed", [True, False])
def test_an_invalid_record_in_the_middle_is_skipped_and_reading_resumes(tmp_path, read, compressed):
    pages = _five_pages()
    parts = []
    for i, page in enumerate(pages):
        one = write_warc(tmp_path / f"part{i}", [page], gzip=compressed).read_bytes()
        if i == 2:
            one = (
                one.replace(b"WARC/1.0", b"WXRC/9.9")
                if not compressed
                else gzip.compress(b"WXRC/9.9\r\nbroken header\r\n\r\n")
            )
        parts.append(one)
    path = tmp_path / ("mid.warc.gz" if compressed else "mid.warc")
    path.write_bytes(b"".join(parts))
    result = read([path])
    assert sorted(result.targets()) == [f"https://t{i}.org/" for i in (0, 1, 3, 4)]
    assert result.skipped == {"invalid_record": 1}


def test_corrupt_gzip_data_in_the_middle_is_skipped(tmp_path, read):
    parts = [write_warc(tmp_path / f"p{i}", [p]).read_bytes() for i, p in enumerate(_five_pages())]
    bad = bytearray(parts[1])
    for i in range(30, min(len(bad) - 10, 60)):
        bad[i] ^= 0x5A
    parts[1] = bytes(bad)
    path = tmp_path / "corrupt.warc.gz"
    path.write_bytes(b"".join(parts))
    result = read([path])
    assert sorted(result.targets()) == [f"https://t{i}.org/" for i in (0, 2, 3, 4)]
    assert sum(result.skipped.values()) == 1
    assert set(result.skipped) <= {"corrupt_gzip", "invalid_record"}


def test_an_empty_warc_file_yields_nothing(tmp_path, read):
    path = tmp_path / "empty.warc.gz"
    path.write_bytes(b"")
    result = read([path])
    assert result.rows == [] and result.skipped == {} and result.stats[0].records == 0


def test_unreadable_file_fails_the_build(tmp_path, read):
    from linkgap.errors import BuildFailed

    path = write_warc(tmp_path / "secret.warc.gz", _five_pages())
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file")
        with pytest.raises(BuildFailed, match="cannot read"):
            read([path])
    finally:
        os.chmod(path, 0o644)


def test_huge_records_are_not_read(tmp_path, read, monkeypatch):
    import linkgap.ingest.warcfile as warcfile

    monkeypatch.setattr(warcfile, "MAX_RECORD_BYTES", 2_000)
    small = html_page([("https://b.com/", "b", None)])
    big = html_page([("https://c.com/", "c", None)], extra_body="<p>" + "x" * 5_000 + "</p>")
    path = write_warc(
        tmp_path / "big.warc.gz", [Page("https://a.com/1", small), Page("https://a.com/2", big)]
    )
    result = read([path])
    assert result.targets() == ["https://b.com/"]
    assert result.skipped == {"record_too_large": 1}


def test_a_truncated_record_of_another_type_at_the_end_is_counted(tmp_path, read):
    path = write_warc(
        tmp_path / "t.warc.gz",
        [*_five_pages(), Page("", b"x" * 3000, {}, kind="resource", content_type="text/plain")],
    )
    truncate_file(path, -200)
    result = read([path])
    assert len(result.rows) == 5
    assert result.skipped == {"truncated_record": 1}


@pytest.mark.parametrize("codec", ["zstd", "lz4"])
def test_zstd_and_lz4_warc_files_are_read(tmp_path, read, codec):
    from fastwarc.stream_io import Lz4Writer, ZstdWriter

    plain = write_warc(tmp_path / "plain.warc", _five_pages(), gzip=False).read_bytes()
    path = tmp_path / f"crawl.warc.{'zst' if codec == 'zstd' else 'lz4'}"
    writer = ZstdWriter(str(path)) if codec == "zstd" else Lz4Writer(str(path))
    writer.write(plain)
    writer.close()
    result = read([path])
    assert sorted(result.targets()) == [f"https://t{i}.org/" for i in range(5)]
    assert result.skipped == {}
    shutil.copy(path, tmp_path / "no-name.bin")  # found by content too
    assert len(read([tmp_path / "no-name.bin"]).rows) == 5
