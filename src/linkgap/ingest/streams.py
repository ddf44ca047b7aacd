"""A lenient reader for gzip (or plain) files that ends quietly where the damage starts.

Python's ``gzip``, Arrow's gzip stream and FastWARC's own decompression all
fail (or stop without a word, losing data they had already decompressed)
when a gzip file is cut short or corrupt. This reader hands out every byte
that decompresses cleanly, then ends and sets ``damaged`` so the caller can
count it. Concatenated gzip members are read one after the other.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

__all__ = ["LenientReader"]

_GZIP_MAGIC = b"\x1f\x8b"


class LenientReader(io.RawIOBase):
    """The decompressed bytes of a gzip file (plain files pass through), up to any damage.

    With ``whole_lines`` the output ends at the last newline before the
    damage (a cut line is never handed out) and bytes that are not UTF-8
    become U+FFFD, which is what line-oriented parsers need.
    """

    def __init__(self, path: Path, *, whole_lines: bool = False, chunk: int = 4 << 20) -> None:
        super().__init__()
        self._raw = path.open("rb")
        self._gz = self._raw.read(2) == _GZIP_MAGIC
        self._raw.seek(0)
        self._whole_lines = whole_lines
        self._chunk = chunk
        self._inflater: Any = None
        self._in_member = False  # inside a gzip member that has not ended yet
        self._buf = b""
        self._pos = 0
        self._carry = b""  # (whole_lines) text after the last newline, held until more arrives
        self._done = False
        self._offset = 0  # decompressed bytes handed out
        self.damaged = False

    def readable(self) -> bool:
        """Always True: this is an input stream."""
        return True

    def close(self) -> None:
        """Close the underlying file."""
        self._raw.close()
        super().close()

    def _inflate(self, chunk: bytes) -> bytes:
        out = bytearray()
        while chunk:
            if self._inflater is None or self._inflater.eof:
                self._inflater = zlib.decompressobj(wbits=31)
            try:
                out += self._inflater.decompress(chunk)
            except zlib.error:
                self.damaged = True
                break
            self._in_member = not self._inflater.eof
            chunk = self._inflater.unused_data if self._inflater.eof else b""
        return bytes(out)

    def _clean(self, lines: bytes) -> bytes:
        # Arrow's CSV reader cannot report a bad row that is not UTF-8 (its
        # invalid-row callback fails), so invalid bytes become U+FFFD.
        return lines if lines.isascii() else lines.decode("utf-8", "replace").encode("utf-8")

    def _fill(self) -> None:
        while self._pos >= len(self._buf) and not self._done:
            chunk = self._raw.read(self._chunk)
            if not chunk:
                if self._in_member:
                    self.damaged = True  # the last gzip member ends early
                tail = self._carry if not (self.damaged and self._whole_lines) else b""
                self._buf, self._pos, self._carry = self._clean(tail), 0, b""
                self._done = True
                return
            data = self._inflate(chunk) if self._gz else chunk
            if self._whole_lines:
                data = self._carry + data
                cut = data.rfind(b"\n") + 1
                self._buf, self._pos, self._carry = self._clean(data[:cut]), 0, data[cut:]
            else:
                self._buf, self._pos = data, 0
            if self.damaged:  # keep what came before the damage, then stop
                self._carry = b""
                self._done = True

    def readinto(self, buffer: Any) -> int:
        """Copy the next decompressed bytes into ``buffer``; 0 at the end (or the damage)."""
        self._fill()
        n = min(len(buffer), len(self._buf) - self._pos)
        buffer[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        self._offset += n
        return n

    def seekable(self) -> bool:
        """True, for readers that ask (FastWARC does); only forward seeks are possible."""
        return True

    def tell(self) -> int:
        """Bytes handed out so far (a position in the decompressed data)."""
        return self._offset

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move forward by reading and dropping bytes; a backward seek is not possible."""
        target = offset if whence == io.SEEK_SET else self._offset + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._offset:
            raise io.UnsupportedOperation("a lenient stream only seeks forward")
        scratch = bytearray(1 << 16)
        while self._offset < target:
            view = memoryview(scratch)[: min(len(scratch), target - self._offset)]
            if not self.readinto(view):
                break
        return self._offset
