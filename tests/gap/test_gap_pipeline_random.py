"""compute_gap end to end (rows, score, order, limit) against a plain-Python reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.errors import CompetitorsNotIndexed
from linkgap.prospects import PROSPECT_FIELDS


def reference(edges, names, metrics, target, comps, m, limit):
    links = {}
    for s, t, d in edges:
        links[(s, t)] = links.get((s, t), False) or d
    rows = []
    for p in names:
        if p == target or p in comps or (p, target) in links:
            continue
        linked = [c for c in comps if (p, c) in links]
        if len(linked) < m:
            continue
        dof = any(links[(p, c)] for c in linked)
        mt = metrics[p]
        base = (40 * mt["domain_rating"] / 100 + 30 * len(linked) / len(comps) + 15 * dof
                + 15 * min(1, math.log10(1 + mt["referring_domains"]) / 4))
        score = math.floor(base * (1 - 0.5 * mt["spam_score"] / 100) + 0.5 + 1e-9)
        rows.append({"domain": p, "domain_rating": mt["domain_rating"],
                     "backlinks": mt["backlinks"], "referring_domains": mt["referring_domains"],
                     "competitor_overlap": len(linked), "competitors": linked, "dofollow": dof,
                     "spam_score": mt["spam_score"], "score": score, "rank": mt["rank"]})
    rows.sort(key=lambda r: (-r["score"], r["domain"]))
    return rows[:limit] if limit is not None else rows, len(rows)


@st.composite
def runs(draw):
    n = draw(st.integers(3, 30))
    names = [f"{draw(st.sampled_from('abcxyz'))}site{i}.com" for i in range(n)]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.booleans()), min_size=1, max_size=150))
    edges = [(names[s], names[t], d) for s, t, d in pairs if s != t]
    metric = st.fixed_dictionaries({
        "domain_rating": st.integers(0, 100), "backlinks": st.integers(0, 10**6),
        "referring_domains": st.integers(0, 50_000), "spam_score": st.integers(0, 100),
        "rank": st.integers(1, 10**6)})
    metrics = {name: draw(metric) for name in names}
    picked = draw(st.lists(st.sampled_from(names + ["ghost.com"]), min_size=2, max_size=6,
                           unique=True))
    target, comps = picked[0], picked[1:]
    mode = draw(st.sampled_from(["union", "intersect"]))
    m = len(comps) if mode == "intersect" else draw(st.integers(1, len(comps)))
    limit = draw(st.none() | st.integers(1, 12))
    return names, edges, metrics, target, comps, mode, m, limit


@settings(max_examples=150, deadline=None)
@given(runs())
def test_compute_gap_matches_the_reference(make_index_session, run) -> None:
    names, edges, metrics, target, comps, mode, m, limit = run
    index = make_index_session(edges, extra=names, metrics=metrics)
    missing = [c for c in comps if c not in names]
    if len(comps) - len(missing) < m:
        with pytest.raises(CompetitorsNotIndexed) as err:
            index.gap(target, comps, mode=mode, min_overlap=m if mode == "union" else None,
                      limit=limit)
        assert err.value.missing == missing
        return
    result = index.gap(target, comps, mode=mode,
                       min_overlap=m if mode == "union" else None, limit=limit)
    expected, total = reference(edges, names, metrics, target, comps, m, limit)
    assert result.total_found == total
    assert result.prospects() == expected
    assert all(tuple(r) == PROSPECT_FIELDS for r in result.prospects())
