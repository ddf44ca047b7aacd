"""The answers a real ``linkgap serve`` gives before any route runs — a body that never
arrives (408), a body over 64 KiB (413), a request head over the limit (431) — are
documented on every operation of /openapi.json, and what the server sends matches what
the document says: the status is listed, the body is valid against the documented
schema, and every header documented as required is there."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jsonschema_rs
import pytest
from api.apitest_support import WAIT_S, Server, build_index, run_cli
from support.serving import running_server

pytestmark = pytest.mark.slow

LIMITS = {"LINKGAP_BODY_TIMEOUT": "1", "LINKGAP_MAX_HEADER_BYTES": "4096"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("transport-errors")
    build_index(home / "index")
    run_cli(home, "accounts", "create", "acme", "--credits", "10")
    key = run_cli(home, "keys", "create", "--account", "acme").strip()
    with running_server(home, LIMITS, name="transport") as server:
        yield server, key


@pytest.fixture(scope="module")
def doc(served: tuple[Server, str]) -> dict[str, Any]:
    r = httpx.get(served[0].url + "/openapi.json", timeout=WAIT_S)
    assert r.status_code == 200
    return dict(r.json())


def _operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method) for path, ops in doc["paths"].items() for method in ops]


#: Values for the path parameters (an unknown run: the answers under test come before the
#: route looks).
_SAMPLES = {"run_id": "run_0123456789abcdef", "domain": "example.com"}


def _concrete(path: str) -> str:
    """A real URL path for an operation's template."""
    return re.sub(r"\{(\w+)\}", lambda m: _SAMPLES.get(m.group(1), "x"), path)


def _exchange(server: Server, head: bytes, body: bytes = b"", pieces: int = 1) -> bytes:
    """Send ``head`` (in ``pieces``) and ``body``, then read until the server closes."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT_S)
    data = head + body
    step = len(data) // pieces + 1
    try:
        for i in range(0, len(data), step):
            sock.sendall(data[i:i + step])
    except (BrokenPipeError, ConnectionResetError):
        pass  # answered and closed before the rest was sent
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return answer


def _parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


def _head(method: str, path: str, key: str, *extra: str) -> bytes:
    lines = [f"{method.upper()} {path} HTTP/1.1", "Host: x", f"Authorization: Bearer {key}",
             "Content-Type: application/json", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _assert_documented(doc: dict[str, Any], path: str, method: str, raw: bytes,
                       expected: int) -> dict[str, str]:
    status, headers, body = _parse(raw)
    assert status == expected, (path, method, raw[:300])
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answers {status}, undocumented"
    documented = responses[str(status)]
    schema = documented["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator(
        {**schema, "components": doc["components"]})
    assert validator.is_valid(body), (path, method, body)
    for name, header in documented["headers"].items():
        if header["required"]:
            assert name.lower() in headers, (path, method, status, name)
    return headers


def test_every_operation_documents_the_answers_given_before_its_route(
        doc: dict[str, Any]) -> None:
    for path, method in _operations(doc):
        responses = doc["paths"][path][method]["responses"]
        for status in ("408", "413", "431"):
            assert status in responses, (path, method, status)
            assert responses[status]["headers"]["Connection"]["required"] is True
        rate_headers = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
        # A head over the limit is refused before the key is looked at.
        assert not rate_headers & set(responses["431"]["headers"])
        if path.startswith("/v1/"):
            assert rate_headers <= set(responses["413"]["headers"])
            assert rate_headers <= set(responses["408"]["headers"])


def test_a_body_over_64_kib_is_answered_as_documented(
        served: tuple[Server, str], doc: dict[str, Any]) -> None:
    server, key = served
    for path, method in _operations(doc):
        raw = _exchange(server, _head(method, _concrete(path), key, "Content-Length: 70000"))
        headers = _assert_documented(doc, path, method, raw, 413)
        assert headers["connection"] == "close"


def test_a_body_that_never_arrives_is_answered_as_documented(
        served: tuple[Server, str], doc: dict[str, Any]) -> None:
    server, key = served
    operations = _operations(doc)

    def probe(op: tuple[str, str]) -> bytes:
        return _exchange(server, _head(op[1], _concrete(op[0]), key, "Content-Length: 40"),
                         b'{"dom')

    with ThreadPoolExecutor(len(operations)) as pool:  # each waits the 1 s timeout
        answers = list(pool.map(probe, operations))
    for (path, method), raw in zip(operations, answers, strict=True):
        headers = _assert_documented(doc, path, method, raw, 408)
        assert headers["connection"] == "close"


@pytest.mark.parametrize("pieces", [1, 6], ids=["whole", "in-pieces"])
def test_a_head_over_the_limit_is_answered_as_documented(
        served: tuple[Server, str], doc: dict[str, Any], pieces: int) -> None:
    server, key = served
    for path, method in _operations(doc):
        head = _head(method, _concrete(path), key, "X-Big: " + "b" * 5000)
        raw = _exchange(server, head, pieces=pieces)
        headers = _assert_documented(doc, path, method, raw, 431)
        assert "ratelimit-limit" not in headers
