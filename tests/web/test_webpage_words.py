"""The page says what a run costs before it starts, explains Score and Rank where they are
shown, calls each thing by one name, and never shows an API name such as `min_overlap`
to a person (issue 7, item 12). Real Chromium against a real ``linkgap serve``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab
from web.webpage_server import COMPETITORS, TARGET, Server

pytestmark = pytest.mark.slow

DIVISOR = 30  # LINKGAP_RUN_COST_DIVISOR of the test server (the default)


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def _fill(tab: Tab, competitors: str, limit: str) -> None:
    tab.page.get_by_label("Your domain", exact=True).fill(TARGET)
    tab.page.get_by_label("Competitors", exact=True).fill(competitors)
    tab.page.get_by_label("Limit", exact=True).fill(limit)


def test_the_cost_is_shown_before_the_run_and_is_what_is_charged(tab: Tab,
                                                                 server: Server) -> None:
    cost = tab.page.locator("#run-cost")
    _fill(tab, "rival-one.com", "100")
    expect(cost).to_be_hidden()  # no key yet: the server's prices are not known
    tab.use_key(server.key)
    # Duplicates in any typed form count once, as the server counts them.
    _fill(tab, "rival-one.com\nhttps://WWW.Rival-One.com/x, rival-two.com", "100")
    expect(cost).to_contain_text("This run will cost 7 credits")  # ceil(2 × 100 / 30)
    expect(cost).to_contain_text("2 competitors × limit 100 ÷ 30")
    for limit, k in (("31", 2), ("10", 2), ("450", 2)):
        _fill(tab, "rival-one.com, rival-two.com", limit)
        want = max(1, math.ceil(k * int(limit) / DIVISOR))
        expect(cost).to_contain_text(f"This run will cost {want} credit")
    _fill(tab, ", ".join(COMPETITORS), "100")
    expect(cost).to_contain_text("This run will cost 10 credits")
    before = tab.page.locator("#credits .credits-number").inner_text()
    tab.page.get_by_role("button", name="Find prospects").click()
    expect(tab.page.locator("#run-status")).to_contain_text("10 credits charged")
    tab.wait_completed()
    after = tab.page.locator("#credits .credits-number").inner_text()
    assert int(before.replace(",", "")) - int(after.replace(",", "")) == 10
    assert tab.unexpected_errors() == []


def test_a_run_the_balance_cannot_pay_is_flagged_before_it_starts(tab: Tab,
                                                                  server: Server) -> None:
    tab.use_key(server.poor_key)  # 12 credits
    _fill(tab, ", ".join(COMPETITORS), "200")
    cost = tab.page.locator("#run-cost")
    expect(cost).to_contain_text("This run will cost 20 credits")
    expect(cost).to_contain_text("That is not enough")
    expect(cost).to_have_class(re.compile(r"\bshort\b"))


def test_score_and_rank_are_explained_where_they_are_shown(tab: Tab, server: Server) -> None:
    tab.use_key(server.key)
    tab.start_run(TARGET, ", ".join(COMPETITORS))
    tab.wait_completed()
    p = tab.page
    for column, words in (("score", "opportunity"), ("rank", "1 is the strongest")):
        header = p.locator(f"th[data-sort={column}]")
        assert words in (header.get_attribute("title") or "")
        legend = p.locator(f"#{header.get_attribute('aria-describedby')}")
        expect(legend).to_be_visible()
        expect(legend).to_contain_text(column.capitalize())
    expect(p.locator("#legend")).to_contain_text("How good an opportunity")
    expect(p.locator("#legend")).to_contain_text("1 is the strongest")


def test_one_name_for_one_thing(tab: Tab, server: Server) -> None:
    tab.use_key(server.key)
    tab.start_run(TARGET, ", ".join(COMPETITORS))
    tab.wait_completed()
    p = tab.page
    headers = [re.sub(r"[▲▼]", "", t).strip()
               for t in p.locator("#prospects thead th").all_inner_texts()]
    labels = [t.strip() for t in p.locator("label").all_inner_texts()]
    sorts = [t.strip() for t in p.locator("#f-sort option").all_inner_texts()]
    # The metric the column calls "Domain rating" is "domain rating" in the filter and the
    # sort too, and so for the spam score and the overlap.
    for name in ("Domain rating", "Spam score", "Overlap"):
        assert name in headers
        assert name.lower() in sorts
    assert "Minimum domain rating" in labels and "Maximum spam score" in labels
    assert "Minimum overlap" in labels
    assert not [t for t in headers + labels + sorts if "authority" in t.lower()]


def test_a_misspelt_competitor_is_explained_in_the_pages_words(tab: Tab,
                                                              server: Server) -> None:
    tab.use_key(server.key)
    before = tab.page.locator("#credits .credits-number").inner_text()
    tab.start_run(TARGET, "rival-one.com, rivl-two.com", min_overlap="2")
    error = tab.page.locator("#run-form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The competitor rivl-two.com is not in the backlink index")
    expect(error).to_contain_text("Check the spelling")
    expect(error).to_contain_text("no credits were charged")
    assert "min_overlap" not in error.inner_text()
    assert tab.page.locator("#credits .credits-number").inner_text() == before
    # Any other server sentence naming a parameter is put in the page's words.
    words = tab.page.evaluate(
        "linkgapInWords('min_overlap must be between 1 and the number of distinct "
        "competitors (2); max_spam too')")
    assert words == ("“Minimum overlap” must be between 1 and the number of distinct "
                     "competitors (2); “Maximum spam score” too")
    assert tab.unexpected_errors(allowed_statuses=[422]) == []


def test_intersect_with_a_wrong_min_overlap_never_says_min_overlap(tab: Tab,
                                                                  server: Server) -> None:
    tab.use_key(server.key)
    # The page disables the field in intersect mode, so send the request the way a stale
    # form could: union with an impossible overlap.
    tab.start_run(TARGET, "rival-one.com, rival-two.com", min_overlap="5")
    error = tab.page.locator("#run-form-error")
    expect(error).to_contain_text("Please check “Minimum overlap”")
    assert "min_overlap" not in error.inner_text()
    assert tab.unexpected_errors(allowed_statuses=[422]) == []
