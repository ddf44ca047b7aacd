"""The opportunity score: bounds, monotonicity and the worked example of docs/scoring.md."""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkgap.gap import opportunity_score

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def score(dr: int, overlap: int, k: int, dofollow: bool, rd: int, spam: int) -> int:
    return int(opportunity_score(
        np.array([dr]), np.array([overlap]), k, np.array([dofollow]), np.array([rd]),
        np.array([spam]),
    )[0])


def by_hand(dr: int, overlap: int, k: int, dofollow: bool, rd: int, spam: int) -> int:
    """The formula exactly as docs/scoring.md writes it, computed independently of the code.

    Every part but the logarithm is a rational number, kept exact with Fraction; the
    logarithm is exact when 1 + rd is a power of ten (or the part is full), and otherwise
    irrational, so the score can never be exactly a half and 60 digits decide the
    rounding. "Round half up" is then floor(x + 1/2), with no tolerance.
    """
    rational = (Fraction(40 * dr, 100) + Fraction(30 * overlap, k)
                + (15 if dofollow else 0))
    spam_factor = 1 - Fraction(1, 2) * Fraction(spam, 100)
    digits = len(str(1 + rd)) - 1
    if 1 + rd >= 10**4 or 1 + rd == 10**digits:
        rd_part = Fraction(15 * min(4, digits), 4)  # log10 is an integer, or the part is full
        return math.floor((rational + rd_part) * spam_factor + Fraction(1, 2))
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(rational.numerator) / Decimal(rational.denominator)
        rd_points = 15 * Decimal(1 + rd).log10() / 4
        factor = Decimal(spam_factor.numerator) / Decimal(spam_factor.denominator)
        return math.floor((exact + rd_points) * factor + Decimal("0.5"))


inputs = st.tuples(
    st.integers(0, 100), st.integers(1, 20), st.integers(1, 20), st.booleans(),
    st.integers(0, 10**9), st.integers(0, 100),
).map(lambda t: (t[0], min(t[1], t[2]), max(t[1], t[2]), t[3], t[4], t[5]))


@settings(max_examples=400)
@given(inputs)
@example((0, 1, 20, False, 0, 0))  # 1.5: an exact half, rounded up
@example((50, 1, 2, False, 0, 0))  # 35.0 exactly
@example((25, 1, 4, False, 9, 0))  # 10 + 7.5 + 3.75 = 21.25
@example((1, 1, 8, True, 999, 50))  # (0.4 + 3.75 + 15 + 11.25) x 0.75 = 22.8
def test_score_is_an_integer_between_0_and_100_matching_the_formula(args) -> None:
    value = score(*args)
    assert 0 <= value <= 100
    assert value == by_hand(*args)


def test_every_exactly_rational_score_rounds_as_the_docs_say() -> None:
    """Where every part is rational (1 + rd a power of ten), exact halves happen: the code
    must round each one up, and every other value to the nearest integer."""
    grid = [(dr, overlap, k, dofollow, rd, spam)
            for dr in range(101) for k in (1, 2, 3, 4, 8) for overlap in range(1, k + 1)
            for dofollow in (False, True) for rd in (0, 99, 9999) for spam in (0, 50, 100)]
    columns = [np.array(c) for c in zip(*grid, strict=True)]
    dr, overlap, k, dofollow, rd, spam = columns
    got = np.concatenate([
        opportunity_score(dr[k == kk], overlap[k == kk], kk, dofollow[k == kk], rd[k == kk],
                          spam[k == kk]) for kk in (1, 2, 3, 4, 8)])
    order = np.concatenate([np.flatnonzero(k == kk) for kk in (1, 2, 3, 4, 8)])
    expected = np.array([by_hand(*grid[i]) for i in order])
    wrong = np.flatnonzero(got != expected)
    assert wrong.size == 0, [(grid[order[i]], int(got[i]), int(expected[i])) for i in wrong[:5]]


@given(inputs)
def test_each_signal_moves_the_score_the_documented_way(args) -> None:
    dr, overlap, k, dofollow, rd, spam = args
    base = score(*args)
    assert score(min(dr + 10, 100), overlap, k, dofollow, rd, spam) >= base
    assert score(dr, min(overlap + 1, k), k, dofollow, rd, spam) >= base
    assert score(dr, overlap, k, True, rd, spam) >= base
    assert score(dr, overlap, k, dofollow, rd * 10 + 1, spam) >= base
    assert score(dr, overlap, k, dofollow, rd, min(spam + 20, 100)) <= base


def test_extremes() -> None:
    assert score(100, 3, 3, True, 10_000, 0) == 100
    assert score(0, 1, 20, False, 0, 100) == 1  # 1.5 points, halved by spam 100 → 0.75 → 1
    assert score(0, 1, 20, False, 0, 0) == 2  # 1.5 rounds half up
    assert score(100, 1, 1, True, 10**9, 100) == 50


def test_strict_increases_on_simple_cases() -> None:
    assert score(60, 1, 2, True, 100, 0) > score(50, 1, 2, True, 100, 0)
    assert score(50, 2, 2, True, 100, 0) > score(50, 1, 2, True, 100, 0)
    assert score(50, 1, 2, True, 100, 0) > score(50, 1, 2, False, 100, 0)
    assert score(50, 1, 2, True, 1000, 0) > score(50, 1, 2, True, 100, 0)
    assert score(50, 1, 2, True, 100, 40) < score(50, 1, 2, True, 100, 0)


def test_the_worked_example_in_the_docs_is_right() -> None:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- example: dr=(\d+) overlap=(\d+) k=(\d+) dofollow=(\w+) rd=(\d+) spam=(\d+)"
        r" score=(\d+) -->", text)
    assert match, "docs/scoring.md lost its machine-checked worked example"
    dr, overlap, k, dofollow, rd, spam, expected = match.groups()
    args = (int(dr), int(overlap), int(k), dofollow == "true", int(rd), int(spam))
    assert score(*args) == by_hand(*args) == int(expected)
