"""Links of an HTML document, read from the parsed element tree (selectolax / Lexbor).

Only elements count: an ``<a href>`` inside a comment or a ``<script>`` is
text, not an element, so it never appears here. One CSS query collects the
links, the first ``<base href>`` and the robots ``<meta>`` elements in one
walk over the tree.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from linkgap.ingest.collect import MAX_ANCHOR_CHARS, RawLink
from linkgap.ingest.rules import ROBOTS_META_NAMES, robots_nofollow

__all__ = ["ExtractedPage", "anchor_text", "extract_links", "parse_html"]

_QUERY = "a[href], area[href], base[href], meta[name]"
#: UTF-8, UTF-16 BE and UTF-16 LE byte-order marks (Lexbor's own sniffing reads them first).
_BYTE_ORDER_MARKS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


@dataclass
class ExtractedPage:
    """What a page says about its links: the raw links, its ``<base href>`` and robots meta."""

    links: list[RawLink] = field(default_factory=list)
    base_href: str | None = None
    robots: list[str] = field(default_factory=list)

    @property
    def nofollow(self) -> bool:
        """True when the page's robots meta says ``nofollow`` or ``none``."""
        return robots_nofollow(self.robots)


def parse_html(body: bytes, charset: str | None = None) -> LexborHTMLParser:
    """Parse a document: decoded as its byte-order mark says, else with the HTTP ``charset``
    when given and known, else sniffed.

    As in browsers (the WHATWG encoding sniffing order), a UTF-8 or UTF-16
    byte-order mark wins over the HTTP header and over ``<meta charset>``.
    Without a BOM or a usable charset the parser looks for a ``<meta
    charset>`` in the first 1024 bytes and falls back to UTF-8.
    """
    if charset and not body.startswith(_BYTE_ORDER_MARKS):
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            name = None
        if name == "utf-8":
            return LexborHTMLParser(body)
        if name is not None:
            try:
                return LexborHTMLParser(body.decode(name, errors="replace"))
            except (UnicodeError, LookupError):
                pass  # a codec that cannot decode text (e.g. "base64"): sniff instead
    return LexborHTMLParser(body, encoding=True)


def extract_links(tree: LexborHTMLParser) -> ExtractedPage:
    """The ``<a href>``/``<area href>`` elements of a parsed document, in document order.

    Each link is ``(href, rel, node)``; pass the node to :func:`anchor_text`
    for its anchor text (done only for links that count, to save time).
    """
    page = ExtractedPage()
    links = page.links
    for node in tree.css(_QUERY):
        tag = node.tag
        attrs = node.attributes
        if tag == "a" or tag == "area":
            href = attrs.get("href")
            if href is not None:
                links.append((href, attrs.get("rel"), node))
        elif tag == "base":
            if page.base_href is None:
                page.base_href = attrs.get("href")
        elif tag == "meta":
            name = attrs.get("name")
            content = attrs.get("content")
            if name and content and name.strip().lower() in ROBOTS_META_NAMES:
                page.robots.append(content)
    return page


def anchor_text(node: LexborNode) -> str | None:
    """The anchor text of a link: its text, else an image's ``alt`` (an area's own ``alt``).

    Whitespace runs collapse to one space; the text is cut to ``MAX_ANCHOR_CHARS``.
    """
    text = node.text(deep=True, separator=" ")
    if text and not text.isspace():
        return " ".join(text.split())[:MAX_ANCHOR_CHARS]
    if node.tag == "area":
        alt = node.attributes.get("alt")
    else:
        image = node.css_first("img[alt]")
        alt = image.attributes.get("alt") if image is not None else None
    if alt and not alt.isspace():
        return " ".join(alt.split())[:MAX_ANCHOR_CHARS]
    return None
