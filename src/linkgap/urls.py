"""Link URL resolution and normalisation (SPEC section 2, "Rules").

Two URLs are the same link end when they are equal after: scheme and host
lowercased, host in canonical form without a trailing dot, the default port
and the ``#fragment`` dropped, an empty path read as ``/``. Path and query are
kept exactly as they are. User information (``user:pass@``) is dropped too: it
never names a different page.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from linkgap.domains import canonical_host

__all__ = ["NormalizedURL", "normalize_url", "resolve_href"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_STRIP_INSIDE = str.maketrans("", "", "\t\n\r")


class NormalizedURL(NamedTuple):
    """A normalised http(s) URL and its canonical host."""

    url: str
    host: str


def resolve_href(href: str, base: str) -> str | None:
    """An ``href`` resolved against the page (or ``<base href>``) URL, as browsers read it.

    Returns None for hrefs that never lead to a web page: fragments alone,
    ``mailto:``, ``javascript:``, ``data:`` and other non-http(s) schemes.
    """
    href = href.strip().translate(_STRIP_INSIDE)
    if not href or href.startswith("#"):
        return None
    lowered = href[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return href
    if ":" in href.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return None  # another scheme (mailto:, javascript:, data:, ftp:, tel:, …)
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def normalize_url(url: str) -> NormalizedURL | None:
    """The normalised form of an absolute http(s) URL, or None when it is not one."""
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
