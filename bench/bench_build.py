"""Measure ``linkgap index build`` on a cc-graph file pair: edges per second and peak memory.

    python bench/gen_graph.py --out /tmp/lg-graph            # once: 2M domains, 40M edges
    nice python bench/bench_build.py --graph /tmp/lg-graph   # builds into a temp folder

Prints the time of each build stage (reading + normalising, aggregation,
writing the CSR, metrics, publishing), the overall rate in input edges per
second, and the peak resident memory of the process (DuckDB runs in-process,
so its memory is counted; ``--memory-limit`` is the build's budget). The build
is the same code ``linkgap index build`` runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_graph import write_graph  # noqa: E402

from linkgap.index.build import build_index  # noqa: E402
from linkgap.index.reader import BacklinkIndex  # noqa: E402


def current_rss_bytes() -> int:
    """Resident memory of this process now (``VmRSS``; 0 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class StageTimer:
    """Progress callback that records how long each build stage took and its peak memory.

    A sampling thread reads the process's resident memory every 20 ms and keeps
    the largest value seen during each stage, so the report says which stage
    holds the build's peak (``ru_maxrss`` alone says only how high it was).
    """

    def __init__(self, sample_seconds: float = 0.02) -> None:
        self.started = time.perf_counter()
        self.current = "start"
        self.mark = self.started
        self.seconds: dict[str, float] = {}
        self.peak_rss: dict[str, int] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(sample_seconds,),
                                         daemon=True)
        self._sampler.start()

    def _sample(self, every: float) -> None:
        while not self._stop.wait(every):
            rss = current_rss_bytes()
            stage = self.current
            if rss > self.peak_rss.get(stage, 0):
                self.peak_rss[stage] = rss

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        name = "reading" if stage.startswith("reading") else stage
        if name == "reading" and not done:
            # before the first block of links: a cc-graph input's vertex names
            name = "reading (before the first edges)"
        if name != self.current:
            now = time.perf_counter()
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self.mark
            self.current, self.mark = name, now

    def finish(self) -> dict[str, float]:
        """Close the last stage and stop sampling; returns seconds per stage."""
        self("done", 0, None)
        self._stop.set()
        self._sampler.join()
        self.seconds.pop("start", None)
        return {k: round(v, 2) for k, v in self.seconds.items()}

    def peak_rss_mib(self) -> dict[str, int]:
        """Largest resident memory sampled in each stage, MiB."""
        return {k: round(v / 2**20) for k, v in self.peak_rss.items() if k != "done"}


def main() -> None:
    """Command line: one measured build."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", type=Path, required=True,
                        help="folder with <prefix>-vertices.txt.gz and <prefix>-edges.txt.gz "
                             "(written by gen_graph.py when missing)")
    parser.add_argument("--prefix", default="graph")
    parser.add_argument("--domains", type=int, default=2_000_000,
                        help="size of a graph to generate when missing")
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--index", type=Path, default=None,
                        help="index folder (default: a temporary folder, removed after)")
    parser.add_argument("--memory-limit", default=None,
                        help="the build's memory limit, e.g. 2GB (default: half of RAM)")
    parser.add_argument("--temp-dir", default=None, help="folder for spill files")
    args = parser.parse_args()

    vertices = args.graph / f"{args.prefix}-vertices.txt.gz"
    edges = args.graph / f"{args.prefix}-edges.txt.gz"
    if not (vertices.exists() and edges.exists()):
        print(f"generating {args.domains:,} domains / {args.edges:,} edges in {args.graph}",
              file=sys.stderr)
        write_graph(args.graph, args.prefix, args.domains, args.edges)

    with tempfile.TemporaryDirectory(prefix="lg-bench-") as tmp:
        index_dir = args.index or Path(tmp) / "index"
        timer = StageTimer()
        started = time.perf_counter()
        report = build_index(index_dir, [str(vertices), str(edges)], "cc-graph",
                             progress=timer, memory_limit=args.memory_limit,
                             temp_dir=args.temp_dir)
        seconds = time.perf_counter() - started
        stages = timer.finish()
        disk = BacklinkIndex.open(index_dir).disk_usage()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = report.inputs[0]
    input_edges = stats.links_seen or stats.records
    counts = report.manifest.counts
    result = {
        "input_edges": input_edges,
        "domains": counts["domains"],
        "domain_edges": counts["edges"],
        "seconds": round(seconds, 1),
        "edges_per_second": round(input_edges / seconds),
        "peak_rss_mib": round(peak_kib / 1024),
        "stages_seconds": stages,
        "stages_peak_rss_mib": timer.peak_rss_mib(),
        "pagerank_iterations": report.manifest.metrics["pagerank"]["iterations"],
        "bytes_per_edge": disk["bytes_per_edge"],
        "index_bytes_per_edge": disk["index_bytes_per_edge"],
        "index_bytes": disk["index_bytes"],
        "peak_spill_bytes": report.spilled_bytes,
        "pagerank_ids": (report.manifest.build or {}).get("pagerank_ids"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
