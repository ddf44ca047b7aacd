"""``wat`` input: links from Common Crawl WAT files (WARC ``metadata`` records holding JSON).

Each JSON record describes one crawled record. Only descriptions of
``response`` records with ``HTML-Metadata`` count; their
``Links[]`` entries whose ``path`` is ``A@/href`` or ``AREA@/href`` are the
page's links (``LINK@/href``, ``IMG@/src``, ``FORM@/action`` … are not).
``Head.Base``, the robots entries of ``Head.Metas`` and the ``X-Robots-Tag`` of
``HTTP-Response-Metadata.Headers`` are honoured as in HTML. ``seen_at`` is the
WARC-Date of the WAT record (the crawl time of the page it describes).

Skip reasons of this reader, on top of those of ``linkgap.ingest.collect``
and ``linkgap.ingest.warcfile``:

======================== ====================================================
``broken_json``          a metadata record whose payload is not valid JSON
``bad_wat_record``       valid JSON without the WAT structure (no ``Envelope`` …)
``http_status_not_ok``   the described response has an HTTP status outside 200-299
``not_html``             the described response has no ``HTML-Metadata``
======================== ====================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from fastwarc.warc import WarcRecordType

from linkgap.domains import DomainNormalizer
from linkgap.ingest.base import InputSpec, InputStats
from linkgap.ingest.collect import LinkCollector, RawLink, clean_anchor
from linkgap.ingest.rules import ROBOTS_META_NAMES, parse_seen_at, robots_nofollow
from linkgap.ingest.warcfile import iter_records

__all__ = ["LINK_PATHS", "DescribedPage", "parse_wat_page", "read_wat"]

#: The ``Links[].path`` values that are ``<a href>`` / ``<area href>`` elements.
LINK_PATHS = frozenset({"A@/href", "AREA@/href"})


class DescribedPage:
    """The link-relevant content of one WAT record about an HTML response."""

    __slots__ = ("url", "date", "links", "base_href", "nofollow")

    def __init__(
        self,
        url: str,
        date: str | None,
        links: list[RawLink],
        base_href: str | None,
        nofollow: bool,
    ) -> None:
        self.url = url
        self.date = date
        self.links = links
        self.base_href = base_href
        self.nofollow = nofollow


class _Skip(Exception):
    """A WAT record that does not count, with the reason (None: not a page, not counted)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason)
        self.reason = reason


def _dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Skip("bad_wat_record")
    return value


def _header_values(headers: dict[str, Any], name: str) -> list[str]:
    out: list[str] = []
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, list):
                out.extend(v for v in value if isinstance(v, str))
    return out


def parse_wat_page(doc: Any) -> DescribedPage:
    """The page described by a decoded WAT JSON document; raises ``_Skip`` when there is none."""
    envelope = _dict(doc).get("Envelope")
    if not isinstance(envelope, dict):
        raise _Skip("bad_wat_record")
    warc_meta = _dict(envelope.get("WARC-Header-Metadata"))
    if warc_meta.get("WARC-Type") != "response":
        raise _Skip(None)  # describes a request, warcinfo or metadata record
    url = warc_meta.get("WARC-Target-URI")
    if not isinstance(url, str):
        raise _Skip("bad_wat_record")
    response = _dict(_dict(envelope.get("Payload-Metadata")).get("HTTP-Response-Metadata"))
    status = _dict(response.get("Response-Message")).get("Status")
    if status is not None and not (str(status).isdigit() and 200 <= int(status) < 300):
        raise _Skip("http_status_not_ok")
    html = response.get("HTML-Metadata")
    if html is None:
        raise _Skip("not_html")
    html = _dict(html)
    head = _dict(html.get("Head"))
    robots = [
        meta.get("content") or ""
        for meta in head.get("Metas") or []
        if isinstance(meta, dict) and str(meta.get("name", "")).strip().lower() in ROBOTS_META_NAMES
    ]
    robots += _header_values(_dict(response.get("Headers")), "x-robots-tag")
    links: list[RawLink] = []
    for link in html.get("Links") or []:
        if isinstance(link, dict) and link.get("path") in LINK_PATHS:
            href = link.get("url")
            if isinstance(href, str):
                rel = link.get("rel")
                text = link.get("text")
                links.append(
                    (
                        href,
                        rel if isinstance(rel, str) else None,
                        text if isinstance(text, str) else None,
                    )
                )
    base = head.get("Base")
    date = warc_meta.get("WARC-Date")
    return DescribedPage(
        url,
        date if isinstance(date, str) else None,
        links,
        base if isinstance(base, str) else None,
        robots_nofollow(robots),
    )


def read_wat(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches of the ``<a>``/``<area>`` links described by the spec's WAT files."""
    collector = LinkCollector(normalizer, stats)
    metadata_type = WarcRecordType.metadata
    for path in spec.paths:
        for record, block in iter_records(path, stats, metadata_type):
            try:
                doc = json.loads(block)
            except ValueError:  # JSONDecodeError and UnicodeDecodeError
                stats.skip("broken_json")
                continue
            try:
                page = parse_wat_page(doc)
            except _Skip as skip:
                if skip.reason is not None:
                    stats.skip(skip.reason)
                continue
            except (TypeError, AttributeError):
                stats.skip("bad_wat_record")
                continue
            stats.pages += 1
            date_text = record.headers.get("WARC-Date") or page.date
            collector.add_page(
                page.url,
                page.links,
                base_href=page.base_href,
                page_nofollow=page.nofollow,
                seen_at=parse_seen_at(date_text) if date_text else None,
                anchor_of=clean_anchor,
            )
            yield from collector.ready_batches()
    yield from collector.ready_batches(final=True)
