"""Security headers on every kind of response, and CORS off by default, on when origins
are listed (SPEC 14; linkgap.api.headers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import Api, make_api

from linkgap.api.headers import API_CSP, PAGE_CSP

ORIGIN = "https://app.example.com"


def _check_security(r: Any, path: str) -> None:
    assert r.headers["x-content-type-options"] == "nosniff", (path, r.status_code)
    assert r.headers["x-request-id"].startswith("req_")
    if path.startswith("/v1"):
        assert r.headers["cache-control"] == "no-store", path
        assert r.headers["content-security-policy"] == API_CSP
    else:
        assert "no-store" not in r.headers.get("cache-control", ""), path
    if path in ("/", "/docs"):
        assert r.headers["content-security-policy"] == PAGE_CSP
        assert "frame-ancestors 'none'" in PAGE_CSP and "'unsafe-inline'" not in PAGE_CSP
        assert r.headers["x-frame-options"] == "DENY"
    elif not path.startswith("/v1"):
        assert r.headers["content-security-policy"] == API_CSP


def test_every_kind_of_response_carries_the_security_headers(api: Api, run_id: str) -> None:
    bad_key = {"Authorization": "Bearer lgk_000000000000_" + "0" * 40}
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", "/", {}, 200),
        ("GET", "/docs", {}, 200),
        ("GET", "/static/app.js", {}, 200),
        ("GET", "/static/style.css", {}, 200),
        ("GET", "/static/missing.js", {}, 404),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/nowhere", {}, 404),
        ("POST", "/healthz", {}, 405),
        ("HEAD", "/", {}, 200),
        ("GET", "/v1/account", {"headers": api.headers}, 200),
        ("GET", "/v1/account", {}, 401),
        ("GET", "/v1/account", {"headers": bad_key}, 401),
        ("GET", "/v1/nowhere", {"headers": api.headers}, 404),
        ("GET", f"/v1/backlinks/gap/{run_id}/prospects", {"headers": api.headers}, 200),
        # The run is warm now: the gateway's fast path answers this one, not the route.
        ("GET", f"/v1/backlinks/gap/{run_id}/prospects",
         {"headers": api.headers, "params": {"page": 2}}, 200),
        ("HEAD", f"/v1/backlinks/gap/{run_id}/prospects", {"headers": api.headers}, 200),
        ("GET", f"/v1/backlinks/gap/{run_id}/prospects",
         {"headers": api.headers, "params": {"format": "csv"}}, 200),
        ("GET", f"/v1/backlinks/gap/{run_id}/prospects",
         {"headers": api.headers, "params": {"per_page": 0}}, 422),
        ("GET", "/v1/backlinks/gap/run_unknown", {"headers": api.headers}, 404),
        ("POST", "/v1/backlinks/gap",
         {"headers": {**api.headers, "Content-Type": "application/json"},
          "content": b"{not json"}, 400),
        ("POST", "/v1/backlinks/gap",
         {"headers": {**api.headers, "Content-Type": "application/json"},
          "content": b" " * (65 * 1024)}, 413),
        ("DELETE", "/v1/account", {"headers": api.headers}, 405),
    ]
    for method, path, kw, status in cases:
        r = api.client.request(method, path, **kw)
        assert r.status_code == status, (method, path, r.text[:200])
        _check_security(r, path)
    # The CSV export is an attachment; nosniff stops a browser from rendering it as HTML.
    csv = api.get(f"/v1/backlinks/gap/{run_id}/prospects", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")


def test_a_rate_limited_answer_carries_them_too(tmp_path: Path, shared_index: Path) -> None:
    gen = make_api(tmp_path, shared_index, rate_limit=1)
    api = next(gen)
    try:
        assert api.get("/v1/account").status_code == 200
        r = api.get("/v1/account")
        assert r.status_code == 429
        _check_security(r, "/v1/account")
    finally:
        gen.close()


def test_an_unexpected_error_carries_them_too(api: Api, server_errors: list[Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(api.service, "account", broken)
    with_500 = api.client.__class__(api.client.app, raise_server_exceptions=False)
    r = with_500.get("/v1/account", headers=api.headers)
    assert r.status_code == 500
    _check_security(r, "/v1/account")
    assert server_errors


# ---------------------------------------------------------------- CORS


def _preflight(api: Api, path: str, origin: str) -> Any:
    return api.client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})


def test_cors_is_off_by_default(api: Api) -> None:
    r = _preflight(api, "/v1/account", ORIGIN)
    assert r.status_code == 401  # handled like any keyless request
    assert not any(h.startswith("access-control-") for h in r.headers)
    r = api.get("/v1/account", headers={**api.headers, "Origin": ORIGIN})
    assert r.status_code == 200
    assert not any(h.startswith("access-control-") for h in r.headers)
    assert "vary" not in r.headers


@pytest.fixture
def cors_api(tmp_path: Path, shared_index: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, shared_index,
                        cors_origins=(ORIGIN, "http://localhost:3000"))


def test_a_preflight_from_a_listed_origin_needs_no_key(cors_api: Api) -> None:
    for path in ("/v1/account", "/v1/backlinks/gap", "/healthz"):
        r = _preflight(cors_api, path, ORIGIN)
        assert r.status_code == 204, (path, r.text)
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert "Authorization" in r.headers["access-control-allow-headers"]
        assert "Idempotency-Key" in r.headers["access-control-allow-headers"]
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["vary"] == "Origin"
        assert "access-control-allow-credentials" not in r.headers
        _check_security(r, path)


def test_answers_to_a_listed_origin_can_be_read_by_it(cors_api: Api) -> None:
    r = cors_api.get("/v1/account", headers={**cors_api.headers, "Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    exposed = r.headers["access-control-expose-headers"]
    for name in ("X-Request-ID", "RateLimit-Remaining", "Retry-After", "Location"):
        assert name in exposed
    # Errors too: a browser app must be able to read a 401 and its error body.
    r = cors_api.get("/v1/account", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_other_origins_get_nothing(cors_api: Api) -> None:
    for origin in ("https://evil.example.com", "https://app.example.com.evil.com",
                   "http://app.example.com", "null"):
        r = _preflight(cors_api, "/v1/account", origin)
        assert r.status_code == 401, origin
        assert "access-control-allow-origin" not in r.headers
        r = cors_api.get("/v1/account", headers={**cors_api.headers, "Origin": origin})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        assert r.headers["vary"] == "Origin"
    # An OPTIONS without Access-Control-Request-Method is no preflight.
    r = cors_api.client.options("/v1/account", headers={"Origin": ORIGIN})
    assert r.status_code == 401


def test_the_origin_list_is_checked_when_read(tmp_path: Path) -> None:
    from linkgap.settings import SettingError, Settings

    ok = Settings(environ={"LINKGAP_HOME": str(tmp_path),
                           "LINKGAP_CORS_ORIGINS": "https://App.Example.com:443 http://[::1]:8080"})
    assert ok.cors_origins == ("https://app.example.com", "http://[::1]:8080")
    for bad in ("*", "https://app.example.com/path", "ftp://x.com", "app.example.com",
                "https://*.example.com", "https://x.com:99999"):
        with pytest.raises(SettingError, match="LINKGAP_CORS_ORIGINS"):
            Settings(environ={"LINKGAP_HOME": str(tmp_path), "LINKGAP_CORS_ORIGINS": bad})
