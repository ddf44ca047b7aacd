"""The page's "Compare with an earlier run of this domain" (SPEC 13 run diffs), in Chromium.

A real ``linkgap serve``: one run of mysite.com over index version 1, the index
rebuilt (version 2: two prospects gone, twelve new, one with another link), a
second run of mysite.com, and a run of another domain that must not be offered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab
from web.webpage_server import (
    COMPETITORS,
    TARGET,
    Server,
    linkgap_cli,
    links_rows,
    serve_env,
    serving,
)

from linkgap.index.build import build_from_links

pytestmark = pytest.mark.slow


def _links(version: int) -> list[tuple[str, str, str]]:
    rows = [(r["source_url"], r["target_url"], r["rel"]) for r in links_rows()]
    if version == 2:
        rows = [r for r in rows if "gardenhub0." not in r[0] and "travelhub1." not in r[0]]
        rows += [(f"https://fresh{i}.com/", f"https://{COMPETITORS[0]}/", "") for i in range(12)]
        rows += [("https://www.recipeshub2.com/post", f"https://{COMPETITORS[2]}/", "")]
    return rows


def _completed(http: httpx.Client, domain: str, competitors: list[str]) -> str:
    run = http.post("/v1/backlinks/gap", json={"domain": domain, "competitors": competitors})
    assert run.status_code == 202, run.text
    run_id = str(run.json()["data"]["id"])
    for _ in range(600):
        if http.get(f"/v1/backlinks/gap/{run_id}").json()["data"]["status"] == "completed":
            return run_id
        time.sleep(0.1)
    raise AssertionError("run did not complete")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    """(server, the run over version 2, the earlier run over version 1)."""
    home = tmp_path_factory.mktemp("compare-home")
    env = serve_env(home)
    build_from_links(home / "index", _links(1))
    linkgap_cli(env, "accounts", "create", "web", "--credits", "1000")
    key = linkgap_cli(env, "keys", "create", "--account", "web").strip()
    with serving(home) as url:
        server = Server(url=url, key=key, poor_key=key, home=home)
        with server.client() as http:
            first = _completed(http, TARGET, list(COMPETITORS))
            _completed(http, COMPETITORS[0], [COMPETITORS[1]])
            build_from_links(home / "index", _links(2))
            second = _completed(http, TARGET, list(COMPETITORS))
        yield server, second, first


@pytest.fixture
def tab(browser: Browser, runs: tuple[Server, str, str]) -> Iterator[Tab]:
    t = Tab.open(browser, runs[0].url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def _api_diff(server: Server, run: str, against: str, **params: Any) -> dict[str, Any]:
    with server.client() as http:
        r = http.get(f"/v1/backlinks/gap/{run}/diff",
                     params={"against": against, "per_page": 50, **params})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _shown(tab: Tab) -> list[tuple[str, str]]:
    rows = []
    for tr in tab.page.locator("#diff-body tr").all():
        cells = tr.locator("td").all_inner_texts()
        # The domain cell shows the Unicode form, with the canonical one beneath when it differs.
        rows.append((cells[0].strip(), cells[1].strip().split("\n")[-1].strip()))
    return rows


def test_compare_with_the_earlier_run(tab: Tab, runs: tuple[Server, str, str]) -> None:
    server, second, first = runs
    p = tab.page
    tab.use_key(server.key)
    p.goto(f"{server.url}/#run={second}")
    p.reload()
    tab.wait_completed()
    panel = p.locator("#diff-panel")
    expect(panel.get_by_role("heading")).to_have_text(
        "Compare with an earlier run of this domain")
    against = p.get_by_label("Earlier run", exact=True)
    expect(against.locator("option")).to_have_count(1)  # not the other domain's run
    assert against.input_value() == first
    p.get_by_role("button", name="Compare").click()
    body = _api_diff(server, second, first)
    counts = body["meta"]["counts"]
    assert counts["added"] == 12 and counts["removed"] == 2 and counts["changed"] >= 1
    expect(p.locator("#diff-counts")).to_have_text(
        f"{counts['added']} prospects added · {counts['removed']} removed · "
        f"{counts['changed']} changed.")
    expect(p.locator("#diff-body tr")).to_have_count(min(50, body["meta"]["total"]))
    assert _shown(tab) == [(e["kind"], e["domain"]) for e in body["data"]]
    changed = p.locator("#diff-body tr", has_text="recipeshub2.com")
    expect(changed).to_contain_text("overlap 1 → 2; links to rival-one.com → "
                                    "rival-one.com, rival-three.com")

    # One kind at a time, and the prospect filters apply to the comparison too.
    p.get_by_label("Show", exact=True).select_option("added")
    expect(p.locator("#diff-body tr")).to_have_count(12)
    assert {d for _, d in _shown(tab)} == {f"fresh{i}.com" for i in range(12)}
    p.get_by_label("Search", exact=True).fill("fresh7")
    expect(p.locator("#diff-body tr")).to_have_count(1)
    expect(p.locator("#diff-body tr")).to_contain_text("new prospect")
    p.get_by_label("Show", exact=True).select_option("removed")
    expect(p.locator("#diff-empty")).to_have_text("Nothing changed that matches these filters.")
    p.get_by_label("Search", exact=True).fill("")
    expect(p.locator("#diff-body tr")).to_have_count(2)
    expect(p.locator("#diff-body")).to_contain_text("no longer a prospect")
    assert tab.unexpected_errors() == []


def test_the_earliest_run_has_nothing_to_compare_with(tab: Tab,
                                                      runs: tuple[Server, str, str]) -> None:
    server, _, first = runs
    p = tab.page
    tab.use_key(server.key)
    p.goto(f"{server.url}/#run={first}")
    p.reload()
    tab.wait_completed()
    expect(p.locator("#diff-none")).to_be_visible()
    expect(p.locator("#diff-form")).to_be_hidden()
    assert tab.unexpected_errors() == []


def test_paging_through_the_changes(tab: Tab, runs: tuple[Server, str, str]) -> None:
    server, second, first = runs
    p = tab.page
    tab.use_key(server.key)
    p.goto(f"{server.url}/#run={second}")
    p.reload()
    tab.wait_completed()
    p.get_by_label("Per page", exact=True).select_option("10")
    p.get_by_role("button", name="Compare").click()
    body = _api_diff(server, second, first, per_page=10, page=2)
    p.get_by_role("button", name="Next changes").click()
    expect(p.locator("#diff-page-info")).to_contain_text("Page 2 of")
    expect(p.locator("#diff-body tr")).to_have_count(len(body["data"]))
    assert _shown(tab) == [(e["kind"], e["domain"]) for e in body["data"]]
