"""The embedded index build at three graph sizes under one memory limit (SPEC section 10).

    python bench/bench_scale.py --graphs /tmp/lg-scale                # 1M/20M, 4M/80M, 8M/160M
    python bench/bench_scale.py --graphs /tmp/lg-scale --sizes 1m      # one size
    python bench/bench_scale.py --graphs /tmp/lg-small --sizes 100k    # quick

For each size it writes the generated cc-graph pair when missing
(``bench/gen_graph.py``, folder ``<graphs>/g<size>``), then runs
``bench/bench_build.py`` on it in a child process, one size at a time, with
``--memory-limit`` (default 2GB). It reports wall time, input edges per
second, the child's peak resident memory (``os.wait4``: the kernel's
``ru_maxrss`` of that process alone, DuckDB included), bytes per edge of the
per-edge arrays and of the whole version folder, the most the build spilled
to disk, CPU seconds (user + system: on a shared machine wall time
depends on the load, CPU time much less) and the load average before and
after each build.

The goals it is measured against: peak RSS at 8M/160M with 2GB ≤ 3 GB; the
per-edge arrays ≤ 16 bytes per edge; ≥ 1M input edges per second on two
cores. The ``spark`` columns are left empty for the Spark engine
(``--engine spark``), which is measured separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = {  # name: (domains, edges)
    "100k": (100_000, 2_000_000),
    "1m": (1_000_000, 20_000_000),
    "4m": (4_000_000, 80_000_000),
    "8m": (8_000_000, 160_000_000),
}


def measure(graph: Path, domains: int, edges: int, memory_limit: str,
            temp_dir: str | None) -> dict[str, object]:
    """One build in a child process; its JSON report plus the kernel's view of the child."""
    cmd = [sys.executable, str(HERE / "bench_build.py"), "--graph", str(graph),
           "--domains", str(domains), "--edges", str(edges), "--memory-limit", memory_limit]
    if temp_dir:
        cmd += ["--temp-dir", temp_dir]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"build of {graph} failed with exit code {child.returncode}")
    report = json.loads(out)
    report["child_wall_seconds"] = round(wall, 1)
    report["child_peak_rss_mib"] = round(usage.ru_maxrss / 1024)
    report["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
    # one-minute load average before and after: what the wall time competed with
    report["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    return report


def main() -> None:
    """Command line: measure the sizes one after the other and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", type=Path, required=True,
                        help="folder holding (or to receive) the generated graphs")
    parser.add_argument("--sizes", default="1m,4m,8m",
                        help=f"comma-separated, from {', '.join(SIZES)}")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--temp-dir", default=None)
    args = parser.parse_args()
    rows = []
    for name in args.sizes.split(","):
        domains, edges = SIZES[name]
        graph = args.graphs / f"g{name}"
        print(f"{name}: {domains:,} domains / {edges:,} edges ...", file=sys.stderr, flush=True)
        r = measure(graph, domains, edges, args.memory_limit, args.temp_dir)
        rows.append((name, r))
        print(json.dumps(r), file=sys.stderr, flush=True)
    print(f"\nembedded engine, --memory-limit {args.memory_limit} (spark: measured separately)")
    header = ("size", "wall s", "edges/s", "CPU s", "peak RSS", "B/edge (edge arrays)",
              "B/edge (whole index)", "spilled", "PageRank ids", "spark wall s",
              "spark edges/s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, r in rows:
        print(f"| {name} | {r['seconds']} | {r['edges_per_second']:,} | {r['cpu_seconds']} | "
              f"{r['child_peak_rss_mib'] / 1024:.2f} GiB | {r['bytes_per_edge']} | "
              f"{r['index_bytes_per_edge']} | {int(r['peak_spill_bytes']) / 2**30:.2f} GiB | "
              f"{r['pagerank_ids']} | | |")


if __name__ == "__main__":
    main()
