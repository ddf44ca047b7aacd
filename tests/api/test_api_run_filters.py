"""SPEC 12 "Run-time filters and exclusions" over HTTP: ``filters`` and ``exclude`` on
``POST /v1/backlinks/gap`` apply before ``limit``, count in ``total_found``, are echoed
on the run, validated with a named ``param``, described in the OpenAPI document, and
part of what an Idempotency-Key remembers.

In the test index (``api.apitest_support``) ``quiet.org`` is the one prospect whose
links to the competitors are all nofollow (it links to b.com nofollow and c.com
sponsored), and the blogs ``blog08``, ``blog12`` … ``blog36`` link to ``hub0.com``.
"""

from __future__ import annotations

from typing import Any

import pytest
from api.apitest_support import COMPETITORS, PROSPECT_COUNT, TARGET, Api, demo_links
from api.test_api_errors import assert_error

GAP = "/v1/backlinks/gap"
NO_FILTERS = {"min_authority": None, "max_spam": None, "dofollow": None}


def prospects(api: Api, run_id: str) -> list[dict[str, Any]]:
    body = api.get(f"{GAP}/{run_id}/prospects", params={"per_page": 100}).json()
    return list(body["data"])


def run_of(api: Api, run_id: str) -> dict[str, Any]:
    return dict(api.get(f"{GAP}/{run_id}").json()["data"])


def test_dofollow_false_finds_the_nofollow_prospect_the_unfiltered_run_missed(api: Api) -> None:
    plain = api.completed_run(limit=10)
    assert run_of(api, plain)["total_found"] == PROSPECT_COUNT
    assert "quiet.org" not in [p["domain"] for p in prospects(api, plain)]
    # Filtering the kept prospects afterwards cannot bring it back: it was never kept.
    after = api.get(f"{GAP}/{plain}/prospects", params={"dofollow": "false"}).json()
    assert after["data"] == [] and after["meta"]["total"] == 0

    created = api.create_run(limit=10, filters={"dofollow": False})
    assert created["filters"] == {**NO_FILTERS, "dofollow": False}
    assert created["exclude"] == []
    assert api.service.run_pending_once()
    run = run_of(api, created["id"])
    assert run["filters"] == {**NO_FILTERS, "dofollow": False}
    assert run["total_found"] == 1 and run["prospect_count"] == 1
    rows = prospects(api, created["id"])
    assert [p["domain"] for p in rows] == ["quiet.org"] and rows[0]["dofollow"] is False
    listed = api.get(GAP).json()["data"]
    assert next(r for r in listed if r["id"] == created["id"])["filters"]["dofollow"] is False


def test_authority_and_spam_filters_apply_before_the_limit(api: Api) -> None:
    everything = prospects(api, api.completed_run(limit=100))
    floor = sorted({p["domain_rating"] for p in everything})[1]  # drops the weakest band
    run_id = api.completed_run(limit=10, filters={"min_authority": floor, "max_spam": 100})
    passing = [p for p in everything if p["domain_rating"] >= floor]
    assert run_of(api, run_id)["total_found"] == len(passing) < len(everything)
    assert prospects(api, run_id) == passing[:10]


def test_exclude_removes_prospects_linking_to_excluded_domains_before_the_limit(api: Api) -> None:
    everything = prospects(api, api.completed_run(limit=100))
    assert len(everything) == PROSPECT_COUNT
    linking_to_hub0 = {src.split("/")[2] for src, dst, *_ in demo_links()
                       if dst.split("/")[2] == "hub0.com"}
    removed = linking_to_hub0 | {"hub0.com"}
    want = [p for p in everything if p["domain"] not in removed]

    created = api.create_run(limit=10, exclude=["https://WWW.Hub0.com/links", "hub0.com",
                                                 "never-indexed.org"])
    assert created["exclude"] == ["hub0.com", "never-indexed.org"]
    assert api.service.run_pending_once()
    run = run_of(api, created["id"])
    assert run["exclude"] == ["hub0.com", "never-indexed.org"]
    assert run["total_found"] == len(want) == PROSPECT_COUNT - 9
    assert prospects(api, created["id"]) == want[:10]
    assert [w["code"] for w in run["warnings"]] == ["exclude_not_indexed"]
    assert "never-indexed.org" in run["warnings"][0]["message"]


@pytest.mark.parametrize(("extra", "param"), [
    ({"exclude": [f"x{i}.com" for i in range(101)]}, "exclude"),
    ({"exclude": ["ok.com", "localhost"]}, "exclude[1]"),
    ({"exclude": ["ok.com", "exa mple.com"]}, "exclude[1]"),
    ({"exclude": ["ok.com", 7]}, "exclude[1]"),
    ({"exclude": ["B.com"]}, "exclude[0]"),
    ({"exclude": "ok.com"}, "exclude"),
    ({"filters": {"min_authority": 101}}, "filters.min_authority"),
    ({"filters": {"max_spam": -1}}, "filters.max_spam"),
    ({"filters": {"min_authority": "50"}}, "filters.min_authority"),
    ({"filters": {"dofollow": "false"}}, "filters.dofollow"),
    ({"filters": {"competitor": "a.com"}}, "filters.competitor"),
    ({"filters": ["dofollow"]}, "filters"),
])
def test_invalid_filters_and_exclusions_are_422_naming_the_item(
        api: Api, extra: dict[str, Any], param: str) -> None:
    before = api.get("/v1/account").json()["data"]["credits"]["available"]
    r = api.post(GAP, {"domain": TARGET, "competitors": COMPETITORS, **extra})
    assert_error(r, 422, "invalid_parameter")
    assert r.json()["error"]["param"] == param
    assert api.get("/v1/account").json()["data"]["credits"]["available"] == before


def test_one_hundred_exclusions_are_accepted(api: Api) -> None:
    run = api.create_run(exclude=[f"excluded{i}.com" for i in range(100)])
    assert len(run["exclude"]) == 100


def test_an_idempotency_key_tells_other_filters_apart(api: Api) -> None:
    body = {"domain": TARGET, "competitors": COMPETITORS, "limit": 10,
            "filters": {"dofollow": False}, "exclude": ["hub0.com"]}
    first = api.post(GAP, body, headers={"Idempotency-Key": "k-filters"})
    assert first.status_code == 202
    again = api.post(GAP, body, headers={"Idempotency-Key": "k-filters"})
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]
    for changed in ({**body, "filters": {"dofollow": True}},
                    {**body, "filters": {"dofollow": False, "min_authority": 1}},
                    {**body, "exclude": ["hub1.com"]},
                    {k: v for k, v in body.items() if k != "exclude"}):
        r = api.post(GAP, changed, headers={"Idempotency-Key": "k-filters"})
        assert_error(r, 409, "idempotency_conflict")


def test_the_document_states_every_constraint(api: Api) -> None:
    from linkgap.domains import DOMAIN_INPUT_PATTERN

    doc = api.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    body = schemas["GapRunBody"]["properties"]
    exclude = next(s for s in body["exclude"]["anyOf"] if s.get("type") == "array")
    assert exclude["maxItems"] == 100
    assert exclude["items"]["pattern"] == DOMAIN_INPUT_PATTERN
    assert (exclude["items"]["minLength"], exclude["items"]["maxLength"]) == (1, 2048)
    filters = schemas["RunFiltersBody"]
    assert filters["additionalProperties"] is False
    for name in ("min_authority", "max_spam"):
        # On the nullable property itself, as for min_overlap: JSON Schema applies it to
        # numbers only, so null stays valid.
        prop = filters["properties"][name]
        assert (prop["minimum"], prop["maximum"]) == (0, 100)
        assert {s.get("type") for s in prop["anyOf"]} == {"integer", "null"}
    run = schemas["Run"]
    assert {"filters", "exclude"} <= set(run["required"])


def test_the_document_refuses_what_the_server_refuses(api: Api) -> None:
    import jsonschema_rs

    doc = api.client.get("/openapi.json").json()
    validator = jsonschema_rs.Draft202012Validator(
        {**doc["components"]["schemas"]["GapRunBody"], "components": doc["components"]})
    base = {"domain": TARGET, "competitors": COMPETITORS}
    for bad in ({"exclude": [f"x{i}.com" for i in range(101)]},
                {"exclude": ["exa mple.com"]},
                {"filters": {"min_authority": 101}}, {"filters": {"max_spam": -1}},
                {"filters": {"dofollow": "yes"}}, {"filters": {"other": 1}}):
        assert not validator.is_valid({**base, **bad}), bad
        assert api.post(GAP, {**base, **bad}).status_code == 422, bad
    good = {**base, "filters": {"min_authority": 0, "max_spam": 100, "dofollow": True},
            "exclude": ["https://Partner.org/x", "bücher.de"]}
    assert validator.is_valid(good)
    assert api.post(GAP, good).status_code == 202
