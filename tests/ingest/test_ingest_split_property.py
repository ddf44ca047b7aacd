"""Property: where pages are stored (one file or many) does not change the links read."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.crawlfiles import Page, WatPage, html_page, write_warc, write_wat

HOSTS = ["a.com", "www.a.com", "b.org", "blog.b.org", "c.co.uk", "alice.github.io", "bob.github.io"]
HREFS = st.one_of(
    st.builds(
        lambda h, p: f"https://{h}/{p}", st.sampled_from(HOSTS), st.sampled_from(["", "x", "y?q=1"])
    ),
    st.builds(lambda h: f"//{h}/p", st.sampled_from(HOSTS)),
    st.sampled_from(
        ["/rel", "rel2", "#top", "mailto:x@a.com", "javascript:void(0)", "http://1.2.3.4/"]
    ),
)
RELS = st.sampled_from([None, "nofollow", "UGC noopener", "sponsored", "noopener"])
LINKS = st.lists(st.tuples(HREFS, st.text("abc ", max_size=5), RELS), max_size=6)
PAGES = st.lists(
    st.tuples(
        st.sampled_from(HOSTS), st.integers(0, 3), LINKS, st.sampled_from([None, "nofollow"])
    ),
    min_size=1,
    max_size=8,
)


def _split(items: list, cuts: list[int]) -> list[list]:
    bounds = sorted({c % (len(items) + 1) for c in cuts} | {0, len(items)})
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _multiset(rows: list[dict]) -> Counter:
    return Counter(tuple(sorted(r.items())) for r in rows)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pages=PAGES, cuts=st.lists(st.integers(0, 10), max_size=4))
def test_warc_rows_do_not_depend_on_how_pages_are_split(read, pages, cuts):
    warc_pages = [
        Page(f"https://{host}/p{n}", html_page(links, robots=robots))
        for host, n, links, robots in pages
    ]
    with tempfile.TemporaryDirectory() as tmp:
        one = write_warc(Path(tmp, "all.warc.gz"), warc_pages)
        parts = [
            write_warc(Path(tmp, f"part{i}.warc"), part, gzip=i % 2 == 0)
            for i, part in enumerate(_split(warc_pages, cuts))
        ]
        assert _multiset(read([one]).rows) == _multiset(read(parts).rows)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pages=PAGES, cuts=st.lists(st.integers(0, 10), max_size=4))
def test_wat_rows_do_not_depend_on_how_pages_are_split(read, pages, cuts):
    wat_pages = [
        WatPage(
            f"https://{host}/p{n}",
            links,
            metas=[("robots", robots)] if robots else [],
        )
        for host, n, links, robots in pages
    ]
    with tempfile.TemporaryDirectory() as tmp:
        one = write_wat(Path(tmp, "all.wat.gz"), wat_pages)
        parts = [
            write_wat(Path(tmp, f"part{i}.wat.gz"), part)
            for i, part in enumerate(_split(wat_pages, cuts))
        ]
        assert _multiset(read([one]).rows) == _multiset(read(parts).rows)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pages=PAGES)
def test_warc_and_wat_of_the_same_pages_agree_on_links(read, pages):
    """The two page formats apply the same rules, so they find the same (source, target, rel)."""
    warc_pages = [
        Page(f"https://{host}/p{n}", html_page(links, robots=robots))
        for host, n, links, robots in pages
    ]
    wat_pages = [
        WatPage(f"https://{host}/p{n}", links, metas=[("robots", robots)] if robots else [])
        for host, n, links, robots in pages
    ]
    with tempfile.TemporaryDirectory() as tmp:
        warc_rows = read([write_warc(Path(tmp, "a.warc.gz"), warc_pages)]).rows
        wat_rows = read([write_wat(Path(tmp, "a.wat.gz"), wat_pages)]).rows

    def key(rows: list[dict]) -> Counter:
        return Counter((r["source_url"], r["target_url"], r["dofollow"], r["anchor"]) for r in rows)

    assert key(warc_rows) == key(wat_rows)
