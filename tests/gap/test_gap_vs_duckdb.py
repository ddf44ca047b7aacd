"""The core against an independent SQL formulation (DuckDB) on a mid-sized random graph."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from linkgap.gap import gap_arrays


def graph(n: int, e: int, seed: int):
    rng = np.random.default_rng(seed)
    dst = (n * rng.random(e) ** 3).astype(np.int64)
    src = (n * rng.random(e) ** 2.5).astype(np.int64)  # a few sources link very widely
    key = np.sort(dst[dst != src] * n + src[dst != src])
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    dst, src = np.divmod(key, n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(dst, minlength=n), out=indptr[1:])
    dofollow = rng.integers(0, 3, src.shape[0]).astype(np.int64)  # 0 = nofollow only
    return indptr, src.astype(np.int32), dofollow, dst


@pytest.mark.parametrize("seed,k,m", [(1, 3, 1), (2, 5, 2), (3, 20, 1), (4, 20, 7), (5, 4, 4)])
def test_core_agrees_with_sql(seed, k, m) -> None:
    indptr, src, dofollow, dst = graph(20_000, 200_000, seed)
    rng = np.random.default_rng(seed)
    by_degree = np.argsort(-np.diff(indptr), kind="stable")
    comps = [int(c) for c in rng.choice(by_degree[:60], k, replace=False)]
    target = int(next(t for t in by_degree[60:] if int(t) not in comps))
    core = gap_arrays(indptr, src, dofollow, target, comps, m)

    con = duckdb.connect()
    con.register("edges", pa.table({"dst": dst, "src": src.astype(np.int64),
                                    "dof": dofollow > 0}))
    con.register("comps", pa.table({"id": np.asarray(comps, dtype=np.int64),
                                    "j": np.arange(k, dtype=np.int64)}))
    rows = con.execute(f"""
        SELECT e.src, bit_or(1::BIGINT << c.j) AS mask,
               bit_or(CASE WHEN e.dof THEN 1::BIGINT << c.j ELSE 0 END) AS dmask
        FROM edges e JOIN comps c ON e.dst = c.id
        WHERE e.src NOT IN (SELECT id FROM comps) AND e.src <> {target}
          AND e.src NOT IN (SELECT src FROM edges WHERE dst = {target})
        GROUP BY e.src HAVING bit_count(bit_or(1::BIGINT << c.j)) >= {m}
        ORDER BY e.src""").fetchnumpy()
    order = np.argsort(core.ids)
    assert core.ids[order].tolist() == rows["src"].tolist()
    assert core.mask[order].tolist() == rows["mask"].tolist()
    assert core.dofollow_mask[order].tolist() == rows["dmask"].tolist()
    assert len(rows["src"]) > 0  # the graph is dense enough for every case to find some
