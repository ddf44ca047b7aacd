"""SPEC 11 with real processes: several ``serve`` and ``worker`` processes on one database.

- 2 servers and 3 workers on one PostgreSQL database (and 2 servers with a worker each
  plus a worker on one SQLite file): 200 requests from several accounts through both
  servers, some sharing an Idempotency-Key across servers, a worker killed with SIGKILL
  while it computes a run. Then: every run completed exactly once, one attempt per claim,
  credits exact to the unit, nothing left running.
- A server killed with SIGKILL at every step of the transaction that records an
  Idempotency-Key, charges and queues: the retry is charged once in all.
- The rate limit is one limit for two servers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from api.apitest_support import TestClient
from service.servicetest_support import LINKS_V1, make_settings, wait_for
from support.indexes import build_test_index
from support.postgres import fresh_database
from support.serving import WAIT_S, Server, linkgap_env, start_server

from linkgap.api import create_app
from linkgap.service import LinkgapService

pytestmark = pytest.mark.slow

GAP = "/v1/backlinks/gap"
LEASE_S = 1
CREDITS = 5000

# A worker that stalls once it computes a run (its lease renewed meanwhile), so the test
# can kill it mid-run; or a server that kills itself at one step of a transaction.
STALLING_WORKER = """
import sys, time
from linkgap.service import faults
def stall(point):
    if point == "run.computing":
        print("computing", flush=True)
        time.sleep(3600)
faults.install(stall)
from linkgap.cli import main
sys.exit(main(["worker"]))
"""
DYING_SERVER = """
import os, signal, sys
from linkgap.service import faults
point = sys.argv[1]
def die(reached):
    if reached == point:
        os.kill(os.getpid(), signal.SIGKILL)
faults.install(die)
from linkgap.cli import main
sys.exit(main(["serve", "--port", "0", "--workers", "0"]))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'state.db'}"
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    build_test_index(path / "index", LINKS_V1)
    return path


def env(state_url: str, **extra: str) -> dict[str, str]:
    return {"LINKGAP_DATABASE_URL": state_url, "LINKGAP_RUN_LEASE_SECONDS": str(LEASE_S),
            **extra}


def accounts(home: Path, state_url: str, names: list[str]) -> tuple[LinkgapService,
                                                                    dict[str, str]]:
    """The test's own service on the database, and a key per new account."""
    service = LinkgapService(make_settings(home.parent, home / "index", database_url=state_url))
    keys = {}
    for name in names:
        service.create_account(name, credits=CREDITS)
        keys[name] = service.create_key(name)[0]
    return service, keys


def start_worker(home: Path, state_url: str, name: str, script: str | None = None
                 ) -> subprocess.Popen[str]:
    args = ["-c", script] if script else ["-m", "linkgap", "worker"]
    with open(home / f"{name}.stderr", "w") as log:  # the child keeps its own copy
        return subprocess.Popen([sys.executable, *args], env=linkgap_env(home, env(state_url)),
                                stdout=subprocess.PIPE, stderr=log, text=True)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_servers_and_workers_share_one_database(home: Path, state_url: str) -> None:
    service, keys = accounts(home, state_url, ["acme", "globex", "initech"])
    servers: list[Server] = []
    workers: list[subprocess.Popen[str]] = []
    clients: list[httpx.Client] = []
    try:
        # The victim is the only worker yet: it takes the first run and stalls computing it.
        victim = start_worker(home, state_url, "victim", STALLING_WORKER)
        workers.append(victim)
        acme = service.store.account_by_name("acme")
        assert acme is not None
        view, first_cost = service.create_run(acme.id, domain="mysite.com",
                                              competitors=["a.com", "b.com"])
        victim_run = view.id
        assert victim.stdout is not None and victim.stdout.readline().strip() == "computing"
        # Its lease is renewed while it computes: after several lease periods it still has it.
        time.sleep(LEASE_S * 3)
        held = service.store.get_run(victim_run)
        assert held is not None and held.status == "running"
        assert len(service.store.run_attempts(victim_run)) == 1
        # On PostgreSQL the servers only serve and 3 worker processes compute; on SQLite each
        # server has a worker thread besides the worker processes.
        server_workers = "0" if state_url.startswith("postgresql") else "1"
        for i in range(2):
            servers.append(start_server(home, f"serve{i}",
                                        env(state_url, LINKGAP_WORKERS=server_workers)))
        workers += [start_worker(home, state_url, f"worker{i}") for i in (1, 2)]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=WAIT_S)
        clients += [httpx.Client(base_url=s.url, timeout=60) for s in servers]

        def post(i: int, account: str, body: dict[str, Any],
                 key: str | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {keys[account]}"}
            if key:
                headers["Idempotency-Key"] = key
            return clients[i % 2].post(GAP, json=body, headers=headers)

        names = list(keys)
        jobs: list[tuple[int, str, dict[str, Any], str | None]] = []
        for n in range(160):
            body = {"domain": "mysite.com", "competitors": ["a.com", "b.com"][: 1 + n % 2],
                    "limit": 10 + n % 50}
            jobs.append((n, names[n % 3], body, None))
        for n in range(20):  # the same key through both servers, at once
            body = {"domain": "mysite.com", "competitors": ["a.com"], "limit": 20 + n}
            jobs += [(0, names[n % 3], body, f"order-{n}"), (1, names[n % 3], body, f"order-{n}")]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda job: (job, post(*job)), jobs))
        assert all(r.status_code == 202 for _, r in answers), [
            r.text for _, r in answers if r.status_code != 202][:3]
        by_key: dict[str, list[httpx.Response]] = {}
        for (_, _, _, key), r in answers:
            if key:
                by_key.setdefault(key, []).append(r)
        for key, pair in by_key.items():
            assert len({r.json()["data"]["id"] for r in pair}) == 1, key
            assert sum(r.headers.get("idempotent-replayed") == "true" for r in pair) == 1

        charged: dict[str, int] = {victim_run: first_cost}
        owner: dict[str, str] = {victim_run: "acme"}
        for (_, account, _, _), r in answers:
            charged[r.json()["data"]["id"]] = r.json()["meta"]["credits_charged"]
            owner[r.json()["data"]["id"]] = account
        assert len(charged) == 1 + 160 + 20

        def all_done() -> bool:
            return all(service.store.get_run(run_id).status == "completed"  # type: ignore[union-attr]
                       for run_id in charged)

        wait_for(all_done, timeout=180)
        for run_id in charged:
            run = service.store.get_run(run_id)
            assert run is not None and run.status == "completed" and run.lease_owner is None
            assert service.store.run_result(run_id) is not None
            attempts = service.store.run_attempts(run_id)
            outcomes = [a.outcome for a in attempts]
            assert outcomes.count("completed") == 1 and outcomes[-1] == "completed", run_id
            assert all(a.started_at and a.finished_at for a in attempts)
            assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        victim_attempts = service.store.run_attempts(victim_run)
        assert [a.outcome for a in victim_attempts] == ["lease_expired", "completed"]
        for name in names:
            account = service.store.account_by_name(name)
            assert account is not None
            spent = sum(c for run_id, c in charged.items() if owner[run_id] == name)
            assert account.topup_balance == CREDITS - spent, name
            runs, total = service.store.list_runs(account.id, None, 0, 1000)
            assert total == sum(1 for r in owner.values() if r == name)
            assert not [r for r in runs if r.status in ("queued", "running")]
        workers_used = Counter(a.worker.split(":")[1] for run_id in charged
                               for a in service.store.run_attempts(run_id))
        assert len(workers_used) >= 2, "the runs were shared between worker processes"
    finally:
        for client in clients:
            client.close()
        for proc in workers:
            stop(proc)
            if proc.stdout is not None:
                proc.stdout.close()
        for server in servers:
            server.stop()
        service.close()
    for server in servers:
        assert "Traceback" not in server.log.read_text(errors="replace")


def _start_dying_server(home: Path, state_url: str, point: str) -> tuple[subprocess.Popen[str],
                                                                         str]:
    log = home / f"dying-{point}.stderr"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", DYING_SERVER, point],
                                env=linkgap_env(home, env(state_url)), stdout=subprocess.DEVNULL,
                                stderr=err, text=True)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "serving on " in text:
            return proc, text.split("serving on ", 1)[1].split()[0]
        assert proc.poll() is None, text
        time.sleep(0.05)
    raise AssertionError("the dying server did not start")


@pytest.mark.parametrize("point", ["run.begin", "run.idempotency_recorded", "run.charged",
                                   "run.inserted", "run.committed"])
def test_a_server_killed_at_any_step_never_charges_a_retry_twice(
        home: Path, state_url: str, point: str) -> None:
    service, keys = accounts(home, state_url, ["acme"])
    headers = {"Authorization": f"Bearer {keys['acme']}", "Idempotency-Key": "pay-once"}
    body = {"domain": "mysite.com", "competitors": ["a.com", "b.com"]}  # costs 7
    try:
        proc, url = _start_dying_server(home, state_url, point)
        with pytest.raises(httpx.TransportError):
            httpx.post(url + GAP, json=body, headers=headers, timeout=60)
        assert proc.wait(timeout=WAIT_S) == -signal.SIGKILL
        account = service.store.account_by_name("acme")
        assert account is not None
        committed = point == "run.committed"
        runs, total = service.store.list_runs(account.id, None, 0, 10)
        assert total == (1 if committed else 0)
        assert account.topup_balance == CREDITS - (7 if committed else 0)

        # The retry reaches a healthy server on the same database (in this process).
        with TestClient(create_app(service, service.settings)) as client:
            retry = client.post(GAP, json=body, headers=headers)
        assert retry.status_code == 202, retry.text
        # All or nothing: after the commit the retry replays; before it, it runs as new.
        assert (retry.headers.get("idempotent-replayed") == "true") is committed
        if committed:
            assert retry.json()["data"]["id"] == runs[0].id
        account = service.store.account_by_name("acme")
        assert account is not None and account.topup_balance == CREDITS - 7
        assert service.store.list_runs(account.id, None, 0, 10)[1] == 1
    finally:
        service.close()


def test_two_servers_enforce_one_rate_limit(home: Path, state_url: str) -> None:
    service, keys = accounts(home, state_url, ["acme"])
    headers = {"Authorization": f"Bearer {keys['acme']}"}
    servers = [start_server(home, f"limited{i}",
                            env(state_url, LINKGAP_RATE_LIMIT="20", LINKGAP_WORKERS="0"))
               for i in range(2)]
    try:
        answers = [httpx.get(servers[i % 2].url + "/v1/account", headers=headers, timeout=30)
                   for i in range(30)]
    finally:
        for server in servers:
            server.stop()
        service.close()
    assert [r.status_code for r in answers] == [200] * 20 + [429] * 10
    assert [int(r.headers["ratelimit-remaining"]) for r in answers[:20]] == list(
        range(19, -1, -1))
    assert all(r.headers["ratelimit-limit"] == "20" for r in answers)
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in answers[20:])
