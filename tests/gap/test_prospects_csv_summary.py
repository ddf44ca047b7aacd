"""CSV export (with the formula-injection guard) and the summary counts."""

from __future__ import annotations

import csv
import io

import pytest

from linkgap.errors import InvalidInput
from linkgap.prospects import (
    PROSPECT_FIELDS,
    ProspectQuery,
    all_rows,
    iter_csv,
    summarize,
    to_csv,
)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_the_header_and_one_line_per_row(sample_result) -> None:
    query = ProspectQuery(min_authority=50, sort="backlinks", order="asc")
    rows = all_rows(sample_result, query)
    table = parse(to_csv(rows))
    assert table[0] == list(PROSPECT_FIELDS)
    assert len(table) == len(rows) + 1
    for line, row in zip(table[1:], rows, strict=True):
        assert line[0].lstrip("'") == row["domain"]
        assert line[5] == ";".join(row["competitors"])
        assert line[6] == ("true" if row["dofollow"] else "false")
        assert [int(line[i]) for i in (1, 2, 3, 4, 7, 8, 9)] == [
            row[f] for f in ("domain_rating", "backlinks", "referring_domains",
                             "competitor_overlap", "spam_score", "score", "rank")]


def test_streamed_csv_equals_the_whole_csv(sample_result) -> None:
    query = ProspectQuery(max_spam=60, sort="rank")
    assert "".join(iter_csv(sample_result, query, chunk=7)) == to_csv(
        all_rows(sample_result, query))


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_guarded(first) -> None:
    row = {"domain": f"{first}evil.com", "domain_rating": 1, "backlinks": 2,
           "referring_domains": 3, "competitor_overlap": 1, "competitors": [f"{first}x.com"],
           "dofollow": False, "spam_score": 0, "score": 5, "rank": 9}
    line = parse(to_csv([row]))[1]
    assert line[0] == f"'{first}evil.com"
    assert line[5] == f"'{first}x.com"
    assert line[6] == "false"


def test_a_real_dash_domain_is_guarded_in_export(sample_result) -> None:
    rows = all_rows(sample_result, ProspectQuery(q="-minus"))
    assert [r["domain"] for r in rows] == ["-minus.com"]  # JSON keeps the canonical name
    assert parse(to_csv(rows))[1][0] == "'-minus.com"


def test_plain_cells_are_untouched() -> None:
    row = dict.fromkeys(PROSPECT_FIELDS, 0) | {"domain": "a-b.com", "competitors": ["x.com"],
                                               "dofollow": True}
    assert parse(to_csv([row]))[1][:1] == ["a-b.com"]


def test_empty_csv_is_just_the_header() -> None:
    assert parse(to_csv([])) == [list(PROSPECT_FIELDS)]


def test_summary_shape_and_counts_agree_with_the_rows(sample_result) -> None:
    for query in [ProspectQuery(), ProspectQuery(min_authority=35, max_spam=70),
                  ProspectQuery(competitor="b.com", dofollow=True), ProspectQuery(q="zzz")]:
        rows = all_rows(sample_result, query)
        summary = summarize(sample_result, query)
        assert set(summary) == {"total", "domain_rating", "competitor_overlap", "dofollow"}
        assert summary["total"] == len(rows)
        bands = summary["domain_rating"]
        assert [b["band"] for b in bands] == [
            "0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89",
            "90-100"]
        for band in bands:
            assert band["count"] == sum(
                band["min"] <= r["domain_rating"] <= band["max"] for r in rows)
        assert [o["overlap"] for o in summary["competitor_overlap"]] == [1, 2, 3]
        for o in summary["competitor_overlap"]:
            assert o["count"] == sum(r["competitor_overlap"] == o["overlap"] for r in rows)
        dof = summary["dofollow"]
        assert dof["dofollow"] + dof["nofollow"] == len(rows)
        if query.competitor is None:
            assert dof["dofollow"] == sum(r["dofollow"] for r in rows)


def test_summary_dofollow_split_uses_the_competitor_filter(make_index) -> None:
    res = make_index("""
    p1.com -> a.com
    p1.com ~> b.com
    p2.com ~> a.com
    p3.com -> a.com
    """).gap("me.com", ["a.com", "b.com"])
    assert summarize(res, ProspectQuery())["dofollow"] == {"dofollow": 2, "nofollow": 1}
    assert summarize(res, ProspectQuery(competitor="b.com"))["dofollow"] == {
        "dofollow": 0, "nofollow": 1}
    assert summarize(res)["competitor_overlap"] == [
        {"overlap": 1, "count": 2}, {"overlap": 2, "count": 1}]
    with pytest.raises(InvalidInput) as err:
        summarize(res, ProspectQuery(competitor="c.com"))
    assert err.value.details == {"allowed": ["a.com", "b.com"]}


def test_dr_100_is_in_the_top_band(make_index) -> None:
    res = make_index("p1.com -> a.com\np2.com -> a.com\np3.com -> a.com",
                     metrics={"p1.com": {"domain_rating": 100}, "p2.com": {"domain_rating": 90},
                              "p3.com": {"domain_rating": 89}}).gap("me.com", ["a.com"])
    counts = {b["band"]: b["count"] for b in summarize(res)["domain_rating"]}
    assert counts["90-100"] == 2 and counts["80-89"] == 1


def test_only_the_start_of_a_cell_is_guarded() -> None:
    row = dict.fromkeys(PROSPECT_FIELDS, 0) | {
        "domain": "ok.com", "competitors": ["a.com", "-b.com"], "dofollow": False}
    assert parse(to_csv([row]))[1][5] == "a.com;-b.com"
    row["competitors"] = ["-b.com", "a.com"]
    assert parse(to_csv([row]))[1][5] == "'-b.com;a.com"
