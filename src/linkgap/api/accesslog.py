"""The access log of ``linkgap serve``: one line per request, cheap enough for every request.

uvicorn's access log formats each line through :mod:`logging` and writes and
flushes it at once, a system call per request. This one formats a line with
one f-string, buffers it, and writes the buffer when it passes
``FLUSH_BYTES`` or ``FLUSH_S`` after its first line (and when the server
stops), so a busy server writes a few times a second. A line::

    access: 127.0.0.1:52814 "GET /v1/backlinks/gap/run_…/prospects?page=2 HTTP/1.1" 200 req_…

(client address, request line as received, status, the request id the answer
carried). ``LINKGAP_ACCESS_LOG=false`` turns it off.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any, TextIO

__all__ = ["FLUSH_BYTES", "FLUSH_S", "AccessLog"]

FLUSH_BYTES = 64 * 1024
FLUSH_S = 0.5


class AccessLog:
    """Buffered access lines, written to ``stream`` (stderr by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lines: list[str] = []
        self._size = 0
        self._scheduled = False
        self._lock = threading.Lock()

    def request(self, scope: Any, status: int, request_id: str) -> None:
        """Record one answered request."""
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else "-"
        query = scope.get("query_string") or b""
        target = scope.get("raw_path") or scope["path"].encode()
        if query:
            target += b"?" + query
        line = (f'access: {where} "{scope["method"]} {target.decode("latin-1")} '
                f'HTTP/{scope.get("http_version", "1.1")}" {status} {request_id}\n')
        with self._lock:
            self._lines.append(line)
            self._size += len(line)
            full = self._size >= FLUSH_BYTES
            schedule = not full and not self._scheduled
            if schedule:
                self._scheduled = True
        if full:
            self.flush()
        elif schedule:
            try:
                asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
            except RuntimeError:  # no event loop (a direct caller): write now
                self.flush()

    def flush(self) -> None:
        """Write what is buffered."""
        with self._lock:
            lines, self._lines, self._size, self._scheduled = self._lines, [], 0, False
        if lines:
            stream = self._stream or sys.stderr
            stream.write("".join(lines))
            stream.flush()
