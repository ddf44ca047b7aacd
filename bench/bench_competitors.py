"""Link competitors: latency for domains with 1k, 100k and 1M referring domains, and the
index size with and without out-links, on the generated 2M-domain graph.

    nice .venv/bin/python bench/bench_competitors.py --graph-dir /tmp/lg-competitors
    nice .venv/bin/python bench/bench_competitors.py --graph-dir /tmp/lg-comp-small \\
        --domains 200000 --edges 4000000 --planted 1000,20000,150000          # quick

1. **The graph.** ``gen_graph.power_law_edges`` (2M domains, 40M edges, seed 7) plus
   planted domains ``planted-<k>.com`` that k distinct random domains link to (default
   1,000, 100,000 and 1,000,000), written as a cc-graph pair in ``--graph-dir`` (kept,
   so later runs skip it). The power-law graph alone has no domain with 1M referrers
   (its largest has about 100k): planting is how the three sizes are made.
2. **Two builds** of the same files with ``build_index`` (what ``linkgap index
   build`` runs): with out-links and with ``--no-out-links``; their sizes on disk and
   the time the out-link step took.
3. **The out-link step alone**, on the built in-link CSR: in memory (the budget the
   build had) and out of core (an eighth of the memory sorting them in memory takes:
   bucketed through scratch files).
4. **Latency** of ``BacklinkIndex.competitors(domain, limit=20)`` per planted
   domain (the 1M one is capped to its strongest 50,000 referrers), best of
   ``--repeat`` warm calls, against the baseline measured in the same run: DuckDB
   joining the same edges (in memory) on the same referrers and ordering the same
   way. Both answers are checked to be equal.

Times on a shared machine vary by a factor of two or more: read them as ranges, and
compare the ratio, which both sides of one run share.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_graph import power_law_edges  # noqa: E402

from linkgap.index.budget import parse_size  # noqa: E402
from linkgap.index.build import build_index  # noqa: E402
from linkgap.index.competitors import DEFAULT_CAP  # noqa: E402
from linkgap.index.outlinks import write_out_links  # noqa: E402
from linkgap.index.reader import BacklinkIndex  # noqa: E402

_OPTIONS = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time in seconds over ``repeat`` calls, and the last value."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def planted_name(k: int) -> str:
    return f"planted-{k}.com"


def write_planted_graph(folder: Path, n: int, e: int, seed: int, planted: list[int]
                        ) -> tuple[Path, Path]:
    """The power-law graph plus the planted domains, as a cc-graph pair (kept once made)."""
    vertices, edges = folder / "graph-vertices.txt.gz", folder / "graph-edges.txt.gz"
    if vertices.is_file() and edges.is_file():
        return vertices, edges
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    src, dst = power_law_edges(n, e, seed)
    rng = np.random.default_rng(seed + 5)
    extra_src, extra_dst = [src], [dst]
    for i, k in enumerate(planted):
        extra_src.append(np.sort(rng.choice(n, size=k, replace=False)))
        extra_dst.append(np.full(k, n + i, dtype=np.int64))
    src, dst = np.concatenate(extra_src), np.concatenate(extra_dst)
    names = [f"com.site{i:x}" for i in range(n)] + [
        "com." + planted_name(k)[:-4] for k in planted]
    table = pa.table({"id": pa.array(np.arange(len(names))), "name": pa.array(names),
                      "hosts": pa.array(np.ones(len(names), dtype=np.int64))})
    with gzip.open(vertices, "wb", compresslevel=1) as fh:
        pacsv.write_csv(table, fh, _OPTIONS)
    with gzip.open(edges, "wb", compresslevel=1) as fh:
        step = 4_000_000
        for i in range(0, len(src), step):
            pacsv.write_csv(pa.table({"s": src[i:i + step], "t": dst[i:i + step]}), fh,
                            _OPTIONS)
    print(f"wrote {len(names):,} domains and {len(src):,} edges in "
          f"{time.perf_counter() - started:.0f} s")
    return vertices, edges


class StageTimer:
    """Progress callback recording how long each build stage took."""

    def __init__(self) -> None:
        self.current, self.mark = "start", time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        name = "reading" if stage.startswith("reading") else stage
        if name != self.current:
            now = time.perf_counter()
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + now - self.mark
            self.current, self.mark = name, now


def build(index_dir: Path, inputs: list[str], out_links: bool, memory_limit: str) -> float:
    """Build when the folder has no index yet; returns the out-link step's seconds (0 when
    the index was there already or built without them)."""
    if BacklinkIndex.current_version(index_dir) is not None:
        return 0.0
    timer = StageTimer()
    started = time.perf_counter()
    build_index(index_dir, inputs, memory_limit=memory_limit, progress=timer,
                out_links=out_links)
    timer("done", 0, None)
    print(f"built {index_dir.name} in {time.perf_counter() - started:.0f} s "
          f"(stages: {', '.join(f'{k} {v:.1f} s' for k, v in timer.seconds.items())})")
    return timer.seconds.get("out-links", 0.0)


def out_links_alone(index: BacklinkIndex, memory_bytes: int) -> tuple[float, int]:
    """Seconds to write the out-links from the index's in-link CSR with this budget, and
    the buckets used (into a scratch folder next to the index)."""
    scratch = Path(tempfile.mkdtemp(prefix="outlinks-", dir=index.folder.parent.parent))
    try:
        for name in ("in_indptr.npy", "in_src.npy", "linked_domains.npy"):
            (scratch / name).symlink_to(index.folder / name)
        started = time.perf_counter()
        report = write_out_links(scratch, scratch / "work", memory_bytes)
        return time.perf_counter() - started, report.buckets
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def duckdb_competitors(con: duckdb.DuckDBPyConnection, used: np.ndarray, target: int,
                       limit: int) -> list[tuple[int, int, float]]:
    """The baseline: the same shared counts, Jaccard and order in SQL over the edges."""
    con.register("used", pa.table({"src": pa.array(used.astype(np.int32))}))
    rows = con.execute(f"""
        WITH shared AS (
            SELECT e.dst, count(*) AS shared FROM used u JOIN edges e ON e.src = u.src
            GROUP BY e.dst),
        scored AS (
            SELECT s.dst, s.shared,
                   s.shared / ({len(used)} + r.rd - s.shared) AS jaccard
            FROM shared s JOIN rd r ON r.dst = s.dst)
        SELECT dst, shared, jaccard FROM scored WHERE dst <> $target
        ORDER BY shared DESC, jaccard DESC, dst LIMIT {limit}
    """, {"target": target}).fetchall()
    con.unregister("used")
    return [(int(a), int(b), float(c)) for a, b, c in rows]


def used_referrers(index: BacklinkIndex, target: int) -> np.ndarray:
    """The referrers the answer is computed from: all, or the strongest 50,000."""
    refs = np.asarray(index.in_src[index.in_links_of(target)], dtype=np.int64)
    if len(refs) > DEFAULT_CAP:
        order = np.lexsort((refs, -np.asarray(index.pagerank[refs], dtype=np.float64)))
        refs = np.sort(refs[order[:DEFAULT_CAP]])
    return refs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph-dir", type=Path, required=True,
                        help="where the graph files and the two indexes are kept")
    parser.add_argument("--domains", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--planted", default="1000,100000,1000000",
                        help="referring domains of the planted domains (comma-separated)")
    parser.add_argument("--memory-limit", default="4GB", help="the builds' --memory-limit")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    planted = [int(k) for k in args.planted.split(",")]

    folder = args.graph_dir / f"g-{args.domains}-{args.edges}-{args.seed}-{args.planted}"
    vertices, edges = write_planted_graph(folder, args.domains, args.edges, args.seed, planted)
    inputs = [str(vertices), str(edges)]
    step_seconds = build(folder / "index-out-links", inputs, True, args.memory_limit)
    build(folder / "index-no-out-links", inputs, False, args.memory_limit)
    with_out = BacklinkIndex.open(folder / "index-out-links")
    without = BacklinkIndex.open(folder / "index-no-out-links")

    n_edges = int(with_out.in_indptr[-1])
    print(f"\n{len(with_out):,} domains, {n_edges:,} edges")
    print("| index | on disk | bytes per edge | out-link files |")
    print("|---|---|---|---|")
    for label, index in (("with out-links", with_out), ("--no-out-links", without)):
        usage = index.disk_usage()
        print(f"| {label} | {usage['index_bytes'] / 1e9:.2f} GB | "
              f"{usage['index_bytes_per_edge']} | {usage['out_link_bytes'] / 1e6:.0f} MB "
              f"({usage['out_link_bytes_per_edge']} B/edge) |")
    grown = with_out.disk_usage()["index_bytes"] / without.disk_usage()["index_bytes"]
    print(f"out-links make the index {grown:.2f}x the size")

    in_memory, _ = out_links_alone(with_out, parse_size(args.memory_limit))
    small = max(16 * 1024**2, n_edges * 10 // 8)  # an eighth of what sorting in memory takes
    bucketed, buckets = out_links_alone(with_out, small)
    print(f"\nout-link step: {step_seconds:.1f} s inside the build; alone {in_memory:.1f} s "
          f"in memory, {bucketed:.1f} s out of core ({small / 1e6:.0f} MB budget, "
          f"{buckets} buckets)")

    # The baseline's tables: every edge (src, dst) and every domain's referring domains.
    indptr = np.asarray(with_out.in_indptr)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    dst = np.repeat(np.arange(len(with_out), dtype=np.int32), np.diff(indptr))
    con.register("e_arrow", pa.table({"src": pa.array(np.asarray(with_out.in_src)),
                                      "dst": pa.array(dst)}))
    con.execute("CREATE TABLE edges AS SELECT * FROM e_arrow")
    con.register("rd_arrow", pa.table({"dst": pa.array(np.arange(len(with_out),
                                                                  dtype=np.int32)),
                                       "rd": pa.array(np.diff(indptr))}))
    con.execute("CREATE TABLE rd AS SELECT * FROM rd_arrow")
    del dst

    print("\n| domain | referring domains | used | out-links read | linkgap | DuckDB | ratio |")
    print("|---|---|---|---|---|---|---|")
    for k in planted:
        name = planted_name(k)
        target = with_out.id_of(name)
        assert target is not None, name
        with_out.competitors(name)  # the first call maps the pages it reads
        mine_s, mine = best_of(args.repeat, lambda n=name: with_out.competitors(n, limit=20))
        used = used_referrers(with_out, target)
        assert with_out.out_indptr is not None
        read = int((np.asarray(with_out.out_indptr[used + 1])
                    - np.asarray(with_out.out_indptr[used])).sum())
        theirs_s, theirs = best_of(
            args.repeat, lambda u=used, t=target: duckdb_competitors(con, u, t, 20))
        assert [(r["domain"], r["shared_referring_domains"]) for r in mine.rows] == \
            [(with_out.name_of(d), s) for d, s, _ in theirs], name
        print(f"| {name} | {mine.referring_domains:,} | {mine.referring_domains_used:,} | "
              f"{read:,} | {mine_s * 1000:.1f} ms | {theirs_s * 1000:.1f} ms | "
              f"{theirs_s / mine_s:.1f}x |")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"\npeak RSS of this process: {rss:.1f} GB")


if __name__ == "__main__":
    main()
