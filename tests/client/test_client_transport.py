"""linkgap.Client against scripted HTTP answers: retries, Retry-After, typed errors, paging.

These pin the client's own behaviour (what it sends, how it reads answers)
without a server; tests/client/test_client_inprocess.py runs it against the
real app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from linkgap import client as lc
from linkgap.client import Client

Handler = Callable[[httpx.Request], httpx.Response]


def _error(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", {})
    body = {"error": {"code": code, "message": message, **extra}, "meta": {"request_id": "req_1"}}
    return httpx.Response(status, json=body, headers={"X-Request-ID": "req_1", **headers})


def _client(handler: Handler, **kwargs: Any) -> tuple[Client, list[float]]:
    sleeps: list[float] = []
    client = Client(
        "http://linkgap.test/",
        "lgk_abc_secret",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )
    return client, sleeps


def _prospect_server(total: int, seen: list[httpx.Request]) -> Handler:
    rows = [{"domain": f"p{i:04d}.example", "score": 100 - i % 100} for i in range(total)]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params.get("page", "1"))
        per_page = int(request.url.params.get("per_page", "50"))
        chunk = rows[(page - 1) * per_page : page * per_page]
        pages = -(-total // per_page)
        meta = {"page": page, "per_page": per_page, "total": total, "total_pages": pages,
                "request_id": "req_x", "credits_charged": 0}
        return httpx.Response(200, json={"data": chunk, "meta": meta})

    return handler


def test_every_request_carries_the_bearer_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"name": "acme"}, "meta": {"request_id": "r"}})

    client, _ = _client(handler)
    assert client.account() == {"name": "acme"}
    assert seen[0].headers["authorization"] == "Bearer lgk_abc_secret"
    assert str(seen[0].url) == "http://linkgap.test/v1/account"


def test_retry_after_is_honoured_then_the_answer_returned() -> None:
    answers = [
        _error(429, "rate_limited", "slow down", headers={"Retry-After": "2"}),
        _error(503, "index_unavailable", "no index yet", headers={"Retry-After": "1"}),
        httpx.Response(200, json={"data": {"name": "acme"}, "meta": {"request_id": "r"}}),
    ]
    client, sleeps = _client(lambda request: answers.pop(0))
    assert client.account()["name"] == "acme"
    assert sleeps == [2.0, 1.0]


def test_retries_are_bounded_and_the_last_error_raised() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _error(429, "rate_limited", "slow down", headers={"Retry-After": "7"})

    client, sleeps = _client(handler, max_retries=2)
    with pytest.raises(lc.RateLimited) as info:
        client.account()
    assert len(calls) == 3 and sleeps == [7.0, 7.0]
    assert info.value.status == 429 and info.value.retry_after == 7.0
    assert info.value.request_id == "req_1"


def test_a_huge_retry_after_is_capped_and_missing_one_backs_off() -> None:
    answers = [
        _error(429, "rate_limited", "x", headers={"Retry-After": "86400"}),
        _error(503, "index_unavailable", "x"),
        _error(503, "index_unavailable", "x"),
        httpx.Response(200, json={"data": {}, "meta": {}}),
    ]
    client, sleeps = _client(lambda r: answers.pop(0), max_retry_wait=30)
    client.account()
    assert sleeps == [30.0, 1.0, 2.0]


def test_no_retry_when_max_retries_is_zero() -> None:
    client, sleeps = _client(lambda r: _error(503, "index_unavailable", "none"), max_retries=0)
    with pytest.raises(lc.IndexUnavailable):
        client.account()
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_json", lc.InvalidJson),
        (401, "unauthorized", lc.Unauthorized),
        (402, "insufficient_credits", lc.InsufficientCredits),
        (404, "not_found", lc.NotFound),
        (405, "method_not_allowed", lc.MethodNotAllowed),
        (409, "run_not_completed", lc.RunNotCompleted),
        (409, "idempotency_conflict", lc.IdempotencyConflict),
        (409, "something_new", lc.Conflict),
        (413, "payload_too_large", lc.PayloadTooLarge),
        (415, "unsupported_media_type", lc.UnsupportedMediaType),
        (422, "invalid_parameter", lc.InvalidParameter),
        (422, "competitors_not_indexed", lc.CompetitorsNotIndexed),
        (418, "teapot", lc.ApiError),
    ],
)
def test_error_codes_map_to_typed_exceptions(status: int, code: str, cls: type) -> None:
    client, _ = _client(
        lambda r: _error(status, code, "it went wrong", param="competitors[1]",
                         details={"status": "running"})
    )
    with pytest.raises(lc.ApiError) as info:
        client.get_run("run_x")
    assert type(info.value) is cls
    assert info.value.status == status and info.value.code == code
    assert info.value.message == "it went wrong"
    assert info.value.param == "competitors[1]"
    assert info.value.details == {"status": "running"}
    assert info.value.request_id == "req_1"


def test_a_non_json_server_error_is_still_typed() -> None:
    client, _ = _client(
        lambda r: httpx.Response(502, text="<html>bad gateway</html>",
                                 headers={"X-Request-ID": "req_p"})
    )
    with pytest.raises(lc.ServerError) as info:
        client.account()
    assert info.value.status == 502 and info.value.code == "http_502"
    assert info.value.request_id == "req_p"


def test_prospects_iterates_every_page_in_order() -> None:
    seen: list[httpx.Request] = []
    client, _ = _client(_prospect_server(250, seen))
    rows = list(client.prospects("run_1", min_authority=10, dofollow=True, competitor=None))
    assert [r["domain"] for r in rows] == [f"p{i:04d}.example" for i in range(250)]
    assert [int(r.url.params["page"]) for r in seen] == [1, 2, 3]
    params = seen[0].url.params
    assert params["per_page"] == "100" and params["dofollow"] == "true"
    assert params["min_authority"] == "10" and "competitor" not in params


def test_prospects_of_an_empty_result_makes_one_request() -> None:
    seen: list[httpx.Request] = []
    client, _ = _client(_prospect_server(0, seen))
    assert list(client.prospects("run_1")) == []
    assert len(seen) == 1


def test_prospects_page_reports_its_meta() -> None:
    client, _ = _client(_prospect_server(120, []))
    page = client.prospects_page("run_1", page=3, per_page=50, dofollow=False)
    assert (page.page, page.per_page, page.total, page.total_pages) == (3, 50, 120, 3)
    assert len(page.data) == 20


def test_runs_never_yields_a_run_twice_when_new_runs_shift_pages() -> None:
    runs = [{"id": f"run_{i:03d}"} for i in range(150)]

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page == 2:  # a run created between the two page reads pushes everything down
            runs.insert(0, {"id": "run_new"})
        chunk = runs[(page - 1) * 100 : page * 100]
        meta = {"page": page, "per_page": 100, "total": len(runs),
                "total_pages": -(-len(runs) // 100)}
        return httpx.Response(200, json={"data": chunk, "meta": meta})

    client, _ = _client(handler)
    ids = [r["id"] for r in client.runs(status="completed")]
    assert ids == [f"run_{i:03d}" for i in range(150)]


def test_create_run_sends_the_body_and_an_idempotency_key_and_retries_safely() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        body = {"data": {"id": "run_1", "status": "queued"},
                "meta": {"request_id": "r", "credits_charged": 7}}
        return httpx.Response(202, json=body)

    client, sleeps = _client(handler)
    run = client.create_run("mysite.example", ["a.example", "b.example"], limit=100)
    assert run == {"id": "run_1", "status": "queued"}
    assert client.last_meta["credits_charged"] == 7
    assert json.loads(seen[1].content) == {
        "domain": "mysite.example", "competitors": ["a.example", "b.example"],
        "mode": "union", "limit": 100,
    }
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(keys) == 1 and sleeps == [0.5]


def test_create_run_passes_the_callers_key_and_min_overlap() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"data": {"id": "run_2"}, "meta": {}})

    client, _ = _client(handler)
    client.create_run("m.example", ["a.example", "b.example"], min_overlap=2,
                      idempotency_key="order-42")
    assert seen[0].headers["idempotency-key"] == "order-42"
    assert json.loads(seen[0].content)["min_overlap"] == 2


def test_wait_backs_off_until_completed() -> None:
    states = ["queued", "running", "running", "completed"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {"id": "run_1", "status": states.pop(0)}})

    client, sleeps = _client(handler)
    assert client.wait("run_1", poll=1.0, max_poll=2.0)["status"] == "completed"
    assert sleeps == [1.0, 1.5, 2.0]


def test_wait_raises_run_failed_with_the_runs_error() -> None:
    failed = {"id": "run_1", "status": "failed",
              "error": {"code": "index_unavailable", "message": "the index vanished"}}
    client, _ = _client(lambda r: httpx.Response(200, json={"data": failed}))
    with pytest.raises(lc.RunFailed) as info:
        client.wait("run_1")
    assert info.value.code == "index_unavailable"
    assert info.value.message == "the index vanished"
    assert info.value.run["id"] == "run_1"


def test_wait_gives_up_after_its_timeout() -> None:
    client, _ = _client(
        lambda r: httpx.Response(200, json={"data": {"id": "run_1", "status": "running"}})
    )
    with pytest.raises(lc.WaitTimeout) as info:
        client.wait("run_1", timeout=0)
    assert isinstance(info.value, TimeoutError)
    assert info.value.run["status"] == "running"


def test_prospects_csv_asks_for_csv_and_returns_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="domain,score\r\np.example,80\r\n",
                              headers={"Content-Type": "text/csv; charset=utf-8"})

    client, _ = _client(handler)
    assert client.prospects_csv("run_1", max_spam=30).startswith("domain,score")
    assert seen[0].url.params["format"] == "csv" and seen[0].url.params["max_spam"] == "30"


def test_a_borrowed_http_client_is_not_closed() -> None:
    http = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json={"data": {"name": "n"}})))
    with Client("http://x.test", "k", http_client=http) as client:
        assert client.account() == {"name": "n"}
    assert not http.is_closed
    http.close()


def test_prospects_honours_per_page_and_ignores_a_stray_page() -> None:
    seen: list[httpx.Request] = []
    client, _ = _client(_prospect_server(25, seen))
    rows = list(client.prospects("run_1", per_page=10, page=3))
    assert len(rows) == 25
    assert [(r.url.params["page"], r.url.params["per_page"]) for r in seen] == [
        ("1", "10"), ("2", "10"), ("3", "10")]


@pytest.mark.parametrize(("base_url", "key"), [("http://x.test", ""), ("http://x.test", "  "),
                                               ("x.test", "lgk_k")])
def test_bad_construction_is_a_clear_value_error(base_url: str, key: str) -> None:
    with pytest.raises(ValueError):
        Client(base_url, key)


def test_an_unreachable_server_is_a_connection_failed_after_the_retries() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("connection refused", request=request)

    client, sleeps = _client(handler, max_retries=2)
    with pytest.raises(lc.ConnectionFailed) as info:
        client.account()
    assert isinstance(info.value, lc.ClientError)
    assert isinstance(info.value.cause, httpx.ConnectError)
    assert calls == ["GET"] * 3 and sleeps == [0.5, 1.0]


def test_a_post_without_idempotency_is_not_repeated_after_a_broken_connection() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset", request=request)

    client, _ = _client(handler)
    with pytest.raises(lc.ConnectionFailed):
        client._request("POST", "/v1/domains/metrics", json={"domains": ["a.example"]})
    assert calls == ["POST"]


def test_a_charged_get_is_not_repeated_after_a_broken_connection() -> None:
    # The server may have charged the credit before the connection broke: sending the
    # request again could charge it twice.
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadError("connection reset", request=request)

    client, sleeps = _client(handler, max_retries=3)
    with pytest.raises(lc.ConnectionFailed):
        client.competitors("a.example")
    assert calls == ["/v1/domains/a.example/competitors"] and sleeps == []


def test_a_charged_get_is_still_retried_after_a_503() -> None:
    answers = [_error(503, "index_unavailable", "none"),
               httpx.Response(200, json={"data": [], "meta": {"found": False}})]

    client, sleeps = _client(lambda r: answers.pop(0), max_retries=2)
    assert client.competitors("a.example") == []
    assert sleeps == [0.5] and client.last_meta["found"] is False


def test_run_ids_stay_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _error(404, "not_found", "no such run")

    client, _ = _client(handler)
    with pytest.raises(lc.NotFound):
        client.get_run("../../account")
    assert seen[0].url.raw_path == b"/v1/backlinks/gap/..%2F..%2Faccount"
