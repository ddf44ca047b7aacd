"""Fixtures for the client tests: an in-process app reached through a synchronous transport.

Starlette's TestClient warns about plain httpx (and pytest turns warnings into
errors), so the tests drive the ASGI app with ``httpx.ASGITransport`` inside
an anyio blocking portal: the client under test stays the ordinary,
synchronous ``linkgap.Client``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import anyio.from_thread
import httpx
import pytest


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that hands each request to an ASGI app."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal_cm: AbstractContextManager[Any] = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            inner = httpx.Request(request.method, request.url, headers=request.headers,
                                  content=body)
            response = await self._inner.handle_async_request(inner)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=content, request=request)

        return self._portal.call(send)

    def close(self) -> None:
        self._portal_cm.__exit__(None, None, None)


@pytest.fixture
def asgi_http() -> Iterator[Any]:
    """A factory: ``asgi_http(app)`` is an ``httpx.Client`` talking to ``app`` in-process."""
    opened: list[httpx.Client] = []

    def make(app: Any) -> httpx.Client:
        http = httpx.Client(transport=SyncASGITransport(app), base_url="http://testserver")
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()
