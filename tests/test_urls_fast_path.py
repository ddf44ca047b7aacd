"""normalize_url's hand-split fast path against the urlsplit reference, on generated URLs.

The fast path takes http(s) URLs whose authority is a plain host name; every
other URL goes to ``normalize_split``. Whatever the URL, the two must give the
same answer: the normalised URL and host, or None.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkgap.urls import PLAIN_HTTP_AUTHORITY, normalize_split, normalize_url

# Characters that matter to the split: delimiters, authority characters, white
# space and control characters urlsplit strips or removes, non-ASCII letters.
_SPECIAL = "/?#:@[]%._-~ \t\n\r\x00\x0b\x1f\u00e9\u00df\u2100\uff0e\u3002"
_HOST_CHARS = "abcxyzABCXYZ019.-_"
_host = st.text(alphabet=_HOST_CHARS + "\u00fc:@[]", min_size=0, max_size=20)
_tail = st.text(alphabet=st.sampled_from(list(_SPECIAL + "azAZ09=&+")), max_size=25)
_scheme = st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "htt", "http:", ""])
_sep = st.sampled_from(["://", ":/", ":", "//", ":///", "://user@", "://u:p@"])
_pad = st.sampled_from(["", " ", "\t", "\n", " \u00a0", "\x00"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    """A URL-like string: mostly http(s) with a host, often with a bad part."""
    return (draw(_pad) + draw(_scheme) + draw(_sep) + draw(_host) + draw(_tail)
            + draw(_pad))


@settings(max_examples=3000, deadline=None)
@given(urls())
@example("https://Example.COM")
@example("http://example.com?")
@example("http://example.com??")
@example("http://example.com/a?#b")
@example("http://example.com#frag?x")
@example("http://example.com:80/")
@example("http://ex ample.com/")
@example("http://example.com./p")
@example("http://192.168.0.1/")
@example("http://xn--bcher-kva.example/")
@example("http://exa\tmple.com/")
@example("http://example.com/\u00e9?\u00df")
@example("http://a_b.example.com/")
def test_fast_path_matches_urlsplit(url: str) -> None:
    assert normalize_url(url) == normalize_split(url)


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=40))
def test_any_text_matches_urlsplit(text: str) -> None:
    assert normalize_url(text) == normalize_split(text)
    assert normalize_url("http://" + text) == normalize_split("http://" + text)


def test_plain_urls_take_the_fast_path() -> None:
    # the cases the fast path is for, so that the tests above compare something
    for url in ("https://www.example.com/a/b?c=d#e", "HTTP://Example.org", "http://a.b.c?x"):
        assert PLAIN_HTTP_AUTHORITY.match(url) is not None
        assert normalize_url(url) == normalize_split(url)
    assert normalize_url("HTTP://Example.org") is not None
    assert normalize_url("HTTP://Example.org").url == "http://example.org/"  # type: ignore[union-attr]
    for url in ("http://u@example.com/", "http://example.com:8080/", "http://[::1]/",
                "http://ex%41mple.com/"):
        assert PLAIN_HTTP_AUTHORITY.match(url) is None
