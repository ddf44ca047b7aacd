"""The web page in a real browser against a real ``linkgap serve``: run, browse, filter, export."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from web.webpage_helpers import Tab, all_prospects, dr_band, number
from web.webpage_server import COMPETITORS, TARGET, Server

from linkgap.domains import to_unicode

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_id(server: Server) -> str:
    """A completed run made through the API, for the browsing tests to reopen."""
    with server.client() as client:
        res = client.post("/v1/backlinks/gap", json={
            "domain": TARGET, "competitors": list(COMPETITORS), "limit": 100})
        assert res.status_code == 202, res.text
        rid = str(res.json()["data"]["id"])
        for _ in range(600):
            status = client.get(f"/v1/backlinks/gap/{rid}").json()["data"]["status"]
            if status in ("completed", "failed"):
                break
            time.sleep(0.1)
        assert status == "completed"
        return rid


@pytest.fixture(scope="module")
def truth(server: Server, run_id: str) -> list[dict[str, Any]]:
    """Every prospect of the reopened run, as the JSON API gives it."""
    with server.client() as client:
        return all_prospects(client, run_id)


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh tab on the page; after the test, nothing it asked for left the server."""
    t = Tab.open(browser, server.url)
    yield t
    t.close()
    assert t.foreign_requests() == []


def open_run(tab: Tab, server: Server, run_id: str) -> None:
    """Paste the key and reopen the run from the list of previous runs."""
    tab.use_key(server.key)
    tab.page.locator(f'.run-open[data-run="{run_id}"]').click()
    tab.wait_completed()


def test_paste_key_start_run_and_see_prospects(tab: Tab, server: Server) -> None:
    p = tab.page
    expect(p).to_have_title("linkgap — link prospects")
    tab.use_key(server.key)
    # The key lives in session storage only.
    assert p.evaluate("sessionStorage.getItem('linkgap.apiKey')") == server.key
    assert p.evaluate("localStorage.length") == 0
    assert p.evaluate("document.cookie") == ""
    expect(p.locator("#credits")).to_contain_text("credits available")

    tab.start_run("MySite.com", "rival-one.com\nrival-two.com, rival-three.com")
    # 3 competitors x limit 100 / 30 = 10 credits.
    expect(p.locator("#run-status")).to_contain_text("10 credits charged")
    tab.wait_completed()
    expect(p.locator("#run-title")).to_have_text("Prospects for mysite.com")
    facts = p.locator("#run-facts").inner_text()
    assert "rival-one.com, rival-two.com, rival-three.com" in facts

    rows = tab.table()
    run_id = p.evaluate("location.hash").split("=", 1)[1]
    with server.client() as client:
        truth = all_prospects(client, run_id)
    assert len(truth) == 38  # 36 ASCII prospects and 2 Unicode ones: one page of 50
    expect(p.locator("#page-info")).to_have_text(f"Page 1 of 1 · {len(truth)} prospects")
    assert [r["Domain"].split("\n")[0] for r in rows] == [to_unicode(t["domain"]) for t in truth]
    first = rows[0]
    assert number(first["Domain rating"]) == truth[0]["domain_rating"]
    assert number(first["Backlinks"]) == truth[0]["backlinks"]
    assert number(first["Score"]) == truth[0]["score"]
    assert first["Dofollow"] == ("yes" if truth[0]["dofollow"] else "no")

    # Unicode domains are shown decoded, with the canonical form underneath.
    idn = p.locator("#prospects-body td.domain", has_text="bücher.de")
    expect(idn).to_contain_text("xn--bcher-kva.de")

    # The new run heads the list of previous runs, and a reload reopens it.
    expect(p.locator(".run-open").first).to_have_attribute("data-run", run_id)
    p.reload()
    tab.wait_completed()
    expect(p.locator("#run-title")).to_have_text("Prospects for mysite.com")

    # Forgetting the key clears it from the tab.
    p.get_by_role("button", name="Forget the key").click()
    assert p.evaluate("sessionStorage.getItem('linkgap.apiKey')") is None
    expect(p.get_by_label("API key", exact=True)).to_have_value("")
    expect(p.locator("#prospects-panel")).to_be_hidden()
    assert tab.unexpected_errors() == []


def test_every_control_has_a_visible_label(tab: Tab) -> None:
    names = ["API key", "Your domain", "Competitors", "Mode", "Minimum overlap", "Limit",
             "Minimum domain rating", "Maximum spam score", "Dofollow", "Competitor", "Search",
             "Sort by", "Order", "Per page"]
    p = tab.page
    p.locator("#prospects-panel").evaluate("el => el.hidden = false")
    for name in names:
        control = p.get_by_label(name, exact=True)
        expect(control).to_have_count(1)
        label = p.locator(f'label[for="{control.get_attribute("id")}"]')
        expect(label).to_be_visible()
        expect(label).to_have_text(name)


def test_filters_match_the_api(tab: Tab, server: Server, run_id: str,
                               truth: list[dict[str, Any]]) -> None:
    open_run(tab, server, run_id)
    p = tab.page
    info = p.locator("#page-info")

    def shown_total() -> int:
        return number(info.inner_text().split("·")[1].split()[0])

    # Minimum domain rating: pick a value in the middle of the prospects' ratings.
    ratings = sorted(t["domain_rating"] for t in truth)
    floor = ratings[len(ratings) // 2]
    expected = [t for t in truth if t["domain_rating"] >= floor]
    assert 0 < len(expected) < len(truth)
    p.get_by_label("Minimum domain rating", exact=True).fill(str(floor))
    expect(info).to_contain_text(f"· {len(expected)} prospect")
    assert all(number(r["Domain rating"]) >= floor for r in tab.table())
    p.get_by_label("Minimum domain rating", exact=True).fill("")
    expect(info).to_contain_text(f"· {len(truth)} prospects")

    # Maximum spam.
    spams = sorted(t["spam_score"] for t in truth)
    ceiling = spams[len(spams) // 2]
    expected = [t for t in truth if t["spam_score"] <= ceiling]
    p.get_by_label("Maximum spam score", exact=True).fill(str(ceiling))
    expect(info).to_contain_text(f"· {len(expected)} prospect")
    assert all(number(r["Spam score"]) <= ceiling for r in tab.table())
    p.get_by_label("Maximum spam score", exact=True).fill("")

    # Dofollow yes / no.
    p.get_by_label("Dofollow", exact=True).select_option(label="no")
    nofollow = [t for t in truth if not t["dofollow"]]
    assert nofollow
    expect(info).to_contain_text(f"· {len(nofollow)} prospect")
    assert {r["Dofollow"] for r in tab.table()} == {"no"}
    p.get_by_label("Dofollow", exact=True).select_option(label="yes")
    expect(info).to_contain_text(f"· {len(truth) - len(nofollow)} prospect")

    # Competitor (choices are the run's competitors); with dofollow it is per competitor.
    options = p.get_by_label("Competitor", exact=True).locator("option").all_inner_texts()
    assert options == ["any", *COMPETITORS]
    p.get_by_label("Competitor", exact=True).select_option(label="rival-two.com")
    with server.client() as client:
        both = all_prospects(client, run_id, competitor="rival-two.com", dofollow="true")
    expect(info).to_contain_text(f"· {len(both)} prospect")
    p.get_by_label("Dofollow", exact=True).select_option(label="any")
    linking = [t for t in truth if "rival-two.com" in t["competitors"]]
    assert len(linking) > len(both)
    expect(info).to_contain_text(f"· {len(linking)} prospect")
    assert all("rival-two.com" in r["Links to"] for r in tab.table())

    # Search, in the Unicode form a person types.
    p.get_by_label("Competitor", exact=True).select_option(label="any")
    p.get_by_label("Search", exact=True).fill("garden")
    gardens = [t for t in truth if "garden" in t["domain"]]
    expect(info).to_contain_text(f"· {len(gardens)} prospect")
    assert sorted(r["Domain"] for r in tab.table()) == sorted(t["domain"] for t in gardens)
    p.get_by_label("Search", exact=True).fill("straße")
    expect(info).to_have_text("Page 1 of 1 · 1 prospect")
    assert tab.table()[0]["Domain"].startswith("straße.de")

    # The charts follow the filters.
    expect(p.locator("#chart-dr figcaption")).to_contain_text("(1 prospect)")
    p.get_by_label("Search", exact=True).fill("no-such-domain")
    expect(info).to_have_text("No prospects")
    expect(p.locator("#no-prospects")).to_have_text("No prospects match these filters.")
    p.get_by_role("button", name="Clear filters").click()
    expect(info).to_contain_text(f"· {len(truth)} prospects")
    assert shown_total() == len(truth)
    assert tab.unexpected_errors() == []


def test_sort_and_pages(tab: Tab, server: Server, run_id: str,
                        truth: list[dict[str, Any]]) -> None:
    open_run(tab, server, run_id)
    p = tab.page
    info = p.locator("#page-info")
    p.get_by_label("Per page", exact=True).select_option("10")
    pages = -(-len(truth) // 10)
    expect(info).to_have_text(f"Page 1 of {pages} · {len(truth)} prospects")
    expect(p.get_by_role("button", name="Previous page")).to_be_disabled()
    assert [r["Domain"].split("\n")[0] for r in tab.table()] == \
        [to_unicode(t["domain"]) for t in truth[:10]]

    p.get_by_role("button", name="Next page").click()
    expect(info).to_have_text(f"Page 2 of {pages} · {len(truth)} prospects")
    assert [r["Domain"].split("\n")[0] for r in tab.table()] == \
        [to_unicode(t["domain"]) for t in truth[10:20]]
    for _ in range(pages - 2):
        p.get_by_role("button", name="Next page").click()
    expect(info).to_have_text(f"Page {pages} of {pages} · {len(truth)} prospects")
    expect(p.get_by_role("button", name="Next page")).to_be_disabled()
    p.get_by_role("button", name="Previous page").click()
    expect(info).to_have_text(f"Page {pages - 1} of {pages} · {len(truth)} prospects")

    # A column header sorts (descending first, then ascending) and goes back to page 1.
    header = p.locator("th[data-sort=domain_rating]")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(p.get_by_label("Sort by", exact=True)).to_have_value("domain_rating")
    expect(info).to_have_text(f"Page 1 of {pages} · {len(truth)} prospects")
    with server.client() as client:
        want = all_prospects(client, run_id, sort="domain_rating", order="desc")[:10]
    assert [r["Domain"].split("\n")[0] for r in tab.table()] == \
        [to_unicode(t["domain"]) for t in want]
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(p.get_by_label("Order", exact=True)).to_have_value("asc")
    with server.client() as client:
        want = all_prospects(client, run_id, sort="domain_rating", order="asc")[:10]
    expect(p.locator("#prospects-body tr").first.locator("td").first).to_contain_text(
        to_unicode(want[0]["domain"]))
    assert [r["Domain"].split("\n")[0] for r in tab.table()] == \
        [to_unicode(t["domain"]) for t in want]

    # Every sort key of the API is offered, and each one orders the table as the API does.
    keys = p.get_by_label("Sort by", exact=True).locator("option").evaluate_all(
        "opts => opts.map(o => o.value)")
    assert sorted(keys) == sorted(["score", "rank", "backlinks", "referring_domains",
                                   "domain_rating", "competitor_overlap", "spam_score"])
    p.get_by_label("Sort by", exact=True).select_option("rank")
    p.get_by_label("Order", exact=True).select_option("desc")
    with server.client() as client:
        want = all_prospects(client, run_id, sort="rank", order="desc")[:10]
    expect(p.locator("th[data-sort=rank]")).to_have_attribute("aria-sort", "descending")
    expect(p.locator("#prospects-body tr").first.locator("td").first).to_contain_text(
        to_unicode(want[0]["domain"]))
    ranks = [number(r["Rank"]) for r in tab.table()]
    assert ranks == sorted(ranks)  # rank desc = strongest (rank 1) first
    assert tab.unexpected_errors() == []


def test_csv_export_downloads_the_filtered_rows(tab: Tab, server: Server, run_id: str) -> None:
    open_run(tab, server, run_id)
    p = tab.page
    p.get_by_label("Competitor", exact=True).select_option(label="rival-three.com")
    p.get_by_label("Sort by", exact=True).select_option("backlinks")
    with server.client() as client:
        expected = client.get(f"/v1/backlinks/gap/{run_id}/prospects", params={
            "competitor": "rival-three.com", "sort": "backlinks", "order": "desc",
            "format": "csv"})
        assert expected.status_code == 200
        rows = all_prospects(client, run_id, competitor="rival-three.com")
    expect(p.locator("#page-info")).to_contain_text(f"· {len(rows)} prospect")
    with p.expect_download() as download_info:
        p.get_by_role("button", name="Export CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_bytes().decode("utf-8")
    assert content == expected.text
    table = list(csv.DictReader(io.StringIO(content)))
    assert len(table) == len(rows) > 0
    assert all("rival-three.com" in r["competitors"].split(";") for r in table)
    backlinks = [int(r["backlinks"]) for r in table]
    assert backlinks == sorted(backlinks, reverse=True)
    assert tab.unexpected_errors() == []


def test_csv_export_with_links_has_a_row_per_sample_link(tab: Tab, server: Server,
                                                         run_id: str) -> None:
    open_run(tab, server, run_id)
    p = tab.page
    p.get_by_label("Competitor", exact=True).select_option(label="rival-three.com")
    with server.client() as client:
        expected = client.get(f"/v1/backlinks/gap/{run_id}/prospects", params={
            "competitor": "rival-three.com", "sort": "score", "order": "desc",
            "format": "csv", "include": "links"})
        assert expected.status_code == 200
        plain = client.get(f"/v1/backlinks/gap/{run_id}/prospects", params={
            "competitor": "rival-three.com", "format": "csv"})
    expect(p.locator("#page-info")).to_contain_text("prospect")
    with p.expect_download() as download_info:
        p.get_by_role("button", name="Export CSV with links").click()
    content = Path(download_info.value.path()).read_bytes().decode("utf-8")
    assert content == expected.text
    table = list(csv.DictReader(io.StringIO(content)))
    assert "source_url" in table[0] and len(table) >= len(plain.text.splitlines()) - 1
    assert all("rival-three.com" in r["competitors"].split(";") for r in table)
    expect(p.get_by_role("button", name="Export CSV with links")).to_be_enabled()
    assert tab.unexpected_errors() == []


def test_charts_show_the_summary_counts(tab: Tab, server: Server, run_id: str,
                                        truth: list[dict[str, Any]]) -> None:
    open_run(tab, server, run_id)
    p = tab.page
    dr = p.locator("#chart-dr svg")
    expect(dr).to_have_attribute("role", "img")
    assert "domain rating" in (dr.locator("title").first.text_content() or "")
    assert dr.locator("desc").count() == 1

    bands = Counter(dr_band(t["domain_rating"]) for t in truth)
    drawn = tab.chart_counts("chart-dr")
    assert list(drawn) == [dr_band(b * 10) for b in range(10)]
    assert drawn == {label: bands.get(label, 0) for label in drawn}

    overlap = Counter(str(t["competitor_overlap"]) for t in truth)
    drawn = tab.chart_counts("chart-overlap")
    assert drawn == {"1": overlap["1"], "2": overlap["2"], "3": overlap["3"]}
    assert sum(drawn.values()) == len(truth)
    dofollow = sum(1 for t in truth if t["dofollow"])
    expect(p.locator("#dofollow-split")).to_contain_text(f"{dofollow} prospects have a dofollow")

    # With a filter, the charts count only the matching prospects.
    p.get_by_label("Competitor", exact=True).select_option(label="rival-three.com")
    subset = [t for t in truth if "rival-three.com" in t["competitors"]]
    expect(p.locator("#chart-overlap figcaption")).to_contain_text(f"({len(subset)} prospects)")
    drawn = tab.chart_counts("chart-overlap")
    assert drawn == {k: Counter(str(t["competitor_overlap"]) for t in subset).get(k, 0)
                     for k in ("1", "2", "3")}
    assert tab.unexpected_errors() == []


def test_fits_a_laptop_screen(browser: Browser, server: Server, run_id: str) -> None:
    tab = Tab.open(browser, server.url)
    try:
        p = tab.page
        p.set_viewport_size({"width": 1366, "height": 768})
        expect(p.get_by_role("button", name="Find prospects")).to_be_in_viewport()
        open_run(tab, server, run_id)
        p.get_by_label("Per page", exact=True).select_option("100")
        expect(p.locator("#prospects-body tr")).to_have_count(38)
        # Nothing scrolls sideways: not the page, and not the prospects table.
        assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert p.evaluate("(() => { const w = document.querySelector('.table-wrap');"
                          " return w.scrollWidth <= w.clientWidth; })()")
        assert tab.unexpected_errors() == []
    finally:
        tab.close()
