"""SPEC 5 "Prospects" and the summary: every parameter, its default, its invalid values,
paging, ties, CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, PROSPECT_COUNT, Api, make_api
from api.test_api_errors import assert_error

from linkgap.prospects import PROSPECT_FIELDS, SORTS


def url(run_id: str, tail: str = "prospects") -> str:
    return f"/v1/backlinks/gap/{run_id}/{tail}"


def fetch(api: Api, run_id: str, **params: Any) -> dict[str, Any]:
    r = api.get(url(run_id), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def expected_order(rows: list[dict[str, Any]], sort: str, order: str) -> list[str]:
    """Domains in the SPEC order: by ``sort`` (rank: authority), ties by name ascending."""
    def key(row: dict[str, Any]) -> tuple[int, str]:
        value = row[sort]
        if sort == "rank":  # desc = strongest first = rank 1 first
            value = -value
        return (-value if order == "desc" else value, row["domain"])
    return [r["domain"] for r in sorted(rows, key=key)]


# ---------------------------------------------------------------- defaults and shape

def test_defaults_first_page_of_50_by_score_desc(api: Api, run_id: str,
                                                 all_prospects: list[dict[str, Any]]) -> None:
    body = fetch(api, run_id)
    assert body["meta"]["page"] == 1 and body["meta"]["per_page"] == 50
    assert body["meta"]["total"] == PROSPECT_COUNT
    assert body["meta"]["total_pages"] == 1
    assert body["meta"]["credits_charged"] == 0
    assert [r["domain"] for r in body["data"]] == expected_order(all_prospects, "score", "desc")
    for row in body["data"]:
        assert list(row) == list(PROSPECT_FIELDS)


def test_rows_carry_the_spec_fields(all_prospects: list[dict[str, Any]]) -> None:
    by = {r["domain"]: r for r in all_prospects}
    hub = by["hub0.com"]
    assert hub["competitors"] == COMPETITORS and hub["competitor_overlap"] == 3
    assert hub["dofollow"] is True
    assert by["blog05.com"]["competitors"] == ["a.com"]
    assert by["blog06.com"]["competitors"] == ["a.com", "b.com", "c.com"]
    assert by["xn--bcher-kva.de"]["competitors"] == ["b.com"]
    assert not any(d.startswith(f"blog0{i}.") for d in by for i in range(5))
    assert "mysite.com" not in by and not set(COMPETITORS) & set(by)
    for row in all_prospects:
        for f in ("domain_rating", "spam_score", "score"):
            assert 0 <= row[f] <= 100
        assert row["rank"] >= 1


# ---------------------------------------------------------------- paging

@pytest.mark.parametrize("per_page", [1, 7, 10, 41, 100])
def test_pages_partition_the_prospects(api: Api, run_id: str, per_page: int,
                                       all_prospects: list[dict[str, Any]]) -> None:
    pages = math.ceil(PROSPECT_COUNT / per_page)
    seen: list[str] = []
    for page in range(1, pages + 1):
        body = fetch(api, run_id, page=page, per_page=per_page)
        assert body["meta"]["total_pages"] == pages
        seen += [r["domain"] for r in body["data"]]
    assert seen == [r["domain"] for r in all_prospects]


def test_page_past_the_end_is_empty(api: Api, run_id: str) -> None:
    body = fetch(api, run_id, page=5, per_page=50)
    assert body["data"] == [] and body["meta"]["total"] == PROSPECT_COUNT
    assert body["meta"]["page"] == 5
    assert fetch(api, run_id, page=1_000_000)["data"] == []


def test_total_pages_is_zero_when_nothing_matches(api: Api, run_id: str) -> None:
    body = fetch(api, run_id, q="no-such-name")
    assert body["data"] == [] and body["meta"]["total"] == 0
    assert body["meta"]["total_pages"] == 0


# ---------------------------------------------------------------- sorting and ties

@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_sort_and_order_breaks_ties_by_name(api: Api, run_id: str, sort: str, order: str,
                                                  all_prospects: list[dict[str, Any]]) -> None:
    want = expected_order(all_prospects, sort, order)
    got: list[str] = []
    for page in (1, 2, 3, 4, 5):
        got += [r["domain"] for r in fetch(api, run_id, sort=sort, order=order, page=page,
                                           per_page=10)["data"]]
    assert got == want


def test_ties_exist_in_the_test_data(all_prospects: list[dict[str, Any]]) -> None:
    scores = [r["score"] for r in all_prospects]
    assert len(set(scores)) < len(scores)


def test_rank_desc_lists_the_strongest_first(api: Api, run_id: str) -> None:
    ranks = [r["rank"] for r in fetch(api, run_id, sort="rank", order="desc")["data"]]
    assert ranks == sorted(ranks)
    ranks = [r["rank"] for r in fetch(api, run_id, sort="rank", order="asc")["data"]]
    assert ranks == sorted(ranks, reverse=True)


def test_order_defaults_to_desc(api: Api, run_id: str) -> None:
    a = [r["domain"] for r in fetch(api, run_id, sort="backlinks")["data"]]
    b = [r["domain"] for r in fetch(api, run_id, sort="backlinks", order="desc")["data"]]
    assert a == b


# ---------------------------------------------------------------- filters

@pytest.mark.parametrize("value", [0, 1, 5, 30, 100])
def test_min_authority(api: Api, run_id: str, value: int,
                       all_prospects: list[dict[str, Any]]) -> None:
    rows = fetch(api, run_id, min_authority=value, per_page=100)["data"]
    assert rows == [r for r in all_prospects if r["domain_rating"] >= value]


@pytest.mark.parametrize("value", [0, 10, 20, 50, 100])
def test_max_spam(api: Api, run_id: str, value: int,
                  all_prospects: list[dict[str, Any]]) -> None:
    rows = fetch(api, run_id, max_spam=value, per_page=100)["data"]
    assert rows == [r for r in all_prospects if r["spam_score"] <= value]


def test_authority_filter_separates_hubs(api: Api, run_id: str,
                                         all_prospects: list[dict[str, Any]]) -> None:
    hub_dr = min(r["domain_rating"] for r in all_prospects if r["domain"].startswith("hub"))
    blog_dr = max(r["domain_rating"] for r in all_prospects if r["domain"].startswith("blog"))
    assert hub_dr > blog_dr
    rows = fetch(api, run_id, min_authority=hub_dr, per_page=100)["data"]
    assert {r["domain"] for r in rows} == {f"hub{i}.com" for i in range(4)}


@pytest.mark.parametrize("text,want", [("true", True), ("1", True), ("TRUE", True),
                                       ("false", False), ("0", False), ("False", False)])
def test_dofollow_booleans(api: Api, run_id: str, text: str, want: bool,
                           all_prospects: list[dict[str, Any]]) -> None:
    rows = fetch(api, run_id, dofollow=text, per_page=100)["data"]
    assert rows == [r for r in all_prospects if r["dofollow"] is want]
    assert rows


def test_dofollow_false_finds_nofollow_only_prospects(api: Api, run_id: str) -> None:
    rows = fetch(api, run_id, dofollow="false", per_page=100)["data"]
    assert {r["domain"] for r in rows} == {"quiet.org"}


@pytest.mark.parametrize("typed", ["b.com", "B.COM", "https://www.b.com/path?x=1", "b.com."])
def test_competitor_is_normalised(api: Api, run_id: str, typed: str,
                                  all_prospects: list[dict[str, Any]]) -> None:
    rows = fetch(api, run_id, competitor=typed, per_page=100)["data"]
    assert rows == [r for r in all_prospects if "b.com" in r["competitors"]]


def test_dofollow_with_competitor_uses_that_competitors_link(api: Api, run_id: str) -> None:
    """blog08 links to a.com (dofollow) and b.com (nofollow): dofollow to a competitor, but
    not to b.com."""
    yes = {r["domain"] for r in fetch(api, run_id, competitor="b.com", dofollow="true",
                                      per_page=100)["data"]}
    no = {r["domain"] for r in fetch(api, run_id, competitor="b.com", dofollow="false",
                                     per_page=100)["data"]}
    assert "blog08.com" in no and "blog08.com" not in yes
    assert "blog06.com" in yes and "blog10.com" in yes
    assert "xn--bcher-kva.de" in yes
    everyone = {r["domain"] for r in fetch(api, run_id, dofollow="true", per_page=100)["data"]}
    assert "blog08.com" in everyone
    assert "quiet.org" in no and "quiet.org" not in everyone


@pytest.mark.parametrize("typed", ["mysite.com", "d.com", "not a domain", "co.uk", "a.co"])
def test_competitor_not_in_run_is_422_with_allowed(api: Api, run_id: str, typed: str) -> None:
    for tail in ("prospects", "summary"):
        r = api.get(url(run_id, tail), params={"competitor": typed})
        err = assert_error(r, 422, "invalid_parameter", "competitor")
        assert err["details"]["allowed"] == COMPETITORS


@pytest.mark.parametrize("q,want", [
    ("HUB", {f"hub{i}.com" for i in range(4)}),
    ("blog1", {f"blog1{i}.com" for i in range(10)}),
    ("bücher", {"xn--bcher-kva.de"}),
    ("BÜCHER", {"xn--bcher-kva.de"}),
    ("xn--bcher", {"xn--bcher-kva.de"}),
    ("bu\u0308cher", {"xn--bcher-kva.de"}),  # decomposed, NFKC-normalised
    ("ＢÜＣＨ", {"xn--bcher-kva.de"}),  # fullwidth
    ("-evil", {"-evil.com"}),
])
def test_q_is_a_case_insensitive_substring(api: Api, run_id: str, q: str,
                                           want: set[str]) -> None:
    rows = fetch(api, run_id, q=q, per_page=100)["data"]
    assert {r["domain"] for r in rows} == want


def test_filters_combine(api: Api, run_id: str, all_prospects: list[dict[str, Any]]) -> None:
    rows = fetch(api, run_id, competitor="c.com", dofollow="false", q="blog", per_page=100,
                 sort="domain_rating", order="asc")["data"]
    want = [r for r in all_prospects if "c.com" in r["competitors"]
            and r["domain"].startswith("blog")]
    # c.com links from blogs are all rel=ugc: none is dofollow to c.com.
    assert {r["domain"] for r in rows} == {r["domain"] for r in want}
    assert [r["domain"] for r in rows] == expected_order(want, "domain_rating", "asc")


def test_empty_q_is_no_filter(api: Api, run_id: str) -> None:
    assert fetch(api, run_id, q="")["meta"]["total"] == PROSPECT_COUNT


# ---------------------------------------------------------------- invalid values

@pytest.mark.parametrize("param,value", [
    ("min_authority", "-1"), ("min_authority", "101"), ("min_authority", "abc"),
    ("min_authority", "1.5"), ("min_authority", ""),
    ("max_spam", "-1"), ("max_spam", "101"), ("max_spam", "x"),
    ("dofollow", "yes"), ("dofollow", "2"), ("dofollow", ""), ("dofollow", "on"),
    ("dofollow", " true"), ("dofollow", "t"),
    ("sort", "name"), ("sort", "SCORE"), ("sort", ""),
    ("order", "up"), ("order", "DESC"),
    ("page", "0"), ("page", "-1"), ("page", "1000001"), ("page", "one"),
    ("per_page", "0"), ("per_page", "101"), ("per_page", "5.5"), ("per_page", "5e0"),
    ("per_page", " 5"), ("format", "xml"), ("format", "CSV"),
])
def test_invalid_values_are_422_naming_the_param(api: Api, run_id: str, param: str,
                                                 value: str) -> None:
    r = api.get(url(run_id), params={param: value})
    err = assert_error(r, 422, "invalid_parameter", param)
    assert param in err["message"]


def test_range_messages_name_both_bounds(api: Api, run_id: str) -> None:
    r = api.get(url(run_id), params={"per_page": 500})
    assert r.json()["error"]["message"] == "per_page must be between 1 and 100"


def test_an_integral_decimal_is_an_integer(api: Api, run_id: str) -> None:
    r = api.get(url(run_id), params={"per_page": "5.0", "min_authority": "0.00"})
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["per_page"] == 5


@pytest.mark.parametrize("param,value", [("page", "1000000"), ("per_page", "100"),
                                         ("per_page", "1"), ("min_authority", "0"),
                                         ("max_spam", "100")])
def test_bounds_are_inclusive(api: Api, run_id: str, param: str, value: str) -> None:
    assert api.get(url(run_id), params={param: value}).status_code == 200


# ---------------------------------------------------------------- runs that cannot answer

def test_unknown_run_and_other_accounts_run_are_404(api: Api, run_id: str) -> None:
    other = {"Authorization": f"Bearer {api.other_key}"}
    for tail in ("prospects", "summary"):
        assert_error(api.get(url("run_0123456789abcdef01234567", tail)), 404, "not_found")
        mine = api.client.get(url(run_id, tail), headers=other)
        missing = api.client.get(url("run_nope", tail), headers=other)
        assert_error(mine, 404, "not_found")
        assert mine.json()["error"]["message"] == missing.json()["error"]["message"]


def test_queued_run_is_409_with_status(api: Api) -> None:
    run = api.create_run()
    for tail in ("prospects", "summary"):
        for params in ({}, {"format": "csv"}):
            r = api.get(url(run["id"], tail), params=params)
            err = assert_error(r, 409, "run_not_completed")
            assert err["details"] == {"status": "queued"}


def test_failed_run_is_409_with_status(api: Api) -> None:
    run = api.create_run()
    claimed = api.service.store.claim_run("2026-01-01T00:00:00.000Z")
    assert claimed is not None and claimed.id == run["id"]
    api.service.store.fail_run(run["id"], "2026-01-01T00:00:01.000Z",
                               {"code": "internal_error", "message": "boom"}, "2026-01")
    err = assert_error(api.get(url(run["id"])), 409, "run_not_completed")
    assert err["details"] == {"status": "failed"}
    failed = api.get(f"/v1/backlinks/gap/{run['id']}").json()["data"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "internal_error", "message": "boom"}
    assert failed["credits_charged"] == 0  # refunded


def test_running_run_is_409_with_status(api: Api) -> None:
    run = api.create_run()
    assert api.service.store.claim_run("2026-01-01T00:00:00.000Z") is not None
    for tail in ("prospects", "summary"):
        err = assert_error(api.get(url(run["id"], tail)), 409, "run_not_completed")
        assert err["details"] == {"status": "running"}


def test_param_validation_comes_before_the_run_lookup(api: Api) -> None:
    assert_error(api.get(url("run_nope"), params={"per_page": 0}), 422, "invalid_parameter",
                 "per_page")


# ---------------------------------------------------------------- CSV

def _csv(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    assert r.headers["x-request-id"].startswith("req_")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8"))))


def test_csv_has_every_filtered_row_in_order(api: Api, run_id: str,
                                             all_prospects: list[dict[str, Any]]) -> None:
    rows = _csv(api.get(url(run_id), params={"format": "csv", "per_page": 5, "page": 3,
                                             "sort": "referring_domains", "order": "asc"}))
    assert rows[0] == list(PROSPECT_FIELDS)
    assert len(rows) == 1 + PROSPECT_COUNT
    assert [r[0].lstrip("'") for r in rows[1:]] == expected_order(
        all_prospects, "referring_domains", "asc")


def test_csv_cells(api: Api, run_id: str, all_prospects: list[dict[str, Any]]) -> None:
    rows = _csv(api.get(url(run_id), params={"format": "csv"}))
    header = rows[0]
    by = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    hub = by["hub0.com"]
    assert hub["competitors"] == "a.com;b.com;c.com"
    assert hub["dofollow"] == "true"
    want = next(r for r in all_prospects if r["domain"] == "hub0.com")
    for f in ("domain_rating", "backlinks", "referring_domains", "spam_score", "score", "rank"):
        assert hub[f] == str(want[f])
    assert "xn--bcher-kva.de" in by  # canonical, not Unicode
    assert {r["dofollow"] for r in by.values()} <= {"true", "false"}


def test_csv_guards_formula_cells(api: Api, run_id: str) -> None:
    rows = _csv(api.get(url(run_id), params={"format": "csv", "q": "evil"}))
    assert rows[1][0] == "'-evil.com"


def test_csv_respects_filters(api: Api, run_id: str) -> None:
    rows = _csv(api.get(url(run_id), params={"format": "csv", "competitor": "c.com"}))
    assert all("c.com" in r[5].split(";") for r in rows[1:])
    assert len(rows) - 1 == fetch(api, run_id, competitor="c.com")["meta"]["total"]


@pytest.mark.parametrize("accept,is_csv", [
    ("text/csv", True), ("text/csv; charset=utf-8", True),
    ("application/json", False), ("*/*", False), ("text/csv, application/json", False),
    ("text/csv, application/json;q=0.5", True), ("text/html", False),
])
def test_accept_header_selects_csv(api: Api, run_id: str, accept: str, is_csv: bool) -> None:
    r = api.get(url(run_id), headers={**api.headers, "Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv" if is_csv else "application/json")


def test_explicit_format_wins_over_accept(api: Api, run_id: str) -> None:
    r = api.get(url(run_id), params={"format": "json"},
                headers={**api.headers, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("application/json")


def test_csv_errors_stay_json(api: Api, run_id: str) -> None:
    headers = {**api.headers, "Accept": "text/csv"}
    assert_error(api.get(url(run_id), params={"per_page": 0, "format": "csv"}), 422,
                 "invalid_parameter", "per_page")
    assert_error(api.get(url("run_nope"), headers=headers), 404, "not_found")


def test_csv_of_nothing_is_just_the_header(api: Api, run_id: str) -> None:
    assert _csv(api.get(url(run_id), params={"format": "csv", "q": "zzz"})) == [
        list(PROSPECT_FIELDS)]


# ---------------------------------------------------------------- summary

def test_summary_counts(api: Api, run_id: str, all_prospects: list[dict[str, Any]]) -> None:
    r = api.get(url(run_id, "summary"))
    assert r.status_code == 200
    body = r.json()
    assert body["meta"]["credits_charged"] == 0
    s = body["data"]
    assert s["total"] == PROSPECT_COUNT
    assert [b["band"] for b in s["domain_rating"]] == [
        "0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90-100"]
    for band in s["domain_rating"]:
        assert band["count"] == sum(band["min"] <= p["domain_rating"] <= band["max"]
                                    for p in all_prospects)
    assert [o["overlap"] for o in s["competitor_overlap"]] == [1, 2, 3]
    for o in s["competitor_overlap"]:
        assert o["count"] == sum(p["competitor_overlap"] == o["overlap"] for p in all_prospects)
    dof = sum(p["dofollow"] for p in all_prospects)
    assert s["dofollow"] == {"dofollow": dof, "nofollow": PROSPECT_COUNT - dof}


def test_summary_accepts_the_prospect_filters(api: Api, run_id: str) -> None:
    params = {"competitor": "B.com", "dofollow": "1", "min_authority": 0, "max_spam": 100,
              "q": "blog"}
    s = api.get(url(run_id, "summary"), params=params).json()["data"]
    total = fetch(api, run_id, **params)["meta"]["total"]
    assert s["total"] == total
    assert s["dofollow"] == {"dofollow": total, "nofollow": 0}


@pytest.mark.parametrize("param,value", [("min_authority", "101"), ("max_spam", "-3"),
                                         ("dofollow", "maybe")])
def test_summary_invalid_filters_are_422(api: Api, run_id: str, param: str, value: str) -> None:
    assert_error(api.get(url(run_id, "summary"), params={param: value}), 422,
                 "invalid_parameter", param)


def test_an_expired_run_is_listed_as_expired_and_its_prospects_are_410(
        tmp_path: Path, shared_index: Path) -> None:
    """SPEC 11 retention over HTTP: ``status: expired`` and 410 ``run_expired``."""
    from datetime import timedelta

    from linkgap.service.timeutil import utc_now

    for api in make_api(tmp_path, shared_index, run_retention_days=2):
        run_id = api.completed_run()
        assert api.get(url(run_id)).status_code == 200
        api.service.clock = lambda: utc_now() + timedelta(days=2, minutes=1)
        for tail in ("prospects", "summary"):
            for params in ({}, {"format": "csv"}):
                err = assert_error(api.get(url(run_id, tail), params=params), 410,
                                   "run_expired")
                assert err["details"]["status"] == "expired"
        run = api.get(f"/v1/backlinks/gap/{run_id}").json()["data"]
        assert run["status"] == "expired" and run["prospect_count"] == PROSPECT_COUNT
        listed = api.get("/v1/backlinks/gap", params={"status": "expired"}).json()
        assert [r["id"] for r in listed["data"]] == [run_id]
        assert api.service.prune_runs() == 1
        assert_error(api.get(url(run_id)), 410, "run_expired")
