"""Fixtures for the web page tests: a real ``linkgap serve`` over a small real index, and Chromium.

The server runs as a subprocess on a free port with its own ``LINKGAP_HOME``;
the index is built from a list of links by the index builder, and the accounts
and keys are made with the ``linkgap accounts`` / ``linkgap keys`` commands, so
the page is tested against exactly what a user would run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web.webpage_server import Server, serving_test_web

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``linkgap serve`` over the test web, with two accounts and their keys."""
    with serving_test_web(tmp_path_factory.mktemp("linkgap-home")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
