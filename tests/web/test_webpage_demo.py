"""The page over the demo's generated web, and the screenshot of it shown in docs/page.md.

Set ``LINKGAP_PAGE_SCREENSHOT=docs/page.png`` to refresh the picture in the docs;
otherwise the screenshot goes to the test's temporary folder only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab, number
from web.webpage_server import serving

from linkgap.demo import build_demo_index, demo_settings, ensure_demo_key
from linkgap.demo_web import DEMO_COMPETITORS, DEMO_TARGET
from linkgap.service import LinkgapService

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``linkgap serve`` over the demo index, and a key of the demo account."""
    home = tmp_path_factory.mktemp("linkgap-demo")
    settings = demo_settings(home)
    build_demo_index(settings)
    service = LinkgapService(settings)
    try:
        key = ensure_demo_key(service)
    finally:
        service.close()
    with serving(Path(settings.home)) as url:
        yield url, key


def test_demo_run_on_the_page(browser: Browser, demo: tuple[str, str], tmp_path: Path) -> None:
    url, key = demo
    tab = Tab.open(browser, url)
    try:
        p = tab.page
        tab.use_key(key)
        tab.start_run(DEMO_TARGET, "\n".join(DEMO_COMPETITORS), limit="300")
        tab.wait_completed()
        p.get_by_label("Per page", exact=True).select_option("25")
        expect(p.locator("#page-info")).to_contain_text("Page 1 of ")
        rows = tab.table()
        assert len(rows) == 25
        scores = [number(r["Score"]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        drawn = tab.chart_counts("chart-overlap")
        assert list(drawn) == ["1", "2", "3"]
        total = number(p.locator("#page-info").inner_text().split("·")[1].split()[0])
        assert sum(drawn.values()) == total

        p.evaluate("window.scrollTo(0, 0)")
        p.locator("#api-key").blur()
        shot = tmp_path / "page.png"
        p.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        target = os.environ.get("LINKGAP_PAGE_SCREENSHOT")
        if target:
            shutil.copyfile(shot, target)
        assert tab.unexpected_errors() == []
    finally:
        tab.close()
    assert tab.foreign_requests() == []
