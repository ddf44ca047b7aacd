"""The web page explains failures in words: bad key, no credits, bad input, no network."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect
from support.vectors import domain_vectors
from web.webpage_helpers import Tab
from web.webpage_server import Server

from linkgap.domains import to_unicode

pytestmark = pytest.mark.slow

@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab on the page; after the test, nothing it asked for left the server."""
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def error_body(code: str, message: str, **extra: object) -> str:
    """A body in the API's one error shape."""
    return json.dumps({"error": {"code": code, "message": message, **extra},
                       "meta": {"request_id": "req_test"}})


def test_unknown_key_is_explained_and_not_kept(tab: Tab) -> None:
    tab.use_key("lgk_nothere_notasecret", expect_ok=False)
    expect(tab.page.locator("#key-status")).to_contain_text("API key was not recognised")
    assert tab.page.evaluate("sessionStorage.getItem('linkgap.apiKey')") is None
    assert tab.unexpected_errors(allowed_statuses=[401]) == []


def test_run_without_enough_credits_says_what_it_costs(tab: Tab, server: Server) -> None:
    tab.use_key(server.poor_key)
    expect(tab.page.locator("#credits")).to_contain_text("12 credits available")
    tab.start_run("mysite.com", "rival-one.com, rival-two.com, rival-three.com")
    tab.wait_completed()
    expect(tab.page.locator("#credits")).to_contain_text("2 credits available")
    tab.start_run("mysite.com", "rival-one.com, rival-two.com, rival-three.com")
    error = tab.page.locator("#run-form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Not enough credits")
    expect(error).to_contain_text("This run costs 10 credits and your account has 2 available")
    expect(error).to_contain_text("top-up is needed")
    assert tab.unexpected_errors(allowed_statuses=[402]) == []


def test_invalid_input_names_the_field(tab: Tab, server: Server) -> None:
    tab.use_key(server.key)
    tab.start_run("localhost", "rival-one.com")
    error = tab.page.locator("#run-form-error")
    expect(error).to_contain_text("Please check “Your domain”")
    domain = tab.page.get_by_label("Your domain", exact=True)
    expect(domain).to_have_attribute("aria-invalid", "true")

    tab.start_run("mysite.com", "rival-one.com\n192.168.0.1")
    expect(error).to_contain_text("Please check “Competitors” (“192.168.0.1”)")

    tab.start_run("mysite.com", "rival-one.com", limit="5")
    expect(error).to_contain_text("Please check “Limit”")
    assert tab.unexpected_errors(allowed_statuses=[422]) == []


def test_empty_form_is_caught_before_sending(tab: Tab, server: Server) -> None:
    tab.use_key(server.key)
    sent = len(tab.requests)
    tab.page.get_by_role("button", name="Find prospects").click()
    expect(tab.page.locator("#run-form-error")).to_have_text(
        "Enter your domain, for example mysite.com.")
    assert not [u for u in tab.requests[sent:] if "/v1/backlinks/gap" in u]


def test_rate_limit_and_missing_index_and_network_failure(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    error = p.locator("#run-form-error")

    def busy(route: Route) -> None:
        route.fulfill(status=429, headers={"Retry-After": "7", "Content-Type": "application/json"},
                      body=error_body("rate_limited", "rate limit exceeded, retry in 7 s"))

    p.route("**/v1/backlinks/gap", busy)
    tab.start_run("mysite.com", "rival-one.com")
    expect(error).to_contain_text("Please wait 7 seconds and try again")
    p.unroute("**/v1/backlinks/gap")

    def no_index(route: Route) -> None:
        route.fulfill(status=503, content_type="application/json",
                      body=error_body("index_unavailable", "no index has been published"))

    p.route("**/v1/backlinks/gap", no_index)
    tab.start_run("mysite.com", "rival-one.com")
    expect(error).to_contain_text("The server has no backlink index yet")
    p.unroute("**/v1/backlinks/gap")

    p.route("**/v1/backlinks/gap", lambda route: route.abort())
    tab.start_run("mysite.com", "rival-one.com")
    expect(error).to_contain_text("Could not reach the linkgap server")
    p.unroute("**/v1/backlinks/gap")
    assert [e for e in tab.unexpected_errors(allowed_statuses=[429, 503])
            if "ERR_FAILED" not in e] == []


def test_punycode_decoding_matches_linkgap(tab: Tab) -> None:
    names = ["xn--bcher-kva.de", "xn--strae-oqa.de", "xn--mnchen-3ya.de", "xn--fiqs8s.cn",
             "xn--80ak6aa92e.com", "xn--n3h.com", "sub.xn--caf-dma.fr", "plain.example.com"]
    names += [canonical for _, canonical in domain_vectors() if canonical != "-"]
    shown = tab.page.evaluate("names => names.map(window.linkgapPunycode.toUnicode)", names)
    assert shown == [to_unicode(n) for n in names]


def test_rejected_filter_and_unknown_run(tab: Tab, server: Server) -> None:
    p = tab.page
    tab.use_key(server.key)
    tab.start_run("mysite.com", "rival-one.com")
    tab.wait_completed()
    p.get_by_label("Minimum domain rating", exact=True).fill("150")
    error = p.locator("#prospects-error")
    expect(error).to_contain_text("Please check “Minimum domain rating”")
    expect(p.get_by_label("Minimum domain rating", exact=True)).to_have_attribute(
        "aria-invalid", "true")
    expect(p.locator("#chart-dr svg")).to_have_count(0)
    p.get_by_label("Minimum domain rating", exact=True).fill("10")
    expect(error).to_be_hidden()
    expect(p.locator("#chart-dr svg")).to_have_count(1)

    p.goto(server.url + "/#run=run_0000000000000000000000000")
    expect(p.locator("#runs-error")).to_have_text(
        "This run was not found. It may have been started with another account's key.")
    assert tab.unexpected_errors(allowed_statuses=[404, 422]) == []
