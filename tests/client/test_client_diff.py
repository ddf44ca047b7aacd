"""linkgap.Client.diff / diff_page / diff_csv against the real app in-process."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linkgap import client as lc
from linkgap.api import create_app
from linkgap.client import Client
from linkgap.index.build import build_from_links
from linkgap.service import LinkgapService
from linkgap.settings import Settings

TARGET = "mysite.example"


def links(version: int) -> list[tuple[str, str]]:
    """p00…p29 link to a.example; version 2 drops p00-p04 and adds n00-n09 (to b too)."""
    out = [(f"https://p{i:02d}.example/", "https://a.example/") for i in range(30)
           if version == 1 or i >= 5]
    if version == 2:
        out += [(f"https://n{i:02d}.example/", f"https://{c}.example/")
                for i in range(10) for c in "ab"]
        out += [("https://p10.example/", "https://b.example/")]
    out.append(("https://p29.example/", f"https://{TARGET}/"))
    return out


@pytest.fixture
def runs(tmp_path: Path, asgi_http: Any) -> Iterator[tuple[LinkgapService, Client, str, str]]:
    index = tmp_path / "index"
    build_from_links(index, links(1))
    settings = Settings({"home": tmp_path, "index": index}, environ={})
    service = LinkgapService(settings)
    service.create_account("acme", credits=1000)
    key, _ = service.create_key("acme")
    client = Client("http://testserver", key, http_client=asgi_http(create_app(service,
                                                                               settings)),
                    sleep=lambda s: None)
    ids = []
    for version in (1, 2):
        if version == 2:
            build_from_links(index, links(2))
        run = client.create_run(TARGET, ["a.example", "b.example"])
        while service.run_pending_once():
            pass
        ids.append(client.wait(run["id"], timeout=30)["id"])
    yield service, client, ids[1], ids[0]
    service.close()


def test_diff_iterates_every_entry_in_order(runs: Any) -> None:
    _, client, new, old = runs
    entries = list(client.diff(new, old, per_page=3))
    kinds = {e["domain"]: e["kind"] for e in entries}
    assert {d for d, k in kinds.items() if k == "added"} == {f"n{i:02d}.example"
                                                              for i in range(10)}
    assert {d for d, k in kinds.items() if k == "removed"} == {f"p{i:02d}.example"
                                                                for i in range(5)}
    p10 = next(e for e in entries if e["domain"] == "p10.example")
    assert p10["kind"] == "changed"
    assert p10["changes"]["competitors"] == {"old": ["a.example"],
                                             "new": ["a.example", "b.example"]}
    page = client.diff_page(new, old, kind="removed", per_page=2)
    assert page.total == 5 and page.total_pages == 3 and len(page.data) == 2
    assert page.meta["counts"]["added"] == 10
    assert list(client.diff(new, old, kind="added", q="n0")) == [
        e for e in entries if e["kind"] == "added"]
    table = list(csv.DictReader(io.StringIO(client.diff_csv(new, old))))
    assert [r["domain"] for r in table] == [e["domain"] for e in entries]


def test_diff_errors_are_typed(runs: Any) -> None:
    _, client, new, old = runs
    with pytest.raises(lc.NotFound):
        client.diff_page(new, "run_nothing")
    other = client.create_run("p05.example", ["a.example"])
    with pytest.raises(lc.InvalidParameter) as err:
        client.diff_page(new, other["id"])
    assert err.value.param == "against"
    queued = client.create_run(TARGET, ["a.example"])
    with pytest.raises(lc.RunNotCompleted):
        client.diff_page(queued["id"], old)
