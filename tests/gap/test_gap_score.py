"""The opportunity score: bounds, monotonicity and the worked example of docs/scoring.md."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from linkgap.gap import opportunity_score

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def score(dr: int, overlap: int, k: int, dofollow: bool, rd: int, spam: int) -> int:
    return int(opportunity_score(
        np.array([dr]), np.array([overlap]), k, np.array([dofollow]), np.array([rd]),
        np.array([spam]),
    )[0])


def by_hand(dr: int, overlap: int, k: int, dofollow: bool, rd: int, spam: int) -> int:
    """The formula exactly as docs/scoring.md writes it."""
    base = 40 * dr / 100 + 30 * overlap / k + 15 * dofollow + 15 * min(1, math.log10(1 + rd) / 4)
    return math.floor(base * (1 - 0.5 * spam / 100) + 0.5 + 1e-9)  # round half up


inputs = st.tuples(
    st.integers(0, 100), st.integers(1, 20), st.integers(1, 20), st.booleans(),
    st.integers(0, 10**9), st.integers(0, 100),
).map(lambda t: (t[0], min(t[1], t[2]), max(t[1], t[2]), t[3], t[4], t[5]))


@given(inputs)
def test_score_is_an_integer_between_0_and_100_matching_the_formula(args) -> None:
    value = score(*args)
    assert 0 <= value <= 100
    assert value == by_hand(*args)


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
