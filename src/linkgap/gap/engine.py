"""The NumPy gap engine: the reference the compiled kernel is held equal to.

It reads only the in-link slices of the domains a run names from the
CSR-by-target arrays of the index, marks each source with a bit per
competitor in a reusable scratch array, and keeps the sources whose bit count
reaches ``m``. It returns *every* prospect (no score, no order); the run puts
the score and the best-first order on top (``linkgap.gap.run``). Slower than
``linkgap.gap.kernel`` but plain array code, easy to check by eye.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linkgap.gap.filters import RunFilters

__all__ = ["CoreResult", "filter_core", "gap_arrays"]


class _Scratch(threading.local):
    """Per-thread scratch words, one per domain, reused and all-zero between runs.

    A word holds bit j = links to competitor j, bit ``shift`` + j = one of those
    links is dofollow, and its top bit = excluded. With k ≤ 15 a uint32 word
    (shift 15) is enough, and half the size is markedly faster to scatter into;
    larger k use uint64 words (shift 32). Allocated once per thread at the size
    of the largest index seen (``np.zeros`` pages are only materialised where
    a run writes); a run clears exactly the entries it wrote, so it costs
    O(in-links read), not O(domains).
    """

    def __init__(self) -> None:
        self.words: dict[type, np.ndarray] = {}

    def get(self, n: int, dtype: type) -> np.ndarray:
        words = self.words.get(dtype)
        if words is None or words.shape[0] < n:
            words = self.words[dtype] = np.zeros(n, dtype=dtype)
        return words


_SCRATCH = _Scratch()
_NARROW_K = 15


def _edge_bits(in_dofollow: np.ndarray, lo: int | np.ndarray, hi: int | None, j: int,
               shift: int, word_type: type) -> np.ndarray:
    """Scratch bits of edges ``lo:hi`` (or of the edge positions ``lo``) to competitor j.

    The link bit j, plus bit ``shift`` + j where the edge has a dofollow link.
    """
    dof = np.asarray(in_dofollow[lo:hi] if hi is not None else in_dofollow[lo])
    bits: np.ndarray = np.left_shift((dof > 0).view(np.uint8), shift + j, dtype=word_type)
    bits |= word_type(1 << j)
    return bits


@dataclass(frozen=True)
class CoreResult:
    """Prospects found by :func:`gap_arrays`, in no particular order.

    ``mask`` bit j is set when the prospect links (any rel) to competitor j;
    ``dofollow_mask`` bit j when at least one of those links is dofollow.
    """

    ids: np.ndarray
    mask: np.ndarray
    dofollow_mask: np.ndarray


def filter_core(core: CoreResult, filters: RunFilters, domain_rating: np.ndarray,
                spam_score: np.ndarray) -> CoreResult:
    """The prospects of ``core`` that pass the run-time ``filters`` (SPEC 12), reading
    each one's DR and spam score from the per-domain metric arrays."""
    if not filters.active:
        return core
    keep = filters.keeps(domain_rating[core.ids], spam_score[core.ids], core.dofollow_mask)
    return CoreResult(core.ids[keep], core.mask[keep], core.dofollow_mask[keep])


def gap_arrays(
    in_indptr: np.ndarray,
    in_src: np.ndarray,
    in_dofollow: np.ndarray,
    target: int | None,
    competitors: Sequence[int | None],
    min_overlap: int,
    num_domains: int | None = None,
    exclude: Sequence[int] = (),
) -> CoreResult:
    """Find the prospects of one run on the raw CSR-by-target arrays.

    ``target`` is T's domain id (None when T is not indexed); ``competitors``
    the competitor ids in run order (None for one that is not indexed: it keeps
    its bit position but contributes nothing); ``min_overlap`` is m ≥ 1;
    ``exclude`` the ids of the run's excluded domains that are indexed. Sources
    that link to T or to an excluded domain (any rel), T itself, the excluded
    domains and the competitors are never prospects.
    """
    k = len(competitors)
    if not 1 <= k <= 31:
        raise ValueError("between 1 and 31 competitors fit in the scratch word")
    if min_overlap < 1:
        raise ValueError("min_overlap must be at least 1")
    n = int(num_domains if num_domains is not None else in_indptr.shape[0] - 1)
    word_type: type = np.uint32 if k <= _NARROW_K else np.uint64
    shift = _NARROW_K if k <= _NARROW_K else 32
    scratch = _SCRATCH.get(n, word_type)
    low_bits = word_type((1 << k) - 1)
    excluded_bit = word_type(1 << (8 * np.dtype(word_type).itemsize - 1))
    present = [(j, int(c)) for j, c in enumerate(competitors) if c is not None]
    if len(present) < min_overlap:
        # Fewer indexed competitors than the overlap asked for: nobody qualifies.
        empty = np.zeros(0, dtype=np.uint32)
        return CoreResult(np.zeros(0, dtype=np.int64), empty, empty.copy())

    # A source linking to at least m of the p indexed competitors links to at
    # least one of any p - m + 1 of them: the smallest p - m + 1 slices ("seeds")
    # yield every candidate, and the larger ones only add bits to candidates
    # already seen (with m = 1 every slice is a seed; intersect needs only the
    # smallest). Seeds go largest first: while the scratch is all-zero nothing
    # needs reading.
    by_size = sorted(
        ((j, int(in_indptr[c]), int(in_indptr[c + 1])) for j, c in present),
        key=lambda s: s[2] - s[1],
    )
    n_seeds = len(present) - min_overlap + 1
    seeds, others_slices = by_size[:n_seeds][::-1], by_size[n_seeds:]
    first_seen: list[np.ndarray] = []
    try:
        for step, (j, lo, hi) in enumerate(seeds):
            # intp once, so every fancy index below skips a conversion pass.
            src = np.asarray(in_src[lo:hi]).astype(np.intp, copy=False)
            bits = _edge_bits(in_dofollow, lo, hi, j, shift, word_type)
            if step == 0:
                first_seen.append(src)
                scratch[src] = bits
                continue
            before = scratch[src]
            # A source's first appearance is where its mask is still zero; the
            # concatenation of those is every touched source exactly once, so
            # no pass over all domains and no sort is needed. (Sources are
            # unique within one target's slice: one edge per domain pair.)
            first_seen.append(src[before == 0])
            before |= bits
            scratch[src] = before
        for j, lo, hi in others_slices:
            src = np.asarray(in_src[lo:hi]).astype(np.intp, copy=False)
            before = scratch[src]
            hit = np.flatnonzero(before != 0)
            if hit.shape[0]:
                bits = _edge_bits(in_dofollow, lo + hit, None, j, shift, word_type)
                bits |= before[hit]
                scratch[src[hit]] = bits
        touched = np.concatenate(first_seen)
        # Exclusions: the referrers (any rel) of T and of the excluded domains, those
        # domains themselves and the competitors, marked with the top bit where they
        # are candidates (non-zero entries).
        excluded = [np.asarray([c for _, c in present], dtype=np.intp)]
        for x in ([] if target is None else [int(target)]) + [int(x) for x in exclude]:
            lo, hi = int(in_indptr[x]), int(in_indptr[x + 1])
            excluded.append(np.asarray([x], dtype=np.intp))
            excluded.append(np.asarray(in_src[lo:hi]).astype(np.intp, copy=False))
        others = np.concatenate(excluded)
        others = others[scratch[others] != 0]
        scratch[others] |= excluded_bit
        word = scratch[touched]
        # The excluded bit is the top bit, so excluded words are the largest
        # values; they are few, and removing them costs nothing when there are none.
        dropped = np.flatnonzero(word >= excluded_bit)
        if dropped.shape[0]:
            word = np.delete(word, dropped)
            touched = np.delete(touched, dropped)
        if min_overlap > 1:  # every touched source links to at least one competitor
            keep = np.bitwise_count(word & low_bits) >= min_overlap
            word, touched = word[keep], touched[keep]
        ids = touched.astype(np.int64, copy=False)
        out_mask = (word & low_bits).astype(np.uint32, copy=False)
        out_dof = word >> word_type(shift)
        out_dof &= low_bits
        out_dof = out_dof.astype(np.uint32, copy=False)
    finally:
        # Clear exactly what this run wrote, so the scratch is all-zero again.
        for part in first_seen:
            scratch[part] = 0
    return CoreResult(ids, out_mask, out_dof)
