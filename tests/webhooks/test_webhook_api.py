"""``callback_url`` over HTTP: 422s at request time (nothing charged), the run's new fields,
the Idempotency-Key fingerprint, and the OpenAPI document carrying the rules the server
applies (length, format, the pattern of this server's http setting)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api, build_index, make_api

from linkgap.errors import InvalidInput
from linkgap.webhooks.addresses import check_callback_url

GAP = "/v1/backlinks/gap"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("webhook-api-index") / "index"
    build_index(path)
    return path


@pytest.fixture
def api(tmp_path: Path, index: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, index)


def _post(api: Api, **body: Any) -> Any:
    return api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS, **body})


def _credits(api: Api) -> int:
    return int(api.get("/v1/account").json()["data"]["credits"]["available"])


@pytest.mark.parametrize("url,words", [
    ("http://hooks.example.com/linkgap", "must use https"),
    ("ftp://hooks.example.com/", "https:// URL"),
    ("hooks.example.com/linkgap", "https:// URL"),
    ("https://user:secret@hooks.example.com/", "user name or password"),
    ("https://hooks.example.com:0/", "port"),
    ("https://hooks.example.com/a b", "spaces"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.20.30.40/hook", "private"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://localhost/hook", "loopback name"),
    ("https://0x7f.1/hook", "loopback"),
])
def test_a_callback_url_the_server_would_never_deliver_to_is_a_422(
        api: Api, url: str, words: str) -> None:
    before = _credits(api)
    r = _post(api, callback_url=url)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_parameter" and error["param"] == "callback_url"
    assert words in error["message"]
    assert _credits(api) == before
    assert api.get(GAP).json()["meta"]["total"] == 0


@pytest.mark.parametrize("value", [123, ["https://hooks.example.com/"], True,
                                   "https://hooks.example.com/" + "a" * 2100])
def test_a_callback_url_of_the_wrong_type_or_too_long_is_a_422(api: Api, value: Any) -> None:
    r = _post(api, callback_url=value)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == "callback_url"


def test_a_run_echoes_its_callback_url_and_shows_its_webhook(api: Api) -> None:
    r = _post(api, callback_url="https://hooks.example.com/linkgap?team=seo")
    assert r.status_code == 202, r.text
    run = r.json()["data"]
    assert run["callback_url"] == "https://hooks.example.com/linkgap?team=seo"
    assert run["webhook"] == {"status": "pending", "attempts": 0, "last_error": None,
                              "next_attempt_at": None}
    got = api.get(f"{GAP}/{run['id']}").json()["data"]
    assert got["callback_url"] == run["callback_url"] and got["webhook"] == run["webhook"]
    plain = api.create_run()
    assert plain["callback_url"] is None and plain["webhook"] is None
    listed = {r["id"]: r for r in api.get(GAP).json()["data"]}
    assert listed[run["id"]]["webhook"]["status"] == "pending"
    assert listed[plain["id"]]["webhook"] is None


def test_callback_url_is_part_of_the_idempotency_fingerprint(api: Api) -> None:
    key = {"Idempotency-Key": "run-with-hook"}
    first = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS,
                           "callback_url": "https://hooks.example.com/one"}, headers=key)
    assert first.status_code == 202
    again = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS,
                           "callback_url": "https://hooks.example.com/one"}, headers=key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    other = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS,
                           "callback_url": "https://hooks.example.com/two"}, headers=key)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert api.get(GAP).json()["meta"]["total"] == 1


def _callback_schema(api: Api) -> dict[str, Any]:
    doc = api.client.get("/openapi.json").json()
    prop = doc["components"]["schemas"]["GapRunBody"]["properties"]["callback_url"]
    (string,) = [o for o in prop["anyOf"] if o.get("type") == "string"]
    return dict(string)


SAMPLES = [
    "https://hooks.example.com/linkgap", "HTTPS://Hooks.Example.com:8443/x?y=1#z",
    "https://93.184.216.34/hook", "https://[2606:4700::1111]/hook", " https://a.io/ ",
    "https://xn--bcher-kva.de/", "https://a.io.", "http://hooks.example.com/",
    "https://hooks.example.com:65535/", "https://hooks.example.com:65536/",
    "https://hooks.example.com:0/", "https://u@hooks.example.com/", "https:///x",
    "https://hooks.example.com/a b", "https://bücher.de/", "https://[::1/", "mailto:x@y.z",
    "https://hooks.example.com/\x7f", "https://a_b.example.com/ok",
]


@pytest.mark.parametrize("allow_http", [False, True])
def test_the_document_carries_the_servers_rule(tmp_path: Path, index: Path,
                                               allow_http: bool) -> None:
    opened = make_api(tmp_path, index, webhook_allow_http=allow_http,
                      webhook_allow_private=True)
    api = next(opened)
    try:
        _check_document(api, allow_http)
    finally:
        opened.close()


def _check_document(api: Api, allow_http: bool) -> None:
    schema = _callback_schema(api)
    assert schema["maxLength"] == 2048 and schema["format"] == "uri"
    pattern = re.compile(schema["pattern"])
    for url in SAMPLES:
        try:
            check_callback_url(url, allow_http=allow_http, allow_private=True)
            accepted = True
        except InvalidInput:
            accepted = False
        assert accepted == bool(pattern.search(url)), url
    assert bool(pattern.search("http://hooks.example.com/")) is allow_http
    run = api.client.get("/openapi.json").json()["components"]["schemas"]["Run"]
    assert {"callback_url", "webhook"} <= set(run["properties"])
