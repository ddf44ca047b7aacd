"""SPEC section 4, one rule per test, on small hand-made graphs."""

from __future__ import annotations

import pytest

from linkgap.errors import CompetitorsNotIndexed, InvalidDomain, InvalidInput
from linkgap.prospects import PROSPECT_FIELDS

# p1 links to a and b; p2 to a only; p3 to b (nofollow only); p4 to a and me;
# p5 to a, b and c; a links to b (a competitor is never a prospect).
GRAPH = """
p1.com -> a.com
p1.com -> b.com
p2.com -> a.com
p3.com ~> b.com
p4.com -> a.com
p4.com -> me.com
p5.com -> a.com
p5.com ~> b.com
p5.com -> c.com
a.com -> b.com
me.com -> a.com
"""


def domains(result) -> set[str]:
    return {p["domain"] for p in result.prospects()}


def test_union_lists_every_domain_linking_to_any_competitor(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com"])
    assert domains(result) == {"p1.com", "p2.com", "p3.com", "p5.com"}
    assert result.mode == "union" and result.min_overlap == 1 and result.k == 2


def test_intersect_needs_a_link_to_every_competitor(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com"], mode="intersect")
    assert domains(result) == {"p1.com", "p5.com"}
    assert result.min_overlap == 2


def test_min_overlap_in_union(make_index) -> None:
    index = make_index(GRAPH)
    assert domains(index.gap("me.com", ["a.com", "b.com", "c.com"], min_overlap=2)) == {
        "p1.com", "p5.com"}
    assert domains(index.gap("me.com", ["a.com", "b.com", "c.com"], min_overlap=3)) == {"p5.com"}


def test_min_overlap_with_intersect_only_when_it_equals_k(make_index) -> None:
    index = make_index(GRAPH)
    assert len(index.gap("me.com", ["a.com", "b.com"], mode="intersect", min_overlap=2)) == 2
    with pytest.raises(InvalidInput) as err:
        index.gap("me.com", ["a.com", "b.com"], mode="intersect", min_overlap=1)
    assert err.value.param == "min_overlap"
    assert "intersect" in err.value.message


@pytest.mark.parametrize("m", [0, 3, -1])
def test_min_overlap_out_of_range_is_refused(make_index, m: int) -> None:
    with pytest.raises(InvalidInput) as err:
        make_index(GRAPH).gap("me.com", ["a.com", "b.com"], min_overlap=m)
    assert err.value.param == "min_overlap"
    assert "between 1 and" in err.value.message


def test_a_domain_linking_to_the_target_is_never_a_prospect(make_index) -> None:
    # p4 links to a (a competitor) but also to me.com.
    assert "p4.com" not in domains(make_index(GRAPH).gap("me.com", ["a.com"]))


def test_a_nofollow_link_to_the_target_still_excludes(make_index) -> None:
    index = make_index(GRAPH + "p2.com ~> me.com\n")
    assert "p2.com" not in domains(index.gap("me.com", ["a.com"]))
    assert "p2.com" in domains(make_index(GRAPH).gap("me.com", ["a.com"]))


def test_nofollow_links_to_competitors_count_for_overlap(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["b.com"])
    row = {p["domain"]: p for p in result.prospects()}["p3.com"]
    assert row["competitor_overlap"] == 1 and row["dofollow"] is False


def test_target_and_competitors_are_never_prospects(make_index) -> None:
    # me.com links to a; a links to b: neither appears.
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com"])
    assert not domains(result) & {"me.com", "a.com", "b.com"}


def test_competitors_listed_in_run_order(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["c.com", "b.com", "a.com"])
    assert result.competitors == ["c.com", "b.com", "a.com"]
    row = {p["domain"]: p for p in result.prospects()}["p5.com"]
    assert row["competitors"] == ["c.com", "b.com", "a.com"]
    row = {p["domain"]: p for p in result.prospects()}["p1.com"]
    assert row["competitors"] == ["b.com", "a.com"]


def test_duplicate_competitors_merge_keeping_first_order(make_index) -> None:
    result = make_index(GRAPH).gap(
        "https://Me.com/x", ["B.com", "a.com", "www.b.com", "http://A.COM/"], mode="intersect"
    )
    assert result.target == "me.com"
    assert result.competitors == ["b.com", "a.com"]
    assert result.k == 2 and result.min_overlap == 2
    assert domains(result) == {"p1.com", "p5.com"}


def test_target_among_competitors_is_refused(make_index) -> None:
    with pytest.raises(InvalidInput) as err:
        make_index(GRAPH).gap("me.com", ["a.com", "www.ME.com"])
    assert err.value.param == "competitors[1]"
    assert "your own domain" in err.value.message


def test_more_than_20_distinct_competitors_is_refused(make_index) -> None:
    index = make_index(GRAPH)
    many = [f"c{i}.com" for i in range(21)]
    with pytest.raises(InvalidInput) as err:
        index.gap("me.com", many)
    assert err.value.param == "competitors"
    assert "20" in err.value.message
    # 20 distinct (plus duplicates) is fine.
    result = index.gap("me.com", ["a.com", *many[:19]] + many[:5])
    assert result.k == 20


def test_no_competitor_is_refused(make_index) -> None:
    with pytest.raises(InvalidInput) as err:
        make_index(GRAPH).gap("me.com", [])
    assert err.value.param == "competitors"


def test_invalid_domains_name_the_parameter(make_index) -> None:
    index = make_index(GRAPH)
    with pytest.raises(InvalidDomain) as err:
        index.gap("co.uk", ["a.com"])
    assert err.value.param == "domain"
    with pytest.raises(InvalidDomain) as err:
        index.gap("me.com", ["a.com", "127.0.0.1"])
    assert err.value.param == "competitors[1]"
    with pytest.raises(InvalidInput) as err:
        index.gap("me.com", ["a.com", 7])  # type: ignore[list-item]
    assert err.value.param == "competitors[1]"


def test_unknown_mode_is_refused(make_index) -> None:
    with pytest.raises(InvalidInput) as err:
        make_index(GRAPH).gap("me.com", ["a.com"], mode="both")
    assert err.value.param == "mode"


def test_target_not_indexed_lists_everything_and_warns(make_index) -> None:
    result = make_index(GRAPH).gap("unknown-site.org", ["a.com"])
    assert domains(result) == {"p1.com", "p2.com", "p4.com", "p5.com", "me.com"}
    assert [w["code"] for w in result.warnings] == ["target_not_indexed"]
    assert "unknown-site.org" in result.warnings[0]["message"]
    assert "not been narrowed" in result.warnings[0]["message"]


def test_competitor_not_indexed_contributes_nothing_but_counts_in_k(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "nobody.net", "ghost.org"])
    assert result.k == 3
    assert domains(result) == {"p1.com", "p2.com", "p5.com"}
    assert [w["code"] for w in result.warnings] == ["competitor_not_indexed"] * 2
    assert "nobody.net" in result.warnings[0]["message"]
    assert "ghost.org" in result.warnings[1]["message"]
    # overlap share is out of k = 3: the score uses it.
    row = {p["domain"]: p for p in result.prospects()}["p2.com"]
    assert row["competitors"] == ["a.com"]


def test_competitor_not_indexed_in_intersect_is_refused(make_index) -> None:
    with pytest.raises(CompetitorsNotIndexed) as err:
        make_index(GRAPH).gap("me.com", ["a.com", "b.com", "nobody.net"], mode="intersect")
    assert err.value.code == "competitors_not_indexed" and err.value.status == 422
    assert err.value.missing == ["nobody.net"] and err.value.details == {"missing": ["nobody.net"]}
    assert err.value.param == "competitors"
    assert err.value.message == (
        "nobody.net is not in the backlink index: in intersect mode a prospect must link to "
        "all 3 competitors, so no prospect can exist. Check the spelling of the competitors.")


@pytest.mark.parametrize("competitors,m,missing,reason", [
    (["a.cmo"], None, ["a.cmo"], "no competitor of the run is indexed"),
    (["nobody.net", "ghost.org"], None, ["nobody.net", "ghost.org"],
     "no competitor of the run is indexed"),
    (["a.com", "nobody.net", "ghost.org"], 2, ["nobody.net", "ghost.org"],
     "only 1 of the 3 competitors is indexed, fewer than the min_overlap of 2"),
    (["a.com", "b.com", "nobody.net", "ghost.org"], 3, ["nobody.net", "ghost.org"],
     "only 2 of the 4 competitors are indexed, fewer than the min_overlap of 3"),
])
def test_fewer_than_m_indexed_competitors_is_refused(make_index, competitors, m, missing,
                                                     reason) -> None:
    with pytest.raises(CompetitorsNotIndexed) as err:
        make_index(GRAPH).gap("me.com", competitors, min_overlap=m)
    assert err.value.missing == missing
    assert reason in err.value.message and ", ".join(missing) in err.value.message


def test_exactly_m_indexed_competitors_still_runs(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com", "nobody.net"], min_overlap=2)
    assert domains(result) == {"p1.com", "p5.com"}
    assert [w["code"] for w in result.warnings] == ["competitor_not_indexed"]


def test_no_warnings_when_everything_is_indexed(make_index) -> None:
    assert make_index(GRAPH).gap("me.com", ["a.com"]).warnings == []


def test_exact_match_never_substring(make_index) -> None:
    index = make_index("""
    p1.com -> linear.app
    p2.com -> notlinear.app
    p3.com -> mysite.com
    p4.com -> notmysite.com
    p4.com -> linear.app
    """)
    result = index.gap("mysite.com", ["linear.app"])
    # p4 links to notmysite.com, not to mysite.com: still a prospect.
    assert domains(result) == {"p1.com", "p4.com"}
    assert index.gap("mysite.com", ["notlinear.app"]).prospects()[0]["domain"] == "p2.com"


def test_prospect_fields_in_order(make_index) -> None:
    index = make_index(GRAPH, metrics={"p1.com": {
        "domain_rating": 55, "backlinks": 1200, "referring_domains": 80,
        "spam_score": 4, "rank": 17}})
    row = {p["domain"]: p for p in index.gap("me.com", ["a.com", "b.com"]).prospects()}["p1.com"]
    assert tuple(row) == PROSPECT_FIELDS
    assert row == {
        "domain": "p1.com", "domain_rating": 55, "backlinks": 1200, "referring_domains": 80,
        "competitor_overlap": 2, "competitors": ["a.com", "b.com"], "dofollow": True,
        "spam_score": 4, "score": row["score"], "rank": 17,
    }
    assert isinstance(row["score"], int)


def test_dofollow_per_competitor_is_kept(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com"])
    i = result.domains.index("p5.com")
    # p5 -> a is dofollow, p5 ~> b is not.
    assert int(result.dofollow_mask[i]) == 0b01 and int(result.competitor_mask[i]) == 0b11
    assert bool(result.dofollow[i]) is True


def test_results_are_best_first_with_ties_by_name(make_index) -> None:
    # Identical prospects (same metrics, same links) tie on score: name order.
    spec = "\n".join(f"{n}.com -> a.com" for n in ["zeta", "alpha", "mike", "bravo"])
    result = make_index(spec).gap("me.com", ["a.com"])
    assert result.domains == ["alpha.com", "bravo.com", "mike.com", "zeta.com"]
    assert len(set(result.score.tolist())) == 1


def test_limit_keeps_best_and_total_found_counts_all(make_index) -> None:
    names = [f"d{i:02d}.com" for i in range(30)]
    metrics = {n: {"domain_rating": (i * 37) % 101} for i, n in enumerate(names)}
    spec = "\n".join(f"{n} -> a.com" for n in names)
    index = make_index(spec, metrics=metrics)
    full = index.gap("me.com", ["a.com"])
    top = index.gap("me.com", ["a.com"], limit=7)
    assert full.total_found == top.total_found == 30
    assert len(full) == 30 and len(top) == 7
    assert top.prospects() == full.prospects()[:7]
    keys = [(-p["score"], p["domain"]) for p in full.prospects()]
    assert keys == sorted(keys)
    assert index.gap("me.com", ["a.com"], limit=500).prospects() == full.prospects()


@pytest.mark.parametrize("limit", [0, -3, True, 2.5])
def test_bad_limit_is_refused(make_index, limit) -> None:
    with pytest.raises(InvalidInput) as err:
        make_index(GRAPH).gap("me.com", ["a.com"], limit=limit)
    assert err.value.param == "limit"


def test_index_version_is_recorded(make_index) -> None:
    result = make_index(GRAPH, version="20260101-abc").gap("me.com", ["a.com"])
    assert result.index_version == "20260101-abc"


def test_result_repr_is_short(make_index) -> None:
    result = make_index(GRAPH).gap("me.com", ["a.com", "b.com"], limit=2)
    assert repr(result) == ("<GapResult me.com vs a.com, b.com mode=union min_overlap=1 "
                            "prospects=2 total_found=4 index_version=v-test>")
