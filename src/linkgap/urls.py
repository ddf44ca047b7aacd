"""Link URL resolution and normalisation (SPEC section 2, "Rules").

Two URLs are the same link end when they are equal after: scheme and host
lowercased, host in canonical form without a trailing dot, the default port
and the ``#fragment`` dropped, an empty path read as ``/``. Path and query are
kept exactly as they are. User information (``user:pass@``) is dropped too: it
never names a different page.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from linkgap.domains import canonical_host

__all__ = [
    "HREF_ABSOLUTE",
    "HREF_NOT_HTTP",
    "HREF_RELATIVE",
    "PLAIN_HTTP_AUTHORITY",
    "NormalizedURL",
    "classify_href",
    "join_href",
    "normalize_split",
    "normalize_url",
    "plain_url",
    "resolve_href",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_STRIP_INSIDE = str.maketrans("", "", "\t\n\r")
# A scheme before the first "/", "?" or "#" (mailto:, javascript:, data:, tel:, ftp: …).
_OTHER_SCHEME = re.compile(r"[^/?#]*:")
# An http(s) URL whose authority is a plain host name: no user info, port or
# IPv6 brackets, ASCII letters, digits, ".", "-" and "_" only. The authority
# ends where urlsplit ends it: at the first "/", "?" or "#", or the end.
# Group 1 is the scheme, group 2 the host as written.
PLAIN_HTTP_AUTHORITY = re.compile(r"(https?)://([A-Za-z0-9._-]+)(?![^/?#])", re.IGNORECASE)

#: What :func:`classify_href` finds an href to be.
HREF_NOT_HTTP = 0  # empty, a #fragment alone, or a scheme other than http(s): never a web page
HREF_ABSOLUTE = 1  # an absolute http(s) URL (a scheme-relative "//host/…" given the base's scheme)
HREF_RELATIVE = 2  # a relative reference: it keeps the base's host (see join_href)


class NormalizedURL(NamedTuple):
    """A normalised http(s) URL and its canonical host."""

    url: str
    host: str


def classify_href(href: str, base_scheme: str) -> tuple[int, str]:
    """``(kind, href)``: what an href is, and the href cleaned (absolute when it names a host).

    The one reading of an href for every reader (``resolve_href`` and the
    link collector's hot loop): white space around it and tabs or line breaks
    inside it are dropped, as browsers drop them; a scheme-relative
    ``//host/path`` takes ``base_scheme``; an absolute URL is kept as written.
    A relative reference (also a host-less ``//``, ``///p``) is returned
    cleaned, to be resolved with :func:`join_href`.
    """
    h = href.strip()
    if "\n" in h or "\t" in h or "\r" in h:
        h = h.translate(_STRIP_INSIDE)
    if h.startswith(("https://", "http://")):  # most hrefs that name a host
        return HREF_ABSOLUTE, h
    if not h or h[0] == "#":
        return HREF_NOT_HTTP, h
    if h[0] in "hH" and h[:8].lower().startswith(("http://", "https://")):
        return HREF_ABSOLUTE, h
    if h.startswith("//") and h[2:3] not in ("", "/", "?", "#"):
        return HREF_ABSOLUTE, f"{base_scheme}:{h}"
    if _OTHER_SCHEME.match(h):
        return HREF_NOT_HTTP, h
    return HREF_RELATIVE, h


def join_href(base: str, relative: str) -> str | None:
    """A relative reference (from :func:`classify_href`) resolved against ``base``; None if bad."""
    try:
        return urljoin(base, relative)
    except ValueError:
        return None


def resolve_href(href: str, base: str) -> str | None:
    """An ``href`` resolved against the page (or ``<base href>``) URL, as browsers read it.

    Returns None for hrefs that never lead to a web page: fragments alone,
    ``mailto:``, ``javascript:``, ``data:`` and other non-http(s) schemes.
    """
    kind, h = classify_href(href, base.split(":", 1)[0])
    if kind == HREF_RELATIVE:
        return join_href(base, h)
    return h if kind == HREF_ABSOLUTE else None


def normalize_url(url: str) -> NormalizedURL | None:
    """The normalised form of an absolute http(s) URL, or None when it is not one."""
    url = url.strip()
    plain = PLAIN_HTTP_AUTHORITY.match(url)
    if plain is not None and "\t" not in url and "\n" not in url and "\r" not in url:
        host = canonical_host(plain.group(2))
        return NormalizedURL(plain_url(url, plain, host), host) if host is not None else None
    return normalize_split(url)


def plain_url(url: str, plain: re.Match[str], host: str) -> str:
    """The normalised form of a URL that ``PLAIN_HTTP_AUTHORITY`` matched, split by hand.

    ``url`` is stripped and holds no tab or line break; ``host`` is the canonical
    form of the matched host. Most URLs of crawl data take this path: it splits
    them as ``urlsplit`` would (in :func:`normalize_split`) at a fraction of the
    cost; tests/test_urls_fast_path.py holds the two equal on generated URLs.
    """
    rest = url[plain.end():]
    hash_at = rest.find("#")
    if hash_at >= 0:
        rest = rest[:hash_at]
    path, _, query = rest.partition("?")
    # an empty path reads as "/", an empty query is dropped (as in normalize_split)
    tail = f"{path or '/'}?{query}" if query else path or "/"
    return f"{plain.group(1).lower()}://{host}{tail}"


def normalize_split(url: str) -> NormalizedURL | None:
    """:func:`normalize_url` by ``urllib.parse.urlsplit`` for every URL: the reference
    of the fast path, and the path of URLs with user info, a port, brackets or
    other characters in the authority."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        raw_host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not raw_host:
        return None
    host = canonical_host(raw_host)
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return NormalizedURL(f"{scheme}://{netloc}{path}{query}", host)
