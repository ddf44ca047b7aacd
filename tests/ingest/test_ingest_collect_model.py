"""The collector's fast paths agree with the plain rules built from linkgap.urls and domains.

``LinkCollector.add_page`` decides "internal" from the host alone and skips
URL parsing where it can; this checks, on generated hrefs (odd cases
included), that it yields exactly what resolving and normalising every href
the slow way yields.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.domains import DomainNormalizer
from linkgap.ingest.base import InputSpec, InputStats
from linkgap.ingest.collect import LinkCollector
from linkgap.ingest.rules import rel_is_nofollow
from linkgap.urls import normalize_url, resolve_href

NORMALIZER = DomainNormalizer()
SPEC = InputSpec("warc", ())

HOSTS = st.sampled_from(
    [
        "a.com",
        "www.a.com",
        "A.COM",
        "a.com.",
        "b.org",
        "sub.b.org",
        "xn--bcher-kva.de",
        "bücher.de",
        "1.2.3.4",
        "localhost",
        "co.uk",
        "x.co.uk",
        "alice.github.io",
        "bob.github.io",
        "user:pw@b.org",
        "b.org:8080",
        "a.com:443",
        "[::1]",
        "b..org",
        "bad_host.com",
        "",
    ]
)
SCHEMES = st.sampled_from(["http://", "https://", "HTTPS://", "//", "ftp://", "http:", " https://"])
PATHS = st.sampled_from(
    ["", "/", "/p", "/p?q=1", "?q", "#f", "/a b", "/x#y", "\\evil.com", "/x?", "/p#f?q",
     "/p?q#f", "/p?#f", "/?", "/#", "/a/b/", "/p?x=/y"]
)
# After the URL: white space (stripped), a tab (dropped inside), a soft hyphen (kept):
# the collector's fast path must hand all of these to the general rules.
ENDS = st.sampled_from(["", "", "", " ", "\xa0", "\t", "\u2028", "\u00ad", "\nx"])
ABSOLUTE = st.builds(lambda s, h, p, e: s + h + p + e, SCHEMES, HOSTS, PATHS, ENDS)
RELATIVE = st.sampled_from(
    [
        "/rel",
        "rel",
        "../up",
        "?q=2",
        "#top",
        "",
        "  ",
        "mailto:x@b.org",
        "javascript:x",
        "java\nscript:x",
        "data:,x",
        "tel:1",
        "./x:y",
        "x:y/z",
        "/a:b",
        "\tb.org/x",
        "/\t/b.org/x",
        "/\n/other.net/y",
        "é/x",
        "//",
        "///p",
        "//?q",
        "//#f",
    ]
)
HREFS = st.one_of(ABSOLUTE, RELATIVE)
PAGE_URLS = st.sampled_from(
    ["https://a.com/dir/page", "http://www.a.com", "https://b.org/x?y", "https://bob.github.io/"]
)
BASES = st.one_of(
    st.none(), st.sampled_from(["https://other.net/b/", "/base/", "//b.org/", "mailto:x"])
)


def reference(
    page_url: str, base_href: str | None, links: list[tuple[str, str | None]], page_nofollow: bool
) -> Counter:
    page = normalize_url(page_url)
    assert page is not None
    src_domain = NORMALIZER.registrable(page.host)
    base = page.url
    if base_href:
        resolved = resolve_href(base_href, page.url)
        norm = normalize_url(resolved) if resolved else None
        if norm is not None:
            base = norm.url
    out: Counter = Counter()
    for href, rel in links:
        absolute = resolve_href(href, base)
        if absolute is None:
            continue
        target = normalize_url(absolute)
        if target is None:
            continue
        domain = NORMALIZER.registrable(target.host)
        if domain is None or domain == src_domain:
            continue
        out[
            (
                page.url,
                target.url,
                src_domain,
                domain,
                not page_nofollow and not rel_is_nofollow(rel),
            )
        ] += 1
    return out


@settings(max_examples=400, deadline=None)
@given(
    page_url=PAGE_URLS,
    base_href=BASES,
    links=st.lists(
        st.tuples(HREFS, st.sampled_from([None, "nofollow", "noopener", "UGC"])), max_size=12
    ),
    page_nofollow=st.booleans(),
)
def test_collector_matches_the_plain_rules(page_url, base_href, links, page_nofollow):
    stats = InputStats(SPEC)
    collector = LinkCollector(NORMALIZER, stats)
    collector.add_page(
        page_url, [(h, r, None) for h, r in links], base_href=base_href, page_nofollow=page_nofollow
    )
    got = _rows(collector)
    assert got == reference(page_url, base_href, links, page_nofollow)
    assert stats.links_seen == len(links)
    assert stats.links_seen == len(collector) + sum(stats.skipped.values())


def _rows(collector: LinkCollector) -> Counter:
    return Counter(
        zip(
            collector.source_url,
            collector.target_url,
            collector.source_domain,
            collector.target_domain,
            collector.dofollow,
            strict=True,
        )
    )


@settings(max_examples=200, deadline=None)
@given(
    pages=st.lists(
        st.tuples(PAGE_URLS, BASES, st.booleans()), min_size=2, max_size=6
    ),
    links=st.lists(
        st.tuples(HREFS, st.sampled_from([None, "nofollow", "noopener", "UGC"])),
        min_size=1,
        max_size=10,
    ),
)
def test_warm_caches_are_invisible(pages, links):
    """One collector over many pages (its host and URL caches warm, the same hrefs met on
    pages of other domains and base schemes) counts every row and every skip reason as
    a fresh collector for each page does."""
    shared_stats = InputStats(SPEC)
    shared = LinkCollector(NORMALIZER, shared_stats)
    fresh_rows: Counter = Counter()
    fresh_skips: Counter = Counter()
    for page_url, base_href, nofollow in pages:
        raw = [(h, r, None) for h, r in links]
        shared.add_page(page_url, raw, base_href=base_href, page_nofollow=nofollow)
        stats = InputStats(SPEC)
        fresh = LinkCollector(NORMALIZER, stats)
        fresh.add_page(page_url, raw, base_href=base_href, page_nofollow=nofollow)
        fresh_rows += _rows(fresh)
        fresh_skips.update(stats.skipped)
    assert _rows(shared) == fresh_rows
    assert Counter(shared_stats.skipped) == fresh_skips
    assert shared_stats.links_seen == len(pages) * len(links)
