"""A real webhook receiver for the tests: an HTTP(S) server on a free loopback port.

It records every POST (headers and body) and answers from a script: a list of
statuses used in turn (the last one repeats), where ``"hang"`` accepts the
request and never answers until the receiver stops, and ``"trickle"`` answers a
byte every 0.2 s, never finishing its head (each read of a client gets a byte in
time, so only a deadline on the whole attempt stops it).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """The running receiver: its URL, what it got, and the script it answers from."""

    url: str
    port: int
    script: list[Any]
    received: list[Received] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    got: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Wait until ``count`` requests have arrived; them (AssertionError on timeout)."""
        with self.got:
            ok = self.got.wait_for(lambda: len(self.received) >= count, timeout)
        assert ok, f"receiver got {len(self.received)} requests, expected {count}"
        return list(self.received)


@contextmanager
def receiver(script: list[Any] | None = None, *,
             tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """Run a receiver on 127.0.0.1 (a free port) until the block ends."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            rec = state["r"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with rec.got:
                n = len(rec.received)
                rec.received.append(Received(self.path, dict(self.headers.items()), body))
                rec.got.notify_all()
            answer = rec.script[min(n, len(rec.script) - 1)] if rec.script else 200
            if answer == "hang":
                rec.stop.wait(60)
                return
            if answer == "trickle":
                head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000
                try:
                    for byte in head:
                        if rec.stop.wait(0.2):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:  # the client cut the connection
                    return
                return
            self.send_response(int(answer))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = int(server.server_address[1])
    scheme = "https" if tls is not None else "http"
    rec = Receiver(url=f"{scheme}://127.0.0.1:{port}/hook", port=port, script=list(script or []))
    state["r"] = rec
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.stop.set()
        server.shutdown()
        server.server_close()
