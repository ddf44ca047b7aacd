"""End to end: ``linkgap serve`` as a real process on a free port, driven like curl.

Covers the user's flow (create a run, poll it, page through prospects, CSV), restart
recovery (runs left queued or half-done by a dead server complete at the next start,
charged once), and a rebuilt index picked up by a running server.
"""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from api.apitest_support import (
    COMPETITORS,
    PROSPECT_COUNT,
    TARGET,
    WAIT_S,
    Server,
    build_index,
    cli_env,
    run_cli,
    start_server,
)

from linkgap.service import LinkgapService
from linkgap.settings import Settings

pytestmark = pytest.mark.slow

GAP = "/v1/backlinks/gap"
@dataclass
class Site:
    """A LINKGAP_HOME with an index, an account with 100 credits and its key."""

    home: Path
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def settings(self) -> Settings:
        return Settings({"home": self.home}, environ={})


@pytest.fixture
def site(tmp_path: Path) -> Site:
    home = tmp_path / "home"
    home.mkdir()
    build_index(home / "index")
    run_cli(home, "accounts", "create", "acme", "--credits", "100")
    key = run_cli(home, "keys", "create", "--account", "acme").strip()
    assert key.startswith("lgk_") and "\n" not in key
    return Site(home, key)


@pytest.fixture
def server(site: Site) -> Iterator[Server]:
    srv = start_server(site.home, "serve")
    yield srv
    srv.stop()


def wait_completed(client: httpx.Client, run_id: str) -> dict[str, Any]:
    """Poll the run until it has finished; the run."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        run = client.get(f"{GAP}/{run_id}").json()["data"]
        if run["status"] in ("completed", "failed"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def credits(client: httpx.Client) -> int:
    return int(client.get("/v1/account").json()["data"]["credits"]["available"])


def test_curl_flow(site: Site, server: Server) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=server.url, headers=site.headers, timeout=30) as client:
        health = httpx.get(f"{server.url}/healthz").json()["data"]
        assert health["status"] == "ok"
        assert httpx.get(f"{server.url}/").headers["content-type"].startswith("text/html")
        assert httpx.get(f"{server.url}/openapi.json").json()["openapi"].startswith("3.1")

        r = client.post(GAP, json={"domain": TARGET, "competitors": COMPETITORS, "limit": 100})
        assert r.status_code == 202
        assert r.json()["meta"]["credits_charged"] == 10
        location = r.headers["location"]
        run = wait_completed(client, r.json()["data"]["id"])
        assert run["status"] == "completed" and run["prospect_count"] == PROSPECT_COUNT
        assert run["index_version"] == health["index_version"]
        assert client.get(location).json()["data"]["id"] == run["id"]

        seen: list[str] = []
        page = 1
        while True:
            body = client.get(f"{location}/prospects",
                              params={"page": page, "per_page": 10}).json()
            if not body["data"]:
                break
            assert body["meta"]["total_pages"] == 5
            seen += [p["domain"] for p in body["data"]]
            page += 1
        assert page == 6 and len(seen) == len(set(seen)) == PROSPECT_COUNT

        csv_r = client.get(f"{location}/prospects", headers={"Accept": "text/csv"})
        assert "attachment" in csv_r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(csv_r.text)))
        assert [r[0].lstrip("'") for r in rows[1:]] == seen

        summary = client.get(f"{location}/summary").json()["data"]
        assert summary["total"] == PROSPECT_COUNT
        assert credits(client) == 90
        r = client.post("/v1/domains/metrics", json={"domains": ["hub0.com"]})
        assert r.json()["data"][0]["found"] is True
        assert credits(client) == 89
    assert server.stop(signal.SIGINT) == 0
    assert "Traceback" not in server.log.read_text(errors="replace")


def test_runs_left_by_a_dead_server_complete_after_restart_charged_once(site: Site) -> None:
    # Runs a server accepted and then died with: one still queued, one half-done.
    service = LinkgapService(site.settings())
    try:
        account_id = service.list_accounts()[0].id
        half_done, cost_a = service.create_run(account_id, domain=TARGET,
                                               competitors=["a.com", "b.com"])
        waiting, cost_b = service.create_run(account_id, domain=TARGET,
                                             competitors=COMPETITORS, limit=30)
        claimed = service.store.claim_run("2026-01-01T00:00:00.000Z")
        assert claimed is not None and claimed.id == half_done.id
        assert service.get_run(account_id, half_done.id).status == "running"
        assert service.get_run(account_id, waiting.id).status == "queued"
    finally:
        service.close()
    assert (cost_a, cost_b) == (7, 3)

    srv = start_server(site.home, "after-crash")
    try:
        with httpx.Client(base_url=srv.url, headers=site.headers, timeout=30) as client:
            for run_id in (half_done.id, waiting.id):
                run = wait_completed(client, run_id)
                assert run["status"] == "completed", run
            assert credits(client) == 100 - 7 - 3
    finally:
        srv.stop()


def test_server_killed_mid_flight_then_restarted(site: Site) -> None:
    first = start_server(site.home, "first")
    with httpx.Client(base_url=first.url, headers=site.headers, timeout=30) as client:
        ids = [client.post(GAP, json={"domain": TARGET, "competitors": COMPETITORS,
                                      "limit": 10 * (i + 1)}).json()["data"]["id"]
               for i in range(3)]
    first.stop(signal.SIGKILL)  # no chance to finish or clean up

    second = start_server(site.home, "second")
    try:
        with httpx.Client(base_url=second.url, headers=site.headers, timeout=30) as client:
            for run_id in ids:
                assert wait_completed(client, run_id)["status"] == "completed"
            # 1 + 2 + 3 credits (ceil(3 x 10k / 30)), each charged exactly once.
            assert credits(client) == 100 - 6
            listed = client.get(GAP).json()
            assert listed["meta"]["total"] == 3
    finally:
        second.stop()


def test_running_server_picks_up_a_rebuilt_index(site: Site, server: Server) -> None:
    with httpx.Client(base_url=server.url, headers=site.headers, timeout=30) as client:
        body = {"domain": TARGET, "competitors": COMPETITORS}
        old = wait_completed(client, client.post(GAP, json=body).json()["data"]["id"])
        old_rows = client.get(f"{GAP}/{old['id']}/prospects",
                              params={"per_page": 100}).json()["data"]

        v2 = build_index(site.home / "index", extra=[("https://latecomer.net/",
                                                      "https://b.com/")])
        assert v2 != old["index_version"]
        assert httpx.get(f"{server.url}/healthz").json()["data"]["index_version"] == v2
        new = wait_completed(client, client.post(GAP, json=body).json()["data"]["id"])
        assert new["index_version"] == v2
        new_rows = client.get(f"{GAP}/{new['id']}/prospects",
                              params={"per_page": 100}).json()["data"]
        assert "latecomer.net" in {r["domain"] for r in new_rows}

        again = client.get(f"{GAP}/{old['id']}").json()["data"]
        assert again["index_version"] == old["index_version"]
        assert client.get(f"{GAP}/{old['id']}/prospects",
                          params={"per_page": 100}).json()["data"] == old_rows


def test_serve_refuses_postgresql_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "linkgap", "serve", "--database", "postgresql://db/linkgap",
         "--port", "0"], env=cli_env(tmp_path), capture_output=True, text=True, timeout=120,
        check=False)
    assert done.returncode == 1
    assert "postgresql" in done.stderr.lower() and "Traceback" not in done.stderr


def test_serve_on_a_busy_port_fails(site: Site, server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-m", "linkgap", "serve", "--port", port],
                          env=cli_env(site.home), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1
    assert "already in use" in done.stderr.lower() and "--port" in done.stderr
    assert httpx.get(f"{server.url}/healthz").status_code == 200
