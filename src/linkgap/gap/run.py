"""A gap run on an index: ``compute_gap`` puts the parts together (SPEC 4).

Validation (``validation``), then the prospects: the compiled kernel
(``kernel``) when numba is available, else the NumPy engine (``engine``) with
the score (``score``) and the best-first order on top; both give the same
rows. The result (``result.GapResult``) carries the kept rows' metrics and
names, and the warnings about names the index does not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from linkgap.gap import kernel
from linkgap.gap.engine import filter_core, gap_arrays
from linkgap.gap.filters import RunFilters, validate_exclude, validate_filters
from linkgap.gap.protocol import GapIndex
from linkgap.gap.result import GapResult
from linkgap.gap.score import ScoredRows, best_first, opportunity_score
from linkgap.gap.validation import competitor_ids, validate_run_inputs

__all__ = ["ENGINES", "compute_gap"]

#: ``compute_gap(engine=...)``: "auto" is the compiled kernel when numba is
#: available, else NumPy; "numpy" forces the reference engine.
ENGINES = ("auto", "compiled", "numpy")


def _warnings(
    target: str, target_id: int | None, comps: list[str], comp_ids: list[int | None],
    unknown_excluded: list[str],
) -> list[dict[str, str]]:
    out = []
    if target_id is None:
        out.append({
            "code": "target_not_indexed",
            "message": (
                f"{target} is not in the backlink index, so nothing is known to link to it: "
                "every domain linking to the competitors is listed, and the list has not "
                "been narrowed by your own backlinks."
            ),
        })
    k = len(comps)
    counted_as = "the one competitor" if k == 1 else f"one of the {k} competitors"
    for name, cid in zip(comps, comp_ids, strict=True):
        if cid is None:
            out.append({"code": "competitor_not_indexed", "message": (
                f"Competitor {name} is not in the backlink index: it contributes no prospects "
                f"but still counts as {counted_as}.")})
    if unknown_excluded:
        many = len(unknown_excluded) > 1
        out.append({"code": "exclude_not_indexed", "message": (
            f"Excluded domain{'s' if many else ''} {', '.join(unknown_excluded)} "
            f"{'are' if many else 'is'} not in the backlink index: nothing is known to link "
            f"to {'them' if many else 'it'}, so {'they exclude' if many else 'it excludes'} "
            "no prospect.")})
    return out


def _names(index: GapIndex, ids: np.ndarray) -> pa.Array:
    """Canonical names of ``ids`` as an Arrow large_string array."""
    gather = getattr(index, "names_array", None)  # BacklinkIndex: no Python strings
    if gather is not None:
        names = gather(ids)
        return names if names.type == pa.large_string() else names.cast(pa.large_string())
    return pa.array(index.names_of(ids), type=pa.large_string())


def _numpy_rows(index: GapIndex, target_id: int | None, comp_ids: list[int | None], m: int,
                limit: int | None, exclude_ids: Sequence[int] = (),
                filters: RunFilters | None = None) -> ScoredRows:
    """The reference path: every prospect (NumPy engine) that passes the run-time filters,
    scored, then the best ``limit``."""
    core = gap_arrays(index.in_indptr, index.in_src, index.in_dofollow, target_id, comp_ids,
                      m, num_domains=index.num_domains, exclude=exclude_ids)
    core = filter_core(core, filters or RunFilters(), index.domain_rating, index.spam_score)
    ids = core.ids
    score = opportunity_score(
        np.asarray(index.domain_rating[ids], dtype=np.uint8),
        np.bitwise_count(core.mask).astype(np.uint8), len(comp_ids), core.dofollow_mask != 0,
        np.asarray(index.referring_domains[ids], dtype=np.int64),
        np.asarray(index.spam_score[ids], dtype=np.uint8))
    order = best_first(score, ids, limit)
    return ScoredRows(ids=ids[order], mask=core.mask[order],
                      dofollow_mask=core.dofollow_mask[order], score=score[order],
                      total_found=int(ids.shape[0]))


def compute_gap(
    index: GapIndex,
    domain: str,
    competitors: Sequence[str],
    mode: str = "union",
    min_overlap: int | None = None,
    limit: int | None = None,
    *,
    filters: RunFilters | Mapping[str, Any] | None = None,
    exclude: Sequence[str] | None = None,
    engine: str = "auto",
) -> GapResult:
    """Run a gap analysis on ``index`` (SPEC 4) and return the frozen result.

    Inputs are normalised with the index's rules; invalid ones raise
    ``InvalidInput`` (``InvalidDomain`` for names) with ``param`` set to
    ``domain``, ``competitors[i]``, ``competitors``, ``mode``, ``min_overlap``,
    ``limit``, ``filters.<field>``, ``exclude`` or ``exclude[i]``; fewer than
    ``min_overlap`` indexed competitors raise ``CompetitorsNotIndexed``.
    ``limit=None`` keeps every prospect. ``filters`` (``min_authority``,
    ``max_spam``, ``dofollow``) and ``exclude`` (up to 100 domains: a domain
    linking to one of them is no prospect) apply before ``limit``, and
    ``total_found`` counts after them (SPEC 12). ``engine`` (one of ``ENGINES``)
    picks the implementation; every engine gives the same result.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    target, comps, mode, m, limit = validate_run_inputs(
        index, domain, competitors, mode, min_overlap, limit
    )
    run_filters = validate_filters(filters)
    excluded = validate_exclude(index, exclude, target, comps)
    comp_ids = competitor_ids(index, comps, mode, m)
    target_id = index.id_of(target)
    exclude_found = [(name, index.id_of(name)) for name in excluded]
    exclude_ids = [i for _, i in exclude_found if i is not None]
    if engine == "compiled" or (engine == "auto" and kernel.available()):
        rows = kernel.fused_gap(index.in_indptr, index.in_src, index.in_dofollow, target_id,
                                comp_ids, m, limit, index.domain_rating,
                                index.referring_domains, index.spam_score,
                                exclude=exclude_ids, filters=run_filters)
    else:
        rows = _numpy_rows(index, target_id, comp_ids, m, limit, exclude_ids, run_filters)
    kept = rows.ids
    version = getattr(index, "version", None)
    return GapResult(
        target=target, competitors=comps, mode=mode, min_overlap=m,
        total_found=rows.total_found,
        warnings=_warnings(target, target_id, comps, comp_ids,
                           [name for name, i in exclude_found if i is None]),
        index_version=None if version is None else str(version), limit=limit,
        ids=kept, names=_names(index, kept),
        domain_rating=np.asarray(index.domain_rating[kept], dtype=np.uint8),
        backlinks=np.asarray(index.backlinks[kept], dtype=np.int64),
        referring_domains=np.asarray(index.referring_domains[kept], dtype=np.int64),
        spam_score=np.asarray(index.spam_score[kept], dtype=np.uint8),
        rank=np.asarray(index.rank[kept], dtype=np.int64),
        competitor_overlap=np.bitwise_count(rows.mask).astype(np.uint8),
        competitor_mask=rows.mask.astype(np.uint32),
        dofollow_mask=rows.dofollow_mask.astype(np.uint32), score=rows.score,
        filters=run_filters.as_dict(), exclude=excluded,
    )
