"""The page suggests link competitors for the domain being typed (SPEC 13), in Chromium.

A real ``linkgap serve`` over the test web: typing a domain offers a "Suggest
competitors (1 credit)" button once typing pauses; a click lists what
``GET /v1/domains/{domain}/competitors`` answers and charges one credit; a click on
a suggestion fills the competitors box; showing the same domain again is free; a
domain not in the index is free and said so; text that is not a domain offers
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab
from web.webpage_server import COMPETITORS, TARGET, Server

pytestmark = pytest.mark.slow


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def available(server: Server) -> int:
    with server.client() as http:
        return int(http.get("/v1/account").json()["data"]["credits"]["available"])


def test_suggestions_fill_the_competitors_box(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    before = available(server)
    p.get_by_label("Your domain", exact=True).press_sequentially("https://www.MySite.com/")
    button = p.get_by_role("button", name="Suggest competitors (1 credit)")
    expect(button).to_be_visible()
    suggestion_requests = [u for u in tab.requests if "/competitors" in u]
    assert suggestion_requests == []  # typing alone never spends a credit
    button.click()
    status = p.locator("#suggest-status")
    expect(status).to_contain_text("Domains sharing the most referring domains with mysite.com "
                                   "(1 credit charged)")
    with server.client() as http:
        want = http.get(f"/v1/domains/{TARGET}/competitors", params={"limit": 10}).json()
    assert available(server) == before - 2  # the page's look-up and this one
    items = p.locator("#suggest-list button")
    expect(items).to_have_count(len(want["data"]))
    shown = [items.nth(i).get_attribute("data-domain") for i in range(items.count())]
    assert shown == [row["domain"] for row in want["data"]]
    assert set(shown[:2]) == {COMPETITORS[0], COMPETITORS[1]}  # 4 shared referrers each
    first = want["data"][0]
    expect(items.first).to_contain_text(
        f"{first['shared_referring_domains']} shared referring domains, DR "
        f"{first['domain_rating']}")
    # The credits line is refreshed after the charge.
    expect(p.locator("#credits")).to_contain_text(f"{before - 1:,}")

    items.nth(0).click()
    items.nth(1).click()
    box = p.get_by_label("Competitors", exact=True)
    expect(box).to_have_value(f"{shown[0]}\n{shown[1]}")
    expect(items.nth(0)).to_be_disabled()
    expect(p.locator("#run-cost")).to_contain_text("2 competitors")
    items.nth(0).click(force=True)  # already added: nothing changes
    expect(box).to_have_value(f"{shown[0]}\n{shown[1]}")
    box.fill(shown[1])  # removing one from the box makes its suggestion clickable again
    expect(items.nth(0)).to_be_enabled()

    # Another domain, then back: the earlier answer is shown again for free.
    domain = p.get_by_label("Your domain", exact=True)
    domain.fill(COMPETITORS[0])
    domain.dispatch_event("input")
    expect(p.get_by_role("button", name="Suggest competitors (1 credit)")).to_be_visible()
    domain.fill(TARGET)
    domain.dispatch_event("input")
    again = p.get_by_role("button", name="Show suggested competitors again (free)")
    expect(again).to_be_visible()
    again.click()
    expect(items).to_have_count(len(want["data"]))
    assert available(server) == before - 2
    assert tab.unexpected_errors() == []


def test_not_a_domain_and_not_indexed(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    before = available(server)
    domain = p.get_by_label("Your domain", exact=True)
    for text in ("mysite", "192.168.1.1", "my site.com"):
        domain.fill(text)
        domain.dispatch_event("input")
        p.wait_for_timeout(600)  # longer than the debounce
        expect(p.locator("#suggest")).to_be_hidden()
    domain.fill("nowhere-at-all.org")
    domain.dispatch_event("input")
    p.get_by_role("button", name="Suggest competitors (1 credit)").click()
    expect(p.locator("#suggest-status")).to_have_text(
        "nowhere-at-all.org is not in the backlink index, so there is nothing to suggest. "
        "No credit was charged.")
    domain.fill("co.uk")  # looks like a domain; the server says it is a public suffix
    domain.dispatch_event("input")
    p.get_by_role("button", name="Suggest competitors (1 credit)").click()
    expect(p.locator("#suggest-error")).to_contain_text(
        "“co.uk” is not a domain that can be looked up")
    expect(p.locator("#suggest-error")).to_contain_text("No credit was charged.")
    assert available(server) == before
    assert tab.unexpected_errors(allowed_statuses=[422]) == []


def test_no_button_without_a_key(tab: Tab) -> None:
    p = tab.page
    p.get_by_label("Your domain", exact=True).press_sequentially(TARGET)
    p.wait_for_timeout(600)
    expect(p.locator("#suggest")).to_be_hidden()
