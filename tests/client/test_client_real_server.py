"""linkgap.Client against a real ``linkgap serve`` subprocess on a free port.

The index is built by the index builder, the account and key are made with
the ``linkgap accounts`` / ``linkgap keys`` commands, and the server runs its
own worker: exactly what a user runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.indexes import build_test_index
from support.serving import run_linkgap, running_server

from linkgap import client as lc
from linkgap.client import Client

pytestmark = pytest.mark.slow

TARGET = "mysite.example"
COMPETITORS = ["a.example", "b.example", "c.example"]
N_SITES = 240


def _links() -> Iterator[tuple[str, str, str]]:
    for i in range(N_SITES):
        src = f"https://www.site{i:03d}.example/blog/{i}"
        for j, comp in enumerate(COMPETITORS):
            if (i >> j) & 1 or i % 7 == 0:
                yield (src, f"https://{comp}/", "nofollow" if i % 6 == 0 else "")
        if i % 10 == 0:
            yield (src, f"https://{TARGET}/", "")


def _expected() -> set[str]:
    out = set()
    for i in range(N_SITES):
        links_a_competitor = any((i >> j) & 1 for j in range(3)) or i % 7 == 0
        if links_a_competitor and i % 10 != 0:
            out.add(f"site{i:03d}.example")
    return out


@dataclass
class Served:
    url: str
    key: str


@contextmanager
def _start(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    if not (home / "index").exists():
        build_test_index(home / "index", _links())
        run_linkgap(home, "accounts", "create", "acme", "--credits", "500")
    key = run_linkgap(home, "keys", "create", "--account", "acme").strip()
    with running_server(home, extra_env) as server:
        yield Served(server.url, key)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with _start(tmp_path_factory.mktemp("served-home")) as running:
        yield running


def test_full_flow_over_real_http(server: Served) -> None:
    with Client(server.url, server.key, timeout=30) as client:
        account = client.account()
        assert account["name"] == "acme"
        run = client.create_run(TARGET, COMPETITORS, mode="union", limit=300)
        assert client.last_meta["credits_charged"] == 30  # ceil(3 * 300 / 30)
        done = client.wait(run["id"], timeout=120, poll=0.1)
        assert done["status"] == "completed" and done["finished_at"].endswith("Z")
        prospects = list(client.prospects(run["id"]))
        assert {p["domain"] for p in prospects} == _expected()
        assert len(prospects) == done["prospect_count"] == done["total_found"]

        paged = []
        page_no = 1
        while True:
            page = client.prospects_page(run["id"], page=page_no, per_page=13)
            paged.extend(page.data)
            if page_no >= page.total_pages:
                break
            page_no += 1
        assert paged == prospects

        rows = list(csv.DictReader(io.StringIO(client.prospects_csv(run["id"]))))
        assert [r["domain"] for r in rows] == [p["domain"] for p in prospects]

        two = list(client.prospects(run["id"], competitor="b.example",
                                    dofollow=True))
        assert two and all("b.example" in p["competitors"] and p["dofollow"] for p in two)
        summary = client.summary(run["id"])
        assert summary
        assert run["id"] in [r["id"] for r in client.runs(status="completed")]
        metrics = client.domain_metrics(["a.example", "unknown.example"])
        assert [m["found"] for m in metrics] == [True, False]

        with pytest.raises(lc.InvalidParameter) as info:
            client.create_run(TARGET, COMPETITORS, mode="sideways")
        assert info.value.param == "mode" and info.value.status == 422
        with pytest.raises(lc.NotFound):
            list(client.prospects("run_000000000000000000000000"))

        intersect = client.run_gap(TARGET, COMPETITORS, mode="intersect", limit=10,
                                   timeout=120)
        assert intersect["status"] == "completed"
        every = {p["domain"] for p in client.prospects(intersect["id"])}
        assert all(len(p["competitors"]) == 3 for p in client.prospects(intersect["id"]))
        assert len(every) <= 10


def test_rate_limit_is_a_typed_error_with_retry_after(tmp_path: Path) -> None:
    with _start(tmp_path, {"LINKGAP_RATE_LIMIT": "3"}) as server:
        with Client(server.url, server.key, max_retries=0) as client:
            for _ in range(3):
                client.account()
            with pytest.raises(lc.RateLimited) as info:
                client.account()
        assert info.value.status == 429 and info.value.code == "rate_limited"
        assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60
