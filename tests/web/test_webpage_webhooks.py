"""The page's webhooks: the run form's Notify URL, refused URLs shown by the field, and the
delivery status of a run, reached by a real delivery to a receiver on a loopback port."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Route, expect
from support.receiver import receiver
from web.webpage_helpers import Tab
from web.webpage_server import COMPETITORS, TARGET, Server, serving_test_web

pytestmark = pytest.mark.slow

RUN_URL = re.compile(r"/v1/backlinks/gap/run_[A-Za-z0-9_-]+$")
#: The receiver is on 127.0.0.1 over http, which a server refuses unless told otherwise;
#: the first attempt fails (500) and the retry, RETRY_BASE_S later, is acknowledged.
RETRY_BASE_S = 10  # long enough for the page to see the failed first attempt, even when busy
WEBHOOK_ENV = {"LINKGAP_WEBHOOK_ALLOW_PRIVATE": "true", "LINKGAP_WEBHOOK_ALLOW_HTTP": "true",
               "LINKGAP_WEBHOOK_RETRY_BASE": str(RETRY_BASE_S), "LINKGAP_WEBHOOK_TIMEOUT": "5"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The test web's server, allowed to deliver to a receiver on this machine."""
    with serving_test_web(tmp_path_factory.mktemp("linkgap-home"), WEBHOOK_ENV) as running:
        yield running


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab on the page; after the test, nothing it asked for left the server."""
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def notify_field(tab: Tab) -> Locator:
    """The Notify URL field, its disclosure opened as a user would."""
    tab.page.get_by_text("Notify a URL when the run ends (webhook)").click()
    field = tab.page.get_by_label("Notify URL (webhook)", exact=True)
    expect(field).to_be_visible()
    return field


def run_count(server: Server) -> int:
    with server.client() as client:
        return int(client.get("/v1/backlinks/gap").json()["meta"]["total"])


def test_a_run_with_a_notify_url_shows_its_delivery_until_delivered(
        tab: Tab, server: Server) -> None:
    p = tab.page
    hook = p.locator("#run-webhook")
    with receiver([500, 204]) as r:
        tab.use_key(server.key)
        notify_field(tab).fill(r.url)
        tab.start_run(TARGET, ", ".join(COMPETITORS))
        tab.wait_completed()
        # The first attempt failed: the page says so, with the receiver's answer, and waits.
        expect(hook).to_contain_text("Webhook: pending after 1 attempt.", timeout=30_000)
        expect(hook).to_contain_text("Last error: the receiver answered 500")
        expect(hook).to_contain_text("Next attempt:")
        # The page keeps looking after the run has ended, until the retry is acknowledged.
        expect(hook).to_have_text("Webhook: delivered after 2 attempts.", timeout=60_000)
        got = r.wait_for(2)
    run_id = p.evaluate("location.hash").removeprefix("#run=")
    delivered = json.loads(got[-1].body)
    assert delivered["id"] == run_id and delivered["status"] == "completed"
    assert delivered["callback_url"] == r.url
    # The prospects stayed on the page while the delivery line was refreshed.
    expect(p.locator("#prospects-panel")).to_be_visible()
    assert len(tab.table()) > 0
    assert tab.unexpected_errors() == []


def test_a_run_without_a_notify_url_shows_no_webhook_line(tab: Tab, server: Server) -> None:
    p = tab.page
    sent: list[dict[str, object]] = []
    p.on("request", lambda req: sent.append(json.loads(req.post_data or "{}"))
         if req.method == "POST" and req.url.endswith("/v1/backlinks/gap") else None)
    tab.use_key(server.key)
    notify_field(tab).fill("   ")
    tab.start_run(TARGET, COMPETITORS[0])
    tab.wait_completed()
    expect(p.locator("#run-webhook")).to_be_hidden()
    assert len(sent) == 1 and "callback_url" not in sent[0]  # blank means not sent at all
    assert tab.unexpected_errors() == []


def test_a_failed_delivery_shows_the_receivers_error_as_text(tab: Tab, server: Server) -> None:
    p = tab.page
    error = '<img src=x onerror="document.title=\'owned\'">the receiver answered 502'

    def failed_delivery(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["data"]["webhook"] = {"status": "failed", "attempts": 31, "last_error": error,
                                   "next_attempt_at": None}
        route.fulfill(response=response, body=json.dumps(body))

    p.route(RUN_URL, failed_delivery)
    tab.use_key(server.key)
    tab.start_run(TARGET, COMPETITORS[0])
    tab.wait_completed()
    hook = p.locator("#run-webhook")
    expect(hook).to_have_text("Webhook: failed (given up 24 hours after the first attempt) "
                              f"after 31 attempts. Last error: {error}.")
    assert hook.locator("img").count() == 0
    assert p.title() != "owned"
    assert tab.unexpected_errors() == []


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://hooks.example.com/linkgap", "http"),
    ("https://user:secret@hooks.example.com/linkgap", "user name or password"),
])
def test_a_refused_notify_url_is_shown_by_the_field_and_starts_nothing(
        tab: Tab, server: Server, url: str, why: str) -> None:
    p = tab.page
    tab.use_key(server.key)
    before = run_count(server)
    field = notify_field(tab)
    field.fill(url)
    # Closed again, the disclosure opens by itself to show the refused field.
    p.get_by_text("Notify a URL when the run ends (webhook)").click()
    expect(field).to_be_hidden()
    tab.start_run(TARGET, COMPETITORS[0])
    error = p.locator("#run-form-error")
    expect(error).to_contain_text("Please check “Notify URL (webhook)”")
    expect(error).to_contain_text(why)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(p.locator("#run-panel")).to_be_hidden()
    assert run_count(server) == before
    # Emptying the field starts the run, and clears the mark.
    field.fill("")
    tab.start_run(TARGET, COMPETITORS[0])
    tab.wait_completed()
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(error).to_be_hidden()
    assert run_count(server) == before + 1
    assert tab.unexpected_errors(allowed_statuses=[422]) == []
