"""The run form's filters and exclusions (SPEC 12): sent with the run, applied before its
limit, shown on the run, and a refused one explained at its field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Request, expect
from web.webpage_helpers import Tab, all_prospects
from web.webpage_server import COMPETITORS, TARGET, Server, prospect_names

pytestmark = pytest.mark.slow


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab on the page; after the test, nothing it asked for left the server."""
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def test_a_nofollow_run_with_an_exclusion_keeps_what_passes(tab: Tab, server: Server) -> None:
    p = tab.page
    sent: list[dict] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/backlinks/gap"):
            sent.append(json.loads(request.post_data or "{}"))

    p.on("request", record)
    tab.use_key(server.key)
    p.get_by_text("Filters and exclusions (applied before the limit)").click()
    p.locator("#run-dofollow").select_option("false")
    p.get_by_label("Exclude domains", exact=True).fill("https://www.GardenHub0.com/\n")
    tab.start_run(TARGET, "\n".join(COMPETITORS), limit="10")
    tab.wait_completed()
    assert sent[-1]["filters"] == {"dofollow": False}
    assert sent[-1]["exclude"] == ["https://www.GardenHub0.com/"]
    facts = p.locator("#run-facts")
    expect(facts).to_contain_text("nofollow links only; excluding gardenhub0.com and the "
                                  "sites linking to it")
    # Prospects whose links are all nofollow: every fourth one, but the excluded first.
    want = {name for i, name in enumerate(prospect_names()) if i % 4 == 0} - {"gardenhub0.com"}
    shown = {row["Domain"].split("\n")[0] for row in tab.table()}
    assert shown == want
    run_id = p.evaluate("location.hash").split("=", 1)[1]
    with server.client() as client:
        run = client.get(f"/v1/backlinks/gap/{run_id}").json()["data"]
        assert run["total_found"] == len(want) and run["exclude"] == ["gardenhub0.com"]
        assert {r["domain"] for r in all_prospects(client, run_id)} == want
    expect(p.locator("#run-status")).to_contain_text(f"{len(want)} prospects kept of "
                                                     f"{len(want)} found")
    assert tab.unexpected_errors() == []


def test_a_refused_exclusion_is_explained_at_its_field(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    p.get_by_text("Filters and exclusions (applied before the limit)").click()
    p.get_by_label("Exclude domains", exact=True).fill("partner.org\nlocalhost")
    p.get_by_text("Filters and exclusions (applied before the limit)").click()  # fold it away
    tab.start_run(TARGET, COMPETITORS[0])
    error = p.locator("#run-form-error")
    expect(error).to_contain_text("Please check “Exclude domains” (“localhost”)")
    field = p.get_by_label("Exclude domains", exact=True)
    expect(field).to_be_visible()  # the section opened again to show it
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    assert tab.unexpected_errors(allowed_statuses=[422]) == []
