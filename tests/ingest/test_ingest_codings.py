"""``linkgap.ingest.codings``: undoing HTTP codings, and what is kept when they do not undo."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from linkgap.ingest import codings
from linkgap.ingest.codings import undo_codings

HTML = b"<!doctype html><p><a href='https://b.com/'>b</a></p>" * 20


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("br", brotli.compress),
])
def test_decoded_bodies_are_cut_at_the_limit(monkeypatch, coding, encode):
    monkeypatch.setattr(codings, "MAX_BODY_BYTES", 100)
    assert undo_codings(encode(HTML * 50), None, coding) == (HTML * 50)[:100]


@pytest.mark.parametrize("body", [b"", HTML])
@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_a_body_not_in_its_coding_is_used_as_stored(body, coding):
    assert undo_codings(body, None, coding) == body


def test_text_is_never_taken_for_raw_deflate():
    # Raw deflate has no header: text that happens to inflate to something without
    # reaching a clean end must not replace the stored body.
    for text in (b"hello world, this is not deflate", b"\x00\x01\x02 binary", HTML):
        assert undo_codings(text, None, "deflate") == text


def test_codings_are_undone_last_applied_first():
    body = brotli.compress(gzip.compress(HTML))
    assert undo_codings(body, None, "gzip, br") == HTML
    assert undo_codings(body, None, "GZIP , BR") == HTML
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    assert undo_codings(chunked, "chunked", "gzip, br") == HTML


def test_chunk_framing():
    framed = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    assert undo_codings(framed, "chunked", None) == b"hello world"
    assert undo_codings(b"5\nhello\n0\n\n", "chunked", None) == b"hello"  # bare LF line ends
    assert undo_codings(b"5\r\nhello\r\n6\r\n wo", "chunked", None) == b"hello wo"  # cut short
    # a size that does not frame its chunk: not chunked (a plain body starting with hex)
    plain = b"3\r\nnot chunked at all"
    assert undo_codings(plain, "chunked", None) == plain


def test_an_unknown_coding_keeps_markup_and_refuses_the_rest():
    assert undo_codings(HTML, None, "zstd") == HTML
    assert undo_codings(b"\n\t <html>", None, "compress") == b"\n\t <html>"
    assert undo_codings(b"\x28\xb5\x2f\xfd\x00\x01", None, "zstd") is None
    assert undo_codings(HTML, "identity", "identity") == HTML
