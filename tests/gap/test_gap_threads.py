"""Runs and page queries from many threads at once (the server's workers and request pool)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from linkgap.prospects import SORTS, ProspectQuery, all_rows, query_page


def test_concurrent_runs_match_sequential_runs(make_index) -> None:
    rng = random.Random(3)
    names = [f"s{i:03d}.com" for i in range(300)]
    comps = [f"c{j}.com" for j in range(18)]
    edges = [(s, c, rng.random() < 0.5) for s in names for c in comps if rng.random() < 0.2]
    edges += [(s, "me.com", False) for s in names[:40]]
    index = make_index(edges)
    jobs = [(rng.sample(comps, rng.randint(1, 18)), rng.choice(["union", "intersect"]))
            for _ in range(40)]
    expected = [index.gap("me.com", c, mode=m).prospects() for c, m in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda job: index.gap("me.com", job[0], mode=job[1]).prospects(),
                            jobs))
    assert got == expected


def test_concurrent_page_queries_on_one_result(fresh_sample_result) -> None:
    res = fresh_sample_result()
    rng = random.Random(5)
    queries = [ProspectQuery(max_spam=rng.choice([None, 40, 80]), sort=rng.choice(SORTS),
                             order=rng.choice(["asc", "desc"])) for _ in range(30)]
    fresh = fresh_sample_result()
    expected = {q: all_rows(fresh, q) for q in queries}

    def check(i: int) -> bool:
        q = queries[i % len(queries)]
        page = 1 + i % 4
        rows, total = query_page(res, q, page, 7)
        return rows == expected[q][(page - 1) * 7:page * 7] and total == len(expected[q])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(check, range(400)))
