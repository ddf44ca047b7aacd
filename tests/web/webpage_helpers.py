"""Helpers shared by the web page tests: a browser tab that records what it does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, Page, expect


@dataclass
class Tab:
    """A page of a fresh browser context, recording requests and console errors."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, origin: str, *, path: str = "/") -> Tab:
        """A new context (fresh storage) at the laptop size the page is designed for."""
        context = browser.new_context(viewport={"width": 1366, "height": 900},
                                      accept_downloads=True)
        page = context.new_page()
        tab = cls(page=page, origin=origin)
        page.on("request", lambda r: tab.requests.append(r.url))
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: tab.errors.append(f"uncaught: {e}"))
        page.goto(origin + path)
        return tab

    def close(self) -> None:
        """Close the tab's browser context."""
        self.page.context.close()

    def use_key(self, key: str, *, expect_ok: bool = True) -> None:
        """Paste an API key and submit it, as a user would."""
        self.page.get_by_label("API key", exact=True).fill(key)
        self.page.get_by_role("button", name="Use this key").click()
        if expect_ok:
            expect(self.page.locator("#key-status")).to_contain_text("Key accepted")

    def start_run(self, domain: str, competitors: str, *, mode: str = "union",
                  min_overlap: str = "", limit: str = "100") -> None:
        """Fill the run form and press the start button."""
        p = self.page
        p.get_by_label("Your domain", exact=True).fill(domain)
        p.get_by_label("Competitors", exact=True).fill(competitors)
        p.get_by_label("Mode", exact=True).select_option(mode)
        if mode == "union":
            p.get_by_label("Minimum overlap", exact=True).fill(min_overlap)
        p.get_by_label("Limit", exact=True).fill(limit)
        p.get_by_role("button", name="Find prospects").click()

    def wait_completed(self) -> None:
        """Wait until the open run is completed and its first page of prospects is shown."""
        expect(self.page.locator("#run-badge")).to_have_text("completed", timeout=60_000)
        expect(self.page.locator("#page-info")).to_contain_text("prospect")

    def table(self) -> list[dict[str, str]]:
        """The prospects table as rows of {column header: cell text}."""
        headers = [t.strip() for t in self.page.locator("#prospects thead th").all_inner_texts()]
        headers = [re.sub(r"[▲▼]", "", h).strip() for h in headers]
        rows = []
        for tr in self.page.locator("#prospects-body tr").all():
            cells = tr.locator("td").all_inner_texts()
            rows.append(dict(zip(headers, cells, strict=True)))
        return rows

    def chart_counts(self, chart_id: str) -> dict[str, int]:
        """The bars of a chart as {label: count}, read from the drawn SVG."""
        bars = self.page.locator(f"#{chart_id} svg g.bar")
        out = {}
        for i in range(bars.count()):
            bar = bars.nth(i)
            label = bar.locator("text.label").text_content() or ""
            count = bar.locator("text.count").text_content() or ""
            assert bar.get_attribute("data-count") == count.replace(",", "")
            out[label] = int(count.replace(",", ""))
        return out

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but the server (inline data: and blob: URLs are local)."""
        return [u for u in self.requests
                if not u.startswith(self.origin + "/") and not u.startswith(("data:", "blob:"))]

    def unexpected_errors(self, allowed_statuses: Iterable[int] = ()) -> list[str]:
        """Console errors, except the browser's own note about an expected HTTP error status."""
        allowed = tuple(f"status of {s} " for s in allowed_statuses)
        return [e for e in self.errors if not any(a in e for a in allowed)]


def number(text: str) -> int:
    """A formatted number from the table ("18,400") as an int."""
    return int(text.replace(",", "").replace("\u202f", "").strip())


def dr_band(dr: int) -> str:
    """The chart label of a domain rating's band."""
    low = min(dr // 10, 9) * 10
    return f"{low}-{100 if low == 90 else low + 9}"


def all_prospects(client: Any, run_id: str, **filters: Any) -> list[dict[str, Any]]:
    """Every prospect of a run through the JSON API (the ground truth the page must show)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        res = client.get(f"/v1/backlinks/gap/{run_id}/prospects",
                         params={**filters, "per_page": 100, "page": page})
        assert res.status_code == 200, res.text
        body = res.json()
        rows.extend(body["data"])
        if page >= body["meta"]["total_pages"]:
            return rows
        page += 1
