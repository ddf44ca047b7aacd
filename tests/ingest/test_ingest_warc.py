"""The ``warc`` reader: which links of an HTML response count, and how (SPEC section 2)."""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from support.crawlfiles import Page, html_page, request_record, truncate_file, write_warc

from linkgap.index.build import build_index
from linkgap.urls import normalize_url, resolve_href

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


@pytest.mark.parametrize("href", [
    "//b.com/a/../x", "//b.com", " //b.com/\tx ", "https://b.com/a/./y", "../c?q=1#f",
    "d/e", "/f", "?g", "//b.com:443/h", "HTTPS://B.COM/I", "//user@b.com/j",
])
def test_the_reader_resolves_hrefs_as_resolve_href_does(tmp_path, read, href):
    # One reading of an href for the reader and for linkgap.urls.resolve_href.
    base = "https://base.org/dir/page"
    html = html_page([(href, "x", None)], base=base)
    rows = one_page(tmp_path, read, "https://a.com/", html).rows
    expected = normalize_url(resolve_href(href, base) or "")
    assert [r["target_url"] for r in rows] == [expected.url if expected else None]


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


@pytest.mark.parametrize("bom, codec", [
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
])
@pytest.mark.parametrize("content_type", [
    "text/html; charset=iso-8859-1",
    "text/html; charset=windows-1252",
    "text/html",
])
def test_a_byte_order_mark_wins_over_the_header_and_meta_charset(tmp_path, read, bom, codec,
                                                                   content_type):
    html = '<meta charset="iso-8859-1"><a href="https://bücher.de/">Bücher</a>'
    body = bom + html.encode(codec)
    result = one_page(tmp_path, read, "https://a.com/", body, {"Content-Type": content_type})
    assert [(r["target_url"], r["target_domain"], r["anchor"]) for r in result.rows] == [
        ("https://xn--bcher-kva.de/", "xn--bcher-kva.de", "Bücher")]


def _chunked(data: bytes, size: int = 50) -> bytes:
    """``data`` framed as an HTTP/1.1 chunked body, as it comes over the wire."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def test_transfer_and_content_encodings_are_undone(tmp_path, read):
    html = html_page([("https://b.com/", "b", None)]).encode()
    raw_deflate = zlib.compressobj(wbits=-15)
    encoded = {
        "gz": (gzip.compress(html), {"Content-Encoding": "gzip"}),
        "xgz": (gzip.compress(html), {"Content-Encoding": "X-GZIP"}),
        "chunk": (_chunked(html), {"Transfer-Encoding": "chunked"}),
        "chunk-ext": (_chunked(html).replace(b"\r\n", b";name=v\r\n", 1),
                      {"Transfer-Encoding": "chunked"}),
        "deflate": (zlib.compress(html), {"Content-Encoding": "deflate"}),
        "raw-deflate": (raw_deflate.compress(html) + raw_deflate.flush(),
                        {"Content-Encoding": "deflate"}),
        "br": (brotli.compress(html), {"Content-Encoding": "br"}),
        "chunked-gzip": (_chunked(gzip.compress(html)),
                         {"Transfer-Encoding": "chunked", "Content-Encoding": "gzip"}),
        "gzip-chunked-transfer": (_chunked(gzip.compress(html)),
                                  {"Transfer-Encoding": "gzip, chunked"}),
        "gzip-then-br": (brotli.compress(gzip.compress(html)),
                         {"Content-Encoding": "gzip, br"}),
        "identity": (html, {"Content-Encoding": "identity"}),
    }
    pages = [Page(f"https://a.com/{name}", body, {"Content-Type": "text/html", **headers})
             for name, (body, headers) in encoded.items()]
    result = read([write_warc(tmp_path / "enc.warc.gz", pages)])
    assert sorted(r["source_url"] for r in result.rows) == sorted(
        f"https://a.com/{name}" for name in encoded)
    assert {r["target_url"] for r in result.rows} == {"https://b.com/"}
    assert result.skipped == {}


def _iana_page(path: str, links: list[tuple[str, str]]) -> bytes:
    """An HTML page shaped like those of pywb's sample archive iana.warc.gz."""
    anchors = "\n".join(f'\t\t<li><a href="{href}">{text}</a></li>' for href, text in links)
    return (
        "<!doctype html>\n<html>\n<head>\n\t<title>IANA \u2014 " + path + "</title>\n\n"
        '\t<meta charset="utf-8" />\n'
        '\t<meta http-equiv="Content-type" content="text/html; charset=utf-8" />\n'
        '\t<link rel="stylesheet" media="screen" href="/_css/2013.1/screen.css"/>\n'
        '\t<script type="text/javascript" src="/_js/2013.1/jquery.js"></script>\n'
        "</head>\n\n<body>\n\t<div id=\"nav\"><ul>\n"
        '\t\t<li><a href="/domains">Domains</a></li>\n\t\t<li><a href="/numbers">Numbers</a></li>\n'
        f"{anchors}\n\t</ul></div>\n</body>\n</html>\n"
    ).encode("utf-8")


def _iana_headers(content_type: str) -> dict[str, str]:
    """The HTTP headers iana.warc.gz keeps on its de-chunked bodies (``Content-Length: -1``)."""
    return {
        "Server": "Apache",
        "Last-Modified": "Wed, 15 Jan 2014 02:12:29 GMT",
        "Vary": "Accept-Encoding",
        "Content-Type": content_type,
        "Transfer-Encoding": "chunked",
        "Date": "Sun, 26 Jan 2014 20:06:24 GMT",
        "X-Varnish": "2084491240 2084489881",
        "Age": "119",
        "Via": "1.1 varnish",
        "Connection": "close",
        "Content-Length": "-1",
    }


def iana_like_warc(path: Path, pages: int = 16) -> Path:
    """A WARC shaped like pywb's iana.warc.gz: warcinfo, request/response pairs, de-chunked
    bodies under ``Transfer-Encoding: chunked``, a stylesheet and an image among the pages."""
    info = b"software: Webrecorder Platform v3.7\r\nformat: WARC File Format 1.0\r\n"
    records: list[Page] = [Page("", info, {}, "2014-01-26T20:06:23Z", "warcinfo",
                                content_type="application/warc-fields")]
    for i in range(pages):
        url = "http://www.iana.org/" if i == 0 else f"http://www.iana.org/section{i}"
        body = _iana_page(f"Section {i}", [("http://www.icann.org/", "ICANN"),
                                           (f"https://www.ietf.org/rfc/rfc{1000 + i}.txt", "RFC"),
                                           ("/about", "About")])
        records.append(request_record(url, "2014-01-26T20:06:24Z"))
        records.append(Page(url, body, _iana_headers("text/html; charset=UTF-8"),
                            "2014-01-26T20:06:24Z"))
    records.append(Page("http://www.iana.org/_css/2013.1/screen.css", b"body{margin:0}",
                        _iana_headers("text/css")))
    records.append(Page("http://www.iana.org/_img/iana-logo.png", b"\x89PNG\r\n\x1a\n",
                        _iana_headers("image/png")))
    return write_warc(path, records)


def test_bodies_stored_dechunked_under_a_chunked_header_are_read(tmp_path, read):
    # pywb's sample archive iana.warc.gz: every HTML body is stored de-chunked while the
    # record keeps "Transfer-Encoding: chunked"; warcio and browsers read it as stored.
    result = read([iana_like_warc(tmp_path / "iana.warc.gz")])
    assert result.stats[0].pages == 16
    assert result.skipped == {"not_html": 2, "internal_link": 48}
    assert len(result.rows) == 32
    assert {r["target_url"] for r in result.rows if "icann" in r["target_url"]} == {
        "http://www.icann.org/"}


def test_an_index_builds_from_an_archive_shaped_like_iana_warc(tmp_path):
    report = build_index(tmp_path / "index", [str(iana_like_warc(tmp_path / "iana.warc.gz"))])
    assert report.inputs[0].pages == 16
    assert "undecodable_body" not in report.inputs[0].skipped
    assert report.manifest.counts["links"] == 32
    assert report.manifest.counts["domains"] == 3  # iana.org, icann.org, ietf.org


def test_a_coding_that_does_not_undo_leaves_the_body_as_stored(tmp_path, read):
    html = html_page([("https://b.com/", "b", None)]).encode()
    stored = {  # bodies some archives store decoded under the header of the wire coding
        "gzip-plain": (html, {"Content-Encoding": "gzip"}),
        "deflate-plain": (html, {"Content-Encoding": "deflate"}),
        "br-plain": (html, {"Content-Encoding": "br"}),
        "chunked-plain": (html, {"Transfer-Encoding": "chunked"}),
        "both-plain": (html, {"Transfer-Encoding": "chunked", "Content-Encoding": "gzip"}),
        "chunked-then-plain-gzip": (_chunked(html), {"Transfer-Encoding": "chunked",
                                                     "Content-Encoding": "gzip"}),
        "zstd-plain": (html, {"Content-Encoding": "zstd"}),
        "bom-plain": (b"\xef\xbb\xbf  " + html, {"Content-Encoding": "compress"}),
    }
    pages = [Page(f"https://a.com/{name}", body, {"Content-Type": "text/html", **headers})
             for name, (body, headers) in stored.items()]
    result = read([write_warc(tmp_path / "stored.warc.gz", pages)])
    assert sorted(r["source_url"] for r in result.rows) == sorted(
        f"https://a.com/{name}" for name in stored)
    assert result.skipped == {}


def test_records_written_the_way_common_crawl_writes_them(tmp_path, read):
    # Common Crawl stores the body decoded, renames the wire codings' headers and gives the
    # decoded length.
    html = html_page([("https://b.com/", "b", None), ("/local", "l", None)]).encode()
    headers = {
        "Date": "Mon, 15 Jan 2024 12:00:00 GMT",
        "Content-Type": "text/html; charset=UTF-8",
        "X-Crawler-Transfer-Encoding": "chunked",
        "X-Crawler-Content-Encoding": "gzip",
        "Content-Length": str(len(html)),
    }
    result = one_page(tmp_path, read, "https://a.com/cc", html, headers)
    assert [r["target_url"] for r in result.rows] == ["https://b.com/"]
    assert result.skipped == {"internal_link": 1}
    assert result.stats[0].pages == 1


def test_damage_part_way_through_a_coding_keeps_what_decoded(tmp_path, read):
    first = html_page([("https://b.com/", "b", None)]).encode()
    html = first + b"<p>" + b"filler text " * 20_000 + b'</p><a href="https://c.com/">c</a>'
    cut_gzip = gzip.compress(html)[: len(gzip.compress(html)) // 2]
    corrupt_gzip = bytearray(gzip.compress(html, compresslevel=0))
    corrupt_gzip[len(corrupt_gzip) - 2_000 :] = bytes(2_000)  # damage near the end
    broken_chunks = _chunked(first).removesuffix(b"0\r\n\r\n") + b"zz\r\nnot a chunk " + b'<a href="https://d.com/">d</a>'
    pages = [
        Page("https://a.com/cut", cut_gzip, {"Content-Type": "text/html",
                                              "Content-Encoding": "gzip"}),
        Page("https://a.com/corrupt", bytes(corrupt_gzip),
             {"Content-Type": "text/html", "Content-Encoding": "gzip"}),
        Page("https://a.com/chunks", broken_chunks,
             {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}),
    ]
    rows = read([write_warc(tmp_path / "damaged.warc.gz", pages)]).rows
    by_page: dict[str, list[str]] = {}
    for r in rows:
        by_page.setdefault(r["source_url"], []).append(r["target_url"])
    assert by_page == {
        "https://a.com/cut": ["https://b.com/"],
        "https://a.com/corrupt": ["https://b.com/"],
        # the chunks read, then the rest as stored (as warcio reads it)
        "https://a.com/chunks": ["https://b.com/", "https://d.com/"],
    }


def test_a_body_in_a_coding_linkgap_cannot_undo_is_counted(tmp_path, read):
    zstd_frame = b"\x28\xb5\x2f\xfd" + bytes(range(40))
    path = write_warc(tmp_path / "zstd.warc.gz", [
        Page("https://a.com/z", zstd_frame, {"Content-Type": "text/html",
                                             "Content-Encoding": "zstd"}),
        Page("https://a.com/ok", html_page([("https://b.com/", "b", None)]), HTML),
    ])
    result = read([path])
    assert [r["source_url"] for r in result.rows] == ["https://a.com/ok"]
    assert result.skipped == {"undecodable_body": 1}


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
