"""Metric building blocks: segment sums, chunked PageRank, DR mapping, spam signals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from linkgap.index import metrics as m
from linkgap.index import pagerank as compiled_pagerank
from linkgap.index.csr import segment_max, segment_sum
from linkgap.index.spam import ABUSED_TLDS, SIGNALS, compute_spam, signal_names


def test_segment_reductions_with_empty_segments() -> None:
    values = np.array([3, 1, 4, 1, 5], dtype=np.int64)
    indptr = np.array([0, 0, 2, 2, 5, 5])
    assert segment_sum(values, indptr).tolist() == [0, 4, 0, 10, 0]
    assert segment_max(values, indptr).tolist() == [0, 3, 0, 5, 0]
    assert segment_sum(values[:0], np.array([0, 0, 0])).tolist() == [0, 0]


def test_row_blocks_cover_all_rows() -> None:
    indptr = np.array([0, 5, 5, 9, 20, 21, 30])
    blocks = m.row_blocks(indptr, block_edges=6)
    assert blocks[0][0] == 0 and blocks[-1][1] == 6
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    assert len(blocks) > 1
    assert m.row_blocks(indptr, block_edges=100) == [(0, 6)]


def _random_graph(n: int, e: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, e)
    dst = rng.integers(0, n, e)
    keep = src != dst
    adj = sp.csr_matrix((np.ones(keep.sum()), (dst[keep], src[keep])), shape=(n, n))
    adj.data[:] = 1.0  # binary
    adj.sum_duplicates()
    adj.data[:] = 1.0
    adj.sort_indices()
    out_degree = np.bincount(adj.indices, minlength=n)
    return adj.indptr.astype(np.int64), adj.indices.astype(np.int32), out_degree


def _dense_reference(indptr: np.ndarray, src: np.ndarray, out: np.ndarray) -> np.ndarray:
    n = len(indptr) - 1
    a = np.zeros((n, n))
    for t in range(n):
        for s in src[indptr[t] : indptr[t + 1]]:
            a[t, s] = 1.0 / out[s]
    r = np.full(n, 1.0 / n)
    dangling = out == 0
    for _ in range(500):
        r = 0.85 * (a @ r) + (0.15 + 0.85 * r[dangling].sum()) / n
    return r


#: Both PageRank engines: the compiled iteration (linkgap.index.pagerank) and the SciPy loop.
ENGINES = pytest.mark.parametrize("engine", [
    pytest.param("compiled", marks=pytest.mark.skipif(not compiled_pagerank.available(),
                                                      reason="numba is not installed")),
    "scipy",
])


@ENGINES
@pytest.mark.parametrize("block_edges", [7, 50, 1 << 20])
def test_chunked_pagerank_matches_dense_reference(block_edges: int, engine: str) -> None:
    indptr, src, out = _random_graph(60, 200, seed=block_edges)
    result = m.pagerank(indptr, src, out, block_edges=block_edges, engine=engine)
    assert result.converged
    assert np.allclose(result.pagerank, _dense_reference(indptr, src, out), rtol=1e-4)
    assert result.pagerank.sum() == pytest.approx(1.0, abs=1e-5)


def test_chunked_and_single_block_pagerank_agree() -> None:
    indptr, src, out = _random_graph(500, 3000, seed=3)
    whole = m.pagerank(indptr, src, out, engine="scipy")
    chunked = m.pagerank(indptr, src, out, block_edges=97, engine="scipy")
    assert np.array_equal(whole.pagerank, chunked.pagerank)


@ENGINES
def test_pagerank_without_edges_is_uniform(engine: str) -> None:
    indptr = np.zeros(5, dtype=np.int64)
    result = m.pagerank(indptr, np.zeros(0, dtype=np.int32), np.zeros(4, dtype=np.int64),
                        engine=engine)
    assert np.allclose(result.pagerank, 0.25)


def test_dofollow_graph_drops_nofollow_edges() -> None:
    indptr = np.array([0, 2, 3, 3])
    src = np.array([1, 2, 0], dtype=np.int32)
    dofollow = np.array([0, 2, 1])
    df_rd = np.array([1, 1, 0])
    df_indptr, df_src = m.dofollow_graph(indptr, src, dofollow, df_rd)
    assert df_indptr.tolist() == [0, 1, 2, 2] and df_src.tolist() == [2, 0]


def test_domain_rating_mapping_by_hand() -> None:
    pr = np.array([0.1, 0.2, 0.3, 0.4])
    df_rd = np.array([1, 1, 1, 0])
    dr = m.domain_rating(pr, df_rd)
    # N = 4: 7.5 * ln(0.1*4) + 10 = 3.13 -> 3; ln(0.8) -> 8.33 -> 8; ln(1.2) -> 11.37 -> 11
    assert dr.tolist() == [3, 8, 11, 0]
    huge = m.domain_rating(np.array([1e-12, 0.999999999999]), np.array([1, 1]))
    assert huge.tolist() == [1, 15]  # clamped to at least 1; ln(2)*7.5+10 = 15.2
    # N is the number of domains (the length of the arrays): the same PageRank values among
    # 8 domains are worth 7.5 * ln(2) = 5.2 points more. N = 8: ln(0.8) -> 8.33 -> 8;
    # ln(1.6) -> 13.53 -> 14; ln(2.4) -> 16.57 -> 17; ln(3.2) -> 18.72 -> 19
    wider = m.domain_rating(np.array([0.1, 0.2, 0.3, 0.4, 0, 0, 0, 0]),
                            np.array([1, 1, 1, 1, 0, 0, 0, 0]))
    assert wider.tolist() == [8, 14, 17, 19, 0, 0, 0, 0]
    # the cap: PR * N = 1e6 -> 7.5 * 13.82 + 10 = 113.6 -> 100
    assert m.domain_rating(np.array([1.0] + [0.0] * 999_999), np.array([1] + [0] * 999_999)
                           )[0] == 100


def test_rank_ties_by_id() -> None:
    assert m.rank_by_pagerank(np.array([0.2, 0.4, 0.2, 0.2])).tolist() == [2, 1, 3, 4]


def test_round_significant() -> None:
    values = np.array([0.123456789, 1.23456789e-9, 0.5])
    assert m.round_significant(values, 6).tolist() == pytest.approx(
        [0.123457, 1.23457e-9, 0.5], rel=1e-12)


def test_round_significant_gives_the_bits_of_the_formula_per_value() -> None:
    # All-positive vectors take a faster path (a table of powers of ten); it must give
    # the bits of the formula computed value by value, exact powers of ten and
    # values just around them included, and the same as with a zero among them.
    rng = np.random.default_rng(11)
    values = rng.pareto(1.1, 50_000) * 10.0 ** rng.integers(-40, 40, 50_000) + 1e-300
    powers = 10.0 ** np.arange(-30, 30, dtype=np.float64)
    values = np.concatenate([values, powers, np.nextafter(powers, 0), np.nextafter(powers, 1)])
    for digits in (1, 6, 15):
        exponent = np.floor(np.log10(values))
        scale = 10.0 ** (digits - 1 - exponent)
        want = np.round(values * scale) / scale
        got = m.round_significant(values, digits)
        assert np.array_equal(got.view(np.int64), want.view(np.int64))
        with_zero = m.round_significant(np.concatenate([values, [0.0]]), digits)
        assert np.array_equal(with_zero[:-1].view(np.int64), want.view(np.int64))
        assert with_zero[-1] == 0.0


def _names(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [n.encode() for n in names]
    offsets = np.concatenate(([0], np.cumsum([len(b) for b in encoded]))).astype(np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _counts(n: int, **given: list[int]) -> m.DomainCounts:
    fields = {name: np.asarray(given.get(name, [0] * n), dtype=np.int64) for name in (
        "backlinks", "referring_domains", "dofollow_referring_domains", "linked_domains",
        "outlinks", "dofollow_linked_domains", "top_referrer_links", "dofollow_backlinks")}
    return m.DomainCounts(**fields)


def test_name_signals() -> None:
    names = ["plain.com", "abc123.com", "a-b-c.co.uk", "averyveryverylongname1.org",
             "x.xyz", "x-y.com", "xn--bcher-kva.de", "top.com"]
    data, offsets = _names(names)
    counts = _counts(len(names), referring_domains=[1] * len(names))
    score, fired = compute_spam(counts, data, offsets, block=3)
    by_name = {n: signal_names(int(f)) for n, f in zip(names, fired, strict=True)}
    assert by_name["plain.com"] == []
    assert by_name["abc123.com"] == ["digits_in_name"]
    assert by_name["a-b-c.co.uk"] == ["hyphens_in_name"]
    assert by_name["averyveryverylongname1.org"] == ["long_name"]
    assert by_name["x.xyz"] == ["abused_tld"]
    assert by_name["x-y.com"] == []  # one hyphen is ordinary
    assert by_name["xn--bcher-kva.de"] == []  # read as bücher: no digits, no hyphen
    assert by_name["top.com"] == []  # "top" as a name, not as the TLD
    assert score.tolist()[1] == 10 and score.tolist()[4] == 15


def test_graph_signals_and_cap() -> None:
    names = ["farm.com", "quiet.com", "one-sided.com", "lonely.com", "legit.com"]
    data, offsets = _names(names)
    counts = _counts(
        5,
        linked_domains=[40, 0, 0, 0, 3],
        referring_domains=[2, 5, 2, 0, 8],
        backlinks=[5, 50, 30, 0, 20],
        dofollow_backlinks=[5, 2, 30, 0, 20],
        top_referrer_links=[3, 10, 28, 0, 4],
    )
    score, fired = compute_spam(counts, data, offsets)
    got = [signal_names(int(f)) for f in fired]
    assert got[0] == ["high_outlink_ratio"]
    assert got[1] == ["low_dofollow_share"]
    assert got[2] == ["concentrated_inlinks"]  # one hyphen is not a signal
    assert got[3] == ["no_referring_domains"]
    assert got[4] == []
    assert score.tolist() == [25, 15, 15, 10, 0]
    everything = ["a-b-c-1234567890123456.xyz"]
    data, offsets = _names(everything)
    counts = _counts(1, linked_domains=[100], backlinks=[100], top_referrer_links=[100])
    score, fired = compute_spam(counts, data, offsets)
    assert int(score[0]) == 100  # 110 points, capped
    assert len(signal_names(int(fired[0]))) == 8


def test_signal_list_is_stable() -> None:
    assert [s.name for s in SIGNALS] == [
        "high_outlink_ratio", "low_dofollow_share", "concentrated_inlinks", "digits_in_name",
        "hyphens_in_name", "long_name", "abused_tld", "no_referring_domains"]
    assert "xyz" in ABUSED_TLDS and "com" not in ABUSED_TLDS


def test_docs_spam_example() -> None:
    # docs/metrics.md: cheap-pills-4u.xyz, links to 40 domains, linked from one
    data, offsets = _names(["cheap-pills-4u.xyz"])
    counts = _counts(1, linked_domains=[40], referring_domains=[1], backlinks=[1],
                     dofollow_backlinks=[1], top_referrer_links=[1])
    score, fired = compute_spam(counts, data, offsets)
    assert signal_names(int(fired[0])) == ["high_outlink_ratio", "hyphens_in_name", "abused_tld"]
    assert int(score[0]) == 50


@ENGINES
def test_rows_without_in_links_get_only_the_teleport_share(engine: str) -> None:
    # rows 0-2 have no in-links at all; chunking puts them in their own block
    indptr = np.array([0, 0, 0, 0, 1, 2], dtype=np.int64)
    src = np.array([4, 3], dtype=np.int32)
    out = np.array([0, 0, 0, 1, 1])
    for block_edges in (1, 1 << 20):
        pr = m.pagerank(indptr, src, out, block_edges=block_edges, engine=engine).pagerank
        assert pr[0] == pr[1] == pr[2]
        assert np.allclose(pr, _dense_reference(indptr, src, out), rtol=1e-4)


def test_threaded_blocks_give_the_same_pagerank(monkeypatch: pytest.MonkeyPatch) -> None:
    indptr, src, out = _random_graph(400, 3000, seed=11)
    alone = m.pagerank(indptr, src, out, threads=1, engine="scipy")
    monkeypatch.setattr(m, "PARALLEL_MIN_EDGES", 1)
    threaded = m.pagerank(indptr, src, out, threads=3, engine="scipy")
    assert threaded.iterations == alone.iterations
    assert np.array_equal(threaded.pagerank, alone.pagerank)
