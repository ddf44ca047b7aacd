"""SPEC 5 "Errors": one shape for every error, auth, unknown paths and methods, bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api

REQ_ID = re.compile(r"req_[0-9a-f]{24}\Z")
GAP = "/v1/backlinks/gap"


def assert_error(r: Any, status: int, code: str, param: str | None = None) -> dict[str, Any]:
    """The response is the one error shape with this status and code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "meta"}
    err = body["error"]
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]
    assert set(err) <= {"code", "message", "param", "details"}
    if param is not None:
        assert err.get("param") == param, err
    assert REQ_ID.match(body["meta"]["request_id"])
    assert body["meta"]["request_id"] == r.headers["x-request-id"]
    return dict(err)


# ---------------------------------------------------------------- auth

@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b",
    "Bearer lgk_unknown_secret", "Bearer lgk_", "bearer nonsense",
])
def test_bad_or_missing_key_is_401_with_challenge(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = api.client.get("/v1/account", headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    assert "ratelimit-limit" not in r.headers


def test_revoked_key_is_401(api: Api) -> None:
    key, view = api.service.create_key("acme", name="soon revoked")
    assert api.client.get("/v1/account",
                          headers={"Authorization": f"Bearer {key}"}).status_code == 200
    api.service.revoke_key(view.id)
    r = api.client.get("/v1/account", headers={"Authorization": f"Bearer {key}"})
    assert_error(r, 401, "unauthorized")


def test_auth_scheme_is_case_insensitive(api: Api) -> None:
    r = api.client.get("/v1/account", headers={"Authorization": f"bearer {api.key}"})
    assert r.status_code == 200


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/account"), ("GET", GAP), ("POST", GAP), ("GET", f"{GAP}/run_x"),
    ("GET", f"{GAP}/run_x/prospects"), ("GET", f"{GAP}/run_x/summary"),
    ("POST", "/v1/domains/metrics"), ("GET", "/v1/nowhere"), ("DELETE", "/v1/account"),
])
def test_everything_under_v1_needs_a_key(api: Api, method: str, path: str) -> None:
    r = api.client.request(method, path, json={"domains": ["a.com"]})
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/", "/openapi.json", "/docs", "/healthz",
                                  "/static/app.js"])
def test_public_paths_need_no_key(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 200, (path, r.text[:200])
    assert REQ_ID.match(r.headers["x-request-id"])


def test_page_and_assets_are_served(api: Api) -> None:
    page = api.client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "/static/" in page.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert api.client.get(asset).status_code == 200, asset


# ---------------------------------------------------------------- paths and methods

@pytest.mark.parametrize("path", ["/v1/nowhere", "/v1", "/v1/", "/v1/account/",
                                  "/v1/backlinks/gap/run_x/nothing", "/v2/account"])
def test_unknown_path_is_404(api: Api, path: str) -> None:
    assert_error(api.get(path), 404, "not_found")


def test_unknown_public_path_and_asset_are_404(api: Api) -> None:
    err = assert_error(api.client.get("/nope"), 404, "not_found")
    assert err["message"]
    body = api.client.get("/static/no-such-file.js").json()
    assert body["error"]["code"] == "not_found"
    assert "credits_charged" not in body["meta"]


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", GAP, "GET, HEAD, POST"),
    ("PUT", "/v1/account", "GET, HEAD"),
    ("POST", "/v1/account", "GET, HEAD"),
    ("GET", "/v1/domains/metrics", "POST"),
    ("PATCH", f"{GAP}/run_x", "GET, HEAD"),
    ("POST", f"{GAP}/run_x/prospects", "GET, HEAD"),
    ("DELETE", f"{GAP}/run_x/summary", "GET, HEAD"),
    ("POST", "/healthz", "GET, HEAD"),
    ("HEAD", "/v1/domains/metrics", "POST"),
    ("OPTIONS", "/v1/account", "GET, HEAD"),
])
def test_wrong_method_is_405_with_allow(api: Api, method: str, path: str, allow: str) -> None:
    r = api.client.request(method, path, headers=api.headers)
    if method == "HEAD":
        assert r.status_code == 405 and r.content == b""
    else:
        assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allow


def test_head_is_get_without_a_body(api: Api) -> None:
    for path, headers in (("/healthz", {}), ("/v1/account", api.headers), ("/", {}),
                          ("/static/app.js", {})):
        get = api.client.get(path, headers=headers)
        head = api.client.head(path, headers=headers)
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert int(head.headers["content-length"]) == len(get.content)
        assert REQ_ID.match(head.headers["x-request-id"])
    unauthorized = api.client.head("/v1/account")
    assert unauthorized.status_code == 401 and unauthorized.content == b""
    assert api.client.head("/v1/nowhere", headers=api.headers).status_code == 404


# ---------------------------------------------------------------- request ids and meta

def test_request_ids_are_fresh_and_match_the_header(api: Api) -> None:
    ids = set()
    for _ in range(5):
        r = api.get("/v1/account")
        assert r.json()["meta"]["request_id"] == r.headers["x-request-id"]
        ids.add(r.headers["x-request-id"])
    assert len(ids) == 5
    r = api.get("/v1/account", headers={**api.headers, "X-Request-ID": "req_chosen"})
    assert r.headers["x-request-id"] != "req_chosen"


def test_v1_errors_report_zero_credits(api: Api) -> None:
    body = api.get(f"{GAP}/run_missing").json()
    assert body["meta"]["credits_charged"] == 0


# ---------------------------------------------------------------- bodies

def _post_raw(api: Api, path: str, content: bytes | Iterator[bytes],
              content_type: str | None = "application/json") -> Any:
    headers = dict(api.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(path, content=content, headers=headers)


@pytest.mark.parametrize("path", [GAP, "/v1/domains/metrics"])
@pytest.mark.parametrize("raw", [b"", b"{", b"{'domain': 'a.com'}", b"nul", b"\xff\xfe\x00",
                                 b'{"domain": "a.com",}', b"[" * 50_000])
def test_invalid_json_is_400(api: Api, path: str, raw: bytes) -> None:
    assert_error(_post_raw(api, path, raw), 400, "invalid_json")


@pytest.mark.parametrize("path", [GAP, "/v1/domains/metrics"])
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/xml",
                                   "text/json"])
def test_post_without_json_media_type_is_415(api: Api, path: str, ctype: str | None) -> None:
    r = _post_raw(api, path, b'{"domains": ["a.com"]}', ctype)
    assert_error(r, 415, "unsupported_media_type")


def test_json_media_type_with_charset_is_accepted(api: Api) -> None:
    r = _post_raw(api, "/v1/domains/metrics", b'{"domains": ["a.com"]}',
                  "application/json; charset=utf-8")
    assert r.status_code == 200, r.text


def _big_body(size: int) -> bytes:
    pad = "x" * (size - len(json.dumps({"domains": ["a.com"], "pad": ""})))
    return json.dumps({"domains": ["a.com"], "pad": pad}).encode()


def test_body_of_exactly_64_kib_is_read(api: Api) -> None:
    body = _big_body(64 * 1024)
    assert len(body) == 64 * 1024
    # Read and parsed: the unknown field is what is wrong with it, not its size.
    assert_error(_post_raw(api, "/v1/domains/metrics", body), 422, "invalid_parameter", "pad")


def test_body_over_64_kib_is_413(api: Api) -> None:
    body = _big_body(64 * 1024 + 1)
    assert_error(_post_raw(api, "/v1/domains/metrics", body), 413, "payload_too_large")
    assert_error(_post_raw(api, GAP, b" " * (1 << 20)), 413, "payload_too_large")


def test_body_limit_does_not_trust_content_length(api: Api) -> None:
    """A chunked body (no Content-Length) is cut off while it is read."""

    def chunks() -> Iterator[bytes]:
        yield b'{"domains": ["a.com"], "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    r = _post_raw(api, "/v1/domains/metrics", chunks())
    assert_error(r, 413, "payload_too_large")


def test_body_limit_applies_to_any_method(api: Api) -> None:
    r = api.client.request("GET", "/v1/account", content=b"x" * (65 * 1024),
                           headers=api.headers)
    assert_error(r, 413, "payload_too_large")


RUN_BODY = {"domain": TARGET, "competitors": COMPETITORS}


@pytest.mark.parametrize("body,param", [
    ({**RUN_BODY, "limit": "100"}, "limit"),
    ({**RUN_BODY, "limit": 100.5}, "limit"),
    ({**RUN_BODY, "limit": 1e300}, "limit"),
    ({**RUN_BODY, "limit": True}, "limit"),
    ({**RUN_BODY, "limit": None}, "limit"),
    ({**RUN_BODY, "competitors": "a.com"}, "competitors"),
    ({**RUN_BODY, "competitors": ["a.com", 5]}, "competitors[1]"),
    ({**RUN_BODY, "competitors": ["a.com", None]}, "competitors[1]"),
    ({**RUN_BODY, "competitors": [["a.com"]]}, "competitors[0]"),
    ({**RUN_BODY, "domain": 7}, "domain"),
    ({**RUN_BODY, "domain": ["mysite.com"]}, "domain"),
    ({**RUN_BODY, "mode": "both"}, "mode"),
    ({**RUN_BODY, "mode": None}, "mode"),
    ({**RUN_BODY, "min_overlap": "1"}, "min_overlap"),
    ({**RUN_BODY, "colour": "blue"}, "colour"),
    ({"competitors": COMPETITORS}, "domain"),
    ({"domain": TARGET}, "competitors"),
])
def test_run_body_shape_errors_are_422_with_param(api: Api, body: dict[str, Any],
                                                  param: str) -> None:
    err = assert_error(api.post(GAP, body), 422, "invalid_parameter", param)
    assert param in err["message"]


@pytest.mark.parametrize("limit", [100.0, 1e2, 1.0e+2])
def test_an_integral_number_is_an_integer_as_json_schema_says(api: Api, limit: float) -> None:
    r = api.post("/v1/backlinks/gap", {**RUN_BODY, "limit": limit})
    assert r.status_code == 202, r.text
    assert r.json()["data"]["limit"] == 100


@pytest.mark.parametrize("body", [[], "text", 5, None, [RUN_BODY]])
def test_run_body_must_be_an_object(api: Api, body: Any) -> None:
    r = _post_raw(api, GAP, json.dumps(body).encode())
    assert_error(r, 422, "invalid_parameter")


@pytest.mark.parametrize("body,param", [
    ({"domains": "a.com"}, "domains"),
    ({"domains": ["a.com", 1]}, "domains[1]"),
    ({"domains": ["a.com"], "extra": 1}, "extra"),
    ({}, "domains"),
])
def test_metrics_body_shape_errors_are_422(api: Api, body: dict[str, Any], param: str) -> None:
    assert_error(api.post("/v1/domains/metrics", body), 422, "invalid_parameter", param)


def test_shape_errors_charge_nothing(api: Api) -> None:
    before = api.get("/v1/account").json()["data"]["credits"]["available"]
    api.post(GAP, {**RUN_BODY, "limit": "100"})
    api.post(GAP, {**RUN_BODY, "extra": 1})
    assert api.get("/v1/account").json()["data"]["credits"]["available"] == before


def test_unknown_query_parameters_are_ignored(api: Api) -> None:
    r = api.get("/v1/account", params={"colour": "blue", "page": "x"})
    assert r.status_code == 200


#: Unknown names, some close to real ones (case, plural, a typo): none is an error,
#: and none changes what the real parameters select.
UNKNOWN = {"colour": "blue", "Page": "x", "perpage": "1", "min_authorty": "100",
           "sort_by": "name", "competitors": "zzz.com", "callback": "f", "": "empty"}


@pytest.mark.parametrize("tail", ["prospects", "summary"])
def test_unknown_params_beside_real_ones_change_nothing(api: Api, tail: str) -> None:
    run_id = api.completed_run()
    real = {"max_spam": "100", "dofollow": "true", "competitor": "b.com", "q": "blog"}
    if tail == "prospects":
        real |= {"sort": "rank", "order": "asc", "page": "1", "per_page": "7"}
    url = f"{GAP}/{run_id}/{tail}"
    plain = api.get(url, params=real)
    assert plain.status_code == 200, plain.text
    noisy = api.get(url, params={**UNKNOWN, **real})
    assert noisy.status_code == 200, noisy.text
    assert noisy.json()["data"] == plain.json()["data"]
    if tail == "prospects":
        meta = noisy.json()["meta"]
        assert (meta["page"], meta["per_page"]) == (1, 7)
        assert meta["total"] == plain.json()["meta"]["total"] > 0


def test_unknown_params_on_the_run_list_and_csv_change_nothing(api: Api) -> None:
    run_id = api.completed_run()
    listed = api.get(GAP, params={**UNKNOWN, "status": "completed", "per_page": "5"})
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["data"]] == [run_id]
    csv_plain = api.get(f"{GAP}/{run_id}/prospects", params={"format": "csv", "q": "hub"})
    csv_noisy = api.get(f"{GAP}/{run_id}/prospects",
                        params={**UNKNOWN, "format": "csv", "q": "hub"})
    assert csv_noisy.status_code == 200 and csv_noisy.text == csv_plain.text
    assert csv_plain.text.count("\n") == 5  # header + hub0..hub3


# ---------------------------------------------------------------- health

def test_healthz_reports_the_index_version(api: Api) -> None:
    r = api.client.get("/healthz")
    body = r.json()
    assert body["data"]["status"] == "ok"
    from linkgap.index.reader import BacklinkIndex

    assert body["data"]["index_version"] == BacklinkIndex.current_version(api.settings.index)
    assert REQ_ID.match(body["meta"]["request_id"])
    assert "credits_charged" not in body["meta"]


@pytest.mark.parametrize("raw", [
    b'{"domain": "\\ud800.com", "competitors": ["a.com"]}',
    b'{"domain": "x.com", "competitors": ["\\udfff"]}',
    b'{"domain": "x.com", "competitors": ["a.com"], "\\ud800": 1}',
    b'{"domain": "x.com", "competitors": ["a.com"], "limit": NaN}',
    b'{"domain": "x.com", "competitors": ["a.com"], "limit": -Infinity}',
])
def test_not_quite_json_is_400_with_or_without_idempotency_key(api: Api, raw: bytes) -> None:
    for extra in ({}, {"Idempotency-Key": "odd"}):
        headers = {**api.headers, "Content-Type": "application/json", **extra}
        r = api.client.post(GAP, content=raw, headers=headers)
        err = assert_error(r, 400, "invalid_json")
        assert err["message"].startswith("request body is not valid JSON: ")


@pytest.mark.parametrize("limit", [b"1" + b"0" * 5000, b"-" + b"9" * 40, b"1e400"])
def test_absurd_numbers_are_422(api: Api, limit: bytes) -> None:
    raw = b'{"domain": "x.com", "competitors": ["a.com"], "limit": ' + limit + b"}"
    r = _post_raw(api, GAP, raw)
    assert_error(r, 422, "invalid_parameter", "limit")


def test_json_syntax_error_says_where(api: Api) -> None:
    err = assert_error(_post_raw(api, GAP, b'{"domain": "x.com",,}'), 400, "invalid_json")
    assert "line 1 column" in err["message"]


@pytest.mark.parametrize("query", ["q=%ff", "q=%00", "competitor=%ff", "competitor=%00",
                                   "page=%EF%BC%91", "per_page=99999999999999999999999",
                                   "dofollow=%ff", "sort=%00", "min_authority=%2B5"])
def test_odd_query_strings_never_fail_the_server(api: Api, query: str) -> None:
    r = api.get(f"{GAP}/run_x/prospects?{query}")
    assert r.status_code in (404, 422)
    assert r.json()["error"]["code"] in ("not_found", "invalid_parameter")


@pytest.mark.parametrize("path", [f"{GAP}/%00", f"{GAP}/%ff/prospects", f"{GAP}/{'x' * 10000}",
                                  f"{GAP}/..%2F..%2Fetc", "/static/..%2F..%2Fapi%2Fapp.py",
                                  "/static/%00"])
def test_odd_paths_are_404(api: Api, path: str) -> None:
    assert_error(api.get(path), 404, "not_found")


# ---------------------------------------------------------------- the last resort

def test_a_bug_is_a_logged_500_that_reveals_nothing(api: Api, server_errors: list[Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(account_id: str) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api.service, "account", broken)
    r = api.get("/v1/account")
    assert_error(r, 500, "internal_error")
    assert "secret" not in r.text
    assert r.headers["ratelimit-limit"]
    assert len(server_errors) == 1
    assert r.headers["x-request-id"] in server_errors[0].getMessage()


def test_an_unmapped_linkgap_error_is_a_500(api: Api, server_errors: list[Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from linkgap.errors import BuildFailed

    def broken(account_id: str) -> Any:
        raise BuildFailed("not an HTTP matter")

    monkeypatch.setattr(api.service, "account", broken)
    r = api.get("/v1/account")
    assert_error(r, 500, "internal_error")
    assert "HTTP matter" not in r.text
    assert len(server_errors) == 1
