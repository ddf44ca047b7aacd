"""The array core against a brute-force Python reference on random graphs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.gap.engine import _SCRATCH, gap_arrays


def csr(n: int, edges: dict[tuple[int, int], bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indptr = np.zeros(n + 1, dtype=np.int64)
    src: list[int] = []
    dof: list[int] = []
    for t in range(n):
        row = sorted((s, d) for (s, tt), d in edges.items() if tt == t)
        src += [s for s, _ in row]
        dof += [int(d) for _, d in row]
        indptr[t + 1] = len(src)
    return indptr, np.asarray(src, dtype=np.int32), np.asarray(dof, dtype=np.int64)


def reference(n, edges, target, comps, m, exclude=()):
    """Straight from SPEC 4 (and SPEC 12's exclusions), one domain at a time."""
    out = {}
    for p in range(n):
        if p == target or p in comps or p in exclude:
            continue
        if target is not None and (p, target) in edges:
            continue
        if any((p, x) in edges for x in exclude):
            continue
        bits = dof = 0
        for j, c in enumerate(comps):
            if c is not None and (p, c) in edges:
                bits |= 1 << j
                if edges[(p, c)]:
                    dof |= 1 << j
        if bin(bits).count("1") >= m:
            out[p] = (bits, dof)
    return out


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 40))
    pairs = draw(st.lists(
        st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans()), max_size=200))
    edges = {(s, t): d for s, t, d in pairs if s != t}
    k = draw(st.integers(1, min(20, n - 1)))  # past 15: the uint64 scratch words
    ids = draw(st.lists(st.integers(0, n - 1), min_size=k + 1, max_size=k + 1, unique=True))
    target = ids[0] if draw(st.booleans()) else None
    comps = [c if draw(st.integers(0, 5)) else None for c in ids[1:]]
    m = draw(st.integers(1, k))
    # Excluded domains: any ids but the competitors (the target may be among them).
    others = [i for i in range(n) if i not in ids[1:]]
    exclude = draw(st.lists(st.sampled_from(others), max_size=4, unique=True)) if others else []
    return n, edges, target, comps, m, exclude


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_core_matches_the_reference(graph) -> None:
    n, edges, target, comps, m, exclude = graph
    indptr, src, dof = csr(n, edges)
    core = gap_arrays(indptr, src, dof, target, comps, m, exclude=exclude)
    got = {int(i): (int(b), int(d))
           for i, b, d in zip(core.ids, core.mask, core.dofollow_mask, strict=True)}
    assert got == reference(n, edges, target, comps, m, exclude)
    assert len(core.ids) == len(got)  # each prospect once
    # The scratch is left all-zero for the next run.
    assert not any(w[:n].any() for w in _SCRATCH.words.values())


def test_scratch_is_cleared_even_when_a_run_fails() -> None:
    indptr, src, dof = csr(4, {(0, 1): True, (2, 1): False, (0, 3): True})

    class FailsOnSecondSlice:
        """Dofollow column that breaks after the first competitor was written."""

        calls = 0

        def __getitem__(self, key):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("disk error")
            return dof[key]

    with pytest.raises(RuntimeError):
        gap_arrays(indptr, src, FailsOnSecondSlice(), None, [1, 3], 1)
    assert not any(w[:4].any() for w in _SCRATCH.words.values())
    core = gap_arrays(indptr, src, dof, None, [1, 3], 1)
    assert sorted(core.ids.tolist()) == [0, 2]


def test_memory_mapped_arrays_work(tmp_path) -> None:
    indptr, src, dof = csr(5, {(0, 1): True, (2, 1): False, (3, 4): True, (2, 4): True})
    arrays = []
    for name, arr in (("indptr", indptr), ("src", src), ("dof", dof)):
        np.save(tmp_path / f"{name}.npy", arr)
        arrays.append(np.load(tmp_path / f"{name}.npy", mmap_mode="r"))
    core = gap_arrays(*arrays, 0, [1, 4], 2)
    assert core.ids.tolist() == [2]
    assert core.mask.tolist() == [0b11] and core.dofollow_mask.tolist() == [0b10]
