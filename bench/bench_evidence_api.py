"""Benchmark the links behind a prospect (SPEC 12) over HTTP, against the prospects page.

    nice -n 5 .venv/bin/python bench/bench_evidence_api.py                     # 20,000 prospects
    nice -n 5 .venv/bin/python bench/bench_evidence_api.py --prospects 50000 --requests 300

What it does, on a free loopback port:

1. writes a links-csv export (``--prospects`` domains linking to three competitors
   from two pages each, with anchors and dates; some also link to the target) and
   builds an index from it with the CLI (``--evidence 3``, the default);
2. starts ``linkgap serve`` twice over the same index: once with
   ``LINKGAP_EVIDENCE_FREEZE_MAX=0`` and once with the default 10,000, and reads how
   long a run that keeps every prospect took on each (its ``finished_at`` minus
   ``started_at``), so the cost of freezing the links shows;
3. on the second server, asks sequentially (one keep-alive connection) for
   ``--requests`` random prospects among the frozen ones, as many beyond the freeze
   (read from the index), and as many pages of 50 prospects (the baseline: the read
   every client makes), and prints p50 and p99 of each, ``--repeat`` times, as
   ranges, with the ratio of each to the baseline's p50;
4. times the whole ``format=csv&include=links`` export of the run.

The machine running this is usually shared: run it with ``nice`` and read the
ranges, not one figure.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bench_api import COMPETITORS, TARGET, Server, cli, linkgap_command, linkgap_env, span


def write_links(path: Path, prospects: int, seed: int = 7) -> None:
    """A links-csv export: every prospect links to 1-3 competitors from two pages."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["source_url", "target_url", "rel", "anchor", "seen_at"])
        for i in range(prospects):
            name = f"site{i:07d}.com"
            for comp in rng.sample(COMPETITORS, rng.randint(1, 3)):
                for page in ("resources", f"blog/post-{rng.randint(1, 500)}"):
                    out.writerow([f"https://www.{name}/{page}", f"https://{comp}/pricing",
                                  "nofollow" if rng.random() < 0.3 else "",
                                  f"best {comp} alternative {rng.randint(1, 99)}",
                                  f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"])
            if i % 11 == 0:
                out.writerow([f"https://www.{name}/about", f"https://{TARGET}/", "", "", ""])
            # a few referring domains, so that ratings and scores spread out
            for j in range(i % 5):
                out.writerow([f"https://hub{j}.net/list", f"https://www.{name}/", "", "", ""])


def timed_get(conn: http.client.HTTPConnection, path: str, key: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed, body


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prospects", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="per kind and repeat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linkgap-bench-evidence-") as folder:
        home = Path(folder)
        links = home / "links.csv"
        write_links(links, args.prospects)
        started = time.perf_counter()
        cli(home, "index", "build", "--evidence", "3", str(links))
        print(f"index of {args.prospects:,} prospects built in "
              f"{time.perf_counter() - started:.1f} s")
        cli(home, "accounts", "create", "bench", "--credits", "1000000000")
        key = cli(home, "keys", "create", "--account", "bench")
        runs = {}
        for freeze in ("0", "10000"):
            env = linkgap_env(home, LINKGAP_EVIDENCE_FREEZE_MAX=freeze)
            with Server.start(f"linkgap-{freeze}", linkgap_command(), env, home) as server:
                run_id = server.create_run(key, 1000)  # warms the kernel and the server
                server.wait_completed(key, run_id)
                run_id = server.create_run(key, 1_000_000)
                kept = server.wait_completed(key, run_id)
                _, body = server.request(f"/v1/backlinks/gap/{run_id}", key)
                run = json.loads(body)["data"]
                seconds = (datetime.fromisoformat(run["finished_at"])
                           - datetime.fromisoformat(run["started_at"])).total_seconds()
                runs[freeze] = (run_id, seconds, kept)
                print(f"run keeping {kept:,} prospects, LINKGAP_EVIDENCE_FREEZE_MAX={freeze}: "
                      f"{seconds:.2f} s from started_at to finished_at (compute, freeze, "
                      "store)")
                if freeze == "0":
                    continue
                measure(server, key, run_id, kept, args.requests, args.repeat)


def measure(server: Server, key: str, run_id: str, kept: int, requests: int,
            repeat: int) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.connect()
    # Without it, a keep-alive request can wait for the peer's delayed ACK (~40 ms).
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    base = f"/v1/backlinks/gap/{run_id}"
    names: list[str] = []
    for page in range(1, kept // 100 + 2):
        _, body = timed_get(conn, f"{base}/prospects?per_page=100&page={page}", key)
        names += [row["domain"] for row in json.loads(body)["data"]]
    frozen, beyond = names[:10_000], names[10_000:]
    rng = random.Random(3)
    kinds = {"prospects page (baseline)": lambda: f"{base}/prospects?per_page=50&page="
             f"{rng.randint(1, max(1, kept // 50))}",
             "prospect links, frozen": lambda: f"{base}/prospects/{rng.choice(frozen)}"}
    if beyond:
        kinds["prospect links, from the index"] = (
            lambda: f"{base}/prospects/{rng.choice(beyond)}")
    # First reads load the run and its frozen links once; they are not measured.
    for make in kinds.values():
        timed_get(conn, make(), key)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
    for _ in range(repeat):
        for name, make in kinds.items():
            results[name].append(percentiles([timed_get(conn, make(), key)[0]
                                              for _ in range(requests)]))
    baseline = statistics.median(p50 for p50, _ in results["prospects page (baseline)"])
    print(f"\nsequential requests, {requests} per kind x {repeat} repeats (ranges over repeats)")
    for name, values in results.items():
        p50s, p99s = [v[0] for v in values], [v[1] for v in values]
        ratio = [p / baseline for p in p50s]
        print(f"  {name:32s} p50 {span(p50s, 2)} ms   p99 {span(p99s, 2)} ms   "
              f"p50 / baseline {span(ratio, 2)}")
    started = time.perf_counter()
    _, body = timed_get(conn, f"{base}/prospects?format=csv&include=links", key)
    rows = body.count(b"\n") - 1
    print(f"\nCSV include=links of the whole run: {rows:,} rows, {len(body) / 2**20:.1f} MiB "
          f"in {time.perf_counter() - started:.2f} s")
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
