"""Security headers on every response, and CORS (off unless origins are listed).

Every response, whoever produced it (a route, an error handler, the static
files, the gateway's own 401/413/429/500, the server's 400/408/431/503 for
requests that never reached the app), carries:

- ``X-Content-Type-Options: nosniff``;
- under ``/v1``: ``Cache-Control: no-store`` (answers are per key and change);
- on the page (``/``) and the API reference (``/docs``): a strict
  ``Content-Security-Policy`` (scripts, styles and requests only from this
  origin, no inline code, ``frame-ancestors 'none'``), ``X-Frame-Options: DENY``
  for browsers without CSP level 2, and ``Referrer-Policy: no-referrer``;
- everywhere else: ``Content-Security-Policy: default-src 'none';
  frame-ancestors 'none'`` (nothing an API answer or a file could load or be
  framed by).

CORS (``LINKGAP_CORS_ORIGINS``): with no origins listed, no CORS header is ever
sent and browsers on other origins cannot read answers. With origins listed, a
preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
from a listed origin is answered 204 without a key; answers to a listed
origin carry ``Access-Control-Allow-Origin`` (that origin, never ``*``) and
expose linkgap's headers; any other origin gets no CORS header (its preflight is
handled like any request: 401 under ``/v1`` without a key).
"""

from __future__ import annotations

from collections.abc import Iterable

from linkgap.settings import normalize_origin

__all__ = [
    "API_CSP",
    "PAGE_CSP",
    "PAGE_PATHS",
    "CorsPolicy",
    "security_headers",
]

Headers = list[tuple[bytes, bytes]]

#: The page and /docs load their script, styles and data from this origin only.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Everything else (JSON, CSV, files) loads nothing and is framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: The HTML documents the page CSP is for.
PAGE_PATHS = frozenset({"/", "/docs"})

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_V1: Headers = [_NOSNIFF, (b"cache-control", b"no-store"),
                (b"content-security-policy", API_CSP.encode())]
_PAGE: Headers = [_NOSNIFF, (b"content-security-policy", PAGE_CSP.encode()),
                  (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
_OTHER: Headers = [_NOSNIFF, (b"content-security-policy", API_CSP.encode())]


def security_headers(path: str) -> Headers:
    """The security headers for a response to ``path`` (shared lists: do not modify)."""
    if path == "/v1" or path.startswith("/v1/"):
        return _V1
    if path in PAGE_PATHS:
        return _PAGE
    return _OTHER


_ALLOW_METHODS = b"GET, HEAD, POST"
_ALLOW_HEADERS = b"Authorization, Content-Type, Accept, Idempotency-Key"
_EXPOSE = (b"X-Request-ID, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
           b"Retry-After, Location, Idempotent-Replayed, Content-Disposition")
_MAX_AGE = b"600"


class CorsPolicy:
    """Which browser origins may call the server (``origins`` empty: CORS off)."""

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self.origins = frozenset(normalize_origin(o) for o in origins)

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def _allowed(self, origin: bytes | None) -> bytes | None:
        if origin is None:
            return None
        try:
            text = origin.decode("ascii")
        except UnicodeDecodeError:
            return None
        # Browsers send origins already serialised; compare them as they are.
        return origin if text in self.origins else None

    def preflight(self, method: str, origin: bytes | None,
                  request_method: bytes | None) -> Headers | None:
        """The headers of a 204 answer when this is a preflight from a listed origin,
        else None (the request is then handled like any other)."""
        if method != "OPTIONS" or request_method is None:
            return None
        allowed = self._allowed(origin)
        if allowed is None:
            return None
        return [(b"access-control-allow-origin", allowed), (b"vary", b"Origin"),
                (b"access-control-allow-methods", _ALLOW_METHODS),
                (b"access-control-allow-headers", _ALLOW_HEADERS),
                (b"access-control-max-age", _MAX_AGE)]

    def response_headers(self, origin: bytes | None) -> Headers:
        """CORS headers for an ordinary answer (none when CORS is off)."""
        if not self.origins:
            return []
        allowed = self._allowed(origin)
        if allowed is None:
            return [(b"vary", b"Origin")]
        return [(b"access-control-allow-origin", allowed), (b"vary", b"Origin"),
                (b"access-control-expose-headers", _EXPOSE)]
