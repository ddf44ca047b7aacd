"""The opportunity score of ``docs/scoring.md`` and the best-first order of a run.

Keep this module and that page in step: the page states the formula, the
tests compute it from the page, and both engines (NumPy and compiled) take
their per-value tables from here, so they give the same integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RD_POINTS",
    "SCORE_KEY_SHIFT",
    "SCORE_RD_SATURATION",
    "SCORE_SPAM_PENALTY",
    "SCORE_WEIGHTS",
    "SPAM_FACTOR",
    "DR_VALUES",
    "ScoreTables",
    "ScoredRows",
    "best_first",
    "opportunity_score",
    "score_tables",
]

#: Points each part of the opportunity score can contribute (they sum to 100).
SCORE_WEIGHTS = {"authority": 40, "overlap": 30, "dofollow": 15, "referring_domains": 15}
#: Referring domains at which the referring-domains part is full (log scale).
SCORE_RD_SATURATION = 10_000
#: Fraction of the score a spam score of 100 removes (linear in spam_score).
SCORE_SPAM_PENALTY = 0.5
#: A row's order key is ``(100 - score) << SCORE_KEY_SHIFT | id``: ascending keys
#: are score descending, then id (= canonical name) ascending. Exact for ids < 2^40.
SCORE_KEY_SHIFT = 40

#: The per-value parts of the formula, precomputed with the same float operations
#: as written in the docs, so a run gathers them instead of recomputing a logarithm
#: per prospect (the compiled kernel gathers from the same tables).
RD_POINTS = np.minimum(
    1.0, np.log10(1.0 + np.arange(SCORE_RD_SATURATION + 1, dtype=np.float64))
    / np.log10(SCORE_RD_SATURATION),
) * SCORE_WEIGHTS["referring_domains"]
SPAM_FACTOR = 1.0 - SCORE_SPAM_PENALTY * np.arange(101, dtype=np.float64) / 100.0


@dataclass(frozen=True)
class ScoredRows:
    """A run's kept prospects, best first, and how many it found in all.

    ``mask`` bit j: links to competitor j; ``dofollow_mask`` bit j: one of those
    links is dofollow. Both engines produce this; ``compute_gap`` adds metrics.
    """

    ids: np.ndarray
    mask: np.ndarray
    dofollow_mask: np.ndarray
    score: np.ndarray
    total_found: int


def _base_points(domain_rating: np.ndarray, competitor_overlap: np.ndarray, k: int,
                 dofollow: np.ndarray) -> np.ndarray:
    """The authority, overlap and dofollow parts of the score, summed (float64)."""
    w = SCORE_WEIGHTS
    # In place, in the formula's order: two float temporaries whatever the size
    # (fresh large temporaries cost page faults on every run).
    score = np.multiply(np.asarray(domain_rating), float(w["authority"]), dtype=np.float64)
    score /= 100.0
    part = np.multiply(np.asarray(competitor_overlap), float(w["overlap"]), dtype=np.float64)
    part /= k
    score += part
    np.add(score, float(w["dofollow"]), out=score, where=np.asarray(dofollow, dtype=bool))
    return score


def _finish(score: np.ndarray, referring_domains: np.ndarray,
            spam_score: np.ndarray) -> np.ndarray:
    """Add the referring-domains part to the base points, apply the spam factor and
    round: the integer score (``score`` is overwritten)."""
    index = np.clip(np.asarray(referring_domains), 0, SCORE_RD_SATURATION).astype(
        np.intp, copy=False)
    part = np.take(RD_POINTS, index)
    score += part
    np.take(SPAM_FACTOR, np.clip(np.asarray(spam_score), 0, 100).astype(np.intp), out=part)
    score *= part
    # Round half up; the tiny epsilon keeps exact halves (e.g. 49.5) rounding up
    # despite float error.
    score += 0.5
    score += 1e-9
    np.floor(score, out=score)
    np.clip(score, 0, 100, out=score)
    return score.astype(np.uint8) if score.shape[0] else np.zeros(0, dtype=np.uint8)


def opportunity_score(
    domain_rating: np.ndarray,
    competitor_overlap: np.ndarray,
    k: int,
    dofollow: np.ndarray,
    referring_domains: np.ndarray,
    spam_score: np.ndarray,
) -> np.ndarray:
    """The integer 0-100 opportunity score of ``docs/scoring.md``, vectorised.

    base = 40·DR/100 + 30·overlap/k + 15·dofollow + 15·min(1, log10(1+RD)/4),
    score = round-half-up(base × (1 − 0.5·spam/100)).
    """
    return _finish(_base_points(domain_rating, competitor_overlap, k, dofollow),
                   referring_domains, spam_score)


#: Rows of the score tables per (overlap, dofollow) pair: one per uint8 DR value.
DR_VALUES = 256


@dataclass(frozen=True)
class ScoreTables:
    """Per (overlap, dofollow, DR) values of the score for a run with k competitors.

    Entry ``(2 * overlap + dofollow) * DR_VALUES + DR``: ``base`` holds the
    authority + overlap + dofollow points exactly as ``opportunity_score``
    computes them (the compiled kernel adds the rest with the same float
    steps, and with saturated referring domains gets the best score a
    prospect can have given its spam score: every step is monotone).
    """

    base: np.ndarray


def score_tables(k: int) -> ScoreTables:
    """The ``ScoreTables`` of a run with ``k`` competitors (overlap 0..k, DR 0..255)."""
    slots = (k + 1) * 2
    overlap = np.repeat(np.arange(k + 1), 2 * DR_VALUES)
    dofollow = np.tile(np.repeat(np.array([False, True]), DR_VALUES), k + 1)
    dr = np.tile(np.arange(DR_VALUES, dtype=np.uint8), slots)
    return ScoreTables(_base_points(dr, overlap, k, dofollow))


def best_first(score: np.ndarray, ids: np.ndarray, limit: int | None) -> np.ndarray:
    """Positions of the ``limit`` best rows: score descending, then id ascending."""
    key = score.astype(np.int64)
    np.subtract(100, key, out=key)
    key <<= SCORE_KEY_SHIFT
    key |= ids
    n = key.shape[0]
    if limit is not None and limit < n:
        part = np.argpartition(key, limit - 1)[:limit]
        return part[np.argsort(key[part], kind="stable")]
    return np.argsort(key, kind="stable")
