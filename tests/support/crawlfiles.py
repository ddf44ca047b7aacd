"""Write small crawl files in their real formats, for tests of every part of linkgap.

Every writer produces a file the real readers accept (WARC and WAT through
warcio's writer, gzip text for the Common Crawl graph, CSV and Parquet through
the standard tools), so tests exercise the same code paths as real inputs.

Typical use::

    from support.crawlfiles import Page, html_page, write_warc

    write_warc(tmp_path / "a.warc.gz", [
        Page("https://a.com/", html_page([("https://b.com/", "B", None)])),
        ("https://c.com/x", "<a href=/y>y</a>", {"Content-Type": "text/html"}),
    ])

A page may be a :class:`Page` or a tuple ``(url, body, headers[, warc_date])``.
Non-HTML responses are pages with another ``Content-Type``; request,
``warcinfo``, ``resource`` and ``metadata`` records are :class:`Page` objects
with ``kind`` set (or made by :func:`request_record`).
"""

from __future__ import annotations

import csv
import gzip as gzip_module
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = [
    "DEFAULT_WARC_DATE",
    "LINK_COLUMNS",
    "Page",
    "WatLink",
    "WatPage",
    "html_page",
    "request_record",
    "truncate_file",
    "write_cc_graph",
    "write_links_csv",
    "write_links_parquet",
    "write_wat",
    "write_warc",
]

#: The WARC-Date given to records that do not name one (fixed, so tests are repeatable).
DEFAULT_WARC_DATE = "2024-01-15T12:00:00Z"

#: The columns of a links-csv file, in the order the writers use by default.
LINK_COLUMNS = ("source_url", "target_url", "rel", "anchor", "seen_at")

#: Header values: one string, or a list of strings for a header sent several times.
HeaderValue: TypeAlias = str | Sequence[str]
Headers: TypeAlias = Mapping[str, HeaderValue]


@dataclass
class Page:
    """One WARC record to write.

    ``kind`` is the WARC-Type: ``response`` (the default: an HTTP response
    whose body is ``body``), ``request`` (an HTTP GET of ``url``), or
    ``warcinfo`` / ``resource`` / ``metadata`` (``body`` written as the record
    block with ``content_type``).
    """

    url: str
    body: str | bytes = b""
    headers: Headers = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    warc_date: str | None = None
    kind: str = "response"
    status: str = "200 OK"
    content_type: str = "application/octet-stream"  # WARC Content-Type for non-HTTP records


PageLike: TypeAlias = Page | tuple[Any, ...]


def html_page(
    links: Iterable[tuple[str, str, str | None]] = (),
    *,
    title: str = "page",
    base: str | None = None,
    robots: str | None = None,
    extra_head: str = "",
    extra_body: str = "",
) -> str:
    """A small HTML document with one ``<a>`` per ``(href, text, rel)`` (rel None: no attribute)."""
    head = [f"<title>{escape(title)}</title>"]
    if base is not None:
        head.append(f'<base href="{escape(base)}">')
    if robots is not None:
        head.append(f'<meta name="robots" content="{escape(robots)}">')
    head.append(extra_head)
    body = []
    for href, text, rel in links:
        rel_attr = f' rel="{escape(rel)}"' if rel is not None else ""
        body.append(f'<p><a href="{escape(href)}"{rel_attr}>{escape(text)}</a></p>')
    body.append(extra_body)
    return (
        "<!DOCTYPE html>\n<html><head>"
        + "".join(head)
        + "</head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def request_record(url: str, warc_date: str | None = None) -> Page:
    """A WARC ``request`` record: the HTTP GET a crawler sent for ``url``."""
    return Page(url, b"", {"User-Agent": "linkgap-test", "Accept": "*/*"}, warc_date, "request")


def _as_page(item: PageLike) -> Page:
    if isinstance(item, Page):
        return item
    url, body, headers, *rest = item
    return Page(url, body, headers, rest[0] if rest else None)


def _header_list(headers: Headers) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in headers.items():
        if isinstance(value, str):
            out.append((name, value))
        else:
            out.extend((name, v) for v in value)
    return out


def _charset(headers: Headers) -> str:
    for name, value in _header_list(headers):
        if name.lower() == "content-type" and "charset=" in value.lower():
            return value.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"')
    return "utf-8"


def _warc_headers(page: Page) -> dict[str, str]:
    return {"WARC-Date": page.warc_date or DEFAULT_WARC_DATE}


def _write_record(writer: WARCWriter, page: Page) -> None:
    if page.kind == "response":
        body = (
            page.body
            if isinstance(page.body, bytes)
            else page.body.encode(_charset(page.headers), errors="xmlcharrefreplace")
        )
        http = StatusAndHeaders(page.status, _header_list(page.headers), protocol="HTTP/1.1")
        record = writer.create_warc_record(
            page.url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            warc_headers_dict=_warc_headers(page),
            http_headers=http,
        )
    elif page.kind == "request":
        parts = urlsplit(page.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc), *_header_list(page.headers)]
        http = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, is_http_request=True)
        record = writer.create_warc_record(
            page.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            warc_headers_dict=_warc_headers(page),
            http_headers=http,
        )
    else:
        body = page.body if isinstance(page.body, bytes) else page.body.encode("utf-8")
        record = writer.create_warc_record(
            page.url if page.kind != "warcinfo" else "",
            page.kind,
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type=page.content_type,
            warc_headers_dict=_warc_headers(page),
        )
    writer.write_record(record)


def write_warc(path: str | os.PathLike[str], pages: Iterable[PageLike], gzip: bool = True) -> Path:
    """Write ``pages`` as a WARC file (one gzip member a record when ``gzip``); returns its path."""
    out = Path(path)
    with out.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for item in pages:
            _write_record(writer, _as_page(item))
    return out


@dataclass
class WatLink:
    """One entry of a WAT ``HTML-Metadata.Links`` list (``path`` as Common Crawl writes it)."""

    url: str
    text: str | None = None
    rel: str | None = None
    path: str = "A@/href"

    def as_json(self) -> dict[str, str]:
        """The JSON object a WAT file holds for this link."""
        out = {"path": self.path, "url": self.url}
        if self.text is not None:
            out["text"] = self.text
        if self.rel is not None:
            out["rel"] = self.rel
        return out


@dataclass
class WatPage:
    """One WAT metadata record describing a crawled response.

    ``links`` are :class:`WatLink` objects or ``(url, text, rel)`` tuples
    (path ``A@/href``). ``metas`` are ``(name, content)`` pairs of the page's
    ``<meta>`` tags. ``html=False`` describes a non-HTML response (no
    ``HTML-Metadata``). ``raw_json`` replaces the whole payload (for broken JSON),
    and ``warc_type`` names the type of the record described (``request`` …).
    """

    url: str
    links: Sequence[WatLink | tuple[str, str | None, str | None]] = ()
    metas: Sequence[tuple[str, str]] = ()
    base: str | None = None
    headers: Headers = field(default_factory=lambda: {"Content-Type": "text/html"})
    warc_date: str | None = None
    html: bool = True
    warc_type: str = "response"
    raw_json: bytes | None = None


def _wat_envelope(page: WatPage) -> dict[str, Any]:
    date = page.warc_date or DEFAULT_WARC_DATE
    header_meta = {
        "WARC-Type": page.warc_type,
        "WARC-Date": date,
        "WARC-Target-URI": page.url,
        "WARC-Record-ID": "<urn:uuid:00000000-0000-0000-0000-000000000000>",
    }
    envelope: dict[str, Any] = {
        "Format": "WARC",
        "WARC-Header-Length": "0",
        "Actual-Content-Length": "0",
        "WARC-Header-Metadata": header_meta,
        "Payload-Metadata": {},
    }
    if page.warc_type != "response":
        envelope["Payload-Metadata"] = {
            "Actual-Content-Type": "application/http; msgtype=request",
            "HTTP-Request-Metadata": {"Request-Message": {"Method": "GET"}, "Headers": {}},
        }
        return envelope
    # A WAT holds each header once; a repeated header keeps its values joined by ", ".
    headers = {
        name: value if isinstance(value, str) else ", ".join(value)
        for name, value in page.headers.items()
    }
    response: dict[str, Any] = {
        "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
        "Headers": headers,
        "Headers-Length": "0",
        "Entity-Length": "0",
    }
    if page.html:
        links = [
            link.as_json() if isinstance(link, WatLink) else WatLink(*link).as_json()
            for link in page.links
        ]
        head: dict[str, Any] = {
            "Title": "page",
            "Metas": [{"name": name, "content": content} for name, content in page.metas],
        }
        if page.base is not None:
            head["Base"] = page.base
        response["HTML-Metadata"] = {"Head": head, "Links": links}
    envelope["Payload-Metadata"] = {
        "Actual-Content-Type": "application/http; msgtype=response",
        "HTTP-Response-Metadata": response,
    }
    return envelope


def write_wat(
    path: str | os.PathLike[str],
    pages: Iterable[WatPage | tuple[Any, ...]],
    gzip: bool = True,
) -> Path:
    """Write a WAT file: a ``warcinfo`` record, then one JSON ``metadata`` record per page.

    A page is a :class:`WatPage` or a tuple ``(url, links[, metas])``.
    """
    out = Path(path)
    with out.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        info = b"software: linkgap-test\r\nformat: WARC File Format 1.0\r\n"
        _write_record(
            writer,
            Page(
                "", info, {}, DEFAULT_WARC_DATE, "warcinfo", content_type="application/warc-fields"
            ),
        )
        for item in pages:
            page = item if isinstance(item, WatPage) else WatPage(*item)
            if page.raw_json is not None:
                payload = page.raw_json
            else:
                container = {"Filename": "test.warc.gz", "Compressed": True}
                payload = json.dumps(
                    {"Container": container, "Envelope": _wat_envelope(page)}
                ).encode("utf-8")
            record = writer.create_warc_record(
                page.url,
                "metadata",
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type="application/json",
                warc_headers_dict={"WARC-Date": page.warc_date or DEFAULT_WARC_DATE},
            )
            writer.write_record(record)
    return out


def _open_text_out(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip_module.open(path, "wt", encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def write_links_csv(
    path: str | os.PathLike[str],
    rows: Iterable[Sequence[Any] | Mapping[str, Any] | str],
    columns: Sequence[str] = LINK_COLUMNS,
) -> Path:
    """Write a links-csv file (gzip when the name ends in ``.gz``) with header ``columns``.

    A row is a sequence (written as given, so a short row has missing fields),
    a mapping by column name (missing columns empty), or a string written
    verbatim as one line (for malformed rows).
    """
    out = Path(path)
    with _open_text_out(out) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            if isinstance(row, str):
                fh.write(row + "\n")
            elif isinstance(row, Mapping):
                writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
            else:
                writer.writerow(["" if v is None else v for v in row])
    return out


def write_links_parquet(
    path: str | os.PathLike[str],
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    columns: Sequence[str] = LINK_COLUMNS,
) -> Path:
    """Write a links Parquet file; ``seen_at`` is a UTC timestamp column when given datetimes."""
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        values += [None] * (len(columns) - len(values))
        for column, value in zip(columns, values, strict=True):
            data[column].append(value)
    arrays = {}
    for column, values in data.items():
        if column == "seen_at" and any(isinstance(v, datetime) for v in values):
            arrays[column] = pa.array(values, pa.timestamp("s", tz="UTC"))
        else:
            arrays[column] = pa.array(values, pa.string())
    out = Path(path)
    pq.write_table(pa.table(arrays), out)
    return out


def write_cc_graph(
    directory: str | os.PathLike[str],
    prefix: str,
    vertices: Iterable[tuple[int, str, int]],
    edges: Iterable[tuple[int, int]],
) -> tuple[Path, Path]:
    """Write a Common Crawl domain graph pair; returns ``(vertices_path, edges_path)``.

    Files are ``<prefix>-vertices.txt.gz`` (``id \\t reversed_domain \\t
    n_hosts``) and ``<prefix>-edges.txt.gz`` (``from_id \\t to_id``).
    """
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    vertices_path = base / f"{prefix}-vertices.txt.gz"
    edges_path = base / f"{prefix}-edges.txt.gz"
    with gzip_module.open(vertices_path, "wt", encoding="utf-8", newline="\n") as fh:
        for vid, name, hosts in vertices:
            fh.write(f"{vid}\t{name}\t{hosts}\n")
    with gzip_module.open(edges_path, "wt", encoding="utf-8", newline="\n") as fh:
        for src, dst in edges:
            fh.write(f"{src}\t{dst}\n")
    return vertices_path, edges_path


def truncate_file(path: str | os.PathLike[str], nbytes: int) -> Path:
    """Cut a file short: keep its first ``nbytes`` bytes (drop the last ``-nbytes`` if negative)."""
    out = Path(path)
    size = out.stat().st_size
    keep = nbytes if nbytes >= 0 else max(0, size + nbytes)
    with out.open("r+b") as fh:
        fh.truncate(min(keep, size))
    return out
