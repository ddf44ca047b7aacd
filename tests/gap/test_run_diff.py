"""linkgap.diff (SPEC 13 run diffs) against a brute-force comparison of prospect dicts.

The two runs come from two different random indexes ("index versions"): domain
ids differ between them, names decide. Competitor lists differ too, beyond 32 in
their union, so the uint64 masks of a diff are exercised.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from gap.conftest import ArrayIndex

from linkgap.diff import (
    DIFF_FIELDS,
    DIFF_KINDS,
    diff_counts,
    diff_page,
    diff_results,
    iter_diff_csv,
)
from linkgap.errors import InvalidInput
from linkgap.gap import GapResult
from linkgap.prospects import SORTS, ProspectQuery

Graph = dict[str, tuple[list[tuple[str, bool]], dict[str, int]]]


def random_graph(rng: random.Random, competitors: list[str]) -> Graph:
    """Per source: its links (competitor or the target, dofollow) and its metrics,
    with many ties."""
    graph: Graph = {}
    for name in [f"s{i:03d}.com" for i in range(200)] + ["xn--bcher-kva.de", "-dash.org"]:
        if rng.random() < 0.4:
            continue
        out = [(c, rng.random() < 0.6)
               for c in rng.sample(competitors, rng.randint(1, min(4, len(competitors))))]
        if rng.random() < 0.1:
            out.append(("me.com", True))
        graph[name] = (out, {"domain_rating": rng.choice([10, 20, 30, rng.randint(0, 100)]),
                             "backlinks": rng.randint(0, 5),
                             "referring_domains": rng.randint(0, 3),
                             "spam_score": rng.choice([0, 0, rng.randint(0, 100)]),
                             "rank": rng.randint(1, 50)})
    graph["s000.com"] = ([("me.com", False)], {})
    return graph


def next_version(rng: random.Random, graph: Graph, competitors: list[str]) -> Graph:
    """The graph a later crawl sees: some sources gone, some new (shifting every id
    after them), some with other links or metrics, most the same."""
    out: Graph = {}
    for name, (links, metrics) in graph.items():
        roll = rng.random()
        if roll < 0.1:
            continue
        if roll < 0.2:
            links = [(c, rng.random() < 0.5) for c in rng.sample(competitors, 2)]
        elif roll < 0.3:
            metrics = {**metrics, "domain_rating": rng.randint(0, 100),
                       "rank": rng.randint(1, 50)}
        out[name] = (links, metrics)
    for i in range(rng.randint(5, 30)):
        out[f"a-new{i}.net"] = ([(rng.choice(competitors), True)], {"rank": 3})
    return out


def random_index(graph: Graph, version: str) -> ArrayIndex:
    edges = [(s, t, df) for s, (links, _) in graph.items() for t, df in links]
    return ArrayIndex(edges, metrics={s: m for s, (_, m) in graph.items() if m},
                      version=version)


def frozen(result: GapResult) -> GapResult:
    """As the service reads it back: through the Arrow IPC form."""
    return GapResult.from_ipc(result.to_ipc())


def rows_by_domain(result: GapResult) -> dict[str, dict[str, Any]]:
    out = {}
    for i, row in enumerate(result.rows()):
        row = dict(row)
        row["_dofollow_to"] = set(result.competitors_of(int(result.dofollow_mask[i])))
        out[row["domain"]] = row
    return out


def brute_force(new: GapResult, old: GapResult) -> tuple[list[dict[str, Any]], int]:
    """Entries as the SPEC defines them, plus the unchanged count."""
    a, b = rows_by_domain(new), rows_by_domain(old)
    entries: list[dict[str, Any]] = []
    unchanged = 0
    for name, row in a.items():
        if name not in b:
            entries.append({"kind": "added", **row, "changes": None})
            continue
        before = b[name]
        changes = {}
        for f in DIFF_FIELDS:
            same = (set(row[f]) == set(before[f])) if f == "competitors" else row[f] == before[f]
            if not same:
                changes[f] = {"old": before[f], "new": row[f]}
        if changes:
            entries.append({"kind": "changed", **row, "changes": changes})
        else:
            unchanged += 1
    for name, row in b.items():
        if name not in a:
            entries.append({"kind": "removed", **row, "changes": None})
    return entries, unchanged


def passes(e: dict[str, Any], q: ProspectQuery) -> bool:
    if q.min_authority is not None and e["domain_rating"] < q.min_authority:
        return False
    if q.max_spam is not None and e["spam_score"] > q.max_spam:
        return False
    if q.competitor is not None and q.competitor not in e["competitors"]:
        return False
    if q.dofollow is not None:
        dof = (q.competitor in e["_dofollow_to"]) if q.competitor else bool(e["_dofollow_to"])
        if dof != q.dofollow:
            return False
    return not (q.q and q.q not in e["domain"])


def ordered(entries: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    def key(e: dict[str, Any]) -> tuple[int, str]:
        value = -e[sort] if sort == "rank" else e[sort]
        return (-value if order == "desc" else value, e["domain"])
    return sorted(entries, key=key)


def public(e: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in e.items() if not k.startswith("_")}


def two_runs(seed: int, wide: bool = False) -> tuple[GapResult, GapResult, list[str]]:
    rng = random.Random(seed)
    if wide:  # 20 + 20 different competitors: a union of 40 needs uint64 masks
        old_c = [f"c{i:02d}.com" for i in range(20)]
        new_c = [f"c{i:02d}.com" for i in range(15, 35)]
    else:
        old_c = ["a.com", "b.com", "c.com"]
        new_c = ["c.com", "b.com", "d.com"] if seed % 2 else ["a.com", "b.com", "c.com"]
    every = sorted(set(old_c) | set(new_c))
    first = random_graph(rng, every)
    later = next_version(rng, first, every)
    old = frozen(random_index(first, "v1").gap("me.com", old_c, limit=rng.choice([None, 60])))
    new = frozen(random_index(later, "v2").gap("me.com", new_c, limit=rng.choice([None, 60])))
    return new, old, every


@pytest.mark.parametrize("seed,wide", [(1, False), (2, False), (3, False), (4, True),
                                       (5, True)])
def test_diff_equals_brute_force_with_filters_sorts_and_pages(seed: int, wide: bool) -> None:
    new, old, every = two_runs(seed, wide)
    diff = diff_results(new, old)
    expected, unchanged = brute_force(new, old)
    assert diff.unchanged == unchanged
    assert len(diff) == len(expected) > 0
    rng = random.Random(seed)
    queries = [ProspectQuery()] + [
        ProspectQuery(
            min_authority=rng.choice([None, 20, 50]), max_spam=rng.choice([None, 30]),
            dofollow=rng.choice([None, True, False]),
            competitor=rng.choice([None, None, *every]), q=rng.choice([None, "s1", "xn--"]),
            sort=rng.choice(SORTS), order=rng.choice(["asc", "desc"]))
        for _ in range(25)]
    for q in queries:
        want_all = ordered([e for e in expected if passes(e, q)], q.sort, q.order)
        assert diff_counts(diff, q) == {k: sum(e["kind"] == k for e in want_all)
                                        for k in DIFF_KINDS}
        for kind in (None, *DIFF_KINDS):
            want = [public(e) for e in want_all if kind is None or e["kind"] == kind]
            per_page = rng.choice([1, 7, 50])
            got: list[dict[str, Any]] = []
            page = 1
            while True:
                rows, total = diff_page(diff, q, kind, page, per_page)
                assert total == len(want)
                if not rows:
                    break
                got += rows
                page += 1
            assert got == want, (q, kind)


def test_changed_entries_carry_old_and_new_values() -> None:
    new, old, _ = two_runs(3)
    diff = diff_results(new, old)
    rows, _ = diff_page(diff, ProspectQuery(), "changed", 1, 100)
    assert rows
    before = rows_by_domain(old)
    for row in rows:
        assert row["kind"] == "changed" and row["changes"]
        for f, change in row["changes"].items():
            assert change == {"old": before[row["domain"]][f], "new": row[f]}
    added, _ = diff_page(diff, ProspectQuery(), "added", 1, 100)
    assert all(r["changes"] is None and r["domain"] not in before for r in added)


def test_removed_entries_show_the_old_runs_competitor_order() -> None:
    new, old, _ = two_runs(4, wide=True)
    diff = diff_results(new, old)
    rows, _ = diff_page(diff, ProspectQuery(), "removed", 1, 100)
    assert rows
    for row in rows:
        assert row["competitors"] == [c for c in old.competitors if c in row["competitors"]]


def test_a_run_against_itself_has_no_entries() -> None:
    new, _, _ = two_runs(1)
    diff = diff_results(new, frozen(new))
    assert len(diff) == 0 and diff.unchanged == len(new)
    assert diff_page(diff, ProspectQuery(), None, 1, 50) == ([], 0)


def test_competitor_order_alone_is_no_change() -> None:
    index = random_index(random_graph(random.Random(9), ["a.com", "b.com", "c.com"]), "v1")
    one = index.gap("me.com", ["a.com", "b.com", "c.com"])
    other = index.gap("me.com", ["c.com", "a.com", "b.com"])
    diff = diff_results(one, other)
    assert len(diff) == 0 and diff.unchanged == len(one)


def test_bad_kind_and_competitor_are_invalid_input() -> None:
    new, old, _ = two_runs(1)
    diff = diff_results(new, old)
    with pytest.raises(InvalidInput) as err:
        diff_page(diff, ProspectQuery(), "gone", 1, 10)
    assert err.value.param == "kind"
    with pytest.raises(InvalidInput) as err:
        diff_page(diff, ProspectQuery(competitor="zzz.com"), None, 1, 10)
    assert err.value.param == "competitor"


def test_csv_has_one_line_per_entry_with_old_values_of_changed_fields() -> None:
    import csv
    import io

    new, old, _ = two_runs(3)
    diff = diff_results(new, old)
    text = "".join(iter_diff_csv(diff, ProspectQuery(), None, chunk=7))
    table = list(csv.DictReader(io.StringIO(text)))
    json_rows, total = diff_page(diff, ProspectQuery(), None, 1, 10_000)
    assert len(table) == total == len(json_rows)
    for line, row in zip(table, json_rows, strict=True):
        assert line["kind"] == row["kind"]
        assert line["domain"].lstrip("'") == row["domain"]
        changes = row["changes"] or {}
        assert line["changed"] == ";".join(changes)
        for f in DIFF_FIELDS:
            if f not in changes:
                assert line[f"old_{f}"] == ""
    assert any(line["domain"] == "'-dash.org" for line in table) or all(
        r["domain"] != "-dash.org" for r in json_rows)
