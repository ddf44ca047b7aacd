"""The small rules every reader shares: ``rel`` tokens, robots directives, dates, content types.

SPEC section 2: a link is dofollow unless its ``rel`` has ``nofollow``,
``ugc`` or ``sponsored`` (case-insensitive), or its page says ``nofollow`` or
``none`` in ``<meta name=robots>`` or an ``X-Robots-Tag`` header, with or
without a user-agent prefix (``googlebot: nofollow``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = [
    "HTML_CONTENT_TYPES",
    "ROBOTS_META_NAMES",
    "is_html_content_type",
    "parse_seen_at",
    "rel_is_nofollow",
    "robots_nofollow",
]

#: ``rel`` tokens that make a link not dofollow.
NOFOLLOW_REL_TOKENS = frozenset({"nofollow", "ugc", "sponsored"})

#: Robots directives that make every link of a page not dofollow.
NOFOLLOW_ROBOTS = frozenset({"nofollow", "none"})

#: ``<meta name=…>`` values read as robots directives: the generic one and the
#: user-agent specific ones of the large crawlers (the meta form of a
#: ``X-Robots-Tag: googlebot: nofollow`` header).
ROBOTS_META_NAMES = frozenset({"robots", "googlebot", "bingbot"})

#: Media types parsed as HTML.
HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Robots directives that carry a value after a colon; "unavailable_after: <date>"
# must not be mistaken for a user-agent prefix.
_VALUED_DIRECTIVES = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)


def rel_is_nofollow(rel: str | None) -> bool:
    """True when a ``rel`` value has a ``nofollow``, ``ugc`` or ``sponsored`` token (any case)."""
    if not rel:
        return False
    return not NOFOLLOW_REL_TOKENS.isdisjoint(rel.lower().split())


def robots_nofollow(values: Iterable[str]) -> bool:
    """True when robots directives (meta contents or ``X-Robots-Tag`` values) say nofollow.

    Each value is a comma-separated list of directives; a ``user-agent:``
    prefix (``googlebot: noindex, nofollow``) is dropped, because a link a
    major crawler is told not to follow is not a dofollow link.
    """
    for value in values:
        for part in value.lower().split(","):
            token = part.strip()
            if ":" in token:
                head, _, rest = token.partition(":")
                if head.strip() in _VALUED_DIRECTIVES:
                    continue
                token = rest.strip()
            if token in NOFOLLOW_ROBOTS:
                return True
            # "googlebot: noindex nofollow" is sometimes written with spaces
            if " " in token and not NOFOLLOW_ROBOTS.isdisjoint(token.split()):
                return True
    return False


def is_html_content_type(content_type: str | None) -> bool:
    """True for ``text/html`` and ``application/xhtml+xml`` (parameters and case ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in HTML_CONTENT_TYPES


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type value, lowercased, or None."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def parse_seen_at(text: str) -> int | None:
    """Epoch seconds of an ISO-8601 date or date-time (naive means UTC), or None if unreadable.

    Accepts ``2024-01-15``, ``2024-01-15T12:00:00Z``, ``2024-01-15 12:00:00+02:00``
    and the other forms ``datetime.fromisoformat`` reads.
    """
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return int(moment.timestamp())
    except (OverflowError, OSError, ValueError):
        return None
