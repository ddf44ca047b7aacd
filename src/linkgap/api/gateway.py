"""The ASGI layer in front of every route: request ids, auth, rate limits, body size.

For every HTTP request, in this order:

1. a fresh request id (``req_`` + 96 random bits) goes into ``scope["state"]`` and
   onto the response as ``X-Request-ID``;
2. under ``/v1``: the bearer key is checked (401 ``unauthorized``) and counted
   against its rate limit (429 ``rate_limited``; shared by every server on the
   state database, leased from it in batches: :mod:`linkgap.api.ratelimit`); the
   ``RateLimit-*`` headers go onto every response the key receives;
3. the body is read, at most ``MAX_BODY_BYTES`` (413 ``payload_too_large``,
   enforced while reading, whatever ``Content-Length`` claims) and replayed to
   the app;
4. anything the app raises that no handler took is logged and answered with a
   500 in the error shape (a bug: the test-suite checks none happens).

``HEAD`` is served as a ``GET`` whose body is dropped. Every response also gets
the security headers and, when origins are listed, the CORS headers of
:mod:`linkgap.api.headers`; a CORS preflight from a listed origin is answered
here, before authentication. A body that does not arrive within
``body_timeout`` seconds is a 408 ``request_timeout`` (and the connection is
closed).

It is a plain ASGI middleware (not ``BaseHTTPMiddleware``) so that streaming
responses and exceptions pass through unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkgap.api.accesslog import AccessLog
from linkgap.api.errors import (
    error_response,
    is_api_path,
    is_paid_get_path,
    linkgap_error_response,
)
from linkgap.api.headers import CorsPolicy, security_headers
from linkgap.api.ratelimit import RateDecision, SharedRateLimiter
from linkgap.errors import LinkgapError, Unauthorized

__all__ = ["MAX_BODY_BYTES", "GatewayMiddleware", "bearer_token", "new_request_id"]

logger = logging.getLogger("linkgap.api")

#: Largest request body accepted (SPEC: 64 KiB).
MAX_BODY_BYTES = 64 * 1024
#: ``_read_body`` outcomes other than the body itself.
_TOO_LARGE = object()
_TIMED_OUT = object()


def new_request_id() -> str:
    """A new request id: ``req_`` plus 96 random bits in hex."""
    return "req_" + secrets.token_hex(12)


def bearer_token(header: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header (Unauthorized if absent/malformed)."""
    if header is None or not header.strip():
        raise Unauthorized("missing API key: send the header 'Authorization: Bearer <key>'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("malformed Authorization header: expected 'Bearer <key>'")
    return token


class GatewayMiddleware:
    """Request ids, authentication, rate limiting, body limit and the last-resort 500."""

    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str], Any],
                 limiter: SharedRateLimiter, cors: CorsPolicy | None = None,
                 body_timeout: float | None = None, max_head_bytes: int | None = None,
                 authenticate_cached: Callable[[str], Any] | None = None,
                 fast_path: Callable[[Scope, Any, str], bytes | None] | None = None,
                 access_log: AccessLog | None = None) -> None:
        self.app = app
        self.authenticate = authenticate
        self.authenticate_cached = authenticate_cached
        self.fast_path = fast_path
        self.access_log = access_log
        self.limiter = limiter
        self.cors = cors or CorsPolicy()
        self.body_timeout = body_timeout
        self.max_head_bytes = max_head_bytes
        self._sweep_due = False
        self._leasing: dict[str, asyncio.Future[None]] = {}  # key id -> its lease in flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra: list[tuple[bytes, bytes]] = [*security_headers(scope["path"]),
                                            (b"x-request-id", request_id.encode())]
        if self.cors.enabled:
            origin = _header(scope, b"origin")
            preflight = self.cors.preflight(scope["method"], origin,
                                            _header(scope, b"access-control-request-method"))
            if preflight is not None:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [*preflight, *extra]})
                await send({"type": "http.response.body", "body": b""})
                return
            extra += self.cors.response_headers(origin)
        started = False
        received = scope
        head = scope["method"] == "HEAD"
        if head:
            # HEAD is GET without the body (RFC 9110): the app answers a GET, the body is
            # dropped on the way out and the headers (Content-Length included) are kept.
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
                if self.access_log is not None:
                    self.access_log.request(received, message["status"], request_id)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        if head and is_paid_get_path(scope["path"]):
            # Before the key check and any charge: a HEAD here would pay for an answer
            # it never shows.
            refusal = error_response(scope, 405, "method_not_allowed",
                                     "HEAD is not allowed here: this GET costs credits",
                                     headers={"Allow": "GET"})
            await refusal(scope, receive, send_with_headers)
            return
        try:
            if self.max_head_bytes is not None and _head_size(scope) > self.max_head_bytes:
                # The server refuses heads that arrive in pieces over the limit (431 too);
                # this catches one that arrived whole.
                response = error_response(
                    scope, 431, "headers_too_large",
                    f"the request head is larger than {self.max_head_bytes} bytes",
                    headers={"Connection": "close"})
                await response(scope, receive, send_with_headers)
                return
            if is_api_path(scope["path"]):
                try:
                    principal, decision = await self._authenticate(scope)
                except LinkgapError as exc:
                    await linkgap_error_response(scope, exc)(scope, receive, send_with_headers)
                    return
                state["principal"] = principal
                extra += [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]
                if not decision.allowed:
                    response = error_response(
                        scope, 429, "rate_limited",
                        f"rate limit of {decision.limit} requests a minute exceeded; "
                        f"retry in {decision.retry_after} s",
                    )
                    await response(scope, receive, send_with_headers)
                    return
                if self.fast_path is not None:
                    answer = self.fast_path(scope, principal, request_id)
                    if answer is not None:
                        await send_with_headers({
                            "type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(answer)).encode())]})
                        await send_with_headers({"type": "http.response.body", "body": answer})
                        return
            body = await self._read_body(scope, receive, self.body_timeout)
            if not isinstance(body, bytes):
                # The rest of the body may still be coming: answer, then close the connection.
                close = {"Connection": "close"}
                if body is _TIMED_OUT:
                    response = error_response(
                        scope, 408, "request_timeout",
                        f"the request body did not arrive within {self.body_timeout:g} s",
                        headers=close)
                else:
                    response = error_response(
                        scope, 413, "payload_too_large",
                        f"request body is larger than {MAX_BODY_BYTES // 1024} KiB",
                        headers=close)
                await response(scope, receive, send_with_headers)
                return
            await self.app(scope, _replay(body, receive), send_with_headers)
        except Exception:
            logger.exception("unhandled error answering %s %s (%s)", scope.get("method"),
                             scope.get("path"), request_id)
            if started:
                raise
            response = error_response(scope, 500, "internal_error", "internal server error")
            await response(scope, receive, send_with_headers)

    async def _authenticate(self, scope: Scope) -> tuple[Any, RateDecision]:
        raw = _header(scope, b"authorization")
        token = bearer_token(None if raw is None else raw.decode("latin-1"))
        if self.authenticate_cached is not None:
            principal = self.authenticate_cached(token)  # memory only: no I/O on the loop
            if principal is not None:
                return principal, await self._count(str(principal.key_id))
        # The key is checked against the store and counted against its limit (shared by
        # every server on the database): blocking work, off the event loop, in one hop.
        answer = await run_in_threadpool(self._check_and_count, token)
        self._sweep_later()
        return answer

    async def _count(self, key_id: str) -> RateDecision:
        """Count one request of a key: against the batch this process leased (memory) when
        it can; else one request leases the next batch off the loop while the others of
        the key wait for it (not one thread hop and one store call each)."""
        decision = self.limiter.local_hit(key_id)
        while decision is None:
            pending = self._leasing.get(key_id)
            if pending is not None:
                await asyncio.shield(pending)
                decision = self.limiter.local_hit(key_id)
                continue  # the batch was smaller than the waiters, or refused: lease again
            done = asyncio.get_running_loop().create_future()
            self._leasing[key_id] = done
            try:
                decision = await run_in_threadpool(self.limiter.hit, key_id)
            finally:
                del self._leasing[key_id]
                done.set_result(None)
            self._sweep_later()
        return decision

    def _check_and_count(self, token: str) -> tuple[Any, RateDecision]:
        principal = self.authenticate(token)
        return principal, self.limiter.hit(str(principal.key_id))

    def _sweep_later(self) -> None:
        """Give the limiter's unused leased requests back once their leases are over, so an
        idle key's batch does not hold back other servers (one timer at a time)."""
        if self._sweep_due or not self.limiter.holding():
            return
        self._sweep_due = True
        asyncio.get_running_loop().call_later(
            self.limiter.lease_s, lambda: asyncio.ensure_future(self._sweep()))

    async def _sweep(self) -> None:
        try:
            await run_in_threadpool(self.limiter.sweep)
        finally:
            self._sweep_due = False
        self._sweep_later()  # leases taken since: their own turn

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive, timeout: float | None) -> object:
        """The whole request body (bytes), or ``_TOO_LARGE`` when it is over the limit, or
        ``_TIMED_OUT`` when it has not all arrived within ``timeout`` seconds."""
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                if int(length) > MAX_BODY_BYTES:
                    return _TOO_LARGE
            except ValueError:
                pass  # a server would have refused it; the read below still bounds it
        try:
            async with asyncio.timeout(timeout):
                return await _read_chunks(receive)
        except TimeoutError:
            return _TIMED_OUT


def _head_size(scope: Scope) -> int:
    """The size of the request head as sent: request line and header lines."""
    size = len(scope["method"]) + len(scope.get("raw_path") or b"") + 12
    size += len(scope.get("query_string") or b"") + 1
    for key, value in scope.get("headers", ()):
        size += len(key) + len(value) + 4
    return size


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of the (lowercase) request header ``name``, or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


async def _read_chunks(receive: Receive) -> object:
    """The request body as bytes, or ``_TOO_LARGE`` once it passes ``MAX_BODY_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # client went away; let the app see an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return _TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the buffered body to the app once, then defers to the
    server (so the app still hears about a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
