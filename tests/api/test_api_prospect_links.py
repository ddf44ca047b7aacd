"""SPEC 12 over HTTP: ``GET /v1/backlinks/gap/{run_id}/prospects/{domain}`` and the CSV
``include=links``: the links behind a prospect, frozen with the run for its first
``LINKGAP_EVIDENCE_FREEZE_MAX`` prospects and read from the current index beyond them.

The web here is written as a real links-csv export with anchors and dates, built by
the same ``build_index`` as ``linkgap index build``, then rebuilt with other inputs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import Api, make_api
from api.test_api_errors import assert_error
from support.crawlfiles import write_links_csv

from linkgap.index.build import build_index

GAP = "/v1/backlinks/gap"
COLUMNS = ("source_url", "target_url", "rel", "anchor", "seen_at")

#: guide.com links to both competitors from two pages (one nofollow); shop.net to a.com
#: with an anchor that starts like a formula; blog.org to b.com; friend.io also to mysite.
V1 = [
    ("https://guide.com/best-tools", "https://a.com/pricing", "", "A's pricing", "2026-01-05"),
    ("https://guide.com/old-list", "https://a.com/", "nofollow", "a.com", "2025-11-20"),
    ("https://guide.com/best-tools", "https://b.com/", "", "", "2026-01-06"),
    ("https://shop.net/partners", "https://a.com/", "", "=HYPERLINK(\"x\")", "2026-02-01"),
    ("https://blog.org/review", "https://b.com/review", "ugc", "<b>bold</b> review",
     "2026-03-01"),
    ("https://friend.io/", "https://a.com/", "", "friend", "2026-01-01"),
    ("https://friend.io/", "https://mysite.com/", "", "me", "2026-01-01"),
]
#: The rebuild: other pages and anchors for guide.com, shop.net gone, a new prospect.
V2 = [
    ("https://guide.com/new-roundup", "https://a.com/", "", "roundup", "2026-06-01"),
    ("https://guide.com/new-roundup", "https://b.com/", "", "also b", "2026-06-01"),
    ("https://blog.org/review", "https://b.com/review", "", "changed anchor", "2026-07-01"),
    ("https://fresh.dev/", "https://a.com/", "", "fresh", "2026-07-02"),
]


def build(index: Path, rows: list[tuple[str, ...]], tmp: Path, name: str) -> str:
    path = write_links_csv(tmp / f"{name}.csv", rows, columns=COLUMNS)
    return build_index(index, [str(path)]).version


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    index = tmp_path / "index"
    build(index, V1, tmp_path, "v1")
    for api in make_api(tmp_path / "state", index):
        yield api, index


def links_of(api: Api, run_id: str, domain: str, **kw: Any) -> dict[str, Any]:
    r = api.get(f"{GAP}/{run_id}/prospects/{domain}", **kw)
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def test_a_prospect_has_its_fields_and_its_links_per_competitor(web) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["b.com", "a.com"], limit=10)
    rows = api.get(f"{GAP}/{run_id}/prospects").json()["data"]
    data = links_of(api, run_id, "guide.com")
    row = next(r for r in rows if r["domain"] == "guide.com")
    assert {k: data[k] for k in row} == row  # every SPEC 4 field, as the list shows it
    assert data["links_frozen"] is True
    assert data["links_index_version"] == api.get(f"{GAP}/{run_id}").json()["data"][
        "index_version"]
    # In run order (b.com was listed first), each with its counts, dates and samples.
    assert [e["competitor"] for e in data["links"]] == ["b.com", "a.com"]
    to_b, to_a = data["links"]
    assert (to_a["links_total"], to_a["dofollow_links"]) == (2, 1)
    assert to_a["first_seen"].startswith("2025-11-20") and to_a["last_seen"].startswith(
        "2026-01-05")
    # Dofollow first, then the earliest seen.
    assert [(s["source_url"], s["target_url"], s["anchor"], s["dofollow"])
            for s in to_a["samples"]] == [
        ("https://guide.com/best-tools", "https://a.com/pricing", "A's pricing", True),
        ("https://guide.com/old-list", "https://a.com/", "a.com", False)]
    assert to_a["samples"][0]["first_seen"].startswith("2026-01-05")
    assert to_b["samples"][0]["anchor"] is None  # the link had no anchor text
    before = api.get("/v1/account").json()["data"]["credits"]["available"]
    r = api.get(f"{GAP}/{run_id}/prospects/guide.com")
    assert r.json()["meta"]["credits_charged"] == 0  # free to read
    assert api.get("/v1/account").json()["data"]["credits"]["available"] == before


def test_a_domain_is_found_in_any_form(web) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"], limit=10)
    for form in ("GUIDE.COM", "www.guide.com", "guide.com."):
        assert links_of(api, run_id, form)["domain"] == "guide.com"


@pytest.mark.parametrize("domain", ["friend.io", "a.com", "mysite.com", "nowhere.org",
                                    "localhost", "1.2.3.4"])
def test_a_domain_that_is_not_a_prospect_is_404(web, domain: str) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"], limit=10)
    assert_error(api.get(f"{GAP}/{run_id}/prospects/{domain}"), 404, "not_found")


def test_another_accounts_run_is_404(web) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com"], limit=10)
    other = {"Authorization": f"Bearer {api.other_key}"}
    assert_error(api.get(f"{GAP}/{run_id}/prospects/guide.com", headers=other), 404,
                 "not_found")
    assert_error(api.get(f"{GAP}/run_unknown/prospects/guide.com"), 404, "not_found")


def test_frozen_links_do_not_change_after_a_rebuild(web, tmp_path: Path) -> None:
    api, index = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"], limit=10)
    before = {d: links_of(api, run_id, d) for d in ("guide.com", "shop.net", "blog.org")}
    v2 = build(index, V2, tmp_path, "v2")
    after = {d: links_of(api, run_id, d) for d in ("guide.com", "shop.net", "blog.org")}
    assert after == before
    assert all(d["links_frozen"] and d["links_index_version"] != v2 for d in after.values())
    assert after["shop.net"]["links"][0]["samples"][0]["anchor"] == "=HYPERLINK(\"x\")"
    # A run on the rebuilt index sees the new pages.
    fresh = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"], limit=10)
    now = links_of(api, fresh, "guide.com")
    assert now["links_index_version"] == v2
    assert {s["source_url"] for e in now["links"] for s in e["samples"]} == {
        "https://guide.com/new-roundup"}


def test_beyond_the_freeze_links_come_from_the_current_index_and_say_which(
        tmp_path: Path) -> None:
    index = tmp_path / "index"
    v1 = build(index, V1, tmp_path, "v1")
    for api in make_api(tmp_path / "state", index, evidence_freeze_max=1):
        run_id = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"],
                                   limit=10)
        order = [r["domain"] for r in api.get(f"{GAP}/{run_id}/prospects").json()["data"]]
        assert order[0] == "guide.com"  # the one frozen
        first, beyond = links_of(api, run_id, order[0]), links_of(api, run_id, "blog.org")
        assert first["links_frozen"] is True and beyond["links_frozen"] is False
        assert beyond["links_index_version"] == v1
        assert beyond["links"][0]["samples"][0]["anchor"] == "<b>bold</b> review"
        v2 = build(index, V2, tmp_path, "v2")
        beyond = links_of(api, run_id, "blog.org")
        assert beyond["links_index_version"] == v2
        assert beyond["links"][0]["samples"][0]["anchor"] == "changed anchor"
        assert links_of(api, run_id, order[0]) == first  # still frozen
        # shop.net is gone from the rebuilt index: its counts read 0, no samples.
        gone = links_of(api, run_id, "shop.net")
        assert gone["links"] == [{"competitor": "a.com", "links_total": 0,
                                  "dofollow_links": 0, "first_seen": None,
                                  "last_seen": None, "samples": []}]
        assert gone["links_index_version"] == v2


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_include_links_has_one_row_per_sample_link(web) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com", "b.com"], limit=10)
    r = api.get(f"{GAP}/{run_id}/prospects", params={"format": "csv", "include": "links"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "prospect-links.csv" in r.headers["content-disposition"]
    header = r.text.splitlines()[0].split(",")
    assert header[-5:] == ["competitor", "source_url", "target_url", "anchor",
                           "link_dofollow"]
    assert header[:10] == ["domain", "domain_rating", "backlinks", "referring_domains",
                           "competitor_overlap", "competitors", "dofollow", "spam_score",
                           "score", "rank"]
    rows = csv_rows(r.text)
    plain = csv_rows(api.get(f"{GAP}/{run_id}/prospects", params={"format": "csv"}).text)
    # Prospects in the same order, each repeated once per sample link.
    assert [k for k in dict.fromkeys(r["domain"] for r in rows)] == [p["domain"]
                                                                     for p in plain]
    guide = [(r["competitor"], r["source_url"], r["anchor"], r["link_dofollow"])
             for r in rows if r["domain"] == "guide.com"]
    assert guide == [("a.com", "https://guide.com/best-tools", "A's pricing", "true"),
                     ("a.com", "https://guide.com/old-list", "a.com", "false"),
                     ("b.com", "https://guide.com/best-tools", "", "true")]
    shop = next(r for r in rows if r["domain"] == "shop.net")
    assert shop["anchor"] == "'=HYPERLINK(\"x\")"  # the formula guard
    # Filters and sort apply as to the plain CSV.
    narrowed = csv_rows(api.get(f"{GAP}/{run_id}/prospects", params={
        "format": "csv", "include": "links", "competitor": "b.com"}).text)
    assert {r["domain"] for r in narrowed} == {"guide.com", "blog.org"}


def test_include_links_is_for_csv_only(web) -> None:
    api, _ = web
    run_id = api.completed_run(domain="mysite.com", competitors=["a.com"], limit=10)
    plain = api.get(f"{GAP}/{run_id}/prospects").json()["data"]
    r = api.get(f"{GAP}/{run_id}/prospects", params={"include": "links"})
    assert r.status_code == 200 and r.json()["data"] == plain  # a JSON page ignores it
    r = api.get(f"{GAP}/{run_id}/prospects", params={"format": "csv", "include": "pages"})
    assert_error(r, 422, "invalid_parameter")
    assert r.json()["error"]["param"] == "include"


def test_the_document_describes_the_endpoint(web) -> None:
    api, _ = web
    doc = api.client.get("/openapi.json").json()
    op = doc["paths"]["/v1/backlinks/gap/{run_id}/prospects/{domain}"]["get"]
    assert {"200", "404", "409", "410", "503"} <= set(op["responses"])
    schema = doc["components"]["schemas"]["ProspectLinks"]
    assert {"links", "links_frozen", "links_index_version", "domain", "score"} <= set(
        schema["required"])
    params = {p["name"]: p for p in doc["paths"]["/v1/backlinks/gap/{run_id}/prospects"][
        "get"]["parameters"]}
    allowed = params["include"]["schema"]["anyOf"][0]
    assert allowed.get("enum", [allowed.get("const")]) == ["links"]
