"""Slow clients kept out: head timeouts, a connection cap, and error answers in the JSON
shape for requests that never reach the app.

uvicorn closes idle keep-alive connections, but a connection that sends nothing,
or a request head one byte at a time, stays open for ever, and every one holds a
file descriptor: enough of them and the server can no longer accept anyone (and
asyncio logs every failed ``accept``). ``linkgap serve`` therefore runs uvicorn's
h11 protocol with three additions (:func:`guarded_protocol`), and writes each
answer with one ``send`` (:mod:`linkgap.api.coalesce`) on a connection with
Nagle's algorithm off:

- **head timeout**: from the moment a connection opens, and again from the end of
  each response, the client has ``header_timeout`` seconds to send a complete
  request head; then the connection is closed. (The body has its own limit,
  ``body_timeout``, enforced by the gateway middleware: a 408.)
- **connection cap**: at most ``max_connections`` open connections (lowered to
  fit the process's open-file limit, with room left for the database and the
  index). A new connection over the cap closes the oldest connection that is
  waiting for a request head; when every connection is busy with a request, the
  newcomer is answered 503 ``server_busy`` and closed. Either way the server goes
  on answering, and it logs one line about it every ``LOG_EVERY_S`` at most.
- **error bodies**: a request head over ``max_header_bytes`` is answered 431
  ``headers_too_large`` and malformed HTTP 400 ``bad_request``, both in the one
  linkgap error shape with a request id and the security headers (uvicorn's
  own answers are plain text).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from linkgap.api.coalesce import CoalescingTransport
from linkgap.api.errors import error_body
from linkgap.api.gateway import new_request_id
from linkgap.api.headers import security_headers

__all__ = ["LOG_EVERY_S", "ConnectionGuard", "effective_cap", "guarded_protocol"]

log = logging.getLogger("linkgap.api")

#: The guard's warnings (connections shed, heads timed out) come at most this often.
LOG_EVERY_S = 10.0
#: Descriptors kept free for everything but client connections (database, index, logs).
_RESERVE_MIN = 128


def effective_cap(wanted: int, backlog: int = 2048) -> tuple[int, int, int]:
    """(connection cap, listen backlog, open-file limit) for this process.

    asyncio accepts up to ``backlog`` connections in one go before any of them can be
    closed, so cap + backlog must fit in the descriptors left after a reserve for the
    database, the index and the logs; both are lowered to fit. The soft open-file limit
    is raised to the hard one first when that helps (-1: unlimited).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 2 * (wanted + backlog))
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted, backlog, -1
    reserve = max(_RESERVE_MIN, soft // 4) if soft >= 4 * _RESERVE_MIN else soft // 2
    room = max(3, soft - reserve)
    if wanted + backlog <= room:
        return wanted, backlog, int(soft)
    cap = max(1, min(wanted, room * 2 // 3))
    return cap, max(1, min(backlog, room - cap)), int(soft)


@dataclass
class ConnectionGuard:
    """What the connections of one server share: the cap, who is waiting for a head (oldest
    first), and the counters behind the throttled log lines."""

    cap: int
    header_timeout: float
    max_header_bytes: int
    waiting: OrderedDict[Any, None] = field(default_factory=OrderedDict)
    open_count: int = 0
    shed: int = 0
    timed_out: int = 0
    _logged_at: float = field(default=0.0)

    invalid: int = 0

    def note(self) -> None:
        """Log what was shed, timed out or refused since the last line, at most every
        LOG_EVERY_S (a flood of bad clients must not become a flood of log lines)."""
        now = time.monotonic()
        if now - self._logged_at < LOG_EVERY_S or not (self.shed or self.timed_out
                                                       or self.invalid):
            return
        self._logged_at = now
        log.warning("clients: %d connections closed at the cap of %d, %d request heads timed "
                    "out after %g s, %d invalid or oversized requests refused (since the last "
                    "report)", self.shed, self.cap, self.timed_out, self.header_timeout,
                    self.invalid)
        self.shed = self.timed_out = self.invalid = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """A logging filter for ``uvicorn.error``: its line per invalid request is counted
        into this guard's report instead."""
        if record.getMessage() == "Invalid HTTP request received.":
            self.invalid += 1
            self.note()
            return False
        return True


def _error_bytes(status: int, reason: bytes, code: str, message: str) -> tuple[
        list[tuple[bytes, bytes]], bytes]:
    request_id = new_request_id()
    body = json.dumps(error_body(code, message, request_id), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *security_headers("/"),
               (b"x-request-id", request_id.encode())]
    return headers, body


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on a TCP connection: an answer is written as head then
    body, and with Nagle on the body of every keep-alive answer waits for the client's
    delayed ACK (~40 ms). asyncio does this only for sockets made as IPPROTO_TCP."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # the connection may already be gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a head timeout, the connection cap and JSON errors."""

    guard: ConnectionGuard  # set on the subclass guarded_protocol makes

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
        # An answer's head and body leave in one send (uvicorn writes them apart).
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        self._head_timer: asyncio.TimerHandle | None = None
        self._timed_cycle: Any = None  # the request cycle current when the timer started
        guard = self.guard
        guard.open_count += 1
        if guard.open_count > guard.cap:
            oldest = next((c for c in guard.waiting if c is not self), None)
            guard.shed += 1
            guard.note()
            if oldest is None:
                self._answer(503, b"Service Unavailable", "server_busy",
                             "the server is at its connection limit; retry shortly")
                return
            oldest.transport.close()
            guard.waiting.pop(oldest, None)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self.guard.waiting.pop(self, None)
        self.guard.open_count -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and self.cycle is not self._timed_cycle:
            self._head_arrived()  # a new request head arrived: uvicorn started a new cycle

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next head is due within the timeout. That also bounds a client still
        # sending the body of a request answered early (401, 413): it has as long.
        if not self.transport.is_closing() and self._head_timer is None and (
                self.conn.their_state in (h11.IDLE, h11.SEND_BODY)):
            self._await_head()

    def send_400_response(self, msg: str) -> None:
        pending = len(self.conn.trailing_data[0])
        if pending > self.guard.max_header_bytes:
            self._answer(431, b"Request Header Fields Too Large", "headers_too_large",
                         f"the request head is larger than {self.guard.max_header_bytes} bytes")
        else:
            self._answer(400, b"Bad Request", "bad_request", "the request is not valid HTTP")

    # -- helpers ---------------------------------------------------------------

    def _await_head(self) -> None:
        self.guard.waiting[self] = None
        self._timed_cycle = self.cycle
        self._head_timer = self.loop.call_later(self.guard.header_timeout, self._head_late)

    def _head_arrived(self) -> None:
        self._cancel_head_timer()
        self.guard.waiting.pop(self, None)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.cycle is not self._timed_cycle:
            return
        self.guard.timed_out += 1
        self.guard.note()
        self.guard.waiting.pop(self, None)
        self.transport.close()

    def _answer(self, status: int, reason: bytes, code: str, message: str) -> None:
        """Write one error answer in the JSON shape and close (no request reached the app)."""
        headers, body = _error_bytes(status, reason, code, message)
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        self._cancel_head_timer()
        self.guard.waiting.pop(self, None)
        if not self.transport.is_closing():
            self.transport.write(b"".join(head) + b"\r\n" + body)
            self.transport.close()


def guarded_protocol(guard: ConnectionGuard) -> type[H11Protocol]:
    """The protocol class for uvicorn's ``http`` option, sharing ``guard``."""
    return type("LinkgapH11Protocol", (_GuardedH11,), {"guard": guard})


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log asyncio's "socket.accept() out of system resource" (out of descriptors) once per
    LOG_EVERY_S, without a traceback; asyncio itself retries accepting a second later.
    Every other loop error goes to the default handler."""
    last = [0.0]
    missed = [0]

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if not message.startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        missed[0] += 1
        now = time.monotonic()
        if now - last[0] >= LOG_EVERY_S:
            last[0] = now
            log.error("cannot accept connections: %s (%d times since the last report); "
                      "raise the open-file limit or lower LINKGAP_MAX_CONNECTIONS",
                      context.get("exception"), missed[0])
            missed[0] = 0

    loop.set_exception_handler(handler)


def server_config(app: Any, settings: Any, *, host: str, port: int, log_level: str,
                  announce: Any = None) -> Any:
    """uvicorn's configuration for ``linkgap serve``: the guarded protocol and the limits of
    ``settings``. ``announce(text)`` is told when the open-file limit lowers the cap."""
    import uvicorn

    wanted = int(settings.max_connections)
    cap, backlog, nofile = effective_cap(wanted)
    if cap < wanted and announce is not None:
        announce(f"at most {cap} connections at once (LINKGAP_MAX_CONNECTIONS={wanted} does "
                 f"not fit the open-file limit of {nofile})")
    guard = ConnectionGuard(cap, float(settings.header_timeout), int(settings.max_header_bytes))
    logging.getLogger("uvicorn.error").addFilter(guard.filter)
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="off", server_header=False,
        date_header=True, http=guarded_protocol(guard), access_log=False,
        timeout_keep_alive=int(settings.keepalive_timeout),
        h11_max_incomplete_event_size=int(settings.max_header_bytes), backlog=backlog,
    )
