"""A connection's writes in one event-loop step leave as one (linkgap.api.coalesce): an
answer's head and body cost one send, nothing is held past its step, and closing sends
what is pending first."""

from __future__ import annotations

import asyncio
from typing import Any

from support.asyncrun import run_coroutine

from linkgap.api.coalesce import CoalescingTransport


class Recorder:
    """A transport that records what it is asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", None))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def run(steps: Any) -> Recorder:
    inner = Recorder()

    async def main() -> None:
        wrapped = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        await steps(wrapped)

    run_coroutine(main)
    return inner


def test_head_and_body_written_in_one_step_leave_as_one_write() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")
        t.write(b'{"data":[]}')
        assert t.get_write_buffer_size() == 30
        await asyncio.sleep(0)  # the end of the step

    assert run(steps).calls == [("write", b'HTTP/1.1 200 OK\r\n\r\n{"data":[]}')]


def test_writes_of_different_steps_are_not_held_back() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(b"chunk 1")
        await asyncio.sleep(0)
        t.write(b"chunk 2")
        await asyncio.sleep(0)

    assert run(steps).calls == [("write", b"chunk 1"), ("write", b"chunk 2")]


def test_close_sends_what_is_pending_first_and_the_rest_is_the_transports() -> None:
    async def steps(t: CoalescingTransport) -> None:
        t.write(b"431 answer")
        t.close()
        assert t.is_closing()
        assert t.get_extra_info("peername") == ("127.0.0.1", 1)
        t.write(b"late")  # after close: dropped, as the transport would
        await asyncio.sleep(0)

    assert run(steps).calls == [("write", b"431 answer"), ("close", None)]
