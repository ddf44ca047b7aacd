"""Undo the HTTP transfer and content codings of a stored response body, as leniently as a browser.

Archives disagree about what they store. Some keep the bytes as they came
over the wire (chunked, gzip …); Common Crawl stores the body decoded and
renames the headers (``X-Crawler-Transfer-Encoding``,
``X-Crawler-Content-Encoding``); others, such as pywb's sample archive
``iana.warc.gz``, store the body decoded but keep ``Transfer-Encoding:
chunked`` (and some keep ``Content-Encoding: gzip``) on it. So, like warcio
and browsers, a coding that does not undo is taken to be undone already:

- ``chunked``: when the body does not start with a chunk-size line, it is
  used as stored; when the framing breaks later, the chunks read so far are
  kept and the rest is used as stored (warcio does the same);
- ``gzip``, ``x-gzip``, ``deflate`` (zlib-wrapped or raw), ``br``: when the
  data does not decode at all, the body is used as stored; a stream cut short
  or damaged part-way keeps what decoded before the damage;
- any other coding (``zstd``, ``compress`` …) is not undone: the body is used
  as stored when it reads as markup (it begins with ``<`` after white space
  and a byte-order mark), and is undecodable otherwise.

Decoded bodies are cut at ``MAX_BODY_BYTES`` (a page is not 64 MiB of HTML; a
gzip bomb might be).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

import brotli

__all__ = ["MAX_BODY_BYTES", "undo_codings"]

#: Decoded bodies larger than this are cut.
MAX_BODY_BYTES = 64 << 20

_PIECE = 1 << 16  # compressed bytes fed to the inflater at a time (damage keeps what came before)
_GZIP_OR_ZLIB = 47  # zlib wbits: a gzip or a zlib header, detected
_RAW_DEFLATE = -15
# A chunk-size line: hex digits, optional chunk extensions, optional white space.
_CHUNK_SIZE = re.compile(rb"[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;[^\n]*)?\r?\n")
_MARKUP_START = re.compile(rb"(?:\xef\xbb\xbf|\xfe\xff|\xff\xfe)?[ \t\r\n\f]*<")


class _NotEncoded(Exception):
    """The data is not in the coding its header names (so it is taken to be decoded already)."""


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        line = _CHUNK_SIZE.match(body, pos)
        size = int(line.group(1), 16) if line is not None else -1
        if size == 0:
            return bytes(out)
        if line is not None:
            start = line.end()
            end = start + size
            if end >= len(body):
                return bytes(out + body[start:])  # the last chunk was cut: keep what arrived
            if body.startswith(b"\r\n", end):
                out += body[start:end]
                pos = end + 2
                continue
            if body.startswith(b"\n", end):
                out += body[start:end]
                pos = end + 1
                continue
        # No chunk-size line here, or one whose chunk is not followed by a line end.
        if pos == 0:
            raise _NotEncoded  # no chunk framing at all: stored de-chunked
        return bytes(out + body[pos:])  # the framing breaks here: the rest as stored


def _inflate(body: bytes, wbits: int, *, whole: bool = False) -> bytes:
    """zlib/gzip data inflated, keeping what decoded before any damage.

    With ``whole`` the stream must decode to its end without an error (used
    for raw deflate, which has no header to recognise it by).
    """
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        for start in range(0, len(body), _PIECE):
            room = MAX_BODY_BYTES - len(out)
            if room <= 0 or inflater.eof:
                break
            out += inflater.decompress(body[start : start + _PIECE], room)
    except zlib.error as exc:
        if whole or not out:
            raise _NotEncoded from exc
    if whole and not inflater.eof and len(out) < MAX_BODY_BYTES:
        raise _NotEncoded
    return bytes(out)


def _gunzip(body: bytes) -> bytes:
    return _inflate(body, _GZIP_OR_ZLIB)


def _undeflate(body: bytes) -> bytes:
    # "deflate" is zlib-wrapped by the standard, raw deflate from some servers.
    try:
        return _inflate(body, _GZIP_OR_ZLIB)
    except _NotEncoded:
        return _inflate(body, _RAW_DEFLATE, whole=True)


def _unbrotli(body: bytes) -> bytes:
    try:
        out: bytes = brotli.Decompressor().process(body, output_buffer_limit=MAX_BODY_BYTES)
    except brotli.error as exc:
        raise _NotEncoded from exc
    return out


_CONTENT_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _undeflate,
    "br": _unbrotli,
    "chunked": _dechunk,
}  # one table for both headers: "Transfer-Encoding: gzip, chunked" is allowed too


def _codings(header: str | None) -> list[str]:
    """The codings a header names, in the order they were applied (``identity`` dropped)."""
    if not header:
        return []
    names = (name.strip().lower() for name in header.split(","))
    return [name for name in names if name and name != "identity"]


def undo_codings(body: bytes, transfer_encoding: str | None,
                 content_encoding: str | None) -> bytes | None:
    """The body with its transfer codings, then its content codings undone (last applied first).

    None when a coding linkgap cannot undo leaves a body that does not read
    as markup.
    """
    for coding in [*reversed(_codings(transfer_encoding)),
                   *reversed(_codings(content_encoding))]:
        decoder = _CONTENT_DECODERS.get(coding)
        if decoder is None:
            if not _MARKUP_START.match(body):
                return None
            continue  # an unknown coding on a body that is markup as stored
        try:
            body = decoder(body)
        except _NotEncoded:
            continue  # not in that coding: stored decoded already
    return body[:MAX_BODY_BYTES]
