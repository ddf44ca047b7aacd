"""SPEC 13 run diffs over HTTP: two runs of mysite.com over two index versions.

Version 2 of the test index differs from version 1 (``api.apitest_support``) in:
``quiet.org`` is gone and ``blog10.com`` now links to mysite.com (both removed),
``fresh1.com`` … ``fresh3.com`` link to the competitors (added), ``blog14.com``
now links to ``c.com`` as well (changed: competitors, overlap, score …), and the
new domains shift every domain id after them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api, demo_links, make_api
from api.test_api_errors import assert_error

from linkgap.diff import DIFF_FIELDS, DIFF_KINDS
from linkgap.index.build import build_from_links


def version2_links() -> list[Any]:
    links = [link for link in demo_links() if "quiet.org" not in link[0]]
    links += [("https://blog10.com/post", f"https://{TARGET}/"),
              ("https://blog14.com/post", "https://c.com/")]
    links += [(f"https://fresh{i}.com/", f"https://{c}/")
              for i in range(1, 4) for c in COMPETITORS[:i]]
    return links


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str, str]]:
    """(api, run on version 2, run on version 1), both completed; shared by the module
    (tests add runs of their own, never change these two)."""
    tmp_path = tmp_path_factory.mktemp("diff")
    index = tmp_path / "index"
    build_from_links(index, demo_links())
    for api in make_api(tmp_path / "state", index):
        first = api.completed_run()
        build_from_links(index, version2_links())
        second = api.completed_run()
        yield api, second, first


def diff(api: Api, run: str, against: str, **params: Any) -> Any:
    return api.get(f"/v1/backlinks/gap/{run}/diff", params={"against": against, **params})


def prospects(api: Api, run: str) -> dict[str, dict[str, Any]]:
    r = api.get(f"/v1/backlinks/gap/{run}/prospects", params={"per_page": 100})
    return {p["domain"]: p for p in r.json()["data"]}


def every_entry(api: Api, run: str, against: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = diff(api, run, against, page=page, per_page=7, **params)
        assert r.status_code == 200, r.text
        if not r.json()["data"]:
            return out
        out += r.json()["data"]
        page += 1


def test_added_removed_changed_with_old_and_new_values(two: tuple[Api, str, str]) -> None:
    api, new_run, old_run = two
    runs = [api.get(f"/v1/backlinks/gap/{r}").json()["data"] for r in (new_run, old_run)]
    assert runs[0]["index_version"] != runs[1]["index_version"]
    new, old = prospects(api, new_run), prospects(api, old_run)
    entries = every_entry(api, new_run, old_run)
    by = {e["domain"]: e for e in entries}
    assert {d for d, e in by.items() if e["kind"] == "added"} == set(new) - set(old) \
        == {"fresh1.com", "fresh2.com", "fresh3.com"}
    assert {d for d, e in by.items() if e["kind"] == "removed"} == set(old) - set(new) \
        == {"quiet.org", "blog10.com"}
    for name in set(new) & set(old):
        changes = {f: {"old": old[name][f], "new": new[name][f]}
                   for f in DIFF_FIELDS if old[name][f] != new[name][f]}
        if changes:
            assert by[name]["kind"] == "changed" and by[name]["changes"] == changes
            assert {k: v for k, v in by[name].items() if k not in ("kind", "changes")} \
                == new[name]
        else:
            assert name not in by
    assert by["blog14.com"]["changes"]["competitors"] == {
        "old": ["a.com", "b.com"], "new": ["a.com", "b.com", "c.com"]}
    assert by["quiet.org"] == {"kind": "removed", **old["quiet.org"], "changes": None}
    assert by["fresh3.com"] == {"kind": "added", **new["fresh3.com"], "changes": None}
    body = diff(api, new_run, old_run).json()
    counts = {k: sum(e["kind"] == k for e in entries) for k in DIFF_KINDS}
    assert body["meta"]["counts"] == counts and body["meta"]["total"] == len(entries)
    assert body["meta"]["against"] == old_run and body["meta"]["credits_charged"] == 0
    # The other way round, added and removed swap and old/new swap.
    back = {e["domain"]: e for e in every_entry(api, old_run, new_run)}
    assert {d for d, e in back.items() if e["kind"] == "added"} == {"quiet.org", "blog10.com"}
    assert back["blog14.com"]["changes"]["competitors"]["new"] == ["a.com", "b.com"]


def test_kind_filters_sorts_and_pages(two: tuple[Api, str, str]) -> None:
    api, new_run, old_run = two
    everything = every_entry(api, new_run, old_run)
    assert [e["domain"] for e in everything] == [e["domain"] for e in sorted(
        everything, key=lambda e: (-e["score"], e["domain"]))]
    for kind in DIFF_KINDS:
        got = every_entry(api, new_run, old_run, kind=kind)
        assert got == [e for e in everything if e["kind"] == kind]
    got = every_entry(api, new_run, old_run, min_authority=1, competitor="C.com",
                      sort="domain_rating", order="asc")
    want = sorted([e for e in everything if e["domain_rating"] >= 1
                   and "c.com" in e["competitors"]], key=lambda e: (e["domain_rating"],
                                                                  e["domain"]))
    assert got == want and got
    got = every_entry(api, new_run, old_run, q="fresh", dofollow="true")
    assert {e["domain"] for e in got} == {"fresh1.com", "fresh2.com", "fresh3.com"}
    body = diff(api, new_run, old_run, q="fresh", kind="removed").json()
    assert body["data"] == [] and body["meta"]["total"] == 0
    assert body["meta"]["counts"] == {"added": 3, "removed": 0, "changed": 0}
    past = diff(api, new_run, old_run, page=99, per_page=10).json()
    assert past["data"] == [] and past["meta"]["total"] == len(everything)


def test_csv_lists_every_filtered_entry(two: tuple[Api, str, str]) -> None:
    api, new_run, old_run = two
    r = diff(api, new_run, old_run, format="csv", kind="changed")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    changed = every_entry(api, new_run, old_run, kind="changed")
    assert [t["domain"] for t in table] == [e["domain"] for e in changed]
    row = next(t for t in table if t["domain"] == "blog14.com")
    assert "competitors" in row["changed"].split(";")
    assert row["old_competitors"] == "a.com;b.com" and row["competitors"] == "a.com;b.com;c.com"
    accept = api.get(f"/v1/backlinks/gap/{new_run}/diff", params={"against": old_run},
                     headers={**api.headers, "Accept": "text/csv"})
    assert accept.text.splitlines()[0].startswith("kind,domain,")


def test_another_accounts_run_is_not_found(two: tuple[Api, str, str]) -> None:
    api, new_run, old_run = two
    rival = {"Authorization": f"Bearer {api.other_key}"}
    theirs = api.client.post("/v1/backlinks/gap", json={"domain": TARGET,
                                                        "competitors": COMPETITORS},
                             headers=rival).json()["data"]["id"]
    assert api.service.run_pending_once()
    assert_error(diff(api, new_run, theirs), 404, "not_found")
    assert_error(diff(api, theirs, new_run), 404, "not_found")
    assert_error(api.client.get(f"/v1/backlinks/gap/{new_run}/diff",
                                params={"against": old_run}, headers=rival), 404, "not_found")
    assert_error(diff(api, new_run, "run_unknown"), 404, "not_found")


def test_a_run_of_another_domain_is_422(two: tuple[Api, str, str]) -> None:
    api, new_run, _ = two
    other = api.completed_run(domain="hub0.com", competitors=["a.com"])
    err = assert_error(diff(api, new_run, other), 422, "invalid_parameter", "against")
    assert err["details"] == {"domain": TARGET, "against_domain": "hub0.com"}


def test_a_run_not_completed_is_409(two: tuple[Api, str, str]) -> None:
    api, new_run, _ = two
    queued = api.create_run()["id"]
    for a, b in ((new_run, queued), (queued, new_run)):
        err = assert_error(diff(api, a, b), 409, "run_not_completed")
        assert err["details"] == {"status": "queued", "run_id": queued}


def test_invalid_parameters(two: tuple[Api, str, str]) -> None:
    api, new_run, old_run = two
    assert_error(api.get(f"/v1/backlinks/gap/{new_run}/diff"), 422, "invalid_parameter",
                 "against")
    assert_error(diff(api, new_run, old_run, kind="gone"), 422, "invalid_parameter", "kind")
    assert_error(diff(api, new_run, old_run, per_page=0), 422, "invalid_parameter", "per_page")
    err = assert_error(diff(api, new_run, old_run, competitor="zzz.com"), 422,
                       "invalid_parameter", "competitor")
    assert err["details"]["allowed"] == COMPETITORS


def test_the_openapi_document_describes_the_diff(two: tuple[Api, str, str]) -> None:
    api, _, _ = two
    doc = api.client.get("/openapi.json").json()
    op = doc["paths"]["/v1/backlinks/gap/{run_id}/diff"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["against"]["required"] is True
    assert set(params) >= {"against", "kind", "min_authority", "max_spam", "dofollow",
                           "competitor", "q", "sort", "order", "page", "per_page", "format"}
    assert set(op["responses"]) >= {"200", "401", "404", "409", "422", "429"}
    entry = doc["components"]["schemas"]["DiffEntry"]
    assert set(entry["properties"]) >= {"kind", "changes", "domain", "score"}


def test_an_expired_run_is_410(tmp_path_factory: pytest.TempPathFactory) -> None:
    from datetime import timedelta

    from api.apitest_support import build_index

    from linkgap.service.timeutil import utc_now

    tmp = tmp_path_factory.mktemp("diff-expired")
    build_index(tmp / "index")
    for api in make_api(tmp / "state", tmp / "index", run_retention_days=2):
        old = api.completed_run()
        api.service.clock = lambda: utc_now() + timedelta(days=2, minutes=1)
        new = api.completed_run()
        for a, b in ((new, old), (old, new)):
            err = assert_error(diff(api, a, b), 410, "run_expired")
            assert err["details"]["status"] == "expired"
