"""The gateway's fast path for prospects pages (linkgap.api.fastpath) answers exactly what
the route answers, for any query, and declines whatever it cannot answer from memory."""

from __future__ import annotations

import re
import warnings
from typing import Any
from urllib.parse import urlencode

import pytest
from api.apitest_support import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkgap.api import create_app
from linkgap.api.fastpath import ProspectsFastPath

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

_REQUEST_ID = re.compile(rb"req_[0-9a-f]{24}")

VALUES: dict[str, list[str]] = {
    "page": ["1", "2", "3", "0", "-1", "05", "abc", "", "1000000", "1000001", "1.0"],
    "per_page": ["1", "7", "50", "100", "101", "0", "", " 5"],
    "sort": ["score", "rank", "backlinks", "referring_domains", "domain_rating",
             "competitor_overlap", "spam_score", "SCORE", "bogus", ""],
    "order": ["asc", "desc", "up", ""],
    "min_authority": ["0", "10", "50", "100", "101", "-1", "x", ""],
    "max_spam": ["0", "30", "100", "200", ""],
    "dofollow": ["true", "false", "1", "0", "TRUE", "yes", ""],
    "competitor": ["a.com", "B.COM", "https://b.com/x", "c.com", "nope.com", ""],
    "q": ["blog", "BLOG0", "hub", "bücher", "xn--", "", "zzz"],
    "format": ["json", "csv", "xml", ""],
    "unknown": ["1"],
}

pairs = st.lists(st.sampled_from(sorted(VALUES)).flatmap(
    lambda k: st.tuples(st.just(k), st.sampled_from(VALUES[k]))), max_size=6)


@pytest.fixture
def route_only(api: Api, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A second app on the same service whose fast path always declines."""
    with monkeypatch.context() as patch:
        patch.setattr(ProspectsFastPath, "body", lambda self, *args: None)
        app = create_app(api.service, api.settings)
    return TestClient(app)


def _same(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code, (a.text[:300], b.text[:300])
    assert _REQUEST_ID.sub(b"req_", a.content) == _REQUEST_ID.sub(b"req_", b.content)
    for name in ("content-type", "content-length", "cache-control", "ratelimit-limit"):
        assert a.headers.get(name) == b.headers.get(name), name


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=pairs)
def test_the_fast_path_answers_what_the_route_answers(api: Api, run_id: str,
                                                      route_only: TestClient,
                                                      query: list[tuple[str, str]]) -> None:
    url = f"/v1/backlinks/gap/{run_id}/prospects?{urlencode(query)}"
    route = route_only.get(url, headers=api.headers)
    api.get(url)  # the first read may warm the run for the fast path
    fast = api.get(url)
    _same(fast, route)
    # And directly: whenever the fast path answers, it is the route's 200 body.
    principal = api.service.authenticate(api.key)
    direct = ProspectsFastPath(api.service).body(
        {"type": "http", "method": "GET", "path": url.partition("?")[0],
         "query_string": urlencode(query).encode(), "headers": []}, principal, "req_" + "0" * 24)
    if direct is not None:
        assert route.status_code == 200
        assert _REQUEST_ID.sub(b"req_", direct) == _REQUEST_ID.sub(b"req_", route.content)
    head = api.client.head(url, headers=api.headers)
    assert head.status_code == route.status_code and head.content == b""
    assert head.headers.get("content-length") == route.headers.get("content-length")


def test_the_fast_path_serves_warm_pages_and_declines_the_rest(api: Api, run_id: str) -> None:
    fast = ProspectsFastPath(api.service)
    principal = api.service.authenticate(api.key)
    path = f"/v1/backlinks/gap/{run_id}/prospects"

    def scope(query: bytes = b"", method: str = "GET", headers: Any = ()) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "query_string": query,
                "headers": list(headers)}

    assert fast.body(scope(), principal, "req_x") is None  # cold: the route loads the run
    assert api.get(path).status_code == 200
    body = fast.body(scope(b"per_page=5&sort=rank"), principal, "req_x")
    assert body is not None and b'"per_page":5' in body and b'"request_id":"req_x"' in body
    declined = [
        scope(b"format=csv"), scope(b"page=0"), scope(b"page=1&page=2"),
        scope(b"competitor=nope.com"), scope(method="POST"),
        scope(headers=[(b"accept", b"text/csv")]),
        scope(headers=[(b"content-length", b"2")]),
    ]
    for s in declined:
        assert fast.body(s, principal, "req_x") is None, s
    other = {**scope(), "path": "/v1/backlinks/gap/run_nope/prospects"}
    assert fast.body(other, principal, "req_x") is None
    rival = api.service.authenticate(api.other_key)
    assert fast.body(scope(), rival, "req_x") is None  # another account's run: the route 404s
    assert api.client.get(path, headers={"Authorization": f"Bearer {api.other_key}"}
                          ).status_code == 404
