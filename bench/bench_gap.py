"""Benchmark the gap engine against DuckDB on the same graph, in the same run.

Builds the in-link CSR of the 2M-domain power-law graph of ``bench/gen_graph.py``
(``power_law_edges``, default 2M domains, 40M edges) in memory, then:

1. **end to end**: ``compute_gap(limit=1000)`` (validation, prospects, metrics,
   score, best 1,000 with their names: everything a run computes) with the
   compiled kernel and with the NumPy engine, against DuckDB doing the same
   work in SQL (gap, join with a domains table for the metrics, the score of
   docs/scoring.md, top 1,000 by score then name, and the total count);
   checks that all three keep the same rows with the same scores;
2. **kernel**: the fused kernel alone (``kernel.fused_gap``, limit 1000)
   against a bare numba scatter of the same in-links (OR a bit per competitor
   into a per-domain word, then clear: the least a compiled scatter does) and
   a streaming read of the same bytes (the memory-bandwidth floor); plus the
   NumPy engine (``gap_arrays``) and DuckDB's gap alone, at m = 1, m = 3 and
   intersect;
3. **prospects**: filter + sort + page over 200k kept prospects with
   ``linkgap.prospects`` against DuckDB over the same rows, and freezing.

    nice .venv/bin/python bench/bench_gap.py --graph-dir /tmp/gapbench        # full size
    nice .venv/bin/python bench/bench_gap.py --domains 200000 --edges 4000000

Times are the best of ``--repeat`` warm runs, linkgap and DuckDB interleaved.
The dofollow flag is a uint8 per edge, as an index stores it;
``--wide-dofollow`` keeps the int64 counts instead (earlier runs measured with them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numba
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_graph import power_law_edges  # noqa: E402

from linkgap.domains import DomainNormalizer  # noqa: E402
from linkgap.gap import GapResult, compute_gap, gap_arrays, kernel  # noqa: E402
from linkgap.gap.score import (  # noqa: E402
    SCORE_RD_SATURATION,
    SCORE_SPAM_PENALTY,
    SCORE_WEIGHTS,
)
from linkgap.prospects import ProspectQuery, query_page  # noqa: E402


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
        return csr_graph(n, e, seed)
    where = Path(folder) / f"gen-{n}-{e}-{seed}"
    if all((where / f"{a}.npy").is_file() for a in GRAPH_ARRAYS):
        return {a: np.load(where / f"{a}.npy") for a in GRAPH_ARRAYS}
    graph = csr_graph(n, e, seed)
    where.mkdir(parents=True, exist_ok=True)
    for a in GRAPH_ARRAYS:
        np.save(where / f"{a}.npy", graph[a])
    return graph


def csr_graph(n: int, e: int, seed: int) -> dict[str, np.ndarray]:
    """CSR-by-target arrays of ``gen_graph``'s power-law graph (sources ascending per
    target, as in an index), with a dofollow count per edge (70 % dofollow)."""
    src, dst = power_law_edges(n, e, seed)
    order = np.lexsort((src, dst))
    src, dst = src[order], dst[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    rng = np.random.default_rng(seed)
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


# The same run in SQL: the gap, the metrics of each prospect from a domains table,
# the score of docs/scoring.md (same float steps), the best ``limit`` by score then
# name, and how many were found.
DUCKDB_RUN = """
WITH l AS ({union}),
hits AS (
    SELECT src, bit_or(bit) AS mask, bool_or(dofollow) AS dof FROM l GROUP BY src
),
prospects AS (
    SELECT src, mask, dof FROM hits
    WHERE bit_count(mask) >= {m}
      AND src NOT IN ({competitors}, {target})
      AND src NOT IN (SELECT src FROM edges WHERE dst = {target})
),
scored AS (
    SELECT d.name, d.id, p.mask, p.dof, d.domain_rating, d.backlinks, d.referring_domains,
           d.spam_score, d.rank,
           floor(({wa} * d.domain_rating / 100.0 + {wo} * bit_count(p.mask)::INTEGER / {k}.0
                  + CASE WHEN p.dof THEN {wd}.0 ELSE 0.0 END
                  + least(1.0, log10(1 + d.referring_domains) / log10({sat})) * {wr})
                 * (1.0 - {pen} * d.spam_score / 100.0) + 0.5 + 1e-9)::INTEGER AS score
    FROM prospects p JOIN domains d ON d.id = p.src
)
SELECT name, id, score, mask, dof, domain_rating, backlinks, referring_domains, spam_score,
       rank, count(*) OVER () AS total_found
FROM scored ORDER BY score DESC, name LIMIT {limit}
"""


def duckdb_run(con: duckdb.DuckDBPyConnection, target: int, comps: list[int], m: int,
               limit: int) -> dict[str, np.ndarray]:
    """The whole run in DuckDB: the best ``limit`` rows (as columns) and total_found."""
    union = " UNION ALL ".join(
        f"SELECT src, {1 << j} AS bit, dofollow FROM edges WHERE dst = {c}"
        for j, c in enumerate(comps))
    w = SCORE_WEIGHTS
    sql = DUCKDB_RUN.format(
        union=union, competitors=", ".join(map(str, comps)), m=m, target=target,
        k=len(comps), limit=limit, wa=w["authority"], wo=w["overlap"], wd=w["dofollow"],
        wr=w["referring_domains"], sat=SCORE_RD_SATURATION, pen=SCORE_SPAM_PENALTY)
    return con.execute(sql).fetchnumpy()


@numba.njit(nogil=True)
def bare_scatter(indptr: np.ndarray, src: np.ndarray, dofollow: np.ndarray,
                 comps: np.ndarray, scratch: np.ndarray) -> int:
    """The least a compiled gap scatter does: OR a link bit and a dofollow bit per
    competitor into a per-domain word, then clear the words (counting the sources)."""
    for j in range(comps.shape[0]):
        bit = np.uint32(1 << j)
        dof_bit = np.uint32(1 << (16 + j))
        for e in range(indptr[comps[j]], indptr[comps[j] + 1]):
            s = src[e]
            w = scratch[s] | bit
            if dofollow[e] != 0:
                w |= dof_bit
            scratch[s] = w
    sources = 0
    for j in range(comps.shape[0]):
        for e in range(indptr[comps[j]], indptr[comps[j] + 1]):
            s = src[e]
            if scratch[s] != 0:
                sources += 1
                scratch[s] = 0
    return sources


@numba.njit(nogil=True)
def stream_slices(indptr: np.ndarray, src: np.ndarray, dofollow: np.ndarray,
                  comps: np.ndarray) -> int:
    """Read the competitors' source ids and dofollow values once, in order: the
    memory-bandwidth floor of any gap over these in-links."""
    acc = 0
    for j in range(comps.shape[0]):
        for e in range(indptr[comps[j]], indptr[comps[j] + 1]):
            acc += src[e] + dofollow[e]
    return acc


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


def interleaved(repeat: int, fns: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Best time (and last value) of each function over ``repeat`` interleaved rounds,
    so that every contender sees the same machine load."""
    best: dict[str, tuple[float, Any]] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            t, value = best_of(1, fn)
            if name not in best or t < best[name][0]:
                best[name] = (t, value)
    return best


def bench_end_to_end(index: BenchIndex, con: duckdb.DuckDBPyConnection, target: int,
                     comps: list[int], repeat: int, limit: int) -> None:
    """compute_gap (compiled and NumPy) against DuckDB doing the same run in SQL."""
    names = [index.name(c) for c in comps]
    me = index.name(target)
    best = interleaved(repeat, {
        "compiled": lambda: compute_gap(index, me, names, limit=limit, engine="compiled"),
        "numpy": lambda: compute_gap(index, me, names, limit=limit, engine="numpy"),
        "duckdb": lambda: duckdb_run(con, target, comps, 1, limit),
    })
    fast, ref, duck = best["compiled"][1], best["numpy"][1], best["duckdb"][1]
    assert fast.prospects() == ref.prospects(), "compiled and NumPy engines disagree"
    assert fast.total_found == ref.total_found == int(duck["total_found"][0])
    same = (np.array_equal(fast.ids, np.asarray(duck["id"]))
            and np.array_equal(fast.score, np.asarray(duck["score"])))
    t_fast, t_ref, t_duck = best["compiled"][0], best["numpy"][0], best["duckdb"][0]
    print(f"\nend to end: a run keeping the best {limit:,} of {fast.total_found:,} prospects "
          "(validation, gap, metrics, score, order, names)")
    print(f"  linkgap compute_gap, compiled kernel  {t_fast * 1e3:8.2f} ms")
    print(f"  linkgap compute_gap, NumPy engine     {t_ref * 1e3:8.2f} ms")
    print(f"  DuckDB, the same run in SQL           {t_duck * 1e3:8.2f} ms "
          f"({'same rows and scores' if same else 'ROWS DIFFER'})")
    print(f"  ratio DuckDB / compiled               {t_duck / t_fast:8.1f}x  (goal >= 15x)")
    print(f"  ratio DuckDB / NumPy                  {t_duck / t_ref:8.1f}x")


def bench_kernel(graph: dict[str, np.ndarray], index: BenchIndex,
                 con: duckdb.DuckDBPyConnection, target: int, comps: list[int],
                 repeat: int, limit: int) -> None:
    """The fused kernel against a bare compiled scatter and the bandwidth floor."""
    indptr, src, dof = graph["in_indptr"], graph["in_src"], graph["in_dofollow"]
    comp_arr = np.asarray(comps, dtype=np.int64)
    scratch = np.zeros(indptr.shape[0] - 1, dtype=np.uint32)
    bare_scatter(indptr, src, dof, comp_arr, scratch)  # compile before timing
    stream_slices(indptr, src, dof, comp_arr)
    n_bytes = sum(int(indptr[c + 1] - indptr[c]) for c in comps) * (
        src.itemsize + dof.itemsize)
    print(f"\nkernel alone (best {limit:,} kept), {n_bytes / 1e6:.1f} MB of in-links read")
    print(f"  {'case':>22s} {'found':>9s} {'kernel':>9s} {'scatter':>9s} {'floor':>9s} "
          f"{'NumPy':>9s} {'DuckDB':>9s}  kernel/scatter  NumPy/kernel  DuckDB/kernel")
    for m, label in ((1, "union"), (3, "min_overlap=3"), (len(comps), "intersect")):
        best = interleaved(repeat, {
            "kernel": lambda m=m: kernel.fused_gap(
                indptr, src, dof, target, list(comps), m, limit, index.domain_rating,
                index.referring_domains, index.spam_score),
            "scatter": lambda: bare_scatter(indptr, src, dof, comp_arr, scratch),
            "floor": lambda: stream_slices(indptr, src, dof, comp_arr),
            "numpy": lambda m=m: gap_arrays(indptr, src, dof, target, comps, m),
            "duckdb": lambda m=m: duckdb_gap(con, target, comps, m),
        })
        found = best["kernel"][1].total_found
        assert found == best["numpy"][1].ids.shape[0] == best["duckdb"][1].shape[0], label
        t = {name: value[0] for name, value in best.items()}
        print(f"  {label:>22s} {found:9,d} {t['kernel'] * 1e3:7.2f}ms {t['scatter'] * 1e3:7.2f}ms "
              f"{t['floor'] * 1e3:7.2f}ms {t['numpy'] * 1e3:7.2f}ms {t['duckdb'] * 1e3:7.2f}ms "
              f"  {t['kernel'] / t['scatter']:13.2f}x {t['numpy'] / t['kernel']:12.1f}x "
              f"{t['duckdb'] / t['kernel']:13.1f}x")


def load_duckdb(graph: dict[str, np.ndarray], index: BenchIndex) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the edge table (sorted by target) and the domains table."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    edges = pa.table({"dst": graph["dst"], "src": graph["in_src"],
                      "dofollow": graph["in_dofollow"] > 0})
    con.register("arrow_edges", edges)
    con.execute("CREATE TABLE edges AS SELECT * FROM arrow_edges ORDER BY dst, src")
    con.unregister("arrow_edges")
    domains = pa.table({
        "id": np.arange(index.num_domains, dtype=np.int64), "name": index._names,
        "domain_rating": index.domain_rating.astype(np.int32), "backlinks": index.backlinks,
        "referring_domains": index.referring_domains,
        "spam_score": index.spam_score.astype(np.int32), "rank": index.rank})
    con.register("arrow_domains", domains)
    con.execute("CREATE TABLE domains AS SELECT * FROM arrow_domains ORDER BY id")
    con.unregister("arrow_domains")
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    print(f"duckdb tables loaded in {time.perf_counter() - t0:.1f} s "
          f"(threads={threads[0] if threads else '?'})")
    return con


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=40_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--limit", type=int, default=1000, help="rows a run keeps")
    parser.add_argument("--wide-dofollow", action="store_true",
                        help="dofollow as int64 counts, not the index's uint8 flag")
    parser.add_argument("--freeze", type=int, default=1_000_000,
                        help="prospects in the freeze/load benchmark (0: skip)")
    parser.add_argument("--graph-dir", default=None,
                        help="save the generated graph here and load it on later runs")
    parser.add_argument("--prospects", type=int, default=200_000,
                        help="kept prospects for the paging benchmark (0: skip)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    graph = load_or_generate(args.domains, args.edges, args.seed, args.graph_dir)
    if not args.wide_dofollow:
        graph["in_dofollow"] = (graph["in_dofollow"] > 0).astype(np.uint8)
    n_edges = graph["in_src"].shape[0]
    print(f"graph: {args.domains:,} domains, {n_edges:,} edges, dofollow "
          f"{graph['in_dofollow'].dtype} (ready in {time.perf_counter() - t0:.1f} s)")
    rng = np.random.default_rng(args.seed)
    target, comps = pick_competitors(graph["in_indptr"], rng)
    sizes = [int(graph["in_indptr"][c + 1] - graph["in_indptr"][c]) for c in comps]
    print(f"5 competitors with {sum(sizes):,} in-links; target with "
          f"{int(graph['in_indptr'][target + 1] - graph['in_indptr'][target]):,}")
    index = BenchIndex(graph, args.seed)
    t0 = time.perf_counter()
    kernel.warm(index)
    print(f"kernel ready in {time.perf_counter() - t0:.2f} s (compiled, or loaded from the "
          "disk cache)")
    con = load_duckdb(graph, index)

    bench_end_to_end(index, con, target, comps, args.repeat, args.limit)
    bench_kernel(graph, index, con, target, comps, args.repeat, args.limit)
    con.close()
    del graph["dst"]
    if args.prospects > 0:
        names = [index.name(c) for c in comps]
        t_all, big = best_of(max(1, args.repeat // 2), lambda: compute_gap(
            index, index.name(target), names, limit=args.prospects))
        print(f"\ncompute_gap limit={args.prospects:,}: {t_all * 1e3:.1f} ms "
              f"(total_found {big.total_found:,})")
        bench_prospects(big, args.repeat)
    if args.freeze > 0:
        bench_freeze(args.freeze, args.repeat)


if __name__ == "__main__":
    main()
