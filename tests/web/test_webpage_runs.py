"""The page's run lifecycle: live status, warnings, failures, previous runs, keyboard use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect
from web.webpage_helpers import Tab
from web.webpage_server import COMPETITORS, TARGET, Server

pytestmark = pytest.mark.slow

RUN_URL = re.compile(r"/v1/backlinks/gap/run_[A-Za-z0-9_-]+$")


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab on the page; after the test, nothing it asked for left the server."""
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def test_live_status_while_the_run_is_running(tab: Tab, server: Server) -> None:
    p = tab.page
    hold = {"on": True, "polls": 0}

    def still_running(route: Route) -> None:
        # Answer with the real run, shown as still running until the test lets go.
        response = route.fetch()
        body = response.json()
        hold["polls"] += 1
        if hold["on"]:
            body["data"].update(status="running", finished_at=None, prospect_count=None,
                                total_found=None)
        route.fulfill(response=response, body=json.dumps(body))

    p.route(RUN_URL, still_running)
    tab.use_key(server.key)
    tab.start_run(TARGET, ", ".join(COMPETITORS))
    expect(p.locator("#run-badge")).to_have_text("running")
    expect(p.locator("#run-status")).to_contain_text("Running: comparing")
    expect(p.locator("#prospects-panel")).to_be_hidden()
    # The page keeps polling while the run is running (events are served while waiting).
    for _ in range(200):
        if hold["polls"] >= 3:
            break
        p.wait_for_timeout(100)
    assert hold["polls"] >= 3
    expect(p.locator("#run-badge")).to_have_text("running")
    hold["on"] = False
    tab.wait_completed()
    expect(p.locator("#prospects-panel")).to_be_visible()
    assert tab.unexpected_errors() == []


def test_failed_run_says_why(tab: Tab, server: Server) -> None:
    p = tab.page

    def failed(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["data"].update(status="failed", prospect_count=None, total_found=None, error={
            "code": "index_unavailable", "message": "the index could not be read"})
        route.fulfill(response=response, body=json.dumps(body))

    p.route(RUN_URL, failed)
    tab.use_key(server.key)
    tab.start_run(TARGET, COMPETITORS[0])
    expect(p.locator("#run-badge")).to_have_text("failed")
    expect(p.locator("#run-error")).to_have_text(
        "The run could not be completed: the index could not be read. "
        "Its credits were given back to your account.")
    expect(p.locator("#prospects-panel")).to_be_hidden()


def test_warnings_and_intersect(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    p.get_by_label("Mode", exact=True).select_option("intersect")
    expect(p.get_by_label("Minimum overlap", exact=True)).to_be_disabled()
    # Both competitors are indexed, but nothing links to rival-one.com and blogroll0.net.
    tab.start_run("not-in-the-index.com", "rival-one.com\nblogroll0.net", mode="intersect")
    tab.wait_completed()
    warnings = p.locator("#run-warnings li")
    expect(warnings).to_have_count(1)
    expect(warnings.nth(0)).to_contain_text("not-in-the-index.com is not in the backlink index")
    expect(p.locator("#run-facts")).to_contain_text("intersect (all 2)")
    expect(p.locator("#no-prospects")).to_have_text("This run found no prospects.")
    expect(p.locator("#page-info")).to_have_text("No prospects")
    assert tab.chart_counts("chart-overlap") == {"1": 0, "2": 0}
    # A competitor the index does not know: intersect could find nothing, so the run is
    # refused (and costs nothing); union runs and says so.
    tab.start_run("not-in-the-index.com", "rival-one.com\nnobody-links-here.com",
                  mode="intersect")
    error = p.locator("#run-form-error")
    expect(error).to_contain_text("The competitor nobody-links-here.com is not in the backlink "
                                  "index")
    expect(error).to_contain_text("Check the spelling")
    expect(p.get_by_label("Competitors", exact=True)).to_have_attribute("aria-invalid", "true")
    tab.start_run("not-in-the-index.com", "rival-one.com\nnobody-links-here.com")
    tab.wait_completed()
    expect(warnings).to_have_count(2)
    expect(warnings.nth(1)).to_contain_text("nobody-links-here.com is not in the backlink index")
    assert tab.unexpected_errors(allowed_statuses=[422]) == []


def test_previous_runs_reopen_and_page(tab: Tab, server: Server) -> None:
    with server.client() as client:
        made = []
        for i in range(11):
            res = client.post("/v1/backlinks/gap", json={
                "domain": f"older-{i}.com", "competitors": [COMPETITORS[i % 3]], "limit": 10})
            assert res.status_code == 202, res.text
            made.append(res.json()["data"]["id"])
        total = client.get("/v1/backlinks/gap").json()["meta"]["total"]
    p = tab.page
    tab.use_key(server.key)
    items = p.locator("#runs-list li")
    expect(items).to_have_count(10)
    expect(p.locator("#runs-list .run-open").first).to_have_attribute("data-run", made[-1])
    p.get_by_role("button", name="Show older runs").click()
    expect(items).to_have_count(min(total, 20))
    p.locator(f'.run-open[data-run="{made[0]}"]').click()
    expect(p.locator("#run-title")).to_have_text("Prospects for older-0.com")
    expect(p.locator(f'.run-open[data-run="{made[0]}"]')).to_have_attribute("aria-current", "true")
    assert p.evaluate("location.hash") == f"#run={made[0]}"
    assert tab.unexpected_errors() == []


def test_keyboard_only(tab: Tab, server: Server) -> None:
    p = tab.page
    p.keyboard.press("Tab")  # the skip link comes first
    p.keyboard.press("Tab")
    expect(p.get_by_label("API key", exact=True)).to_be_focused()
    p.keyboard.type(server.key)
    p.keyboard.press("Enter")
    expect(p.locator("#key-status")).to_contain_text("Key accepted")

    p.get_by_label("Your domain", exact=True).focus()
    p.keyboard.type(TARGET)
    p.keyboard.press("Tab")
    p.keyboard.type("\n".join(COMPETITORS))
    for label in ("Mode", "Minimum overlap", "Limit"):
        p.keyboard.press("Tab")
        expect(p.get_by_label(label, exact=True)).to_be_focused()
    p.keyboard.press("Tab")
    expect(p.get_by_role("button", name="Find prospects")).to_be_focused()
    p.keyboard.press("Enter")
    tab.wait_completed()

    spam = p.locator("th[data-sort=spam_score] button")
    spam.focus()
    p.keyboard.press("Enter")
    expect(p.locator("th[data-sort=spam_score]")).to_have_attribute("aria-sort", "descending")
    p.keyboard.press("Space")
    expect(p.locator("th[data-sort=spam_score]")).to_have_attribute("aria-sort", "ascending")
    assert tab.unexpected_errors() == []
