"""Embedded vs Spark ``index build`` on the same inputs: wall time, rate, peak memory, ratio.

    nice python bench/bench_spark.py --sizes 1M/20M                  # cc-graph, generated
    nice python bench/bench_spark.py --sizes 1M/20M,4M/80M --master 'local[2]'
    nice python bench/bench_spark.py --wat-files 32 --wat-domains 20000   # many WAT files
    nice python bench/bench_spark.py --graphs /tmp/lg-scale --sizes 4M/80M --engines spark

Each build runs ``linkgap index build`` in a child process; its wall time
and the peak resident memory of its whole process tree (sampled from /proc)
are the command's own: for ``--engine spark`` that includes the Spark JVM and
its Python workers, the session start (~10 s) and the finalise step. In
``local[N]`` mode the executors are threads of the driver's JVM, so the JVM
figure is driver and executors together; the driver (Python) figure is the
``linkgap`` process alone, which also runs the finaliser. CPU seconds are
those of the whole tree (user + system, from /proc), and the load average at
the end of each build is printed with it.
cc-graph inputs come from ``gen_graph.py`` (one vertices/edges pair: Spark
reads it in one task), or with ``--graphs DIR`` from the ``DIR/g<domains>``
folders ``bench_scale.py`` wrote (``1M/20M`` → ``g1m``), used read-only: a
missing one is an error, never generated. Besides wall time and memory each
line gives the peak resident bytes per input edge and the bytes per edge of
the published index. ``--wat-files`` writes the generated demo
web as N WAT files (one Spark task each), the case Spark parallelises.
Prints one JSON line per build and a ratio line per input (spark / embedded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_graph import write_graph  # noqa: E402

_SUFFIX = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}


def _count(text: str) -> int:
    text = text.strip().upper()
    if text[-1] in _SUFFIX:
        return int(float(text[:-1]) * _SUFFIX[text[-1]])
    return int(text)


def _graph_inputs(root: Path, size: str, graphs: Path | None = None) -> tuple[list[str], int]:
    domains, edges = (_count(part) for part in size.split("/"))
    folder = (graphs / f"g{size.split('/')[0].strip().lower()}" if graphs
              else root / f"graph-{size.replace('/', '-')}")
    vertices, edges_file = folder / "graph-vertices.txt.gz", folder / "graph-edges.txt.gz"
    if graphs and not (vertices.exists() and edges_file.exists()):
        raise SystemExit(f"--graphs: no graph-vertices.txt.gz + graph-edges.txt.gz in {folder}")
    if not (vertices.exists() and edges_file.exists()):
        print(f"generating {domains:,} domains / {edges:,} edges in {folder}", file=sys.stderr)
        write_graph(folder, "graph", domains, edges)
    return [str(vertices), str(edges_file)], edges


def _wat_inputs(root: Path, files: int, domains: int) -> tuple[list[str], int]:
    from linkgap.demo_web import generate_web, write_wat

    folder = root / f"wat-{files}x{domains}"
    paths = [folder / f"part-{i:05d}.wat.gz" for i in range(files)]
    web = generate_web(n_domains=domains)
    if not all(p.exists() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(paths):
            write_wat(path, web.links[i::files], internal_links=20)
    return [str(p) for p in paths], len(web.links)


@dataclass
class _Sample:
    """One look at a process tree: resident KiB of all of it, of its root, of its JVMs."""

    tree_kib: int
    root_kib: int
    java_kib: int


def _sample_tree(pid: int, cpu_ticks: dict[int, int]) -> _Sample:
    """Resident memory of a process and all its descendants (from /proc), in KiB; updates
    ``cpu_ticks`` (user + system clock ticks by pid, the last value seen of each)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, int] = {}
    java: set[int] = set()
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        rss[child] = int(fields[21]) * page_kib
        ticks[child] = int(fields[11]) + int(fields[12])
        if head.rsplit("(", 1)[-1] == "java":
            java.add(child)
    total = java_kib = 0
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        total += rss.get(current, 0)
        if current in java:
            java_kib += rss.get(current, 0)
        if current in ticks:
            cpu_ticks[current] = ticks[current]
        frontier += children.get(current, [])
    return _Sample(total, rss.get(pid, 0), java_kib)


def _run_build(inputs: list[str], index_dir: Path, engine: str, master: str,
               memory_limit: str | None) -> dict[str, float]:
    """One ``linkgap index build`` in a child process: wall time, the peak resident memory
    of its whole process tree (the Spark JVM and its Python workers included), of the
    driver process alone (which also finalises) and of the JVM, sampled every 0.2 s, and
    the CPU seconds of the tree.

    Two counts of that CPU, both never more than the truth: the last sample of each
    process (misses what a process spent after it, or one that lived less than 0.2 s)
    and the CPU of the reaped descendants (``RUSAGE_CHILDREN``: misses a process whose
    parent never waited for it). The larger is reported, and both are kept."""
    linkgap = Path(sys.executable).with_name("linkgap")
    command = [str(linkgap), "index", "build", "--index", str(index_dir), "--engine", engine]
    if engine == "spark":
        command += ["--spark-master", master]
    if memory_limit:
        command += ["--memory-limit", memory_limit]
    command += inputs
    started = time.perf_counter()
    cpu_ticks: dict[int, int] = {}
    reaped_before = _reaped_cpu_seconds()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        peak = root = jvm = 0
        while proc.poll() is None:
            sample = _sample_tree(proc.pid, cpu_ticks)
            peak = max(peak, sample.tree_kib)
            root = max(root, sample.root_kib)
            jvm = max(jvm, sample.java_kib)
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        reaped = _reaped_cpu_seconds() - reaped_before
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{engine} build failed:\n{err.read().decode()[-3000:]}")
    sampled = sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
    return {"seconds": seconds, "peak_rss_mib": peak / 1024, "driver_peak_rss_mib": root / 1024,
            "jvm_peak_rss_mib": jvm / 1024, "cpu_seconds": max(sampled, reaped),
            "cpu_seconds_sampled": sampled, "cpu_seconds_reaped": reaped,
            "index_bytes": _folder_bytes(index_dir)}


def _reaped_cpu_seconds() -> float:
    """User + system CPU seconds of this process's waited-for descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (the published index)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _measure(label: str, inputs: list[str], units: int, unit: str, args: argparse.Namespace,
             root: Path) -> None:
    results = {}
    for engine in args.engines.split(","):
        index_dir = root / f"index-{engine}"
        shutil.rmtree(index_dir, ignore_errors=True)
        run = _run_build(inputs, index_dir, engine, args.master, args.memory_limit)
        results[engine] = run
        print(json.dumps({
            "input": label, "engine": engine,
            "master": args.master if engine == "spark" else None,
            unit: units, "seconds": round(run["seconds"], 1),
            f"{unit}_per_second": round(units / run["seconds"]),
            "peak_rss_mib": round(run["peak_rss_mib"]),
            "driver_peak_rss_mib": round(run["driver_peak_rss_mib"]),
            "jvm_peak_rss_mib": round(run["jvm_peak_rss_mib"]),
            "cpu_seconds": round(run["cpu_seconds"], 1),
            "cpu_seconds_sampled": round(run["cpu_seconds_sampled"], 1),
            "cpu_seconds_reaped": round(run["cpu_seconds_reaped"], 1),
            f"peak_rss_bytes_per_{unit[:-1]}": round(run["peak_rss_mib"] * 2**20 / units),
            f"index_bytes_per_{unit[:-1]}": round(run["index_bytes"] / units, 1),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "memory_limit": args.memory_limit,
        }), flush=True)
        shutil.rmtree(index_dir, ignore_errors=True)
    if {"spark", "embedded"} <= set(results):
        ratio = results["spark"]["seconds"] / results["embedded"]["seconds"]
        cpu = results["spark"]["cpu_seconds"] / max(results["embedded"]["cpu_seconds"], 0.1)
        print(json.dumps({"input": label, "spark_over_embedded_time": round(ratio, 2),
                          "spark_over_embedded_cpu": round(cpu, 2)}), flush=True)


def main() -> None:
    """Command line: measure each input with both engines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M/20M",
                        help="comma-separated cc-graph sizes DOMAINS/EDGES, e.g. 1M/20M,4M/80M "
                             "('' for none)")
    parser.add_argument("--wat-files", type=int, default=0,
                        help="also measure this many generated WAT files (0: none)")
    parser.add_argument("--wat-domains", type=int, default=20_000,
                        help="domains of the generated web the WAT files hold")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--memory-limit", default="2GB",
                        help="--memory-limit of both builds (default 2GB)")
    parser.add_argument("--engines", default="embedded,spark",
                        help="engines to run, in order (default embedded,spark)")
    parser.add_argument("--graphs", type=Path, default=None,
                        help="read the cc-graph pairs from DIR/g<domains> (bench_scale.py's "
                             "folders, e.g. g1m for 1M/20M), read-only")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder for generated inputs, kept between runs "
                             "(default: a temporary folder)")
    args = parser.parse_args()
    if set(args.engines.split(",")) - {"embedded", "spark"}:
        parser.error("--engines: embedded, spark or both")
    with tempfile.TemporaryDirectory(prefix="lg-bench-spark-") as tmp:
        root = args.data or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for size in filter(None, args.sizes.split(",")):
            inputs, edges = _graph_inputs(root, size, args.graphs)
            _measure(f"cc-graph {size}", inputs, edges, "edges", args, Path(tmp))
        if args.wat_files:
            inputs, links = _wat_inputs(root, args.wat_files, args.wat_domains)
            _measure(f"{args.wat_files} WAT files", inputs, links, "links", args, Path(tmp))


if __name__ == "__main__":
    main()
