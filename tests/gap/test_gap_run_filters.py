"""Run-time filters and exclusions (SPEC 12): applied before ``limit``, by both engines.

The rules, each with the case that tells them apart: a filtered run keeps the
best ``limit`` prospects *that pass* (so the nofollow-only prospects an
unfiltered run with a small limit misses are found), ``total_found`` counts
after the filters, an excluded domain's referrers (any rel) and the domain
itself are no prospects, and the run echoes what it applied.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.errors import InvalidDomain, InvalidInput
from linkgap.gap import GapResult, compute_gap, kernel
from linkgap.prospects import ProspectQuery, all_rows

from .conftest import ArrayIndex

ENGINES = ["numpy", *(["compiled"] if kernel.available() else [])]


def nofollow_tail_index() -> ArrayIndex:
    """40 strong prospects with dofollow links, and 6 weak ones whose links are all nofollow."""
    edges = []
    metrics = {}
    for i in range(40):
        name = f"strong{i:02d}.com"
        edges += [(name, "a.com", True), (name, "b.com", i % 2 == 0)]
        metrics[name] = {"domain_rating": 60 + i % 30, "referring_domains": 500, "spam_score": 2}
    for i in range(6):
        name = f"quiet{i}.org"
        edges += [(name, "a.com", False)]
        metrics[name] = {"domain_rating": 5 + i, "referring_domains": 3, "spam_score": 40}
    edges.append(("strong00.com", "me.com", False))  # links to you: never a prospect
    return ArrayIndex(edges, metrics=metrics)


@pytest.mark.parametrize("engine", ENGINES)
def test_dofollow_false_finds_the_nofollow_prospects_a_small_limit_missed(engine) -> None:
    index = nofollow_tail_index()
    plain = compute_gap(index, "me.com", ["a.com", "b.com"], limit=10, engine=engine)
    assert plain.total_found == 45
    assert not any(not row["dofollow"] for row in plain.prospects())  # none of the 6 kept

    nofollow = compute_gap(index, "me.com", ["a.com", "b.com"], limit=10, engine=engine,
                           filters={"dofollow": False})
    assert sorted(nofollow.domains) == [f"quiet{i}.org" for i in range(6)]
    assert nofollow.total_found == 6  # counted after the filter
    assert nofollow.filters == {"min_authority": None, "max_spam": None, "dofollow": False}
    assert nofollow.meta()["filters"]["dofollow"] is False


@pytest.mark.parametrize("engine", ENGINES)
def test_authority_and_spam_filters_apply_before_the_limit(engine) -> None:
    index = nofollow_tail_index()
    weak = compute_gap(index, "me.com", ["a.com", "b.com"], limit=10, engine=engine,
                       filters={"max_spam": 50, "min_authority": 8})
    # DR ≥ 8 among the quiet ones is quiet3..5 (DR 8, 9, 10); every strong one passes too.
    assert weak.total_found == 39 + 3
    assert len(weak) == 10
    strict = compute_gap(index, "me.com", ["a.com", "b.com"], limit=10, engine=engine,
                         filters={"min_authority": 0, "max_spam": 10})
    assert strict.total_found == 39 and all(r["spam_score"] <= 10 for r in strict.prospects())
    top = compute_gap(index, "me.com", ["a.com", "b.com"], limit=10, engine=engine,
                      filters={"min_authority": 89})
    assert top.domains == ["strong29.com"]  # DR 89, the only one
    assert top.total_found == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_exclude_removes_prospects_linking_to_excluded_domains_before_the_limit(engine) -> None:
    edges = [(f"p{i}.com", "a.com", True) for i in range(12)]
    edges += [("p0.com", "partner.net", False), ("p1.com", "partner.net", True),
              ("p2.com", "sister.io", True), ("partner.net", "a.com", True)]
    metrics = {f"p{i}.com": {"domain_rating": 90 - i, "referring_domains": 100}
               for i in range(12)}
    metrics["partner.net"] = {"domain_rating": 95, "referring_domains": 100}
    index = ArrayIndex(edges, metrics=metrics)
    plain = compute_gap(index, "me.com", ["a.com"], limit=3, engine=engine)
    assert plain.domains == ["partner.net", "p0.com", "p1.com"]

    run = compute_gap(index, "me.com", ["a.com"], limit=3, engine=engine,
                      exclude=["https://WWW.Partner.net/about", "sister.io", "partner.net"])
    # p0 (nofollow) and p1 link to partner.net, p2 to sister.io; partner.net itself is out.
    assert run.domains == ["p3.com", "p4.com", "p5.com"]
    assert run.total_found == 12 - 3
    assert run.exclude == ["partner.net", "sister.io"]  # normalised, duplicates merged
    assert run.warnings == [w for w in run.warnings if w["code"] == "target_not_indexed"]


def test_an_excluded_domain_the_index_does_not_know_is_a_warning(make_index) -> None:
    index = make_index("p.com -> a.com\nq.com -> a.com\nq.com -> me.com")
    run = index.gap("me.com", ["a.com"], exclude=["nowhere.org", "gone.example"])
    assert run.domains == ["p.com"]
    notes = {w["code"]: w["message"] for w in run.warnings}
    assert "nowhere.org, gone.example are not in the backlink index" in notes[
        "exclude_not_indexed"]


def test_your_own_domain_in_exclude_is_dropped(make_index) -> None:
    index = make_index("p.com -> a.com\nq.com -> a.com\nq.com ~> me.com")
    run = index.gap("me.com", ["a.com"], exclude=["ME.com", "x.org"])
    assert run.exclude == ["x.org"]
    assert run.domains == ["p.com"]


@pytest.mark.parametrize(("exclude", "param", "message"), [
    ([f"d{i}.com" for i in range(101)], "exclude", "at most 100 domains"),
    (["ok.com", "localhost"], "exclude[1]", "localhost"),
    (["ok.com", "co.uk"], "exclude[1]", "co.uk"),
    (["ok.com", 5], "exclude[1]", "as text"),
    (["B.com"], "exclude[0]", "one of the competitors"),
    ("ok.com", "exclude", "a list"),
])
def test_invalid_exclusions_name_the_item(make_index, exclude, param, message) -> None:
    index = make_index("p.com -> a.com\np.com -> b.com")
    with pytest.raises(InvalidInput, match=message) as caught:
        index.gap("me.com", ["a.com", "b.com"], exclude=exclude)
    assert caught.value.param == param
    if param.startswith("exclude[") and "localhost" in message:
        assert isinstance(caught.value, InvalidDomain)


def test_exactly_100_exclusions_are_accepted(make_index) -> None:
    index = make_index("p.com -> a.com")
    run = index.gap("me.com", ["a.com"], exclude=[f"d{i}.com" for i in range(100)])
    assert len(run.exclude) == 100 and run.domains == ["p.com"]


@pytest.mark.parametrize(("filters", "param"), [
    ({"min_authority": 101}, "filters.min_authority"),
    ({"min_authority": -1}, "filters.min_authority"),
    ({"max_spam": 1.5}, "filters.max_spam"),
    ({"max_spam": True}, "filters.max_spam"),
    ({"dofollow": "false"}, "filters.dofollow"),
    ({"competitor": "a.com"}, "filters.competitor"),
    (["dofollow"], "filters"),
])
def test_invalid_filters_name_the_field(make_index, filters, param) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_index("p.com -> a.com").gap("me.com", ["a.com"], filters=filters)
    assert caught.value.param == param


def test_filters_and_exclusions_survive_freezing(make_index) -> None:
    index = make_index("p.com -> a.com\nq.com ~> a.com\nq.com -> x.org")
    run = index.gap("me.com", ["a.com"], filters={"dofollow": True, "max_spam": 80},
                    exclude=["x.org"])
    back = GapResult.from_ipc(run.to_ipc(compression="zstd"))
    assert back.filters == {"min_authority": None, "max_spam": 80, "dofollow": True}
    assert back.exclude == ["x.org"]
    assert back.prospects() == run.prospects() == [
        r for r in run.prospects() if r["domain"] == "p.com"]


def test_a_result_frozen_without_filters_reads_as_unfiltered(make_index) -> None:
    import json

    import pyarrow as pa

    run = make_index("p.com -> a.com").gap("me.com", ["a.com"])
    table = pa.ipc.open_stream(run.to_ipc()).read_all()
    meta = json.loads(table.schema.metadata[b"linkgap.gap"])
    del meta["filters"], meta["exclude"]  # as an older linkgap froze it
    old = table.replace_schema_metadata({b"linkgap.gap": json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, old.schema) as writer:
        writer.write_table(old)
    back = GapResult.from_ipc(sink.getvalue().to_pybytes())
    assert back.filters == {"min_authority": None, "max_spam": None, "dofollow": None}
    assert back.exclude == []


@st.composite
def filtered_runs(draw):
    n = draw(st.integers(4, 40))
    names = [f"d{i:02d}.com" for i in range(n)]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.booleans()), max_size=160))
    edges = [(names[s], names[t], d) for s, t, d in pairs if s != t]
    metrics = {name: {"domain_rating": draw(st.sampled_from([0, 10, 40, 41, 90])),
                      "spam_score": draw(st.sampled_from([0, 5, 60])),
                      "referring_domains": draw(st.sampled_from([1, 30, 900]))}
               for name in names}
    comps = draw(st.lists(st.sampled_from(names[1:]), min_size=1, max_size=3, unique=True))
    rest = [x for x in names if x not in comps]
    exclude = draw(st.lists(st.sampled_from(rest), max_size=3, unique=True))
    filters = {"min_authority": draw(st.none() | st.sampled_from([0, 40, 41])),
               "max_spam": draw(st.none() | st.sampled_from([0, 5, 100])),
               "dofollow": draw(st.none() | st.booleans())}
    limit = draw(st.none() | st.integers(1, 8))
    return names, edges, metrics, comps, exclude, filters, limit


@settings(max_examples=150, deadline=None)
@given(filtered_runs())
def test_a_filtered_run_is_the_best_limit_of_the_unfiltered_prospects_that_pass(run) -> None:
    names, edges, metrics, comps, exclude, filters, limit = run
    index = ArrayIndex(edges, extra=names, metrics=metrics)
    everything = compute_gap(index, names[0], comps)
    linked_to_excluded = {s for s, t, _ in edges if t in exclude}
    query = ProspectQuery(**{k: v for k, v in filters.items()})
    passing = [r for r in all_rows(everything, query)
               if r["domain"] not in linked_to_excluded and r["domain"] not in exclude]
    for engine in ENGINES:
        got = compute_gap(index, names[0], comps, limit=limit, filters=filters,
                          exclude=exclude, engine=engine)
        assert got.total_found == len(passing)
        assert got.prospects() == passing[:limit]
