"""The compiled gap kernel: in-links in, the best ``limit`` prospects out, in one pass.

The NumPy engine (``linkgap.gap.engine``) finds every prospect, then the run
scores all of them and sorts; this kernel does the same work fused, so what
follows the scatter grows with the prospects *kept*, not with all found:

1. The id space is walked in blocks of ``BLOCK`` ids. The in-link slices are
   sorted by source id, so each competitor's slice is consumed block by block
   through a pointer, and the scratch words are one block-sized array that
   stays in cache (no per-domain scratch, nothing to clear between runs).
2. In a block: T's in-links, T and the competitors are marked excluded; the
   seed slices (the smallest p - m + 1 of the p indexed competitors: every
   candidate links to one of them) set a link bit and a dofollow bit per
   source, the other slices only add bits to sources already seen.
3. Each source seen in the block is counted when its overlap reaches m; its
   score is computed (the formula of ``docs/scoring.md``, the same float
   operations in the same order as ``opportunity_score``, so the same
   integers: its authority, overlap and dofollow points come from a table,
   ``ScoreTables``) and kept in a bounded buffer of the best ``limit``
   (cut back by quickselect when full). Once it has been cut, a prospect whose
   best possible score given its DR and spam score (saturated referring
   domains) cannot beat the worst kept row is counted and skipped without
   reading its referring-domains count, the widest metric. The others (the
   block's candidates) read it in a loop of their own, so the scattered reads
   overlap instead of each waiting behind the bar's branch, then are scored
   and kept. The run-time filters (``linkgap.gap.filters``) are checked
   before a prospect is counted, and the excluded domains' in-links are
   marked like T's, so the best ``limit`` are chosen among the prospects that
   pass them.

The kernel is compiled by numba on first use and cached on disk
(``cache=True``: next to this file, or numba's user cache directory when the
package folder is read-only); the server warms it at start (``warm``). When
numba is not importable, ``available()`` is False (with a logged note) and runs
use the NumPy engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linkgap.compiled import Compiled
from linkgap.gap.filters import RunFilters
from linkgap.gap.score import (
    DR_VALUES,
    RD_POINTS,
    SCORE_KEY_SHIFT,
    SPAM_FACTOR,
    ScoredRows,
    ScoreTables,
    score_tables,
)

__all__ = ["BLOCK", "available", "fused_gap", "warm"]


#: Domain ids per block: 16K int64 words (128 KiB) stay in a core's L2 cache.
BLOCK = 1 << 14
#: Rows the kept-rows buffer holds beyond ``limit`` (at least ``limit`` more) before
#: it is cut back to the best ``limit``. Small enough that the first cut, which
#: sets the bar a prospect must beat to be read further, comes early.
SLACK = 1024
#: Scratch word layout (int64, always non-negative): bit j = links to competitor
#: j (k ≤ 20), bit DOF_SHIFT + j = one of those links is dofollow, EXCLUDED = T,
#: a competitor, or a domain linking to T.
DOF_SHIFT = 32
EXCLUDED = 1 << 62
_KEY_ID_MASK = (1 << SCORE_KEY_SHIFT) - 1


def _score(base: float, rd: Any, spam: Any, rd_points: np.ndarray,
           spam_factor: np.ndarray) -> int:
    """A prospect's score from its base points (``ScoreTables.base``): the remaining
    float operations of ``opportunity_score``, in its order, so the same integer."""
    s = base
    s += rd_points[min(max(int(rd), 0), rd_points.shape[0] - 1)]
    s *= spam_factor[min(int(np.uint8(spam)), spam_factor.shape[0] - 1)]
    s += 0.5
    s += 1e-9
    s = np.floor(s)
    return int(min(max(s, 0.0), 100.0))


def _select(keys: np.ndarray, words: np.ndarray, n: int, kth: int) -> None:
    """Reorder ``keys[:n]`` (and ``words`` alike) so that position ``kth`` holds the
    key it would hold sorted, smaller keys before it, larger after (quickselect;
    keys are distinct)."""
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        # median of three as the pivot, moved to ``hi``
        if keys[mid] < keys[lo]:
            keys[mid], keys[lo] = keys[lo], keys[mid]
            words[mid], words[lo] = words[lo], words[mid]
        if keys[hi] < keys[lo]:
            keys[hi], keys[lo] = keys[lo], keys[hi]
            words[hi], words[lo] = words[lo], words[hi]
        if keys[mid] < keys[hi]:
            keys[mid], keys[hi] = keys[hi], keys[mid]
            words[mid], words[hi] = words[hi], words[mid]
        pivot = keys[hi]
        store = lo
        for i in range(lo, hi):
            if keys[i] < pivot:
                keys[i], keys[store] = keys[store], keys[i]
                words[i], words[store] = words[store], words[i]
                store += 1
        keys[hi], keys[store] = keys[store], keys[hi]
        words[hi], words[store] = words[store], words[hi]
        if store == kth:
            return
        if store < kth:
            lo = store + 1
        else:
            hi = store - 1


def _fused(indptr: np.ndarray, src: np.ndarray, dofollow: np.ndarray, comps: np.ndarray,
           targets: np.ndarray, m: int, limit: int, dr: np.ndarray, rd: np.ndarray,
           spam: np.ndarray, min_dr: int, max_spam: int, dof_filter: int,
           base_points: np.ndarray,
           dr_values: int, rd_points: np.ndarray, spam_factor: np.ndarray, key_shift: int,
           block: int, slack: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The fused pass; returns (order keys, scratch words, total found), unordered
    (NumPy's sort is the faster one).

    ``comps`` holds the competitor ids in run order (-1: not indexed); ``targets``
    the ids whose referrers are excluded: T's (when indexed) and the run's
    excluded domains'; ``limit`` < 0 keeps every prospect. The run-time filters:
    DR ≥ ``min_dr``, spam ≤ ``max_spam`` (255: none), ``dof_filter`` 1 / 0 for a
    dofollow / no dofollow link (-1: none); a prospect that fails them is not
    counted. Everything the score needs comes in as arguments, so a cached
    compilation never holds constants that have since changed.
    """
    k = comps.shape[0]
    present = np.empty(k, np.int64)
    p = 0
    for j in range(k):
        if comps[j] >= 0:
            present[p] = j
            p += 1
    empty_keys = np.empty(0, np.int64)
    if p < m or p == 0:
        return empty_keys, np.empty(0, np.int64), 0
    lo = np.empty(p, np.int64)
    hi = np.empty(p, np.int64)
    sizes = np.empty(p, np.int64)
    for q in range(p):
        c = comps[present[q]]
        lo[q] = indptr[c]
        hi[q] = indptr[c + 1]
        sizes[q] = hi[q] - lo[q]
    # The p - m + 1 smallest slices are the seeds: a source linking to m of the p
    # competitors links to at least one of them.
    # Slices in order of size: the seeds first, so that in each block the other
    # slices find their candidates already marked.
    by_size = np.argsort(sizes, kind="mergesort")
    n_seeds = p - m + 1
    is_seed = np.zeros(p, np.bool_)
    for r in range(n_seeds):
        is_seed[by_size[r]] = True
    seed_edges = 0
    start = np.int64(-1)
    stop = np.int64(-1)
    for q in range(p):
        if is_seed[q] and sizes[q] > 0:
            seed_edges += sizes[q]
            first = np.int64(src[lo[q]])
            last = np.int64(src[hi[q] - 1]) + 1
            if start < 0 or first < start:
                start = first
            if last > stop:
                stop = last
    if seed_edges == 0:
        return empty_keys, np.empty(0, np.int64), 0

    # Excluded single ids (the competitors, T and the excluded domains), ascending,
    # and the in-link slices of T and the excluded domains, each walked block by block.
    n_targets = targets.shape[0]
    singles = np.empty(p + n_targets, np.int64)
    for q in range(p):
        singles[q] = comps[present[q]]
    n_singles = p + n_targets
    t_pos = np.empty(n_targets, np.int64)
    t_hi = np.empty(n_targets, np.int64)
    t_first = np.empty(n_targets, np.int64)
    for x in range(n_targets):
        singles[p + x] = targets[x]
        t_pos[x] = indptr[targets[x]]
        t_hi[x] = indptr[targets[x] + 1]
    singles = np.sort(singles)

    low = (np.int64(1) << k) - 1
    # Kept rows go into a buffer; with a limit, a full buffer is cut to the best
    # ``limit`` (quickselect) and the worst of those becomes the bar a new row must
    # beat. Cheaper than a heap when the limit is large, as cheap when it is small.
    bounded = 0 <= limit < seed_edges
    cap = min(seed_edges, limit + max(limit, slack)) if bounded else seed_edges
    keys = np.empty(cap, np.int64)
    words = np.empty(cap, np.int64)
    bar = np.int64(np.iinfo(np.int64).max)  # keys at or above it cannot be kept
    count = 0
    found = 0
    local = np.zeros(block, np.int64)
    saturated = np.int64(rd_points.shape[0] - 1)
    # a block's candidates: id, score-table slot, scratch word, spam, referring domains
    c_pid = np.empty(block, np.int64)
    c_slot = np.empty(block, np.int64)
    c_word = np.empty(block, np.int64)
    c_spam = np.empty(block, spam.dtype)
    c_rd = np.empty(block, rd.dtype)
    touched = np.empty(block + 1, np.uint64)  # + 1: the slot written past the last
    one = np.uint64(1)
    pos = lo.copy()
    s_pos = 0
    for b0 in range(start, stop, block):
        b1 = b0 + block
        # 1. exclusions
        for x in range(n_targets):
            t_first[x] = t_pos[x]
            u = t_pos[x]
            while u < t_hi[x]:
                s = np.int64(src[u])
                if s >= b1:
                    break
                if s >= b0:
                    local[s - b0] = EXCLUDED
                u += 1
            t_pos[x] = u
        s_first = s_pos
        while s_pos < n_singles and singles[s_pos] < b1:
            if singles[s_pos] >= b0:
                local[singles[s_pos] - b0] = EXCLUDED
            s_pos += 1
        # 2. the scatter: seeds add candidates, the other slices only bits
        n_touched = 0
        for r in range(p):
            q = by_size[r]
            j = present[q]
            bit = np.int64(1) << j
            dof_bit = np.int64(1) << (DOF_SHIFT + j)
            # Unsigned indices in the hot loops: numba then skips its negative-index
            # checks (a third of the loop's time).
            e = np.uint64(pos[q])
            h = np.uint64(hi[q])
            seed = is_seed[q]
            while e < h:
                s = np.int64(src[e])
                if s >= b1:
                    break
                if s >= b0:
                    i = np.uint64(s - b0)
                    w = local[i]
                    if (w & EXCLUDED) == 0 and (seed or w != 0):
                        # Branch-free: whether a source is new, and whether its link
                        # is dofollow, come at random (a mispredict each, as much as
                        # the rest of the in-link's work). The slot past the last
                        # candidate is written either way and counts only when new.
                        touched[np.uint64(n_touched)] = i
                        n_touched += 1 if w == 0 else 0
                        w |= bit | (dof_bit if dofollow[e] != 0 else 0)
                        local[i] = w
                e += one
            pos[q] = np.int64(e)
        # 3. count; the candidates that could be kept given their DR and spam go on
        n_cand = 0
        for t in range(n_touched):
            i = touched[np.uint64(t)]
            w = local[i]
            local[i] = 0
            mask = w & low
            overlap = 0
            x = mask
            while x != 0:
                x &= x - 1
                overlap += 1
            if overlap < m:
                continue
            has_dof = 1 if ((w >> DOF_SHIFT) & low) != 0 else 0
            if dof_filter >= 0 and has_dof != dof_filter:
                continue
            pid = b0 + np.int64(i)
            at = np.uint64(pid)
            # DR (and spam) read as uint8, as the NumPy path reads them
            d = int(np.uint8(dr[at]))
            if d < min_dr:
                continue
            if max_spam < 255 and int(np.uint8(spam[at])) > max_spam:
                continue
            found += 1
            slot = (2 * overlap + has_dof) * dr_values + d
            # The best score this prospect can have with its spam score and
            # saturated referring domains (the widest metric, read last and only
            # when this can beat the bar). Written always, kept only when it can
            # beat the bar: no branch to mispredict.
            q = spam[at]
            could = _score(base_points[slot], saturated, q, rd_points, spam_factor)
            to = np.uint64(n_cand)
            c_pid[to] = pid
            c_slot[to] = slot
            c_word[to] = w
            c_spam[to] = q
            n_cand += 1 if (((100 - could) << key_shift) | pid) < bar else 0
        # 4. the referring-domains counts of the block's candidates in a loop of
        # their own: the reads do not wait on a branch, so the memory system
        # serves many at once (one at a time behind the bar's branch, each
        # scattered read cost a full memory latency); then score and keep.
        for c in range(n_cand):
            c_rd[np.uint64(c)] = rd[np.uint64(c_pid[np.uint64(c)])]
        for c in range(n_cand):
            at = np.uint64(c)
            pid = c_pid[at]
            score = _score(base_points[c_slot[at]], c_rd[at], c_spam[at], rd_points,
                           spam_factor)
            key = ((np.int64(100) - score) << key_shift) | pid
            if key >= bar:
                continue
            if count == cap:
                _select(keys, words, count, limit - 1)
                count = limit
                bar = keys[limit - 1]
                if key >= bar:
                    continue
            keys[count] = key
            words[count] = c_word[at]
            count += 1
        # 5. clear this block's exclusions
        for x in range(n_targets):
            for u in range(t_first[x], t_pos[x]):
                s = np.int64(src[u])
                if s >= b0:
                    local[s - b0] = 0
        for r in range(s_first, s_pos):
            if singles[r] >= b0:
                local[singles[r] - b0] = 0
    if bounded and count > limit:
        _select(keys, words, count, limit - 1)
        count = limit
    return keys[:count], words[:count], found


def _build(numba: Any) -> Any:
    # The helpers first, inlined at numba's level (a call of a compiled function
    # that takes arrays would count references once per prospect): numba
    # resolves the globals ``_fused`` calls when it compiles it.
    inline = numba.njit(cache=True, nogil=True, inline="always")
    globals().update({name: inline(globals()[name]) for name in ("_score", "_select")})
    return numba.njit(cache=True, nogil=True)(_fused)


_KERNEL = Compiled(_build)


def available() -> bool:
    """True when the compiled kernel can run (numba imports; if not, the log says so once)."""
    return _KERNEL.available()


_TABLES: dict[int, ScoreTables] = {}


def _tables(k: int) -> ScoreTables:
    tables = _TABLES.get(k)
    if tables is None:
        tables = _TABLES[k] = score_tables(k)
    return tables


def fused_gap(
    in_indptr: np.ndarray,
    in_src: np.ndarray,
    in_dofollow: np.ndarray,
    target: int | None,
    competitors: list[int | None],
    min_overlap: int,
    limit: int | None,
    domain_rating: np.ndarray,
    referring_domains: np.ndarray,
    spam_score: np.ndarray,
    *,
    exclude: Sequence[int] = (),
    filters: RunFilters | None = None,
    block: int = BLOCK,
    slack: int = SLACK,
) -> ScoredRows:
    """The best ``limit`` prospects of one run (all with ``limit=None``) that pass the
    run-time ``filters``, scored; ``total_found`` counts every one that passes.

    Arguments as for ``linkgap.gap.engine.gap_arrays``, plus the per-domain
    metrics the score reads. Rows come score descending, then id ascending;
    ``in_src`` and ``in_dofollow`` may have any integer (or bool) dtype.
    ``block`` (ids per block) and ``slack`` (buffer rows beyond ``limit``) change
    speed only; tests make both tiny so that every boundary is crossed.
    """
    compiled = _KERNEL.get()
    if compiled is None:
        raise RuntimeError("the compiled gap kernel needs numba")
    k = len(competitors)
    if not 1 <= k <= DOF_SHIFT - 1:
        raise ValueError(f"between 1 and {DOF_SHIFT - 1} competitors fit in the scratch word")
    if min_overlap < 1:
        raise ValueError("min_overlap must be at least 1")
    comps = np.array([-1 if c is None else int(c) for c in competitors], dtype=np.int64)
    targets = np.array(([] if target is None else [int(target)]) + [int(x) for x in exclude],
                       dtype=np.int64)
    filters = filters or RunFilters()
    tables = _tables(k)
    keys, words, found = compiled(
        in_indptr, in_src, in_dofollow, comps, targets,
        int(min_overlap), -1 if limit is None else int(limit), domain_rating,
        referring_domains, spam_score,
        0 if filters.min_authority is None else int(filters.min_authority),
        255 if filters.max_spam is None else int(filters.max_spam),
        -1 if filters.dofollow is None else int(filters.dofollow),
        tables.base, DR_VALUES, RD_POINTS,
        SPAM_FACTOR, SCORE_KEY_SHIFT, int(block), int(slack),
    )
    order = np.argsort(keys)
    keys, words = keys[order], words[order]
    low = np.int64((1 << k) - 1)
    return ScoredRows(
        ids=keys & _KEY_ID_MASK,
        mask=(words & low).astype(np.uint32),
        dofollow_mask=((words >> DOF_SHIFT) & low).astype(np.uint32),
        score=(100 - (keys >> SCORE_KEY_SHIFT)).astype(np.uint8),
        total_found=int(found),
    )


def warm(index: Any) -> bool:
    """Compile (or load from the disk cache) the kernel for ``index``'s array types.

    A run with no indexed competitor returns at once, but numba compiles for the
    argument types all the same; so the first real run pays nothing. Returns
    False when numba is not available.
    """
    if not available():
        return False
    fused_gap(index.in_indptr, index.in_src, index.in_dofollow, None, [None], 1, 1,
              index.domain_rating, index.referring_domains, index.spam_score)
    return True
