"""Benchmark the gap engine against DuckDB on the same graph, in the same run.

Generates a deterministic power-law domain graph (default 2M domains, 40M
edges) as CSR-by-target arrays in memory, then:

1. runs a 5-competitor union gap with ``linkgap.gap.gap_arrays`` and with the
   fastest DuckDB SQL we found over the same edge table (sorted by target), checks
   that both find the same prospects, and prints both times and the ratio;
2. times the whole ``compute_gap`` (validation, metrics, score, best-first order);
3. times filter + sort + page over 200k kept prospects with
   ``linkgap.prospects`` against DuckDB over the same 200k rows.

    .venv/bin/python bench/bench_gap.py                       # full size
    .venv/bin/python bench/bench_gap.py --domains 200000 --edges 4000000

Times are the best of ``--repeat`` warm runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from linkgap.domains import DomainNormalizer
from linkgap.gap import GapResult, compute_gap, gap_arrays
from linkgap.prospects import ProspectQuery, query_page


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time in seconds over ``repeat`` calls, and the last value."""
    best = float("inf")
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


GRAPH_ARRAYS = ("in_indptr", "in_src", "in_dofollow", "dst")


def load_or_generate(n: int, e: int, seed: int, folder: str | None) -> dict[str, np.ndarray]:
    """The graph from ``folder/<n>-<e>-<seed>/`` when saved there, else generated (and saved)."""
    if folder is None:
        return power_law_graph(n, e, seed)
    where = Path(folder) / f"{n}-{e}-{seed}"
    if all((where / f"{a}.npy").is_file() for a in GRAPH_ARRAYS):
        return {a: np.load(where / f"{a}.npy") for a in GRAPH_ARRAYS}
    graph = power_law_graph(n, e, seed)
    where.mkdir(parents=True, exist_ok=True)
    for a in GRAPH_ARRAYS:
        np.save(where / f"{a}.npy", graph[a])
    return graph


def power_law_graph(n: int, e: int, seed: int) -> dict[str, np.ndarray]:
    """CSR-by-target arrays of a random graph whose in-degrees follow a power law."""
    rng = np.random.default_rng(seed)
    # Popularity ~ x^3 for x uniform: a few targets get most links. A random
    # permutation spreads popular domains over the id (= name) space.
    perm = rng.permutation(n).astype(np.int64)
    dst = perm[(n * rng.random(e) ** 4).astype(np.int64)]
    src = perm[(n * rng.random(e) ** 1.2).astype(np.int64)]
    key = np.sort(dst[dst != src] * n + src[dst != src])  # by (dst, src)
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]  # one edge per pair
    dst, src = np.divmod(key, n)
    del key
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    dofollow = (rng.random(src.shape[0]) < 0.7).astype(np.int64)
    return {"in_indptr": indptr, "in_src": src.astype(np.int32), "in_dofollow": dofollow,
            "dst": dst.astype(np.int32)}


class BenchIndex:
    """Just enough of ``BacklinkIndex`` for ``compute_gap``: arrays, names, metrics."""

    def __init__(self, graph: dict[str, np.ndarray], seed: int) -> None:
        n = graph["in_indptr"].shape[0] - 1
        rng = np.random.default_rng(seed + 1)
        self.version = "bench"
        self.num_domains = n
        self.in_indptr = graph["in_indptr"]
        self.in_src = graph["in_src"]
        self.in_dofollow = graph["in_dofollow"]
        rd = np.diff(self.in_indptr)
        self.referring_domains = rd
        self.backlinks = rd * 3
        self.domain_rating = np.minimum(100, np.log1p(rd) * 9).astype(np.uint8)
        self.spam_score = rng.integers(0, 101, n).astype(np.uint8)
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[np.argsort(-rd, kind="stable")] = np.arange(1, n + 1)
        # Names d0000000.com … sort like their ids, as in a real index.
        width = len(str(n))
        self._names = pa.array([f"d{i:0{width}d}.com" for i in range(n)], pa.large_string())
        self._normalizer = DomainNormalizer()

    def name(self, i: int) -> str:
        return str(self._names[int(i)].as_py())

    def id_of(self, name: str) -> int | None:
        try:
            i = int(name[1:].split(".")[0])
        except ValueError:
            return None
        return i if 0 <= i < self.num_domains and self.name(i) == name else None

    def normalize(self, text: str) -> str:
        return self._normalizer.normalize(text)

    def names_array(self, ids: np.ndarray) -> pa.Array:
        return self._names.take(pa.array(ids, pa.int64()))

    def names_of(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        return list(self.names_array(np.asarray(ids)).to_pylist())


# The fastest of the formulations we tried (an IN list over dst, a join with a
# VALUES table, NOT EXISTS, an explicit ANTI JOIN): one equality scan per
# competitor, which the dst-sorted table answers from a row group or two.
DUCKDB_GAP = """
WITH l AS ({union}),
hits AS (
    SELECT src, bit_or(bit) AS mask,
           bit_or(CASE WHEN dofollow THEN bit ELSE 0 END) AS dmask
    FROM l GROUP BY src
)
SELECT src, mask, dmask FROM hits
WHERE bit_count(mask) >= {m}
  AND src NOT IN ({competitors}, {target})
  AND src NOT IN (SELECT src FROM edges WHERE dst = {target})
"""


def duckdb_gap(con: duckdb.DuckDBPyConnection, target: int, comps: list[int], m: int
               ) -> np.ndarray:
    """The DuckDB formulation: prospect ids, sorted."""
    union = " UNION ALL ".join(
        f"SELECT src, {1 << j} AS bit, dofollow FROM edges WHERE dst = {c}"
        for j, c in enumerate(comps))
    sql = DUCKDB_GAP.format(union=union, competitors=", ".join(map(str, comps)), m=m,
                            target=target)
    out = con.execute(sql).fetchnumpy()
    return np.sort(np.asarray(out["src"], dtype=np.int64))


def pick_competitors(indptr: np.ndarray, rng: np.random.Generator) -> tuple[int, list[int]]:
    """A mid-popular target and 5 popular competitors (ranks 2-15 by in-degree)."""
    deg = np.diff(indptr)
    by_degree = np.argsort(-deg, kind="stable")
    comps = [int(c) for c in rng.choice(by_degree[1:15], 5, replace=False)]
    target = int(by_degree[int(rng.integers(100, 1000))])
    while target in comps:
        target = int(by_degree[int(rng.integers(100, 1000))])
    return target, comps


def bench_prospects(result: GapResult, repeat: int) -> None:
    """filter + sort + page over the run's kept prospects, linkgap vs DuckDB."""
    n = len(result)
    print(f"\nprospects: {n:,} kept rows")
    con = duckdb.connect()
    table = pa.table({
        "domain": result.names, "domain_rating": result.domain_rating,
        "spam_score": result.spam_score, "backlinks": result.backlinks,
        "rank": result.rank, "score": result.score, "dofollow_mask": result.dofollow_mask,
    })
    con.register("arrow_prospects", table)
    con.execute("CREATE TABLE prospects AS SELECT * FROM arrow_prospects")
    cases = [
        ("page 1, no filter, score desc", ProspectQuery(), 1,
         "SELECT domain FROM prospects ORDER BY score DESC, domain LIMIT 50 OFFSET 0"),
        ("page 1, DR>=30 spam<=40 dofollow, backlinks desc",
         ProspectQuery(min_authority=30, max_spam=40, dofollow=True, sort="backlinks"), 1,
         "SELECT domain FROM prospects WHERE domain_rating >= 30 AND spam_score <= 40 "
         "AND dofollow_mask <> 0 ORDER BY backlinks DESC, domain LIMIT 50 OFFSET 0"),
        ("page 200, same filters, rank desc",
         ProspectQuery(min_authority=30, max_spam=40, dofollow=True, sort="rank"), 200,
         "SELECT domain FROM prospects WHERE domain_rating >= 30 AND spam_score <= 40 "
         "AND dofollow_mask <> 0 ORDER BY rank ASC, domain LIMIT 50 OFFSET 9950"),
    ]
    print(f"{'case':52s} {'first':>9s} {'repeat':>9s} {'duckdb':>9s} {'ratio':>7s}")
    for label, query, page, sql in cases:
        fresh = GapResult.from_ipc(result.to_ipc())  # empty caches
        t0 = time.perf_counter()
        rows, _ = query_page(fresh, query, page, 50)
        first = time.perf_counter() - t0
        again, _ = best_of(repeat * 5, lambda f=fresh, q=query, p=page: query_page(f, q, p, 50))
        duck, drows = best_of(repeat, lambda s=sql: con.execute(s).fetchall())
        assert [r["domain"] for r in rows] == [r[0] for r in drows], label
        print(f"{label:52s} {first * 1e3:7.2f}ms {again * 1e3:7.3f}ms {duck * 1e3:7.2f}ms "
              f"{duck / again:6.0f}x")
    t_ipc, blob = best_of(repeat, result.to_ipc)
    t_load, _ = best_of(repeat, lambda: GapResult.from_ipc(blob))
    print(f"freeze to IPC {t_ipc * 1e3:.1f} ms ({len(blob) / 1e6:.1f} MB), "
          f"load {t_load * 1e3:.2f} ms")


def bench_freeze(n: int, repeat: int) -> None:
    """Freezing and loading a run of ``n`` prospects (the largest LINKGAP_MAX_RUN_LIMIT)."""
    rng = np.random.default_rng(7)
    ids = np.sort(rng.choice(n * 4, n, replace=False)).astype(np.int64)
    width = len(str(n * 4))
    result = GapResult(
        target="me.com", competitors=[f"c{j}.com" for j in range(5)], mode="union",
        min_overlap=1, total_found=n, warnings=[], index_version="bench", limit=n, ids=ids,
        names=pa.array([f"d{i:0{width}d}.com" for i in ids], pa.large_string()),
        domain_rating=rng.integers(0, 101, n).astype(np.uint8),
        backlinks=rng.integers(0, 10**6, n), referring_domains=rng.integers(0, 10**4, n),
        spam_score=rng.integers(0, 101, n).astype(np.uint8), rank=rng.integers(1, n * 4, n),
        competitor_overlap=rng.integers(1, 6, n).astype(np.uint8),
        competitor_mask=rng.integers(1, 32, n).astype(np.uint32),
        dofollow_mask=rng.integers(0, 32, n).astype(np.uint32),
        score=rng.integers(0, 101, n).astype(np.uint8),
    )
    print(f"\nfreezing a run of {n:,} prospects")
    for compression in (None, "lz4", "zstd"):
        t_dump, blob = best_of(repeat, lambda c=compression: result.to_ipc(compression=c))
        t_load, loaded = best_of(repeat, lambda b=blob: GapResult.from_ipc(b))
        t_page, _ = best_of(repeat, lambda r=loaded: query_page(r, ProspectQuery(), 1, 50))
        print(f"  {compression or 'uncompressed':12s} {len(blob) / 1e6:6.1f} MB, "
              f"freeze {t_dump * 1e3:6.1f} ms, load {t_load * 1e3:6.2f} ms, "
              f"then page 1 {t_page * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--freeze", type=int, default=1_000_000,
                        help="prospects in the freeze/load benchmark")
    parser.add_argument("--graph-dir", default=None,
                        help="save the generated graph here and load it on later runs")
    parser.add_argument("--prospects", type=int, default=200_000,
                        help="kept prospects for the paging benchmark")
    args = parser.parse_args()

    t0 = time.perf_counter()
    graph = load_or_generate(args.domains, args.edges, args.seed, args.graph_dir)
    n_edges = graph["in_src"].shape[0]
    print(f"graph: {args.domains:,} domains, {n_edges:,} edges "
          f"(ready in {time.perf_counter() - t0:.1f} s)")
    rng = np.random.default_rng(args.seed)
    target, comps = pick_competitors(graph["in_indptr"], rng)
    sizes = [int(graph["in_indptr"][c + 1] - graph["in_indptr"][c]) for c in comps]
    print(f"5 competitors with {sum(sizes):,} in-links; target with "
          f"{int(graph['in_indptr'][target + 1] - graph['in_indptr'][target]):,}")

    con = duckdb.connect()
    t0 = time.perf_counter()
    edges = pa.table({"dst": graph["dst"], "src": graph["in_src"],
                      "dofollow": graph["in_dofollow"] > 0})
    con.register("arrow_edges", edges)
    con.execute("CREATE TABLE edges AS SELECT * FROM arrow_edges ORDER BY dst, src")
    con.unregister("arrow_edges")
    del edges
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    print(f"duckdb table loaded in {time.perf_counter() - t0:.1f} s "
          f"(threads={threads[0] if threads else '?'})")

    def engine() -> np.ndarray:
        core = gap_arrays(graph["in_indptr"], graph["in_src"], graph["in_dofollow"],
                          target, comps, 1)
        return core.ids

    def versus(m: int) -> tuple[float, float, np.ndarray]:
        """Best times of the engine and DuckDB at min_overlap m, interleaved so
        that both see the same machine load; checks they agree."""
        t_engine = t_duck = float("inf")
        ids = duck_ids = np.zeros(0)
        for _ in range(args.repeat):
            t, ids = best_of(3, lambda: gap_arrays(
                graph["in_indptr"], graph["in_src"], graph["in_dofollow"], target, comps, m).ids)
            t_engine = min(t_engine, t)
            t, duck_ids = best_of(1, lambda: duckdb_gap(con, target, comps, m))
            t_duck = min(t_duck, t)
        assert np.array_equal(np.sort(ids), duck_ids), "engine and DuckDB disagree"
        return t_engine, t_duck, ids

    t_engine, t_duck, ids = versus(1)
    print(f"\ngap (union, 5 competitors): {ids.shape[0]:,} prospects")
    print(f"  linkgap gap_arrays   {t_engine * 1e3:8.2f} ms")
    print(f"  duckdb SQL           {t_duck * 1e3:8.2f} ms")
    print(f"  ratio                {t_duck / t_engine:8.1f}x faster")
    for m, label in ((3, "min_overlap=3"), (len(comps), "intersect")):
        tm, dm, idm = versus(m)
        print(f"  {label} ({idm.shape[0]:,} prospects): linkgap {tm * 1e3:.2f} ms, "
              f"duckdb {dm * 1e3:.2f} ms, {dm / tm:.1f}x faster")
    con.close()
    del graph["dst"]

    index = BenchIndex(graph, args.seed)
    names = [index.name(c) for c in comps]
    me = index.name(target)
    t_full, _ = best_of(args.repeat * 2, lambda: compute_gap(index, me, names, limit=1000))
    print(f"  compute_gap limit=1000 (validate, metrics, score, top 1000): {t_full * 1e3:.2f} ms")
    t_all, big = best_of(max(1, args.repeat // 2), lambda: compute_gap(
        index, me, names, limit=args.prospects))
    print(f"  compute_gap limit={args.prospects:,}: {t_all * 1e3:.1f} ms "
          f"(total_found {big.total_found:,})")
    bench_prospects(big, args.repeat)
    if args.freeze > 0:
        bench_freeze(args.freeze, args.repeat)


if __name__ == "__main__":
    main()
