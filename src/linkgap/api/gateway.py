"""The ASGI layer in front of every route: request ids, auth, rate limits, body size.

For every HTTP request, in this order:

1. a fresh request id (``req_`` + 96 random bits) goes into ``scope["state"]`` and
   onto the response as ``X-Request-ID``;
2. under ``/v1``: the bearer key is checked (401 ``unauthorized``) and counted
   against its rate limit (429 ``rate_limited``; shared by every server on the
   state database); the ``RateLimit-*`` headers go onto every response the key
   receives;
3. the body is read, at most ``MAX_BODY_BYTES`` (413 ``payload_too_large``,
   enforced while reading, whatever ``Content-Length`` claims) and replayed to
   the app;
4. anything the app raises that no handler took is logged and answered with a
   500 in the error shape (a bug: the test-suite checks none happens).

``HEAD`` is served as a ``GET`` whose body is dropped.

It is a plain ASGI middleware (not ``BaseHTTPMiddleware``) so that streaming
responses and exceptions pass through unchanged.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkgap.api.errors import error_response, is_api_path, linkgap_error_response
from linkgap.api.ratelimit import RateDecision, SharedRateLimiter
from linkgap.errors import LinkgapError, Unauthorized

__all__ = ["MAX_BODY_BYTES", "GatewayMiddleware", "bearer_token", "new_request_id"]

logger = logging.getLogger("linkgap.api")

#: Largest request body accepted (SPEC: 64 KiB).
MAX_BODY_BYTES = 64 * 1024


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
                 limiter: SharedRateLimiter) -> None:
        self.app = app
        self.authenticate = authenticate
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra: dict[str, str] = {"X-Request-ID": request_id}
        started = False
        head = scope["method"] == "HEAD"
        if head:
            # HEAD is GET without the body (RFC 9110): the app answers a GET, the body is
            # dropped on the way out and the headers (Content-Length included) are kept.
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            if is_api_path(scope["path"]):
                try:
                    principal, decision = await self._authenticate(scope)
                except LinkgapError as exc:
                    await linkgap_error_response(scope, exc)(scope, receive, send_with_headers)
                    return
                state["principal"] = principal
                extra.update(decision.headers())
                if not decision.allowed:
                    response = error_response(
                        scope, 429, "rate_limited",
                        f"rate limit of {decision.limit} requests a minute exceeded; "
                        f"retry in {decision.retry_after} s",
                    )
                    await response(scope, receive, send_with_headers)
                    return
            body = await self._read_body(scope, receive)
            if body is None:
                response = error_response(
                    scope, 413, "payload_too_large",
                    f"request body is larger than {MAX_BODY_BYTES // 1024} KiB",
                )
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
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        token = bearer_token(header)
        # The key is checked against the store and counted against its limit (shared by
        # every server on the database): blocking work, off the event loop, in one hop.
        return await run_in_threadpool(self._check_and_count, token)

    def _check_and_count(self, token: str) -> tuple[Any, RateDecision]:
        principal = self.authenticate(token)
        return principal, self.limiter.hit(str(principal.key_id))

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is over the limit."""
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > MAX_BODY_BYTES:
                        return None
                except ValueError:
                    pass  # a server would have refused it; the read below still bounds it
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; let the app see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
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
