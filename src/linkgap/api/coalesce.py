"""One send per answer: the writes a connection makes in one event-loop step go out together.

uvicorn writes a response as two writes, its head and then its body, and each is
a ``send`` system call: for a small JSON page the two calls cost about as much
as building the page (and wake the client twice). :class:`CoalescingTransport`
wraps a connection's transport, collects what is written during one step of the
event loop and sends it with one write at the end of the step (``call_soon``),
so an answer built in one step leaves in one ``send``. Everything else (close,
flow control, addresses) goes to the real transport; closing sends what is
collected first. A streamed answer yields to the loop between its chunks, so
each chunk still leaves in its own step: nothing is held back longer than the
step that wrote it.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescingTransport"]


class CoalescingTransport:
    """A transport whose writes in one event-loop step are sent as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what was written since the last flush (one write)."""
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        # is_closing, abort, get_extra_info, pause/resume_reading, set_protocol, ...
        return getattr(self._transport, name)
