"""A local HTTP server laid out like Common Crawl's, with faults on demand.

It serves a folder on 127.0.0.1 (a free port) with HEAD, GET and single
``Range: bytes=N-`` requests, as Common Crawl's endpoint does, and can be told,
per path, to:

- ``drop_after[path] = n``: send the headers and only ``n`` bytes of the body,
  then close the connection (an interrupted download), for the next
  ``drops[path]`` GETs (default: every GET);
- ``fail[path] = [503, 500]``: answer these statuses to the next GETs first;
- ``ignore_range``: answer 200 with the whole file even to a Range request;
- ``head_size[path] = n``: announce ``n`` bytes in HEAD answers (a mirror that lies).

Every request is logged as ``(method, path, range header)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["CCServer", "serve_tree"]


@dataclass
class CCServer:
    """The running server's address, its folder, its fault settings and its log."""

    root: Path
    base_url: str = ""
    drop_after: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    fail: dict[str, list[int]] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    head_size: dict[str, int] = field(default_factory=dict)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self, path: str) -> list[str | None]:
        """The Range headers of the GETs of one path, in order (None: no Range)."""
        return [r for m, p, r in self.log if m == "GET" and p == path]


def _handler(server: CCServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            return

        def _file(self) -> Path | None:
            rel = self.path.split("?", 1)[0].lstrip("/")
            target = (server.root / rel).resolve()
            if server.root.resolve() not in target.parents or not target.is_file():
                return None
            return target

        def _not_found(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            with server.lock:
                server.log.append(("HEAD", self.path, self.headers.get("Range")))
            target = self._file()
            if target is None:
                self._not_found()
                return
            size = server.head_size.get(self.path, target.stat().st_size)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            range_header = self.headers.get("Range")
            with server.lock:
                server.log.append(("GET", self.path, range_header))
                statuses = server.fail.get(self.path)
                failing = statuses.pop(0) if statuses else None
                drop = server.drop_after.get(self.path)
                if drop is not None and self.path in server.drops:
                    if server.drops[self.path] <= 0:
                        drop = None
                    else:
                        server.drops[self.path] -= 1
            target = self._file()
            if failing is not None:
                self.send_response(failing)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if target is None:
                self._not_found()
                return
            data = target.read_bytes()
            start = 0
            if range_header and self.path not in server.ignore_range:
                start = int(range_header.removeprefix("bytes=").split("-", 1)[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if drop is not None:
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_tree(root: Path) -> Iterator[CCServer]:
    """Serve ``root`` on a free loopback port for the duration of the block."""
    state = CCServer(root=root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
