"""/docs: the API reference renders every operation of /openapi.json offline."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab
from web.webpage_server import Server

pytestmark = pytest.mark.slow


def test_api_reference_lists_every_operation_without_leaving_the_server(
    browser: Browser, server: Server
) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    operations = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in ("get", "post", "put", "patch", "delete")
        if method in item
    ]
    assert "POST /v1/backlinks/gap" in operations
    tab = Tab.open(browser, server.url, path="/docs")
    try:
        toc = tab.page.get_by_role("navigation", name="Endpoints")
        expect(toc.get_by_role("link")).to_have_count(len(operations))
        for op in operations:
            expect(toc.get_by_role("link", name=op, exact=True)).to_be_visible()
        prospects = tab.page.locator("section.op", has_text="/prospects").first
        for name in ("min_authority", "max_spam", "dofollow", "competitor", "sort", "per_page"):
            expect(prospects.get_by_role("cell", name=name, exact=True)).to_be_visible()
        assert tab.errors == []
        assert tab.foreign_requests() == []
    finally:
        tab.close()
