"""SPEC section 1: every row of tests/data/domains.tsv, plus URL normalisation."""

from __future__ import annotations

import pytest
from support.vectors import domain_vectors

from linkgap.domains import DomainNormalizer, canonical_host, to_unicode
from linkgap.errors import InvalidDomain
from linkgap.urls import normalize_url, resolve_href

NORMALIZER = DomainNormalizer()


def test_vectors_file_is_found() -> None:
    assert len(domain_vectors()) >= 40


@pytest.mark.parametrize(("text", "expected"), domain_vectors())
def test_domain_vectors(text: str, expected: str) -> None:
    if expected == "-":
        assert NORMALIZER.try_normalize(text) is None
        with pytest.raises(InvalidDomain):
            NORMALIZER.normalize(text)
    else:
        assert NORMALIZER.normalize(text) == expected


def test_icann_only_merges_private_suffix_owners() -> None:
    icann = DomainNormalizer(icann_only=True)
    assert icann.normalize("alice.github.io") == "github.io"
    assert icann.normalize("bob.blogspot.com") == "blogspot.com"
    assert icann.psl_mode == "icann" and NORMALIZER.psl_mode == "all"
    assert NORMALIZER.psl_version


def test_matching_is_exact_not_substring() -> None:
    assert NORMALIZER.normalize("linear.app") != NORMALIZER.normalize("notlinear.app")


def test_unicode_display_form() -> None:
    assert to_unicode("xn--bcher-kva.de") == "bücher.de"
    assert to_unicode("example.com") == "example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # emoji and symbol names browsers accept (UTS-46, as the WHATWG URL standard applies it)
        ("💩.la", "xn--ls8h.la"),
        ("xn--ls8h.la", "xn--ls8h.la"),
        ("XN--LS8H.LA", "xn--ls8h.la"),
        ("https://www.💩.la/path", "xn--ls8h.la"),
        ("☃.com", "xn--n3h.com"),
        ("xn--n3h.com", "xn--n3h.com"),
        ("i❤.ws", "xn--i-7iq.ws"),
        ("🇫🇷.fr", "xn--j77hya.fr"),
        ("💩.bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_names_uts46_accepts_are_domains(text: str, expected: str) -> None:
    assert NORMALIZER.normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\u0301a.com",  # a label may not start with a combining mark
        "a\u200db.com",  # a zero-width joiner outside the contexts that allow it
        "💩\u200d.la",
        "ab\u0627.com",  # left-to-right and right-to-left letters in one label (bidi rule)
        "⒈.com",  # a character UTS-46 disallows
        "💩!.la",  # ASCII in a Unicode label keeps the ASCII label rule
        "xn--ls8h-.la",  # not Punycode
        "xn--abc.com",  # Punycode of nothing but ASCII
        "xn--ls8h\u00e9.la",  # a Unicode label may not start with xn--
    ],
)
def test_names_uts46_refuses_are_not_domains(text: str) -> None:
    assert NORMALIZER.try_normalize(text) is None
    with pytest.raises(InvalidDomain, match="not a valid domain name"):
        NORMALIZER.normalize(text)


def test_emoji_domains_are_shown_in_their_xn_form() -> None:
    # as browsers' address bars show them (and the page does): symbols are easy to spoof
    assert to_unicode("xn--ls8h.la") == "xn--ls8h.la"
    assert to_unicode("xn--bcher-kva.xn--ls8h.la") == "bücher.xn--ls8h.la"


def test_over_long_name_is_refused() -> None:
    name = ".".join(["a" * 60] * 5) + ".com"  # labels fine, name > 253
    assert canonical_host(name) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.COM:80", "http://www.example.com/"),
        ("https://Example.com:443/A/b?Q=1#frag", "https://example.com/A/b?Q=1"),
        ("https://example.com.:8443/x", "https://example.com:8443/x"),
        ("http://user:pw@example.com/p", "http://example.com/p"),
        ("http://bücher.de/", "http://xn--bcher-kva.de/"),
    ],
)
def test_url_normalisation(url: str, expected: str) -> None:
    normalized = normalize_url(url)
    assert normalized is not None and normalized.url == expected


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://[::1]/", "http://exa mple.com/", "http://", "notaurl"]
)
def test_url_refused(url: str) -> None:
    assert normalize_url(url) is None


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("/a", "http://x.com/p/q", "http://x.com/a"),
        ("b", "http://x.com/p/q", "http://x.com/p/b"),
        ("//cdn.y.com/z", "https://x.com/", "https://cdn.y.com/z"),
        ("#top", "http://x.com/", None),
        ("mailto:a@b.com", "http://x.com/", None),
        ("javascript:void(0)", "http://x.com/", None),
        ("data:text/html,hi", "http://x.com/", None),
        ("  https://y.com/\n", "http://x.com/", "https://y.com/"),
    ],
)
def test_resolve_href(href: str, base: str, expected: str | None) -> None:
    assert resolve_href(href, base) == expected
