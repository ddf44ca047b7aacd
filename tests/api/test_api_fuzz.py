"""No input, however malformed, makes the API fail: random bytes and random JSON as
POST bodies, random query strings and headers, all answered in the error shape."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
POSTS = ["/v1/backlinks/gap", "/v1/domains/metrics"]
ERROR_CODES = {"invalid_json", "invalid_parameter", "insufficient_credits",
               "idempotency_conflict", "payload_too_large", "unsupported_media_type"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                               max_size=4),
    max_leaves=12,
)
# Bodies close to valid ones, so that the service's rules get exercised too.
near_valid = st.fixed_dictionaries(
    {"domain": st.sampled_from([TARGET, "", "localhost", "a.com", "xn--", "bücher.de"])},
    optional={"competitors": st.lists(st.sampled_from(COMPETITORS + ["", "co.uk", TARGET]),
                                      max_size=4),
              "mode": st.sampled_from(["union", "intersect", "x"]),
              "min_overlap": st.integers(-2, 5) | st.none(),
              "limit": st.integers(-5, 2000)},
)


def _check(r: Any) -> None:
    assert r.status_code < 500, r.text
    assert r.headers["x-request-id"].startswith("req_")
    if r.status_code >= 400:
        body = r.json()
        assert body["error"]["code"] in ERROR_CODES, body
        assert body["meta"]["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize("path", POSTS)
@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes(api: Api, path: str, raw: bytes) -> None:
    _check(api.client.post(path, content=raw,
                           headers={**api.headers, "Content-Type": "application/json"}))


@pytest.mark.parametrize("path", POSTS)
@FUZZ
@given(value=json_values | near_valid)
def test_random_json(api: Api, path: str, value: Any) -> None:
    _check(api.client.post(path, content=json.dumps(value).encode(),
                           headers={**api.headers, "Content-Type": "application/json"}))


@FUZZ
@given(params=st.dictionaries(
    st.sampled_from(["min_authority", "max_spam", "dofollow", "competitor", "q", "sort",
                     "order", "page", "per_page", "format", "status", "other"]),
    st.text(max_size=12), max_size=5))
def test_random_query_strings(api: Api, run_id: str, params: dict[str, str]) -> None:
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
    for path in (f"/v1/backlinks/gap/{run_id}/prospects", f"/v1/backlinks/gap/{run_id}/summary",
                 "/v1/backlinks/gap"):
        _check(api.get(f"{path}?{query}"))


@FUZZ
@given(key=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300),
       accept=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
def test_random_headers(api: Api, run_id: str, key: str, accept: str) -> None:
    raw_key = key.encode("latin-1")  # header values travel as bytes
    r = api.client.post("/v1/domains/metrics", json={"domains": ["a.com"]},
                        headers={**api.headers, "Idempotency-Key": raw_key, "Accept": accept})
    _check(r)
    _check(api.get(f"/v1/backlinks/gap/{run_id}/prospects",
                   headers={**api.headers, "Accept": accept}))
    auth = api.client.get("/v1/account", headers={"Authorization": raw_key})
    assert auth.status_code == 401
