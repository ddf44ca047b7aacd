"""The gap engine (SPEC section 4): arrays in, arrays out; no I/O, no web types.

A *prospect* is a domain P, other than the target T and the competitors, that
links (any rel) to at least ``m`` of the competitors C1…Ck and has no link
(any rel) to T. The parts, each in its own module:

- ``validation``: a run's inputs checked and normalised; the competitors' ids
  (``CompetitorsNotIndexed`` when fewer than m are indexed);
- ``filters``: the run-time filters and exclusions (SPEC 12), applied by both
  engines before ``limit``;
- ``kernel``: the compiled fused pass (numba) that finds, scores and keeps the
  best ``limit`` prospects at once;
- ``engine``: the NumPy engine that finds every prospect: the reference the
  kernel is tested against, and the fallback without numba;
- ``score``: the opportunity score of ``docs/scoring.md`` and the best-first order;
- ``result``: ``GapResult``, a finished run as columns; ``serialise``: freezing
  it as Arrow IPC bytes;
- ``run``: ``compute_gap``, which puts them together;
- ``protocol``: ``GapIndex``, what the engine needs of an index
  (``linkgap.index.reader.BacklinkIndex`` provides it).

This package imports no web, CLI or database code.
"""

from __future__ import annotations

from linkgap.gap.engine import CoreResult, filter_core, gap_arrays
from linkgap.gap.filters import MAX_EXCLUDE, RunFilters, validate_exclude, validate_filters
from linkgap.gap.protocol import GapIndex
from linkgap.gap.result import GapResult
from linkgap.gap.run import ENGINES, compute_gap
from linkgap.gap.score import SCORE_WEIGHTS, ScoredRows, opportunity_score
from linkgap.gap.validation import MAX_COMPETITORS, MODES, competitor_ids, validate_run_inputs

__all__ = [
    "ENGINES",
    "MAX_COMPETITORS",
    "MAX_EXCLUDE",
    "MODES",
    "SCORE_WEIGHTS",
    "CoreResult",
    "GapIndex",
    "GapResult",
    "RunFilters",
    "ScoredRows",
    "competitor_ids",
    "compute_gap",
    "filter_core",
    "gap_arrays",
    "opportunity_score",
    "validate_exclude",
    "validate_filters",
    "validate_run_inputs",
]
