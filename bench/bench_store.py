"""Benchmark the state store: gap runs completed per second, and the latency a run adds.

On SQLite and on PostgreSQL (a fresh database per measurement):

1. **Throughput.** Queue ``--runs`` small gap runs from 4 accounts, then start 1, 2
   and 4 worker threads (``linkgap serve --workers N`` does the same) and measure
   runs completed per second, from the first claim to the last completion (the
   runs' own ``started_at`` / ``finished_at``). The baseline, measured in the same
   run, is the same runs computed and frozen in a loop with no store at all:
   the ratio says how much the store costs.
2. **Latency.** On an idle service with one worker: POST a run over HTTP (the app
   in-process) and poll until it is ``completed``; the added latency is that time
   minus the gap itself (``compute_gap`` + freezing the result, timed alone).
   Its parts: HTTP + charge + queue (POST), wake + claim (``started_at -
   created_at``), and storing the result; plus the store calls timed one by one.

    .venv/bin/python bench/bench_store.py                 # both stores
    .venv/bin/python bench/bench_store.py --runs 400 --stores sqlite
    TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1/postgres .venv/bin/python bench/bench_store.py

Small runs on a small index, so that the store, not the gap engine, is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from linkgap.gap import compute_gap
from linkgap.index.build import build_from_links
from linkgap.index.reader import BacklinkIndex
from linkgap.service import LinkgapService
from linkgap.service.timeutil import iso_z, parse_iso_z, utc_now
from linkgap.service.worker import worker_name
from linkgap.settings import Settings

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN = {"domain": "site0.com", "competitors": ["site1.com", "site2.com"], "limit": 50}


def links(n: int = 300) -> list[tuple[str, str]]:
    """A small web: every site links to a few others (deterministic)."""
    out = []
    for i in range(n):
        for j in (1, 2, 3, 7, 11):
            out.append((f"https://site{i}.com/p", f"https://site{(i * j + j) % n}.com/"))
    return out


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh state database URL (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'state-{secrets.token_hex(4)}.db'}"
        return
    name = f"linkgap_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_for(url: str, index: Path, workers: int) -> LinkgapService:
    return LinkgapService(Settings({"database_url": url, "index": index, "workers": workers,
                                    "rate_limit": 1_000_000}, environ={}))


def compute_only(index: Path, runs: int) -> float:
    """Baseline: runs per second computing and freezing results, no store."""
    idx = BacklinkIndex.open(index)
    compute_gap(idx, RUN["domain"], RUN["competitors"], "union", None, RUN["limit"])  # warm
    start = time.perf_counter()
    for _ in range(runs):
        compute_gap(idx, RUN["domain"], RUN["competitors"], "union", None,
                    RUN["limit"]).to_ipc(compression="zstd")
    return runs / (time.perf_counter() - start)


def throughput(kind: str, folder: Path, index: Path, runs: int, workers: int) -> float:
    """Runs per second with ``workers`` threads working through a queue of ``runs``."""
    with database(kind, folder) as url:
        service = service_for(url, index, workers)
        try:
            accounts = [service.create_account(f"a{i}", credits=10**9).id for i in range(4)]
            ids = [service.create_run(accounts[i % 4], **RUN)[0].id for i in range(runs)]
            service.start_worker()
            while sum(service.store.list_runs(a, "completed", 0, 1)[1] for a in accounts) < runs:
                time.sleep(0.05)
            done = [service.store.get_run(r) for r in ids]
            service.stop_worker()
            first = min(parse_iso_z(d.started_at) for d in done if d and d.started_at)
            end = max(parse_iso_z(d.finished_at) for d in done if d and d.finished_at)
            return runs / max(1e-3, (end - first).total_seconds())
        finally:
            service.close()


def latency(kind: str, folder: Path, index: Path, samples: int) -> dict[str, float]:
    """Milliseconds, medians over ``samples`` runs on an idle service with one worker."""
    from linkgap.api import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    idx = BacklinkIndex.open(index)
    compute_gap(idx, RUN["domain"], RUN["competitors"], "union", None, RUN["limit"])  # warm
    gap_ms = []
    for _ in range(samples):
        t = time.perf_counter()
        compute_gap(idx, RUN["domain"], RUN["competitors"], "union", None,
                    RUN["limit"]).to_ipc(compression="zstd")
        gap_ms.append((time.perf_counter() - t) * 1000)
    with database(kind, folder) as url:
        service = service_for(url, index, 1)
        try:
            service.create_account("acme", credits=10**9)
            key = service.create_key("acme")[0]
            headers = {"Authorization": f"Bearer {key}"}
            parts: dict[str, list[float]] = {k: [] for k in (
                "post", "total", "server", "wake_claim", "claim", "complete")}
            with TestClient(create_app(service, service.settings)) as client:
                service.start_worker()
                time.sleep(1.0)  # idle
                for _ in range(samples):
                    t0 = time.perf_counter()
                    r = client.post("/v1/backlinks/gap", json=RUN, headers=headers)
                    t_post = time.perf_counter()
                    run_id = r.json()["data"]["id"]
                    while True:
                        status = client.get(f"/v1/backlinks/gap/{run_id}",
                                            headers=headers).json()["data"]
                        if status["status"] == "completed":
                            break
                        time.sleep(0.002)  # a client polling, not a busy loop
                    t_done = time.perf_counter()
                    parts["post"].append((t_post - t0) * 1000)
                    parts["total"].append((t_done - t0) * 1000)
                    parts["server"].append((parse_iso_z(status["finished_at"]) - parse_iso_z(
                        status["created_at"])).total_seconds() * 1000)
                    parts["wake_claim"].append((parse_iso_z(status["started_at"]) - parse_iso_z(
                        status["created_at"])).total_seconds() * 1000)
                    time.sleep(0.2)
                service.stop_worker()
            # The store calls alone: claim and storing the result.
            acct = service.store.account_by_name("acme")
            assert acct is not None
            blob = compute_gap(idx, RUN["domain"], RUN["competitors"], "union", None,
                               RUN["limit"]).to_ipc(compression="zstd")
            for _ in range(samples):
                service.create_run(acct.id, **RUN)
                now = iso_z(utc_now())
                t = time.perf_counter()
                rec = service.store.claim_run(now, worker_name(), now)
                parts["claim"].append((time.perf_counter() - t) * 1000)
                assert rec is not None
                t = time.perf_counter()
                service.store.complete_run(rec.id, now, "v", 50, 50, [], blob, rec.lease_owner)
                parts["complete"].append((time.perf_counter() - t) * 1000)
        finally:
            service.close()
    out = {k: statistics.median(v) for k, v in parts.items()}
    out["gap"] = statistics.median(gap_ms)
    out["added"] = out["total"] - out["gap"]
    out["server_added"] = out["server"] - out["gap"]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index = folder / "index"
        build_from_links(index, links())
        baseline = compute_only(index, args.runs)
        print(f"baseline (compute and freeze, no store, 1 thread): {baseline:8.1f} runs/s")
        for kind in args.stores.split(","):
            for workers in (1, 2, 4):
                rate = throughput(kind, folder, index, args.runs, workers)
                print(f"{kind:10s} {workers} worker(s): {rate:8.1f} runs/s  "
                      f"({rate / baseline:.2f}x the baseline)")
            lat: dict[str, Any] = latency(kind, folder, index, args.samples)
            print(f"{kind:10s} POST -> completed: {lat['total']:.1f} ms (gap itself "
                  f"{lat['gap']:.1f} ms, added {lat['added']:.1f} ms); server side, created_at "
                  f"-> finished_at: {lat['server']:.1f} ms (added {lat['server_added']:.1f}); "
                  f"POST answered in {lat['post']:.1f}, wake+claim {lat['wake_claim']:.1f} "
                  f"(timestamps, ms resolution); store calls alone: claim {lat['claim']:.2f}, "
                  f"store result {lat['complete']:.2f}")


if __name__ == "__main__":
    main()
