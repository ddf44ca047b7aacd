"""linkgap.index.competitors against a brute-force computation over Python sets, on
random graphs, with and without the referring-domain cap (a small cap here; 50,000
by default), over out-links written by the build's writer (linkgap.index.outlinks),
in memory and through its bucketed out-of-core path."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from linkgap.index import outlinks
from linkgap.index.competitors import DEFAULT_CAP, link_competitors
from linkgap.index.outlinks import write_out_links

#: Counter for the scratch folders of transpose_csr (one per call).
_CALLS = [0]


def transpose_csr(in_indptr: np.ndarray, in_src: np.ndarray, *, chunk_edges: int = 1 << 21,
                  memory_bytes: int = 1 << 30, max_open: int = 128,
                  root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The out-link CSR, written by the build's writer from in-link .npy files."""
    import tempfile

    _CALLS[0] += 1
    base = root or Path(tempfile.mkdtemp(prefix="lg-outlinks-"))
    folder = base / f"v{_CALLS[0]}"
    folder.mkdir(parents=True)
    np.save(folder / "in_indptr.npy", in_indptr.astype(np.int64))
    np.save(folder / "in_src.npy", in_src.astype(np.int32))
    n = len(in_indptr) - 1
    np.save(folder / "linked_domains.npy",
            np.bincount(in_src.astype(np.int64), minlength=n).astype(np.int64))
    write_out_links(folder, folder / "work", memory_bytes, read_edges=chunk_edges,
                    min_bucket_edges=1, max_open=max_open)
    return np.load(folder / "out_indptr.npy"), np.load(folder / "out_dst.npy")


def in_csr(pairs: set[tuple[int, int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The in-link CSR (sources ascending per target) of (source, target) pairs."""
    by_target: dict[int, list[int]] = {}
    for s, t in pairs:
        by_target.setdefault(t, []).append(s)
    indptr = np.zeros(n + 1, dtype=np.int64)
    src: list[int] = []
    for t in range(n):
        src += sorted(by_target.get(t, []))
        indptr[t + 1] = len(src)
    return indptr, np.asarray(src, dtype=np.int32)


def random_graph(seed: int, n: int = 300, edges: int = 3000
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[tuple[int, int]]]:
    """(in_indptr, in_src, pagerank, edge set) of a random graph with hubs and ties."""
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = set()
    hubs = rng.sample(range(n), 8)
    while len(pairs) < edges:
        s = rng.randrange(n)
        t = rng.choice(hubs) if rng.random() < 0.3 else rng.randrange(n)
        if s != t:
            pairs.add((s, t))
    indptr, src = in_csr(pairs, n)
    # PageRank-like strengths with many exact ties (the cap breaks them by id).
    pagerank = np.array([rng.choice([0.1, 0.2, 0.3, rng.random()]) for _ in range(n)])
    return indptr, src, pagerank, pairs


def brute_force(pairs: set[tuple[int, int]], pagerank: np.ndarray, target: int, limit: int,
                cap: int) -> list[tuple[int, int, float]]:
    referrers: dict[int, set[int]] = {}
    for s, t in pairs:
        referrers.setdefault(t, set()).add(s)
    mine = sorted(referrers.get(target, set()))
    if len(mine) > cap:
        mine = sorted(sorted(mine, key=lambda r: (-pagerank[r], r))[:cap])
    used = set(mine)
    rows = []
    for other, theirs in referrers.items():
        if other == target:
            continue
        shared = len(used & theirs)
        if shared:
            rows.append((other, shared, shared / (len(used) + len(theirs) - shared)))
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return rows[:limit]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cap", [DEFAULT_CAP, 7, 1])
def test_equal_to_brute_force(seed: int, cap: int) -> None:
    indptr, src, pagerank, pairs = random_graph(seed)
    # A small budget, so that some graphs go through the bucketed path.
    out_indptr, out_dst = transpose_csr(indptr, src, chunk_edges=257,
                                        memory_bytes=(1 << 30) if seed % 2 else 10 * 500)
    rng = random.Random(seed)
    rd = np.diff(indptr)
    targets = [int(np.argmax(rd)), int(np.argmin(rd))] + rng.sample(range(len(rd)), 6)
    for target in targets:
        for limit in (1, 5, 20, 1000):
            got = link_competitors(indptr, src, out_indptr, out_dst, pagerank, target,
                                   limit=limit, cap=cap)
            want = brute_force(pairs, pagerank, target, limit, cap)
            assert [(int(i), int(s)) for i, s in zip(got.ids, got.shared, strict=True)] == \
                [(o, s) for o, s, _ in want], (seed, target, limit)
            assert got.jaccard.tolist() == [j for _, _, j in want]
            assert got.total_referring_domains == int(rd[target])
            assert got.capped == (rd[target] > cap)
            assert got.referring_domains == min(int(rd[target]), cap)


def test_the_cap_keeps_the_strongest_referrers() -> None:
    # T=0 is linked to by 1..6; 1..6 each link to their own domain 10+i as well, and the
    # strongest three (by PageRank) are 4, 5, 6.
    pairs = {(i, 0) for i in range(1, 7)} | {(i, 10 + i) for i in range(1, 7)}
    n = 20
    indptr, in_src = in_csr(pairs, n)
    pagerank = np.array([0.01 * i for i in range(n)])
    out_indptr, out_dst = transpose_csr(indptr, in_src)
    got = link_competitors(indptr, in_src, out_indptr, out_dst, pagerank, 0, cap=3)
    assert got.capped and got.referring_domains == 3 and got.total_referring_domains == 6
    assert sorted(got.ids.tolist()) == [14, 15, 16]
    assert got.jaccard.tolist() == [1 / 3] * 3
    # Equal strengths: the lowest ids (first names) are kept.
    even = link_competitors(indptr, in_src, out_indptr, out_dst, np.full(n, 0.05), 0, cap=2)
    assert sorted(even.ids.tolist()) == [11, 12]


def test_a_domain_without_referring_domains_has_no_competitors() -> None:
    indptr, src, pagerank, _ = random_graph(1, n=3000, edges=500)
    out_indptr, out_dst = transpose_csr(indptr, src)
    lonely = int(np.flatnonzero(np.diff(indptr) == 0)[0])
    got = link_competitors(indptr, src, out_indptr, out_dst, pagerank, lonely)
    assert len(got) == 0 and got.referring_domains == 0 and not got.capped


@pytest.mark.parametrize(("memory_bytes", "max_open", "compiled"), [
    (1 << 30, 128, True),  # placed in memory by the compiled counting sort
    (1 << 30, 128, False),  # without numba: keys sorted in memory
    (10 * 100, 128, True),  # ~100 edges a bucket: one partitioning pass
    (10 * 37, 3, True),  # more buckets than may be open at once: several passes
])
def test_out_links_are_the_out_link_csr_with_ascending_targets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_bytes: int, max_open: int,
        compiled: bool) -> None:
    if compiled:
        monkeypatch.setattr(outlinks, "COMPILED_MIN_EDGES", 0)  # a small graph takes it too
    else:
        monkeypatch.setattr(outlinks._TRANSPOSE, "get", lambda: None)
    indptr, src, _, pairs = random_graph(3, n=120, edges=900)
    for chunk in (1, 13, 10_000):
        out_indptr, out_dst = transpose_csr(indptr, src, chunk_edges=chunk, root=tmp_path,
                                            memory_bytes=memory_bytes, max_open=max_open)
        assert out_dst.dtype == np.int32
        for s in range(120):
            row = out_dst[out_indptr[s]:out_indptr[s + 1]].tolist()
            assert row == sorted(t for (a, t) in pairs if a == s)
    # The bucket scratch files are gone once the out-links are written.
    assert not any(tmp_path.glob("*/work/out-bucket-*"))


def test_a_small_graph_never_starts_the_compiled_pass(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def no_numba() -> None:
        raise AssertionError("the compiled transpose was asked for")

    monkeypatch.setattr(outlinks._TRANSPOSE, "get", no_numba)
    indptr, src, _, pairs = random_graph(6, n=120, edges=900)
    out_indptr, out_dst = transpose_csr(indptr, src, root=tmp_path, memory_bytes=1 << 30)
    for s in range(120):
        assert out_dst[out_indptr[s]:out_indptr[s + 1]].tolist() == sorted(
            t for (a, t) in pairs if a == s)


def test_bucketed_out_links_report_their_passes(tmp_path: Path) -> None:
    indptr, src, _, _ = random_graph(4, n=200, edges=2000)
    folder = tmp_path / "v"
    folder.mkdir()
    np.save(folder / "in_indptr.npy", indptr)
    np.save(folder / "in_src.npy", src)
    np.save(folder / "linked_domains.npy", np.bincount(src, minlength=200).astype(np.int64))
    report = write_out_links(folder, folder / "work", 10 * 100, min_bucket_edges=1,
                             max_open=4)
    assert report.edges == 2000
    assert report.buckets >= 20  # about 100 edges each
    assert report.passes == -(-report.buckets // 4)


def test_out_degrees_that_disagree_with_the_csr_fail_the_build(tmp_path: Path) -> None:
    indptr, src, _, _ = random_graph(5, n=50, edges=300)
    folder = tmp_path / "v"
    folder.mkdir()
    np.save(folder / "in_indptr.npy", indptr)
    np.save(folder / "in_src.npy", src)
    np.save(folder / "linked_domains.npy", np.ones(50, dtype=np.int64))
    with pytest.raises(RuntimeError, match="out-degrees add up to 50 edges"):
        write_out_links(folder, folder / "work", 1 << 20)


@pytest.mark.parametrize(("n", "edges", "chunk_edges"), [
    (400, 6000, 1), (400, 6000, 50), (400, 6000, 100), (400, 6000, 1 << 22),  # dense
    (6000, 5000, 1 << 22),  # few out-links next to the index: counted by sorting
])
def test_sparse_and_dense_counting_agree(n: int, edges: int, chunk_edges: int) -> None:
    # Dense counting (bincount, or sort-and-add in small chunks) and sparse counting
    # (sorting the gathered ids) give the brute force alike.
    indptr, src, pagerank, pairs = random_graph(11, n=n, edges=edges)
    out_indptr, out_dst = transpose_csr(indptr, src)
    rd = np.diff(indptr)
    targets = [int(t) for t in np.argsort(-rd, kind="stable")[:12]]
    for target in targets:
        got = link_competitors(indptr, src, out_indptr, out_dst, pagerank, target, limit=30,
                               chunk_edges=chunk_edges)
        want = brute_force(pairs, pagerank, target, 30, DEFAULT_CAP)
        assert want
        assert [(int(i), int(s)) for i, s in zip(got.ids, got.shared, strict=True)] == \
            [(o, s) for o, s, _ in want]
