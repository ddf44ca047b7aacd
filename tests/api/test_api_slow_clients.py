"""Slow clients against a real ``linkgap serve`` (linkgap.api.connections, the gateway's
body timeout): half-open connections are closed, the server keeps answering over its
connection cap and within a small open-file limit, its log does not flood, and heads
that are too large or malformed get the JSON error shape."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api.apitest_support import WAIT_S, Server, build_index
from support.serving import running_server

pytestmark = pytest.mark.slow

LIMITS = {"LINKGAP_HEADER_TIMEOUT": "1", "LINKGAP_BODY_TIMEOUT": "1",
          "LINKGAP_KEEPALIVE_TIMEOUT": "1", "LINKGAP_MAX_CONNECTIONS": "20",
          "LINKGAP_MAX_HEADER_BYTES": "4096"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("slow-clients")
    build_index(home / "index")
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[Server]:
    with running_server(home, LIMITS, name="slow") as srv:
        yield srv


def _address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(_address(server), timeout=WAIT_S)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = WAIT_S) -> bytes:
    """Everything the server sends until it closes the connection (bounded by ``limit``)."""
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _json_error(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, json.loads(body)


def _healthy(server: Server) -> int:
    return httpx.get(server.url + "/healthz", timeout=WAIT_S).status_code


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    sock = _connect(server)
    started = time.monotonic()
    assert _read_until_closed(sock) == b""
    assert time.monotonic() - started < WAIT_S  # closed by the server, not by our bound
    sock.close()


def test_a_head_sent_one_byte_at_a_time_is_cut_off(server: Server) -> None:
    sock = _connect(server)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    closed = False
    deadline = time.monotonic() + WAIT_S
    for byte in head:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.1)  # every byte well within any idle timeout: only a head timeout ends it
        if time.monotonic() > deadline:
            break
    if not closed:
        assert _read_until_closed(sock, 5) == b""
    sock.close()


def test_a_keep_alive_connection_idle_after_an_answer_is_closed(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    sock.close()


def test_a_body_that_stops_coming_is_a_408_and_the_connection_closes(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"dom")
    status, headers, body = _json_error(_read_until_closed(sock))
    sock.close()
    assert status == 408
    assert body["error"] == {"code": "request_timeout",  # type: ignore[comparison-overlap]
                             "message": "the request body did not arrive within 1 s"}
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["connection"] == "close"


def test_a_body_still_dribbling_after_an_early_answer_is_cut_off(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /v1/backlinks/gap HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{")
    sock.settimeout(WAIT_S)
    assert sock.recv(65536).startswith(b"HTTP/1.1 401")  # no key: answered at once
    deadline = time.monotonic() + WAIT_S
    closed = False
    while time.monotonic() < deadline and not closed:
        try:
            sock.sendall(b" ")
            sock.settimeout(0.1)
            closed = sock.recv(65536) == b""
        except TimeoutError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    sock.close()
    assert closed, "the server kept a connection whose client never finished its body"


@pytest.mark.parametrize("pieces", [1, 8], ids=["whole", "in-pieces"])
def test_an_oversized_head_is_a_431_in_the_error_shape(server: Server, pieces: int) -> None:
    sock = _connect(server)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 6000 + b"\r\n\r\n"
    step = len(head) // pieces + 1
    try:
        for i in range(0, len(head), step):
            sock.sendall(head[i:i + step])
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before the rest arrived
    status, headers, body = _json_error(_read_until_closed(sock))
    sock.close()
    assert status == 431
    assert body["error"]["code"] == "headers_too_large"  # type: ignore[index]
    assert str(body["meta"]["request_id"]).startswith("req_")  # type: ignore[index]
    assert headers["x-request-id"] == body["meta"]["request_id"]  # type: ignore[index]
    assert headers["x-content-type-options"] == "nosniff"
    assert _healthy(server) == 200


def test_malformed_http_is_a_400_in_the_error_shape(server: Server) -> None:
    sock = _connect(server)
    sock.sendall(b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    status, headers, body = _json_error(_read_until_closed(sock))
    sock.close()
    assert status == 400
    assert body["error"]["code"] == "bad_request"  # type: ignore[index]
    assert headers["x-content-type-options"] == "nosniff"


def _half_open(server: Server, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(_address(server), timeout=WAIT_S)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Wait: ")
        socks.append(sock)
    return socks


def test_over_the_cap_the_next_normal_client_is_still_answered(server: Server) -> None:
    log_before = server.log.stat().st_size
    socks = _half_open(server, 60)  # three times the cap of 20
    try:
        assert _healthy(server) == 200
        assert _healthy(server) == 200
    finally:
        for sock in socks:
            sock.close()
    grown = server.log.stat().st_size - log_before
    assert grown < 4096, server.log.read_text()[-2000:]


def test_a_small_open_file_limit_does_not_stop_the_server(home: Path) -> None:
    with running_server(home, {**LIMITS, "LINKGAP_MAX_CONNECTIONS": "1000"}, name="nofile",
                        open_files=256) as srv:
        log = srv.log.read_text()
        assert "at most 85 connections" in log  # the cap was lowered to fit 256 descriptors
        socks = _half_open(srv, 400)
        try:
            assert _healthy(srv) == 200
        finally:
            for sock in socks:
                sock.close()
        assert _healthy(srv) == 200
        text = srv.log.read_text()
        assert "Too many open files" not in text and "out of system resource" not in text
        assert len(text) < 8192, text[-2000:]
