"""Which column of a links file is which: linkgap's own names and the SEO tools' (SPEC 12).

Backlink exports from Ahrefs, Semrush, Majestic, Moz and Search Console name
their columns differently. A header name is matched without regard to case,
spaces and punctuation (``Referring page URL``, ``referring_page_url`` and
``referringpageurl`` are one name), against these aliases, in priority order
where a file has several candidates for one role:

=========== ================================================================
source      source_url, referring page url, source url, linking page, url from
target      target_url, target url, url to, link url
anchor      anchor, anchor text
rel         rel (space-separated tokens, as in HTML)
nofollow    nofollow, flag nofollow, ugc, sponsored (true/false, 1/0, yes/no)
link type   link type (a value naming nofollow, ugc or sponsored)
seen_at     seen_at, first seen, first indexed, date, last seen, last crawled
=========== ================================================================

A link is dofollow unless ``rel`` has a nofollow token, a nofollow-flag
column is true, or ``link type`` names nofollow, ugc or sponsored. A file with
a source column but no target column (Search Console's "latest links") needs
the build's ``--target DOMAIN``.

The delimiter (comma, semicolon or tab) is the one the header line uses
most; a UTF-8 or UTF-16 byte-order mark selects the encoding (UTF-8 without).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ROLE_ALIASES",
    "ColumnMap",
    "detect_delimiter",
    "detect_encoding",
    "flag_is_true",
    "link_type_is_nofollow",
    "normalize_column",
    "with_default_scheme",
]

#: Aliases of each role, already normalised (see normalize_column), best first.
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "source": ("sourceurl", "referringpageurl", "linkingpage", "urlfrom"),
    "target": ("targeturl", "urlto", "linkurl"),
    "anchor": ("anchor", "anchortext"),
    "rel": ("rel",),
    "nofollow": ("nofollow", "flagnofollow", "ugc", "sponsored"),
    "link_type": ("linktype",),
    "seen_at": ("seenat", "firstseen", "firstindexed", "date", "lastseen", "lastcrawled"),
}
_ONE_COLUMN_ROLES = ("source", "target", "anchor", "rel", "link_type", "seen_at")
_DELIMITERS = (",", ";", "\t")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_NOFOLLOW_TYPES = frozenset({"nofollow", "ugc", "sponsored"})
_WORD = re.compile(r"[a-z]+")
# A scheme-less URL starts with a host name (and maybe a port), then a path, query or the end.
_HOST_FIRST = re.compile(r"[A-Za-z0-9\u00a1-\uffff_.-]+(?::\d+)?(?:[/?#]|$)")


def normalize_column(name: str) -> str:
    """A header name without case, spaces or punctuation (``Referring page URL``:
    ``referringpageurl``)."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@dataclass(frozen=True)
class ColumnMap:
    """The header names (as the file spells them) that play each role; None when absent."""

    source: str | None = None
    target: str | None = None
    anchor: str | None = None
    rel: str | None = None
    nofollow: tuple[str, ...] = ()
    link_type: str | None = None
    seen_at: str | None = None

    @classmethod
    def from_header(cls, names: Sequence[str]) -> ColumnMap:
        """Match a header's names to roles by ROLE_ALIASES (first alias present wins)."""
        by_normal: dict[str, str] = {}
        for name in names:
            by_normal.setdefault(normalize_column(name), name)
        found: dict[str, Any] = {}
        for role in _ONE_COLUMN_ROLES:
            found[role] = next((by_normal[a] for a in ROLE_ALIASES[role] if a in by_normal), None)
        found["nofollow"] = tuple(by_normal[a] for a in ROLE_ALIASES["nofollow"] if a in by_normal)
        return cls(**found)

    def columns(self) -> list[str]:
        """Every header name this map reads, in role order."""
        picked = [self.source, self.target, self.anchor, self.rel, *self.nofollow,
                  self.link_type, self.seen_at]
        return [name for name in picked if name is not None]

    def describe(self) -> dict[str, str]:
        """Role → header name, for the build's summary and the manifest."""
        roles: dict[str, str] = {}
        for role in _ONE_COLUMN_ROLES:
            name = getattr(self, role)
            if name is not None:
                roles[role] = name
        if self.nofollow:
            roles["nofollow"] = ", ".join(self.nofollow)
        return roles


def flag_is_true(value: Any) -> bool:
    """A nofollow-flag cell: true/1/yes (any case) or a true boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().casefold() in _TRUE


def link_type_is_nofollow(value: Any) -> bool:
    """A ``link type`` cell that names nofollow, ugc or sponsored (``Nofollow``, ``UGC link``…)."""
    return isinstance(value, str) and not _NOFOLLOW_TYPES.isdisjoint(
        _WORD.findall(value.casefold()))


def with_default_scheme(url: str) -> str:
    """``example.com/page`` → ``http://example.com/page``; anything with a scheme is kept."""
    text = url.strip()
    if text.startswith("//"):
        return "http:" + text
    if "://" not in text and _HOST_FIRST.match(text):
        return "http://" + text
    return url


def detect_encoding(head: bytes) -> str:
    """``utf-16`` for a UTF-16 byte-order mark, else ``utf-8-sig`` (which drops a UTF-8 one)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def detect_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most among comma, semicolon and tab (comma on a tie)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = [(unquoted.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","
