"""``warc`` input: the links of the HTML responses in WARC files.

Only ``response`` records count, and of those only successful (2xx) HTTP
responses whose ``Content-Type`` is ``text/html`` or ``application/xhtml+xml``.
Other records (``request``, ``warcinfo``, ``metadata``, ``revisit`` …) are
read past without being counted as skipped. Skip reasons of this reader, on
top of those of ``linkgap.ingest.collect`` and ``linkgap.ingest.warcfile``:

======================== ====================================================
``bad_http_response``    a response record whose block is not an HTTP response
``http_status_not_ok``   an HTTP status outside 200-299 (error pages, redirects)
``not_html``             a response that is not HTML (images, PDFs, JSON …)
``undecodable_body``     a body in a coding linkgap cannot undo (``zstd``, ``compress``)
                         that does not read as markup as stored
``unparseable_html``     the HTML parser gave up on the document
======================== ====================================================
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from fastwarc.warc import WarcRecordType

from linkgap.domains import DomainNormalizer
from linkgap.ingest.base import InputSpec, InputStats
from linkgap.ingest.codings import undo_codings
from linkgap.ingest.collect import LinkCollector
from linkgap.ingest.html import anchor_text, extract_links, parse_html
from linkgap.ingest.rules import charset_of, is_html_content_type, parse_seen_at, robots_nofollow
from linkgap.ingest.warcfile import iter_records

__all__ = ["HttpResponse", "decode_body", "parse_http_response", "read_warc"]


class HttpResponse:
    """The parts of an HTTP response a link reader needs."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers  # (lowercased name, value), in order, repeats kept
        self.body = body

    def header(self, name: str) -> str | None:
        """The first value of a header (``name`` lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of a header sent once or more (``name`` lowercase)."""
        return [value for key, value in self.headers if key == name]


def parse_http_response(block: bytes) -> HttpResponse | None:
    """Split a WARC response block into status, headers and raw body; None if it is not HTTP."""
    if not block.startswith(b"HTTP/"):
        return None
    crlf = block.find(b"\r\n\r\n")
    # a bare "\n\n" counts only before the first CRLF CRLF: never search the body for it
    lf = block.find(b"\n\n", 0, crlf if crlf != -1 else len(block))
    if crlf != -1 and (lf == -1 or crlf < lf):
        head, body = block[:crlf], block[crlf + 4 :]
    elif lf != -1:
        head, body = block[:lf], block[lf + 2 :]
    else:
        head, body = block, b""
    lines = head.decode("latin-1").splitlines()
    status_parts = lines[0].split(None, 2)
    if len(status_parts) < 2 or not status_parts[1].isdigit():
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # an obsolete folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    return HttpResponse(int(status_parts[1]), headers, body)


def decode_body(response: HttpResponse) -> bytes | None:
    """The body with its transfer and content codings undone (``linkgap.ingest.codings``).

    A coding that does not undo is taken to be undone already (the body is used
    as stored); None only for a coding linkgap cannot undo on a body that is not
    markup as stored.
    """
    return undo_codings(response.body, response.header("transfer-encoding"),
                        response.header("content-encoding"))


def read_warc(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches of the links in the HTML responses of the spec's WARC files."""
    collector = LinkCollector(normalizer, stats)
    response_type = WarcRecordType.response
    last_date_text: str | None = None
    last_date: int | None = None
    for path in spec.paths:
        for record, block in iter_records(path, stats, response_type):
            response = parse_http_response(block)
            if response is None:
                stats.skip("bad_http_response")
                continue
            if not 200 <= response.status < 300:
                stats.skip("http_status_not_ok")
                continue
            content_type = response.header("content-type")
            if not is_html_content_type(content_type):
                stats.skip("not_html")
                continue
            body = decode_body(response)
            if body is None:
                stats.skip("undecodable_body")
                continue
            date_text = record.headers.get("WARC-Date")
            if date_text != last_date_text:  # records of one file often share a second
                last_date_text = date_text
                last_date = parse_seen_at(date_text) if date_text else None
            url = (record.headers.get("WARC-Target-URI") or "").strip().strip("<>")
            try:
                page = extract_links(parse_html(body, charset_of(content_type)))
            except Exception:  # noqa: BLE001 - a parser failure on bad data must not stop a build
                stats.skip("unparseable_html")
                continue
            stats.pages += 1
            nofollow = page.nofollow or robots_nofollow(response.header_values("x-robots-tag"))
            collector.add_page(
                url,
                page.links,
                base_href=page.base_href,
                page_nofollow=nofollow,
                seen_at=last_date,
                anchor_of=anchor_text,
            )
            yield from collector.ready_batches()
    yield from collector.ready_batches(final=True)
