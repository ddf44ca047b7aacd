"""The compiled PageRank iteration (linkgap.index.pagerank) against the SciPy loop."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index.test_index_metrics_unit import _dense_reference, _random_graph

from linkgap.index import metrics as m
from linkgap.index import pagerank as compiled

pytestmark = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 300), st.integers(0, 2000), st.integers(0, 10**6))
def test_compiled_agrees_with_the_scipy_loop(n: int, e: int, seed: int) -> None:
    indptr, src, out = _random_graph(n, e, seed)
    fast = m.pagerank(indptr, src, out, engine="compiled")
    slow = m.pagerank(indptr, src, out, engine="scipy")
    # Both round to 6 significant digits; the float32 sums agree, the change and the
    # dangling mass are summed in a different order, so a last digit may differ.
    assert np.allclose(fast.pagerank, slow.pagerank, rtol=2e-5, atol=0)
    assert abs(fast.iterations - slow.iterations) <= 1
    assert fast.converged and fast.pagerank.sum() == pytest.approx(1.0, abs=1e-5)


def test_compiled_matches_the_dense_reference_across_many_blocks(monkeypatch) -> None:
    indptr, src, out = _random_graph(200, 1500, seed=5)
    monkeypatch.setattr(compiled, "BLOCK_EDGES", 16)  # dozens of blocks
    result = m.pagerank(indptr, src, out, engine="compiled")
    assert result.converged
    assert np.allclose(result.pagerank, _dense_reference(indptr, src, out), rtol=1e-4)


def test_compiled_is_deterministic_whatever_the_threads(monkeypatch) -> None:
    indptr, src, out = _random_graph(3000, 40000, seed=9)
    monkeypatch.setattr(compiled, "BLOCK_EDGES", 64)  # many blocks for the threads to share
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = m.pagerank(indptr, src, out, engine="compiled")
        numba.set_num_threads(threads)
        shared = m.pagerank(indptr, src, out, engine="compiled")
    finally:
        numba.set_num_threads(threads)
    again = m.pagerank(indptr, src, out, engine="compiled")
    assert alone.iterations == shared.iterations == again.iterations
    assert np.array_equal(alone.pagerank, shared.pagerank)
    assert np.array_equal(shared.pagerank, again.pagerank)
    assert alone.delta == shared.delta


def test_the_iteration_limit_and_unknown_engines() -> None:
    indptr, src, out = _random_graph(100, 600, seed=2)
    capped = m.pagerank(indptr, src, out, max_iterations=3, tolerance=0.0, engine="compiled")
    assert capped.iterations == 3 and not capped.converged
    with pytest.raises(ValueError, match="engine"):
        m.pagerank(indptr, src, out, engine="gpu")


def test_auto_runs_the_compiled_iteration_from_a_size_of_graph_on(monkeypatch) -> None:
    indptr, src, out = _random_graph(300, 2500, seed=4)
    # small graphs: the SciPy loop (no numba start-up for a small build)
    assert np.array_equal(m.pagerank(indptr, src, out).pagerank,
                          m.pagerank(indptr, src, out, engine="scipy").pagerank)
    assert len(src) < m.COMPILED_MIN_EDGES
    monkeypatch.setattr(m, "COMPILED_MIN_EDGES", len(src))
    assert np.array_equal(m.pagerank(indptr, src, out).pagerank,
                          m.pagerank(indptr, src, out, engine="compiled").pagerank)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 400), st.integers(0, 4000), st.integers(0, 10**6),
       st.sampled_from([1, 7, 64, 1 << 16]), st.sampled_from([1, 50, 999, 1 << 22]))
def test_streamed_ids_give_the_bits_of_ids_in_memory(tmp_path_factory, n: int, e: int,
                                                     seed: int, block: int,
                                                     chunk: int) -> None:
    indptr, src, out = _random_graph(n, e, seed)
    path = tmp_path_factory.mktemp("ids") / "src.npy"
    np.save(path, src.astype(np.int32))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "BLOCK_EDGES", block)
        whole = m.pagerank(indptr, src, out, engine="compiled")
        source = m.FileSource(path)
        try:
            streamed = m.pagerank(indptr, source, out, engine="compiled", block_edges=chunk)
        finally:
            source.close()
    assert streamed.iterations == whole.iterations and streamed.delta == whole.delta
    assert np.array_equal(streamed.pagerank, whole.pagerank)


def test_a_short_id_file_is_an_error_not_a_wrong_rank(tmp_path) -> None:
    indptr, src, out = _random_graph(50, 400, seed=8)
    path = tmp_path / "src.npy"
    np.save(path, src[:-10].astype(np.int32))  # the file lost its last ids
    source = m.FileSource(path)
    try:
        with pytest.raises(OSError, match="ends early"):
            m.pagerank(indptr, source, out, engine="compiled", block_edges=64)
    finally:
        source.close()


@pytest.mark.parametrize("engine", ["compiled", "scipy"])
def test_a_hub_with_many_in_links_keeps_its_digits(engine: str) -> None:
    # A star: every leaf links to the hub, the hub to every leaf. The hub's row sums
    # 200,000 equal terms: float32 running sums would be off in the 4th digit.
    leaves = 200_000
    n = leaves + 1
    indptr = np.concatenate(([0, leaves], np.arange(leaves + 1, 2 * leaves + 1))).astype(
        np.int64)
    src = np.concatenate((np.arange(1, n), np.zeros(leaves))).astype(np.int32)
    out = np.concatenate(([leaves], np.ones(leaves))).astype(np.int64)
    result = m.pagerank(indptr, src, out, engine=engine)
    d = m.DAMPING
    hub = (1 - d) * (1 + d * leaves) / ((1 - d * d) * n)  # solved by hand
    assert result.converged
    assert result.pagerank[0] == pytest.approx(hub, rel=2e-6)
    assert result.pagerank[1] == pytest.approx((1 - hub) / leaves, rel=2e-6)


def test_the_starting_vectors_are_the_numpy_formulas() -> None:
    out = np.random.default_rng(3).integers(0, 5000, size=10_000)
    out[:50] = 0  # dangling domains
    n = len(out)
    inv_out, r, x = (np.empty(n, dtype=np.float32) for _ in range(3))
    dangling = compiled._PREPARE.get()(out, inv_out, r, x)
    want_inv = np.zeros(n, dtype=np.float32)
    want_inv[out > 0] = 1.0 / out[out > 0]
    want_r = np.full(n, 1.0 / n, dtype=np.float32)
    assert dangling == np.count_nonzero(out == 0)
    assert np.array_equal(inv_out, want_inv) and np.array_equal(r, want_r)
    assert np.array_equal(x, want_r * want_inv)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200_000), st.integers(0, 10**6), st.floats(-15, 0))
def test_the_final_rounding_gives_the_bits_of_round_significant(n: int, seed: int,
                                                                 low: float) -> None:
    rng = np.random.default_rng(seed)
    values = (10.0 ** rng.uniform(low, 0, size=n)).astype(np.float32)
    # values on both sides of powers of ten, where the exponent changes
    near = 10.0 ** rng.integers(-12, 0, size=min(n, 40))
    values[: len(near)] = np.nextafter(near.astype(np.float32),
                                       rng.choice([0.0, 1.0], size=len(near)))
    result = compiled._normalised(values)
    # the total: fixed slices summed in order (accumulate's last value), added exactly
    total = math.fsum(float(np.add.accumulate(values[k:k + compiled._SUM_ROWS]
                                              .astype(np.float64))[-1])
                      for k in range(0, n, compiled._SUM_ROWS))
    want = m.round_significant(values.astype(np.float64) / total, m.PAGERANK_DIGITS)
    assert np.array_equal(result, want)


def test_values_the_rounding_table_does_not_cover_are_rounded_by_numpy() -> None:
    values = np.array([0.5, 0.0, 1e-38, 0.25], dtype=np.float32)
    total = 0.75 + 1e-38
    out = np.empty(len(values))
    outside = compiled._NORMALISE_AND_ROUND.get()(values, total, compiled._LOWEST_EXPONENT,
                                                 *compiled._rounding_tables(6), out)
    assert outside == 1  # the zero
    result = compiled._normalised(values)
    assert np.array_equal(result, m.round_significant(values.astype(np.float64) / total, 6))
    assert result[1] == 0.0
