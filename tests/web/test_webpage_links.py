"""A prospect's row opens the links behind it (SPEC 12): the linking pages as safe links
that open in a new tab, anchors as text, dates; by mouse and by keyboard; and nothing the
page asks for leaves the server (every request to another origin is intercepted)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect
from web.webpage_helpers import Tab
from web.webpage_server import COMPETITORS, TARGET, Server

pytestmark = pytest.mark.slow


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab whose requests to anything but the server are caught and refused."""
    t = Tab.open(browser, server.url)
    escaped: list[str] = []

    def refuse(route: Route) -> None:
        escaped.append(route.request.url)
        route.abort()

    t.page.context.route(lambda url: not url.startswith(server.url + "/"), refuse)
    yield t
    t.close()
    assert escaped == [] and t.foreign_requests() == []


def first_prospect(tab: Tab, server: Server) -> tuple[str, dict]:
    tab.use_key(server.key)
    tab.start_run(TARGET, "\n".join(COMPETITORS), limit="10")
    tab.wait_completed()
    run_id = tab.page.evaluate("location.hash").split("=", 1)[1]
    with server.client() as client:
        rows = client.get(f"/v1/backlinks/gap/{run_id}/prospects").json()["data"]
        truth = client.get(f"/v1/backlinks/gap/{run_id}/prospects/{rows[0]['domain']}"
                           ).json()["data"]
    return run_id, truth


def test_keyboard_opens_a_prospects_links_and_closes_them(tab: Tab, server: Server) -> None:
    p = tab.page
    _, truth = first_prospect(tab, server)
    button = p.get_by_role("button", name=f"Links from {truth['domain']}")
    button.focus()
    p.keyboard.press("Enter")
    region = p.get_by_role("region", name=f"Links from {truth['domain']}")
    expect(region).to_be_visible()
    expect(region).to_be_focused()  # focus moves into what opened
    expect(button).to_have_attribute("aria-expanded", "true")
    links = region.locator("a")
    samples = [s for e in truth["links"] for s in e["samples"]]
    assert samples, "the test web keeps sample links"
    expect(links).to_have_count(len(samples))
    for i, sample in enumerate(samples):
        link = links.nth(i)
        expect(link).to_have_attribute("href", sample["source_url"])
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(link).to_have_text(sample["source_url"])
    for entry in truth["links"]:
        expect(region).to_contain_text(f"To {entry['competitor']}: ")
        for sample in entry["samples"]:
            expect(region).to_contain_text(sample["target_url"])
            if sample["anchor"]:
                expect(region).to_contain_text(sample["anchor"])
    expect(region).to_contain_text("saved with the run")
    # Escape closes them and gives focus back to the button; Space opens them again.
    p.keyboard.press("Escape")
    expect(region).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    p.keyboard.press(" ")
    expect(p.get_by_role("region", name=f"Links from {truth['domain']}")).to_be_visible()
    assert tab.unexpected_errors() == []


def test_a_click_on_the_row_opens_them_and_anchors_stay_text(tab: Tab, server: Server) -> None:
    p = tab.page
    hostile = '<img src="https://evil.example/x.png" onerror="window.pwned=1">'

    def with_hostile_anchor(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        sample = body["data"]["links"][0]["samples"][0]
        sample["anchor"] = hostile
        sample["first_seen"] = "2026-01-05T00:00:00.000Z"
        body["data"]["links"][0]["samples"].append(
            {**sample, "source_url": "javascript:alert(1)", "anchor": None})
        route.fulfill(response=response, body=json.dumps(body))

    _, truth = first_prospect(tab, server)
    p.route("**/prospects/*", with_hostile_anchor)
    p.locator("#prospects-body tr.prospect").first.locator("td").nth(1).click()
    region = p.get_by_role("region", name=f"Links from {truth['domain']}")
    expect(region).to_contain_text(hostile)  # shown as the text it is
    expect(region.locator("img")).to_have_count(0)
    assert p.evaluate("window.pwned") is None
    expect(region).to_contain_text("seen 2026-01-05")
    expect(region).to_contain_text("no anchor text")
    # A page address that is not http(s) is never a link.
    expect(region.locator("a[href^='javascript']")).to_have_count(0)
    expect(region).to_contain_text("javascript:alert(1)")
