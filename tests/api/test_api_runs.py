"""SPEC 5 "Runs", "Domain metrics", "Account" and "Credits" over HTTP."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api, build_index, make_api
from api.test_api_errors import assert_error

GAP = "/v1/backlinks/gap"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")
RUN_FIELDS = ["id", "status", "domain", "competitors", "mode", "min_overlap",
              "competitor_count", "limit", "filters", "exclude", "created_at", "prospect_count",
              "total_found", "credits_charged", "started_at", "finished_at", "index_version",
              "warnings", "error", "callback_url", "webhook"]


def available(api: Api) -> int:
    return int(api.get("/v1/account").json()["data"]["credits"]["available"])


# ---------------------------------------------------------------- create

def test_create_run_is_202_with_location_and_cost(api: Api) -> None:
    r = api.post(GAP, {"domain": "https://WWW.MySite.com/page", "competitors": ["a.com", "B.com"],
                       "mode": "union", "limit": 100})
    assert r.status_code == 202, r.text
    body = r.json()
    run = body["data"]
    assert r.headers["location"] == f"{GAP}/{run['id']}"
    assert re.fullmatch(r"run_[0-9a-f]{24,}", run["id"])
    assert run["status"] == "queued"
    assert run["domain"] == "mysite.com" and run["competitors"] == ["a.com", "b.com"]
    assert run["mode"] == "union" and run["min_overlap"] == 1
    assert run["competitor_count"] == 2 and run["limit"] == 100
    assert ISO_Z.match(run["created_at"])
    assert body["meta"]["credits_charged"] == 7  # ceil(2 x 100 / 30)
    assert available(api) == 1000 - 7
    assert api.get(r.headers["location"]).json()["data"]["id"] == run["id"]


def test_limit_defaults_to_100_and_cost_follows_k_and_limit(api: Api) -> None:
    r = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS})
    assert r.json()["data"]["limit"] == 100
    assert r.json()["meta"]["credits_charged"] == 10  # ceil(3 x 100 / 30)
    r = api.post(GAP, {"domain": TARGET, "competitors": ["a.com"], "limit": 10})
    assert r.json()["meta"]["credits_charged"] == 1  # max(1, ceil(10 / 30))


@pytest.mark.parametrize("body,param", [
    ({"domain": "localhost", "competitors": ["a.com"]}, "domain"),
    ({"domain": "co.uk", "competitors": ["a.com"]}, "domain"),
    ({"domain": TARGET, "competitors": ["a.com", "127.0.0.1"]}, "competitors[1]"),
    ({"domain": TARGET, "competitors": []}, "competitors"),
    ({"domain": TARGET, "competitors": ["mysite.com"]}, "competitors"),
    ({"domain": TARGET, "competitors": [f"c{i}.com" for i in range(21)]}, "competitors"),
    ({"domain": TARGET, "competitors": ["a.com"], "limit": 9}, "limit"),
    ({"domain": TARGET, "competitors": ["a.com"], "limit": 1001}, "limit"),
    ({"domain": TARGET, "competitors": ["a.com", "b.com"], "min_overlap": 3}, "min_overlap"),
    ({"domain": TARGET, "competitors": ["a.com", "b.com"], "min_overlap": 0}, "min_overlap"),
    ({"domain": TARGET, "competitors": ["a.com", "b.com"], "mode": "intersect",
      "min_overlap": 1}, "min_overlap"),
])
def test_invalid_run_values_are_422_and_free(api: Api, body: dict[str, Any],
                                             param: str) -> None:
    err = assert_error(api.post(GAP, body), 422, "invalid_parameter")
    assert err["param"] == param or err["param"].startswith(param), err
    assert available(api) == 1000


def test_intersect_run(api: Api) -> None:
    run = api.create_run(mode="intersect")
    assert run["mode"] == "intersect" and run["min_overlap"] == 3
    assert api.service.run_pending_once()
    rows = api.get(f"{GAP}/{run['id']}/prospects").json()["data"]
    assert rows and all(r["competitor_overlap"] == 3 for r in rows)


def test_insufficient_credits_is_402_and_charges_nothing(api: Api) -> None:
    api.service.create_account("poor", credits=5)
    key, _ = api.service.create_key("poor")
    headers = {"Authorization": f"Bearer {key}"}
    r = api.client.post(GAP, json={"domain": TARGET, "competitors": ["a.com", "b.com"]},
                        headers=headers)
    assert_error(r, 402, "insufficient_credits")
    assert api.client.get("/v1/account", headers=headers).json()[
        "data"]["credits"]["available"] == 5
    r = api.client.post(GAP, json={"domain": TARGET, "competitors": ["a.com"], "limit": 30},
                        headers=headers)
    assert r.status_code == 202 and r.json()["meta"]["credits_charged"] == 1


@pytest.mark.parametrize("body,missing", [
    ({"domain": TARGET, "competitors": ["a.cmo", "bb.com"]}, ["a.cmo", "bb.com"]),
    ({"domain": TARGET, "competitors": ["a.com", "b.com", "cc.com"], "min_overlap": 3},
     ["cc.com"]),
    ({"domain": TARGET, "competitors": ["a.com", "cc.com"], "mode": "intersect"}, ["cc.com"]),
])
def test_unindexed_competitors_are_422_and_neither_charged_nor_queued(
        api: Api, body: dict[str, Any], missing: list[str]) -> None:
    r = api.post(GAP, body, headers={"Idempotency-Key": "typo-1"})
    err = assert_error(r, 422, "competitors_not_indexed", param="competitors")
    assert err["details"] == {"missing": missing}
    assert f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the backlink " \
        "index" in err["message"]
    assert r.json()["meta"]["credits_charged"] == 0
    assert available(api) == 1000
    assert api.get(GAP).json()["data"] == []
    assert not api.service.run_pending_once()
    # A retry replays the refusal (a client error is recorded) and still charges nothing.
    again = api.post(GAP, body, headers={"Idempotency-Key": "typo-1"})
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert available(api) == 1000 and not api.service.run_pending_once()


def test_one_unindexed_competitor_in_union_still_runs_and_warns(api: Api) -> None:
    r = api.post(GAP, {"domain": TARGET, "competitors": ["a.com", "cc.com"], "min_overlap": 1})
    assert r.status_code == 202, r.text
    assert r.json()["meta"]["credits_charged"] == 7


@pytest.fixture
def no_index_api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, tmp_path / "no-index")


def test_no_index_is_503(no_index_api: Api) -> None:
    api = no_index_api
    assert_error(api.post(GAP, {"domain": TARGET, "competitors": ["a.com"]}), 503,
                 "index_unavailable")
    assert_error(api.post("/v1/domains/metrics", {"domains": ["a.com"]}), 503,
                 "index_unavailable")
    assert_error(api.client.get("/healthz"), 503, "index_unavailable")
    assert available(api) == 1000
    assert api.get(GAP).json()["data"] == []


# ---------------------------------------------------------------- read

def test_get_run_has_every_field(api: Api) -> None:
    run = api.create_run()
    queued = api.get(f"{GAP}/{run['id']}").json()
    assert list(queued["data"]) == RUN_FIELDS
    assert queued["data"]["prospect_count"] is None and queued["data"]["finished_at"] is None
    assert queued["meta"]["credits_charged"] == 0
    api.service.run_pending_once()
    done = api.get(f"{GAP}/{run['id']}").json()["data"]
    assert list(done) == RUN_FIELDS
    assert done["status"] == "completed"
    assert done["prospect_count"] == done["total_found"] == 42
    assert done["credits_charged"] == 10
    assert ISO_Z.match(done["started_at"]) and ISO_Z.match(done["finished_at"])
    assert isinstance(done["index_version"], str) and done["index_version"]
    assert done["warnings"] == [] and done["error"] is None
    assert done["filters"] == {"min_authority": None, "max_spam": None, "dofollow": None}
    assert done["exclude"] == []


def test_run_warnings_for_unindexed_domains(api: Api) -> None:
    run = api.completed_run(domain="unknown-site.com", competitors=["a.com", "nobody.net"])
    data = api.get(f"{GAP}/{run}").json()["data"]
    codes = {w["code"] for w in data["warnings"]}
    assert codes == {"target_not_indexed", "competitor_not_indexed"}
    assert all(w["message"] for w in data["warnings"])


def test_runs_of_another_account_are_404(api: Api) -> None:
    run = api.completed_run()
    other = {"Authorization": f"Bearer {api.other_key}"}
    for path in (f"{GAP}/{run}", f"{GAP}/{run}/prospects", f"{GAP}/{run}/summary"):
        theirs = api.client.get(path, headers=other)
        unknown = api.client.get(path.replace(run, "run_" + "0" * 32), headers=other)
        assert_error(theirs, 404, "not_found")
        assert theirs.json()["error"] == unknown.json()["error"]
    assert api.client.get(GAP, headers=other).json()["data"] == []


def test_list_runs_newest_first_with_paging(api: Api) -> None:
    ids = [api.create_run(limit=10 + i)["id"] for i in range(5)]
    body = api.get(GAP).json()
    assert [r["id"] for r in body["data"]] == ids[::-1]
    assert body["meta"] == {**body["meta"], "page": 1, "per_page": 50, "total": 5,
                            "total_pages": 1, "credits_charged": 0}
    page2 = api.get(GAP, params={"page": 2, "per_page": 2}).json()
    assert [r["id"] for r in page2["data"]] == ids[::-1][2:4]
    assert page2["meta"]["total_pages"] == 3
    assert api.get(GAP, params={"page": 4, "per_page": 2}).json()["data"] == []
    for run in body["data"]:
        assert list(run) == RUN_FIELDS


def test_list_runs_status_filter(api: Api) -> None:
    first = api.create_run()["id"]
    api.service.run_pending_once()
    second = api.create_run()["id"]
    assert [r["id"] for r in api.get(GAP, params={"status": "completed"}).json()["data"]] == [
        first]
    assert [r["id"] for r in api.get(GAP, params={"status": "queued"}).json()["data"]] == [
        second]
    assert api.get(GAP, params={"status": "failed"}).json()["meta"]["total"] == 0


@pytest.mark.parametrize("param,value", [("status", "done"), ("status", "QUEUED"),
                                         ("page", "0"), ("per_page", "101"),
                                         ("per_page", "x")])
def test_list_runs_invalid_params(api: Api, param: str, value: str) -> None:
    assert_error(api.get(GAP, params={param: value}), 422, "invalid_parameter", param)


# ---------------------------------------------------------------- domain metrics

METRIC_FIELDS = ["input", "domain", "found", "domain_rating", "backlinks", "referring_domains",
                 "spam_score", "spam_signals", "rank", "linked_domains", "outlinks",
                 "fetched_at"]


def test_domain_metrics_in_input_order(api: Api) -> None:
    r = api.post("/v1/domains/metrics",
                 {"domains": ["https://HUB0.com/x", "nowhere-at-all.com", "a.com", "hub0.com"]})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["data"]
    assert [row["domain"] for row in rows] == ["hub0.com", "nowhere-at-all.com", "a.com"]
    assert rows[0]["input"] == "https://HUB0.com/x"
    for row in rows:
        assert list(row) == METRIC_FIELDS
        assert ISO_Z.match(row["fetched_at"])
    assert rows[0]["found"] and rows[2]["found"]
    assert rows[0]["referring_domains"] == 10 and rows[0]["linked_domains"] == 3
    missing = rows[1]
    assert missing["found"] is False
    assert all(missing[f] is None for f in METRIC_FIELDS[3:-1])
    assert body["meta"]["credits_charged"] == 2
    # The same account, the same index version: cache hits are free.
    again = api.post("/v1/domains/metrics", {"domains": ["a.com", "hub0.com"]})
    assert again.json()["meta"]["credits_charged"] == 0
    assert available(api) == 998


@pytest.mark.parametrize("domains,param", [
    (["a.com", "localhost"], "domains[1]"),
    ([], "domains"),
    ([f"d{i}.com" for i in range(11)], "domains"),
])
def test_domain_metrics_invalid(api: Api, domains: list[str], param: str) -> None:
    assert_error(api.post("/v1/domains/metrics", {"domains": domains}), 422,
                 "invalid_parameter", param)
    assert available(api) == 1000


def test_domain_metrics_402_is_all_or_nothing(api: Api) -> None:
    api.service.create_account("tiny", credits=1)
    key, _ = api.service.create_key("tiny")
    headers = {"Authorization": f"Bearer {key}"}
    r = api.client.post("/v1/domains/metrics", json={"domains": ["a.com", "b.com"]},
                        headers=headers)
    assert_error(r, 402, "insufficient_credits")
    acct = api.client.get("/v1/account", headers=headers).json()["data"]
    assert acct["credits"]["available"] == 1


# ---------------------------------------------------------------- account

def test_account_shape(api: Api) -> None:
    body = api.get("/v1/account").json()
    assert body["data"]["name"] == "acme"
    credits = body["data"]["credits"]
    assert list(credits) == ["available", "monthly_quota", "monthly_used", "topup_balance",
                             "resets_at"]
    assert credits["available"] == 1000 and credits["topup_balance"] == 1000
    assert ISO_Z.match(credits["resets_at"])
    assert body["meta"]["credits_charged"] == 0
    other = api.client.get("/v1/account", headers={"Authorization": f"Bearer {api.other_key}"})
    assert other.json()["data"]["name"] == "rival"



@pytest.mark.parametrize(("divisor", "limit", "k"), [(30, 100, 2), (7, 55, 3), (1000, 10, 1)])
def test_account_pricing_predicts_what_a_run_is_charged(
        tmp_path: Path, shared_index: Path, divisor: int, limit: int, k: int) -> None:
    for api in make_api(tmp_path, shared_index, run_cost_divisor=divisor, metrics_cost=3,
                        max_run_limit=5000):
        pricing = api.get("/v1/account").json()["data"]["pricing"]
        assert pricing == {"run_cost_divisor": divisor, "metrics_cost": 3, "competitors_cost": 1,
                           "max_run_limit": 5000, "max_competitors": 20}
        predicted = max(1, math.ceil(k * limit / pricing["run_cost_divisor"]))
        r = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS[:k], "limit": limit})
        assert r.status_code == 202, r.text
        assert r.json()["meta"]["credits_charged"] == predicted


# ---------------------------------------------------------------- a rebuilt index

def test_rebuilt_index_is_used_by_new_runs_and_old_runs_stay_frozen(tmp_path: Path) -> None:
    index = tmp_path / "index"
    v1 = build_index(index)
    gen = make_api(tmp_path / "state", index)
    api = next(gen)
    try:
        old = api.completed_run()
        old_rows = api.get(f"{GAP}/{old}/prospects", params={"per_page": 100}).json()["data"]
        assert api.client.get("/healthz").json()["data"]["index_version"] == v1

        v2 = build_index(index, extra=[("https://newcomer.org/", "https://a.com/")])
        assert v2 != v1
        assert api.client.get("/healthz").json()["data"]["index_version"] == v2
        new = api.completed_run()
        new_run = api.get(f"{GAP}/{new}").json()["data"]
        assert new_run["index_version"] == v2
        new_rows = api.get(f"{GAP}/{new}/prospects", params={"per_page": 100}).json()["data"]
        assert "newcomer.org" in {r["domain"] for r in new_rows}

        assert api.get(f"{GAP}/{old}").json()["data"]["index_version"] == v1
        assert api.get(f"{GAP}/{old}/prospects",
                       params={"per_page": 100}).json()["data"] == old_rows
        assert "newcomer.org" not in {r["domain"] for r in old_rows}
    finally:
        gen.close()
