"""The compiled kernel against the NumPy reference engine, on random graphs.

Both must give the same kept rows (ids, competitor and dofollow masks, score),
in the same order, and the same total_found, for every mode, overlap, limit and
exclusion, with many ties, across block boundaries (the kernel walks the id
space in blocks; small blocks make every edge case cross one), and for both
per-edge formats (int64 dofollow counts; the compact uint8 flag).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.gap import RunFilters, compute_gap, kernel
from linkgap.gap.run import _numpy_rows

pytestmark = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")


class Graph:
    """CSR-by-target arrays plus metrics: what ``_numpy_rows`` and the kernel read."""

    def __init__(self, n: int, edges: dict[tuple[int, int], int], metrics: np.ndarray,
                 dof_dtype: type) -> None:
        self.num_domains = n
        indptr = np.zeros(n + 1, dtype=np.int64)
        src: list[int] = []
        dof: list[int] = []
        # Grouped by target once: a scan of every edge per target is quadratic and took
        # minutes on the 20,000-domain graph below.
        by_target: dict[int, list[tuple[int, int]]] = {}
        for (s, t), d in edges.items():
            by_target.setdefault(t, []).append((s, d))
        for t in range(n):
            row = sorted(by_target.get(t, ()))
            src += [s for s, _ in row]
            dof += [d for _, d in row]
            indptr[t + 1] = len(src)
        self.in_indptr = indptr
        self.in_src = np.asarray(src, dtype=np.int32)
        self.in_dofollow = np.asarray(dof, dtype=dof_dtype)
        self.domain_rating = metrics[0].astype(np.uint8)
        self.referring_domains = metrics[1].astype(np.int64)
        self.spam_score = metrics[2].astype(np.uint8)


@st.composite
def runs(draw):
    n = draw(st.integers(2, 70))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.integers(0, 3)), max_size=400))
    # dofollow as a count of dofollow links (0 = nofollow only), as the index stores it
    edges = {(s, t): d for s, t, d in pairs if s != t}
    k = draw(st.integers(1, min(20, n - 1)))
    ids = draw(st.lists(st.integers(0, n - 1), min_size=k + 1, max_size=k + 1, unique=True))
    target = ids[0] if draw(st.booleans()) else None
    comps = [c if draw(st.integers(0, 6)) else None for c in ids[1:]]
    intersect = draw(st.booleans())
    m = k if intersect else draw(st.integers(1, k))
    limit = draw(st.none() | st.integers(1, 6) | st.integers(1, 3 * n))
    # Few distinct metric values: plenty of equal scores, so the id tie-break matters.
    metrics = np.array([
        draw(st.lists(st.sampled_from([0, 1, 37, 50, 99, 100, 101, 255]), min_size=n,
                      max_size=n)),
        draw(st.lists(st.sampled_from([0, 1, 9, 99, 10_000, 250_000]), min_size=n,
                      max_size=n)),
        draw(st.lists(st.sampled_from([0, 1, 50, 100]), min_size=n, max_size=n)),
    ])
    block = draw(st.sampled_from([1, 2, 3, 8, kernel.BLOCK]))
    slack = draw(st.sampled_from([0, 1, 3, kernel.SLACK]))  # small: the buffer is cut often
    dof_dtype = draw(st.sampled_from([np.int64, np.uint8]))
    # Run-time exclusions (any ids but the competitors) and filters (SPEC 12).
    others = [i for i in range(n) if i not in ids[1:]]
    exclude = draw(st.lists(st.sampled_from(others), max_size=5, unique=True)) if others else []
    filters = RunFilters(
        min_authority=draw(st.none() | st.sampled_from([0, 1, 37, 50, 100])),
        max_spam=draw(st.none() | st.sampled_from([0, 1, 50, 100])),
        dofollow=draw(st.none() | st.booleans()))
    return n, edges, metrics, target, comps, m, limit, block, slack, dof_dtype, exclude, filters


def assert_same_rows(graph: Graph, target, comps, m, limit, block=kernel.BLOCK,
                     slack=kernel.SLACK, exclude=(), filters=None) -> None:
    want = _numpy_rows(graph, target, comps, m, limit, exclude, filters)  # type: ignore[arg-type]
    got = kernel.fused_gap(graph.in_indptr, graph.in_src, graph.in_dofollow, target, comps, m,
                           limit, graph.domain_rating, graph.referring_domains,
                           graph.spam_score, block=block, slack=slack, exclude=exclude,
                           filters=filters)
    assert got.total_found == want.total_found
    assert got.ids.tolist() == want.ids.tolist()
    assert got.score.tolist() == want.score.tolist()
    assert got.mask.tolist() == want.mask.tolist()
    assert got.dofollow_mask.tolist() == want.dofollow_mask.tolist()


@settings(max_examples=400, deadline=None)
@given(runs())
def test_kernel_equals_the_numpy_engine(run) -> None:
    n, edges, metrics, target, comps, m, limit, block, slack, dof_dtype, exclude, filters = run
    graph = Graph(n, edges, metrics, dof_dtype)
    assert_same_rows(graph, target, comps, m, limit, block, slack, exclude, filters)


def test_every_score_equals_the_numpy_score() -> None:
    # 20,000 prospects over every DR, a spread of RD (around the saturation and the
    # half-point boundaries) and every spam score: the float steps must match exactly.
    rng = np.random.default_rng(3)
    n = 20_003
    comps = [n - 3, n - 2, n - 1]
    metrics = np.array([rng.integers(0, 101, n), rng.integers(0, 12_000, n),
                        rng.integers(0, 101, n)])
    edges = {(s, comps[j]): int(rng.integers(0, 2)) for s in range(n - 3) for j in range(3)
             if (s >> j) & 1 or j == 0}
    graph = Graph(n, edges, metrics, np.int64)
    for limit in (None, 1, 777):
        for m in (1, 2, 3):
            assert_same_rows(graph, None, comps, m, limit)
            assert_same_rows(graph, None, comps, m, limit, slack=5)
    assert_same_rows(graph, 5, comps, 1, None)
    for filters in (RunFilters(min_authority=40), RunFilters(max_spam=30, dofollow=False),
                    RunFilters(min_authority=90, max_spam=10, dofollow=True)):
        for limit in (None, 1, 777):
            assert_same_rows(graph, 5, comps, 2, limit, slack=5, exclude=[7, 11, 400],
                             filters=filters)


def test_compute_gap_gives_the_same_result_with_either_engine(make_index) -> None:
    spec = [(f"d{i:04d}.com", c, (i * 7 + len(c)) % 3 == 0)
            for i in range(600) for c in ("a.com", "b.com", "c.com") if (i + len(c)) % 4]
    spec += [(f"d{i:04d}.com", "me.com", True) for i in range(0, 600, 9)]
    index = make_index(spec)
    for kwargs in ({}, {"limit": 10}, {"min_overlap": 2, "limit": 50}, {"mode": "intersect"},
                   {"limit": 10, "filters": {"dofollow": False}},
                   {"limit": 20, "filters": {"max_spam": 0, "dofollow": True}},
                   {"limit": 15, "exclude": ["d0003.com", "d0010.com", "nowhere.org"]}):
        compiled = compute_gap(index, "me.com", ["a.com", "b.com", "c.com"], engine="compiled",
                               **kwargs)
        reference = compute_gap(index, "me.com", ["a.com", "b.com", "c.com"], engine="numpy",
                                **kwargs)
        assert compiled.total_found == reference.total_found > 0
        assert compiled.prospects() == reference.prospects()
        for col in ("ids", "domain_rating", "backlinks", "referring_domains", "spam_score",
                    "rank", "competitor_overlap", "competitor_mask", "dofollow_mask", "score"):
            a, b = getattr(compiled, col), getattr(reference, col)
            assert a.dtype == b.dtype and np.array_equal(a, b), col


def test_an_unknown_engine_is_refused(make_index) -> None:
    with pytest.raises(ValueError, match="engine must be one of"):
        compute_gap(make_index("p.com -> a.com"), "me.com", ["a.com"], engine="fast")


def test_without_numba_runs_use_numpy_and_say_so() -> None:
    # A fresh interpreter where importing numba fails, as on a platform without wheels.
    script = """
import json, logging, sys
sys.modules["numba"] = None
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
sys.path.insert(0, sys.argv[1])
from gap.conftest import ArrayIndex, links
from linkgap.gap import compute_gap, kernel
index = ArrayIndex(links("p1.com -> a.com\\np2.com ~> a.com\\np2.com -> b.com"))
result = compute_gap(index, "me.com", ["a.com", "b.com"])
import numpy as np
from linkgap.index import metrics
pr = metrics.pagerank(np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32), np.array([1, 1]))
print(json.dumps({"available": kernel.available(), "rows": result.prospects(),
                  "pagerank": pr.pagerank.tolist()}))
"""
    tests_dir = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", script, tests_dir], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["available"] is False
    assert [r["domain"] for r in out["rows"]] == ["p2.com", "p1.com"]
    assert out["pagerank"] == [0.5, 0.5]  # the SciPy loop stands in for the compiled one
    assert "numba cannot be imported" in done.stderr and "NumPy engine" in done.stderr
    assert done.stderr.count("numba cannot be imported") == 1  # said once, not per run
