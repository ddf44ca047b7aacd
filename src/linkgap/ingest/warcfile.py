"""Read the records of a WARC (or WAT) file and survive damaged files.

FastWARC does the reading. What it does not do, this module adds:

- a record whose block is shorter than its ``Content-Length`` (the file was
  cut inside it) is skipped as ``truncated_record``; FastWARC would hand it
  over silently with a partial body;
- after the last record the rest of the file is checked: a gzip member that
  was cut short before its record header could be read (FastWARC stops
  without a word) counts as ``truncated_record``, and a complete last record
  whose gzip trailer is missing counts as ``truncated_gzip`` (the record is kept);
- only the blocks of the record types a reader wants are read into memory,
  and none over ``MAX_RECORD_BYTES`` (``record_too_large``);
- a gzip file that is one long stream (not one member a record) is read
  through a lenient decompressor, so a cut or corrupt end keeps every record
  before it (FastWARC alone loses the records it had buffered);
- an invalid WARC header or corrupt gzip data in the middle of a file is
  counted (``invalid_record`` / ``corrupt_gzip``) and reading resumes at the
  next gzip member or ``WARC/1.x`` line, so one bad record does not lose the
  rest of the file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from linkgap.ingest.base import InputStats
from linkgap.ingest.streams import LenientReader

__all__ = ["MAX_RECORD_BYTES", "iter_records"]

#: Blocks larger than this are not read (no HTML page or WAT record is that large).
MAX_RECORD_BYTES = 64 << 20

_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = b"\nWARC/1."
_CHUNK = 1 << 20
_PROBE_BYTES = 8 << 20


def _codec(fh: BinaryIO) -> str:
    """``gzip``, ``zstd``, ``lz4`` or ``plain``, from the file's first bytes."""
    fh.seek(0)
    magic = fh.read(4)
    if magic[:2] == _GZIP_MAGIC[:2]:
        return "gzip"
    if magic == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if magic == b"\x04\x22\x4d\x18":
        return "lz4"
    return "plain"


def _gzip_member_end(fh: BinaryIO, pos: int, limit: int | None = None) -> tuple[int, bool]:
    """End offset of the gzip member starting at ``pos``, and whether it is complete.

    With ``limit``, gives up (incomplete) after that many compressed bytes.
    """
    fh.seek(pos)
    inflater = zlib.decompressobj(wbits=31)
    consumed = 0
    while not inflater.eof:
        if limit is not None and consumed >= limit:
            return pos + consumed, False
        chunk = fh.read(_CHUNK)
        if not chunk:
            return pos + consumed, False
        try:
            inflater.decompress(chunk)
        except zlib.error:
            return pos + consumed + len(chunk), False
        consumed += len(chunk)
    return pos + consumed - len(inflater.unused_data), True


def _plain_record_end(fh: BinaryIO, pos: int) -> tuple[int, bool]:
    """End offset of the uncompressed WARC record at ``pos``, and whether it is complete."""
    fh.seek(pos)
    head = fh.read(64 << 10)
    split = head.find(b"\r\n\r\n")
    if split == -1:
        return pos + len(head), False
    length = None
    for line in head[:split].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    if length is None:
        return pos + split + 4, False
    end = pos + split + 4 + length + 4  # block, then the CRLF CRLF that closes a record
    fh.seek(0, 2)
    size = fh.tell()
    return min(end, size), end <= size


def _record_end(fh: BinaryIO, pos: int, gz: bool) -> tuple[int, bool]:
    return _gzip_member_end(fh, pos) if gz else _plain_record_end(fh, pos)


def _next_start(fh: BinaryIO, start: int, gz: bool) -> int | None:
    """Offset of the next gzip member / ``WARC/1.x`` line at or after ``start``."""
    needle = _GZIP_MAGIC if gz else _WARC_LINE
    pos = start
    fh.seek(pos)
    carry = b""
    while True:
        chunk = fh.read(_CHUNK)
        if not chunk:
            return None
        data = carry + chunk
        i = data.find(needle)
        if i != -1:
            found = pos - len(carry) + i
            return found if gz else found + 1
        carry = data[-(len(needle) - 1) :]
        pos += len(chunk)


def _has_data(fh: BinaryIO, pos: int) -> bool:
    """True when anything but padding (NUL bytes, whitespace) follows ``pos``."""
    fh.seek(pos)
    while chunk := fh.read(_CHUNK):
        if chunk.strip(b"\x00 \t\r\n"):
            return True
    return False


class _Walk:
    """Per-record checks shared by both ways of reading; remembers the last record seen."""

    def __init__(self, stats: InputStats, wanted: WarcRecordType) -> None:
        self.stats = stats
        self.wanted = wanted
        self.last_pos: int | None = None
        self.last_checked = False  # the last record's block was read and found whole
        self.last_truncated = False

    def records(self, archive: ArchiveIterator) -> Iterator[tuple[WarcRecord, bytes]]:
        """The wanted, complete records of ``archive``; raises OSError where FastWARC does."""
        stats = self.stats
        for record in archive:
            self.last_pos = record.stream_pos
            stats.records += 1
            self.last_checked = self.last_truncated = False
            length_text = (record.headers.get("Content-Length") or "").strip()
            if not length_text.isdigit():
                stats.skip("truncated_record")  # the header ends inside the record
                self.last_truncated = True
                continue
            if not record.record_type & self.wanted:
                continue  # FastWARC skips the unread block
            length = int(length_text)
            if length > MAX_RECORD_BYTES:
                stats.skip("record_too_large")
                continue
            block = record.reader.read()
            if len(block) < length:
                stats.skip("truncated_record")
                self.last_truncated = True
                continue
            self.last_checked = True
            yield record, block


def _members_per_record(fh: BinaryIO) -> bool:
    """True when a gzip file is a series of small members (one a record, as WARC files are).

    Only the first member is looked at, and only its first ``_PROBE_BYTES``: a
    file that is one long gzip stream is read the lenient way instead.
    """
    fh.seek(0, 2)
    size = fh.tell()
    end, complete = _gzip_member_end(fh, 0, limit=_PROBE_BYTES)
    return complete and end < size


def _iter_lenient(path: Path, walk: _Walk) -> Iterator[tuple[WarcRecord, bytes]]:
    """Records of a gzip file that is one long stream: read up to the first damage."""
    with LenientReader(path) as stream:
        try:
            yield from walk.records(ArchiveIterator(stream, parse_http=False))
        except OSError:
            # No resynchronising inside one stream. When the stream was cut, the
            # parse error is the cut's doing: report the truncation, not bad data.
            walk.stats.skip("truncated_gzip" if stream.damaged else "invalid_record")
            return
        if stream.damaged and not walk.last_truncated:
            walk.stats.skip("truncated_gzip")


def iter_records(
    path: Path, stats: InputStats, wanted: WarcRecordType = WarcRecordType.any_type
) -> Iterator[tuple[WarcRecord, bytes]]:
    """The complete records of the ``wanted`` types with their whole block (HTTP headers included).

    Every record is counted in ``stats.records``; the blocks of other types
    are not read. A block over ``MAX_RECORD_BYTES`` is skipped as
    ``record_too_large``. Damaged parts are counted in ``stats.skipped``;
    never raises for bad data. An unreadable file raises OSError.
    """
    with path.open("rb") as fh:
        codec = _codec(fh)
        if codec == "gzip" and not _members_per_record(fh):
            yield from _iter_lenient(path, _Walk(stats, wanted))
            return
        gz = codec == "gzip"
        # zstd and lz4 frames cannot be resynchronised or checked at the end here:
        # damage there ends the file (counted), cut records are still caught.
        checked = codec in ("gzip", "plain")
        offset = 0
        while True:
            fh.seek(offset)
            walk = _Walk(stats, wanted)
            try:
                yield from walk.records(ArchiveIterator(fh, parse_http=False))
            except OSError as exc:
                if not checked:
                    stats.skip("invalid_record")
                    return
                if walk.last_pos is None:
                    bad_start = offset
                else:
                    bad_start, _ = _record_end(fh, walk.last_pos, gz)
                bad_start = max(bad_start, offset)
                resume = _next_start(fh, bad_start + 1, gz)
                if resume is None and not _record_end(fh, bad_start, gz)[1]:
                    # The bad record runs to the end of the file: it was cut short.
                    stats.skip("truncated_record")
                    return
                text = str(exc).lower()
                stats.skip("corrupt_gzip" if "compress" in text else "invalid_record")
                if resume is None:
                    return
                offset = resume
                continue
            # The iterator ended: check that the file really ended with the last record.
            if not checked:
                return
            if walk.last_pos is None:
                if _has_data(fh, offset):
                    stats.skip("truncated_record")
                return
            end, complete = _record_end(fh, walk.last_pos, gz)
            if not complete and not walk.last_truncated:
                # A whole block in a gzip member without its trailer is kept.
                stats.skip("truncated_gzip" if gz and walk.last_checked else "truncated_record")
            elif complete and _has_data(fh, end):
                stats.skip("truncated_record")
            return
