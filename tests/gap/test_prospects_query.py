"""Filtering, sorting and paging a run's prospects (SPEC 5, Prospects table)."""

from __future__ import annotations

import math
import random
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap.errors import InvalidInput
from linkgap.gap import GapResult
from linkgap.prospects import (
    SORTS,
    ProspectQuery,
    all_rows,
    filter_indices,
    query_page,
    validate_competitor,
)

COMPETITORS = ["a.com", "b.com", "c.com"]  # as in conftest.build_sample_result


@pytest.fixture(scope="session")
def res(sample_result) -> GapResult:
    return sample_result


def by_hand(res: GapResult, q: ProspectQuery) -> list[dict]:
    """Filter and sort the full list in plain Python, as the SPEC words it."""
    from linkgap.domains import to_unicode

    rows = res.prospects()
    if q.min_authority is not None:
        rows = [r for r in rows if r["domain_rating"] >= q.min_authority]
    if q.max_spam is not None:
        rows = [r for r in rows if r["spam_score"] <= q.max_spam]
    if q.competitor is not None:
        rows = [r for r in rows if q.competitor in r["competitors"]]
    if q.dofollow is not None:
        def dof(r):
            i = res.domains.index(r["domain"])
            if q.competitor is None:
                return r["dofollow"]
            return bool(int(res.dofollow_mask[i]) >> res.competitors.index(q.competitor) & 1)
        rows = [r for r in rows if dof(r) == q.dofollow]
    if q.q and q.q.strip():
        # SPEC 5 with issue 7: NFKC + casefold on both sides, as domains are normalised.
        def fold(text: str) -> str:
            return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())

        needle = fold(q.q).strip()
        rows = [r for r in rows if needle in fold(r["domain"])
                or needle in fold(to_unicode(r["domain"]))]
    rows.sort(key=lambda r: r["domain"])
    value = (lambda r: -r["rank"]) if q.sort == "rank" else (lambda r: r[q.sort])
    rows.sort(key=value, reverse=q.order == "desc")  # stable: name order kept in ties
    return rows


queries = st.builds(
    ProspectQuery,
    min_authority=st.none() | st.integers(0, 100),
    max_spam=st.none() | st.integers(0, 100),
    dofollow=st.none() | st.booleans(),
    competitor=st.none() | st.sampled_from(COMPETITORS),
    q=st.none() | st.sampled_from(["site1", "DUP", "bücher", "STRASSE", "straße", ".de", "zzz",
                                   "bu\u0308cher", "ＢÜＣＨ", " ", "ＳＩＴＥ"]),
    sort=st.sampled_from(SORTS),
    order=st.sampled_from(["asc", "desc"]),
)


@settings(max_examples=150, deadline=None)
@given(queries)
def test_filters_and_order_agree_with_the_full_list_filtered_by_hand(res, query) -> None:
    expected = by_hand(res, query)
    assert all_rows(res, query) == expected
    assert len(filter_indices(res, query)) == len(expected)


@settings(max_examples=150, deadline=None)
@given(queries, st.integers(1, 120))
def test_paging_visits_every_prospect_exactly_once_in_order(res, query, per_page) -> None:
    expected = [r["domain"] for r in by_hand(res, query)]
    seen = []
    pages = math.ceil(len(expected) / per_page)
    for page in range(1, pages + 2):  # one past the end
        rows, total = query_page(res, query, page, per_page)
        assert total == len(expected)
        if page > pages:
            assert rows == []
        else:
            assert 1 <= len(rows) <= per_page
        seen += [r["domain"] for r in rows]
    assert seen == expected


@pytest.mark.parametrize("prefix", [1, 7, 1000])
def test_partial_ordering_of_first_pages_agrees_with_the_full_order(
        fresh_sample_result, monkeypatch, prefix) -> None:
    import linkgap.prospects as prospects

    monkeypatch.setattr(prospects, "_PREFIX", prefix)
    rng = random.Random(prefix)
    for _ in range(12):
        fresh = fresh_sample_result()  # empty caches: the first query orders a prefix only
        query = ProspectQuery(
            max_spam=rng.choice([None, 50, 90]), sort=rng.choice(SORTS),
            order=rng.choice(["asc", "desc"]), dofollow=rng.choice([None, True]))
        expected = [r["domain"] for r in by_hand(fresh, query)]
        per_page = rng.choice([1, 3, 10])
        pages = [rng.randint(1, 4), rng.randint(1, 40), 1, rng.randint(1, 40)]
        for page in pages:
            rows, total = query_page(fresh, query, page, per_page)
            assert total == len(expected)
            start = (page - 1) * per_page
            assert [r["domain"] for r in rows] == expected[start:start + per_page]
        assert [r["domain"] for r in all_rows(fresh, query)] == expected


def test_rank_desc_lists_the_strongest_first(res) -> None:
    rows, _ = query_page(res, ProspectQuery(sort="rank", order="desc"), 1, 5)
    ranks = [r["rank"] for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == min(res.rank.tolist())
    rows, _ = query_page(res, ProspectQuery(sort="rank", order="asc"), 1, 5)
    assert rows[0]["rank"] == max(res.rank.tolist())


def test_ties_are_by_name_ascending_in_both_orders(res) -> None:
    for order in ("asc", "desc"):
        rows = all_rows(res, ProspectQuery(q="dup", sort="domain_rating", order=order))
        assert [r["domain"] for r in rows] == sorted(f"dup{i}.io" for i in range(20))


def test_default_order_is_score_desc(res) -> None:
    rows = all_rows(res, ProspectQuery())
    assert [r["domain"] for r in rows] == res.domains


def test_q_matches_the_unicode_form_case_insensitively(res) -> None:
    names = {r["domain"] for r in all_rows(res, ProspectQuery(q="BÜCHER"))}
    assert names == {"xn--bcher-kva.de"}
    names = {r["domain"] for r in all_rows(res, ProspectQuery(q="xn--STRAE"))}
    assert names == {"xn--strae-oqa.de"}
    assert all_rows(res, ProspectQuery(q="nothing-like-this")) == []


@pytest.mark.parametrize("typed", [
    "bu\u0308cher",  # decomposed: u + combining diaeresis
    "ＢÜＣＨ",  # fullwidth letters
    "BU\u0308CHER.DE",
    "bücher",
])
def test_q_is_unicode_normalised_like_domains(res, typed: str) -> None:
    names = {r["domain"] for r in all_rows(res, ProspectQuery(q=typed))}
    assert names == {"xn--bcher-kva.de"}


def test_q_folds_sharp_s_and_fullwidth_ascii(res) -> None:
    assert {r["domain"] for r in all_rows(res, ProspectQuery(q="STRASSE.de"))} == {
        "xn--strae-oqa.de"}
    fullwidth = {r["domain"] for r in all_rows(res, ProspectQuery(q="ｂｕｅｃｈｅｒ"))}
    assert fullwidth == {"buecher.net"}


def test_dofollow_with_competitor_uses_that_competitors_link(make_index) -> None:
    res = make_index("""
    p1.com -> a.com
    p1.com ~> b.com
    p2.com ~> a.com
    p2.com -> b.com
    """).gap("me.com", ["a.com", "b.com"])
    names = lambda q: [r["domain"] for r in all_rows(res, q)]  # noqa: E731
    assert names(ProspectQuery(dofollow=True)) == ["p1.com", "p2.com"]
    assert names(ProspectQuery(dofollow=True, competitor="a.com")) == ["p1.com"]
    assert names(ProspectQuery(dofollow=False, competitor="a.com")) == ["p2.com"]
    assert names(ProspectQuery(dofollow=False)) == []


def test_unknown_competitor_is_refused_with_the_allowed_ones(res) -> None:
    with pytest.raises(InvalidInput) as err:
        query_page(res, ProspectQuery(competitor="z.com"), 1, 10)
    assert err.value.param == "competitor"
    assert err.value.details == {"allowed": COMPETITORS}
    assert validate_competitor(res, "b.com") == 1
    # exact match only
    with pytest.raises(InvalidInput):
        validate_competitor(res, "a.co")


@pytest.mark.parametrize("kwargs,param", [
    ({"sort": "name"}, "sort"), ({"order": "up"}, "order"),
    ({"min_authority": 101}, "min_authority"), ({"max_spam": -1}, "max_spam"),
    ({"min_authority": "5"}, "min_authority"), ({"max_spam": 2.5}, "max_spam"),
])
def test_bad_query_values_are_refused(kwargs, param) -> None:
    with pytest.raises(InvalidInput) as err:
        ProspectQuery(**kwargs)
    assert err.value.param == param


@pytest.mark.parametrize("page,per_page,param", [(0, 10, "page"), (1, 0, "per_page")])
def test_bad_paging_is_refused(res, page, per_page, param) -> None:
    with pytest.raises(InvalidInput) as err:
        query_page(res, ProspectQuery(), page, per_page)
    assert err.value.param == param


def test_prospect_past_the_target_link_is_absent(res) -> None:
    # site000 links to me.com (nofollow): never a prospect.
    assert "site000.com" not in res.domains


def test_huge_values_sort_with_ties_by_name(make_index) -> None:
    # Values past 2^22 take the two-key sort instead of the packed key.
    big = {"p1.com": 10**12, "p2.com": 5, "p3.com": 10**12, "p4.com": 2**40}
    res = make_index("\n".join(f"{n} -> a.com" for n in big),
                     metrics={n: {"backlinks": v} for n, v in big.items()}).gap("me.com",
                                                                               ["a.com"])
    desc = [r["domain"] for r in all_rows(res, ProspectQuery(sort="backlinks"))]
    assert desc == ["p4.com", "p1.com", "p3.com", "p2.com"]  # 2**40 > 10**12
    asc = [r["domain"] for r in all_rows(res, ProspectQuery(sort="backlinks", order="asc"))]
    assert asc == ["p2.com", "p1.com", "p3.com", "p4.com"]
