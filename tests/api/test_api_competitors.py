"""SPEC 13 "Link competitors" over HTTP: ``GET /v1/domains/{domain}/competitors``.

The rows equal a brute force over the test index's links (Python sets); one credit
for an indexed domain, nothing for a domain not in the index; a 422 (domain, limit),
a 402 and a 501 (an index built with ``--no-out-links``) charge nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from api.apitest_support import Api, demo_links, make_api
from api.test_api_errors import assert_error
from support.indexes import build_test_index

from linkgap import BacklinkIndex
from linkgap.domains import DomainNormalizer

_NORMALIZER = DomainNormalizer()


def available(api: Api) -> int:
    return int(api.get("/v1/account").json()["data"]["credits"]["available"])


def url(domain: str, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/v1/domains/{quote(domain, safe='')}/competitors" + (f"?{query}" if query else "")


def brute_force(target: str, limit: int) -> list[tuple[str, int, float]]:
    """Competitor rows of the test index's links, from Python sets of domains."""
    referrers: dict[str, set[str]] = {}
    for link in demo_links():
        source = _NORMALIZER.normalize(urlsplit(link[0]).hostname or "")
        dest = _NORMALIZER.normalize(urlsplit(link[1]).hostname or "")
        if source != dest:
            referrers.setdefault(dest, set()).add(source)
    mine = referrers.get(target, set())
    rows = [(other, len(mine & theirs), len(mine & theirs) / len(mine | theirs))
            for other, theirs in referrers.items() if other != target and mine & theirs]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return rows[:limit]


@pytest.mark.parametrize(("domain", "limit"), [
    ("a.com", None), ("mysite.com", None), ("b.com", 2), ("hub0.com", 100), ("c.com", 1),
])
def test_competitors_equal_the_brute_force_and_cost_one_credit(
        api: Api, shared_index: Path, domain: str, limit: int | None) -> None:
    r = api.get(url(domain, **({"limit": limit} if limit else {})))
    assert r.status_code == 200, r.text
    body = r.json()
    want = brute_force(domain, limit or 20)
    assert want  # every chosen domain has competitors
    assert [(row["domain"], row["shared_referring_domains"]) for row in body["data"]] == \
        [(d, s) for d, s, _ in want]
    assert [row["jaccard"] for row in body["data"]] == [round(j, 6) for _, _, j in want]
    index = BacklinkIndex.open(shared_index)
    for row in body["data"]:
        assert list(row) == ["domain", "shared_referring_domains", "jaccard", "domain_rating"]
        assert row["domain_rating"] == index.domain(row["domain"]).domain_rating
    meta = body["meta"]
    assert meta["credits_charged"] == 1 and available(api) == 999
    assert meta["domain"] == domain and meta["found"] is True and meta["capped"] is False
    assert meta["referring_domains"] == meta["referring_domains_used"] == \
        index.domain(domain).referring_domains
    assert meta["referring_domains_cap"] == 50_000 and meta["limit"] == (limit or 20)
    assert meta["index_version"] == index.version


def test_every_request_is_charged(api: Api) -> None:
    for _ in range(3):
        assert api.get(url("a.com")).json()["meta"]["credits_charged"] == 1
    assert available(api) == 997


def test_head_is_refused_and_charges_nothing(api: Api) -> None:
    # A HEAD would pay for an answer whose body (and meta) it never shows.
    r = api.client.head(url("a.com"), headers={"Authorization": f"Bearer {api.key}"})
    assert r.status_code == 405 and r.headers["allow"] == "GET" and r.content == b""
    assert available(api) == 1000
    options = api.client.request("DELETE", url("a.com"),
                                 headers={"Authorization": f"Bearer {api.key}"})
    assert options.status_code == 405 and options.headers["allow"] == "GET"


@pytest.mark.parametrize("typed", ["https://WWW.A.com/page?x=1", "A.COM.", "www.a.com"])
def test_typed_domains_are_normalised(api: Api, typed: str) -> None:
    r = api.get(url(typed))
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["domain"] == "a.com"


def test_unencoded_web_address_in_the_path(api: Api) -> None:
    r = api.get("/v1/domains/https://www.a.com/page/competitors")
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["domain"] == "a.com"


def test_a_domain_not_in_the_index_is_free(api: Api) -> None:
    r = api.get(url("not-indexed.org"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] == []
    assert body["meta"]["found"] is False and body["meta"]["credits_charged"] == 0
    assert body["meta"]["referring_domains"] == 0
    assert available(api) == 1000


@pytest.mark.parametrize("domain", ["co.uk", "localhost", "192.168.0.1", "a b.com", "-"])
def test_an_invalid_domain_is_422_and_free(api: Api, domain: str) -> None:
    assert_error(api.get(url(domain)), 422, "invalid_parameter", "domain")
    assert available(api) == 1000


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "5.5", ""])
def test_an_invalid_limit_is_422_and_free(api: Api, limit: str) -> None:
    assert_error(api.get(url("a.com", limit=limit)), 422, "invalid_parameter", "limit")
    assert available(api) == 1000


def test_402_charges_nothing(api: Api) -> None:
    api.service.create_account("broke", credits=0)
    key, _ = api.service.create_key("broke")
    headers = {"Authorization": f"Bearer {key}"}
    err = assert_error(api.client.get(url("a.com"), headers=headers), 402,
                       "insufficient_credits")
    assert err["details"] == {"required": 1, "available": 0}
    # A domain not in the index costs nothing, so even an empty balance gets the answer.
    r = api.client.get(url("not-indexed.org"), headers=headers)
    assert r.status_code == 200 and r.json()["meta"]["credits_charged"] == 0


def test_the_cost_is_a_setting(tmp_path: Path, shared_index: Path) -> None:
    for api in make_api(tmp_path, shared_index, competitors_cost=0):
        r = api.get(url("a.com"))
        assert r.status_code == 200 and r.json()["meta"]["credits_charged"] == 0
        assert api.get("/v1/account").json()["data"]["pricing"]["competitors_cost"] == 0
        assert available(api) == 1000


@pytest.fixture
def no_out_links_api(tmp_path: Path) -> Iterator[Api]:
    build_test_index(tmp_path / "index", demo_links(), out_links=False)
    yield from make_api(tmp_path / "state", tmp_path / "index")


def test_no_out_links_is_501_and_free(no_out_links_api: Api) -> None:
    api = no_out_links_api
    err = assert_error(api.get(url("a.com")), 501, "out_links_missing")
    assert "--no-out-links" in err["message"] and "/" not in err["message"].split("`")[0]
    assert available(api) == 1000
    # The rest of the API works on such an index.
    r = api.post("/v1/domains/metrics", {"domains": ["a.com"]})
    assert r.status_code == 200


def test_no_index_is_503(tmp_path: Path) -> None:
    for api in make_api(tmp_path, tmp_path / "no-index"):
        assert_error(api.get(url("a.com")), 503, "index_unavailable")
        assert available(api) == 1000


def test_unauthenticated_is_401(api: Api) -> None:
    assert_error(api.client.get(url("a.com")), 401, "unauthorized")


def test_openapi_carries_the_constraints(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    op = doc["paths"]["/v1/domains/{domain}/competitors"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    limit = params["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    domain = params["domain"]
    assert domain["in"] == "path" and domain["required"] is True
    assert domain["schema"]["maxLength"] == 2048 and "pattern" in domain["schema"]
    assert {"200", "401", "402", "422", "429", "501", "503"} <= set(op["responses"])
    meta = doc["components"]["schemas"]["CompetitorsMeta"]["properties"]
    assert {"capped", "referring_domains_used", "referring_domains_cap", "found"} <= set(meta)
