"""linkgap.Client against the real app in-process (service + create_app over a built index).

The index is a small hand-made graph whose prospects are known exactly:
``p000.example`` … link to the competitors ``a.example`` / ``b.example``;
every fifth also links to ``mysite.example`` (so it is not a prospect).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.indexes import build_test_index

from linkgap import client as lc
from linkgap.api import create_app
from linkgap.client import Client
from linkgap.service import LinkgapService
from linkgap.settings import Settings

TARGET = "mysite.example"
COMPETITORS = ["a.example", "b.example"]
N_SITES = 150


def _expected() -> dict[str, dict[str, Any]]:
    """The prospects by hand: domain -> competitors it links to, and whether dofollow."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(N_SITES):
        if i % 5 == 0:
            continue  # links to the target too
        comps = ["a.example"] if i % 3 == 0 else (["b.example"] if i % 3 == 1 else COMPETITORS)
        out[f"p{i:03d}.example"] = {"competitors": comps, "dofollow": i % 4 != 0}
    return out


def _links() -> Iterator[tuple[str, str, str]]:
    for i in range(N_SITES):
        src = f"https://p{i:03d}.example/page"
        rel = "nofollow" if i % 4 == 0 else ""
        comps = ["a.example"] if i % 3 == 0 else (["b.example"] if i % 3 == 1 else COMPETITORS)
        for comp in comps:
            yield (src, f"https://{comp}/", rel)
        if i % 5 == 0:
            yield (src, f"https://{TARGET}/", "")
    # some authority for a few prospects, and a target that exists
    for j in range(20):
        yield (f"https://hub{j}.example/", f"https://p{j * 7 % N_SITES:03d}.example/", "")
        yield (f"https://hub{j}.example/", f"https://{TARGET}/about", "")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("client-index") / "index"
    build_test_index(path, _links())
    return path


@pytest.fixture
def stack(tmp_path: Path, index_dir: Path,
          asgi_http: Any) -> Iterator[tuple[LinkgapService, httpx.Client, str]]:
    settings = Settings({"home": tmp_path, "index": index_dir}, environ={})
    service = LinkgapService(settings)
    service.create_account("acme", credits=1000)
    key, _ = service.create_key("acme")
    yield service, asgi_http(create_app(service, settings)), key
    service.close()


def _client(http: httpx.Client, key: str) -> Client:
    return Client("http://testserver", key, http_client=http, sleep=lambda s: None)


def _completed_run(service: LinkgapService, client: Client, **kwargs: Any) -> dict[str, Any]:
    run = client.create_run(TARGET, COMPETITORS, limit=kwargs.pop("limit", 1000), **kwargs)
    while service.run_pending_once():
        pass
    return client.wait(run["id"], timeout=30)


def test_full_flow_create_wait_and_read_every_prospect(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    before = client.account()["credits"]["available"]
    run = client.create_run(TARGET, COMPETITORS, limit=200)
    assert run["status"] == "queued" and run["id"].startswith("run_")
    assert client.last_meta["credits_charged"] == 14  # ceil(2 * 200 / 30)
    while service.run_pending_once():
        pass
    done = client.wait(run["id"], timeout=30)
    expected = _expected()
    assert done["status"] == "completed"
    assert done["total_found"] == len(expected) == done["prospect_count"]

    rows = list(client.prospects(run["id"]))
    assert {r["domain"] for r in rows} == set(expected)
    for row in rows:
        assert row["competitors"] == expected[row["domain"]]["competitors"]
        assert row["dofollow"] == expected[row["domain"]]["dofollow"]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert client.account()["credits"]["available"] == before - 14


def test_iterating_pages_equals_the_full_list_and_the_csv(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    run = _completed_run(service, client)
    everything = list(client.prospects(run["id"], sort="rank", order="asc"))
    by_hand: list[dict[str, Any]] = []
    page_no = 1
    while True:
        page = client.prospects_page(run["id"], page=page_no, per_page=7, sort="rank",
                                     order="asc")
        by_hand.extend(page.data)
        if page_no >= page.total_pages:
            break
        page_no += 1
    assert page.total == len(everything) == len(by_hand) == len(_expected())
    assert by_hand == everything
    past_end = client.prospects_page(run["id"], page=page.total_pages + 1, per_page=7)
    assert past_end.data == [] and past_end.total == len(everything)

    table = list(csv.DictReader(io.StringIO(client.prospects_csv(run["id"], sort="rank",
                                                                 order="asc"))))
    assert [r["domain"] for r in table] == [r["domain"] for r in everything]


def test_filters_reach_the_server(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    run = _completed_run(service, client)
    expected = _expected()
    only_a = list(client.prospects(run["id"], competitor="a.example"))
    assert {r["domain"] for r in only_a} == {
        d for d, e in expected.items() if "a.example" in e["competitors"]}
    nofollow = list(client.prospects(run["id"], dofollow=False))
    assert {r["domain"] for r in nofollow} == {
        d for d, e in expected.items() if not e["dofollow"]}
    found = list(client.prospects(run["id"], q="p01"))
    assert {r["domain"] for r in found} == {d for d in expected if "p01" in d}
    summary = client.summary(run["id"], dofollow=True)
    assert isinstance(summary, dict) and summary


def test_typed_errors_carry_code_and_param(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    with pytest.raises(lc.InvalidParameter) as bad_domain:
        client.create_run(TARGET, ["a.example", "not a domain"])
    assert bad_domain.value.code == "invalid_parameter"
    assert bad_domain.value.param == "competitors[1]"
    assert bad_domain.value.request_id

    with pytest.raises(lc.InvalidParameter) as bad_limit:
        client.create_run(TARGET, COMPETITORS, limit=5)
    assert bad_limit.value.param == "limit"

    with pytest.raises(lc.CompetitorsNotIndexed) as typo:
        client.create_run(TARGET, ["a.exmaple"])
    assert typo.value.details == {"missing": ["a.exmaple"]} and typo.value.status == 422

    with pytest.raises(lc.NotFound) as missing:
        client.get_run("run_doesnotexist")
    assert missing.value.status == 404

    queued = client.create_run(TARGET, COMPETITORS)
    with pytest.raises(lc.RunNotCompleted) as early:
        client.prospects_page(queued["id"])
    assert early.value.details["status"] == "queued"

    while service.run_pending_once():
        pass
    with pytest.raises(lc.InvalidParameter) as bad_competitor:
        list(client.prospects(queued["id"], competitor="c.example"))
    assert bad_competitor.value.param == "competitor"
    assert set(bad_competitor.value.details["allowed"]) == set(COMPETITORS)

    client.create_run(TARGET, COMPETITORS, idempotency_key="once")
    with pytest.raises(lc.IdempotencyConflict):
        client.create_run(TARGET, ["a.example"], idempotency_key="once")


def test_an_idempotent_repeat_returns_the_same_run_and_charges_nothing(stack: Any) -> None:
    _, http, key = stack
    client = _client(http, key)
    first = client.create_run(TARGET, COMPETITORS, idempotency_key="order-1")
    balance = client.account()["credits"]["available"]
    again = client.create_run(TARGET, COMPETITORS, idempotency_key="order-1")
    assert again["id"] == first["id"]
    assert client.account()["credits"]["available"] == balance


def test_unknown_key_and_insufficient_credits(stack: Any) -> None:
    service, http, _ = stack
    with pytest.raises(lc.Unauthorized) as info:
        _client(http, "lgk_nope_nope").account()
    assert info.value.status == 401
    service.create_account("broke")
    broke_key, _ = service.create_key("broke")
    with pytest.raises(lc.InsufficientCredits) as poor:
        _client(http, broke_key).create_run(TARGET, COMPETITORS)
    assert poor.value.status == 402


def test_runs_lists_every_run_newest_first(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    ids = [client.create_run(TARGET, COMPETITORS, limit=10)["id"] for _ in range(3)]
    listed = [r["id"] for r in client.runs()]
    assert sorted(listed) == sorted(ids)
    assert listed[0] == ids[-1] or len(set(r["created_at"] for r in client.runs())) == 1
    assert list(client.runs(status="completed")) == []
    while service.run_pending_once():
        pass
    assert sorted(r["id"] for r in client.runs(status="completed")) == sorted(ids)


def test_domain_metrics_in_input_order(stack: Any) -> None:
    _, http, key = stack
    client = _client(http, key)
    rows = client.domain_metrics(["B.example", "nowhere.example", "https://www.a.example/x"])
    assert [r["domain"] for r in rows] == ["b.example", "nowhere.example", "a.example"]
    assert [r["found"] for r in rows] == [True, False, True]
    assert rows[1]["domain_rating"] is None
    assert rows[0]["referring_domains"] > 0


def test_run_time_filters_and_exclusions_are_sent_and_echoed(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    expected = _expected()
    nofollow = {d for d, e in expected.items() if not e["dofollow"]}
    run = _completed_run(service, client, limit=10, filters={"dofollow": False},
                         exclude=["p004.example"])
    assert run["filters"] == {"min_authority": None, "max_spam": None, "dofollow": False}
    assert run["exclude"] == ["p004.example"]
    assert run["total_found"] == len(nofollow - {"p004.example"})
    kept = {r["domain"] for r in client.prospects(run["id"])}
    assert kept <= nofollow - {"p004.example"} and len(kept) == 10
    with pytest.raises(lc.InvalidParameter) as caught:
        client.create_run(TARGET, COMPETITORS, exclude=["not a domain"])
    assert caught.value.param == "exclude[0]"


def test_a_prospect_with_its_links_and_the_links_csv(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    run = _completed_run(service, client)
    data = client.prospect(run["id"], "P002.Example")
    assert data["domain"] == "p002.example" and data["links_frozen"] is True
    assert [e["competitor"] for e in data["links"]] == COMPETITORS
    assert [[s["source_url"] for s in e["samples"]] for e in data["links"]] == [
        ["https://p002.example/page"], ["https://p002.example/page"]]
    with pytest.raises(lc.NotFound):
        client.prospect(run["id"], TARGET)
    table = list(csv.DictReader(io.StringIO(client.prospects_csv(run["id"],
                                                                 include="links"))))
    assert [(r["competitor"], r["target_url"]) for r in table if r["domain"] == "p002.example"
            ] == [("a.example", "https://a.example/"), ("b.example", "https://b.example/")]
    assert len(table) == sum(len(e["competitors"]) for e in _expected().values())


def test_link_competitors(stack: Any) -> None:
    from urllib.parse import urlsplit

    service, http, key = stack
    client = _client(http, key)
    referrers: dict[str, set[str]] = {}
    for source, target, _ in _links():
        referrers.setdefault(urlsplit(target).hostname or "", set()).add(
            urlsplit(source).hostname or "")
    mine = referrers["a.example"]
    want = sorted(((d, len(mine & theirs), len(mine & theirs) / len(mine | theirs))
                   for d, theirs in referrers.items() if d != "a.example" and mine & theirs),
                  key=lambda r: (-r[1], -r[2], r[0]))[:5]
    rows = client.competitors("https://www.A.example/", limit=5)
    assert [(r["domain"], r["shared_referring_domains"], r["jaccard"]) for r in rows] == \
        [(d, s, round(j, 6)) for d, s, j in want]
    assert rows[0]["domain"] == "b.example" and rows[0]["shared_referring_domains"] == 50
    assert client.last_meta["credits_charged"] == 1 and client.last_meta["found"] is True
    assert client.last_meta["capped"] is False
    assert client.account()["credits"]["available"] == 999
    assert client.competitors("nowhere.example") == []
    assert client.last_meta["found"] is False and client.last_meta["credits_charged"] == 0
    with pytest.raises(lc.ApiError) as caught:
        client.competitors("co.uk")
    assert caught.value.status == 422 and caught.value.param == "domain"
    with pytest.raises(lc.ApiError) as caught:
        client.competitors("a.example", limit=101)
    assert caught.value.status == 422 and caught.value.param == "limit"
    assert client.account()["credits"]["available"] == 999


def test_a_run_with_a_callback_url_shows_its_webhook(stack: Any) -> None:
    service, http, key = stack
    client = _client(http, key)
    run = client.create_run(TARGET, COMPETITORS, callback_url="https://hooks.example.com/lg")
    assert run["callback_url"] == "https://hooks.example.com/lg"
    assert run["webhook"] == {"status": "pending", "attempts": 0, "last_error": None,
                              "next_attempt_at": None}
    while service.run_pending_once():
        pass
    done = client.get_run(run["id"])
    assert done["status"] == "completed" and done["webhook"]["status"] == "pending"
    assert done["webhook"]["next_attempt_at"] == done["finished_at"]  # due at once
    assert client.get_run(client.create_run(TARGET, COMPETITORS)["id"])["webhook"] is None
    with pytest.raises(lc.InvalidParameter) as refused:
        client.create_run(TARGET, COMPETITORS, callback_url="https://192.168.1.10/hook")
    assert refused.value.param == "callback_url"
