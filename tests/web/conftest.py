"""Fixtures for the web page tests: a real ``linkgap serve`` over a small real index, and Chromium.

The server runs as a subprocess on a free port with its own ``LINKGAP_HOME``;
the index is built from a list of links by the index builder, and the accounts
and keys are made with the ``linkgap accounts`` / ``linkgap keys`` commands, so
the page is tested against exactly what a user would run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web.webpage_server import Server, linkgap_cli, links_rows, serve_env, serving

from linkgap.index.build import build_from_links

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
    home = tmp_path_factory.mktemp("linkgap-home")
    env = serve_env(home)
    # The index is built in-process (the same code `linkgap index build` runs).
    build_from_links(home / "index", [(r["source_url"], r["target_url"], r["rel"])
                                      for r in links_rows()])
    linkgap_cli(env, "accounts", "create", "web", "--credits", "1000")
    linkgap_cli(env, "accounts", "create", "poor", "--credits", "12")
    key = linkgap_cli(env, "keys", "create", "--account", "web").strip()
    poor_key = linkgap_cli(env, "keys", "create", "--account", "poor").strip()
    with serving(home) as url:
        yield Server(url=url, key=key, poor_key=poor_key, home=home)


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
