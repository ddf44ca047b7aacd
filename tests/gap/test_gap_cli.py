"""``linkgap gap``: every format, filters, warnings on stderr, exit codes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support.indexes import build_test_index

from linkgap.cli import main
from linkgap.prospects import PROSPECT_FIELDS

LINKS = [
    ("https://p1.com/", "https://a.com/"),
    ("https://p1.com/", "https://b.com/", "nofollow"),
    ("https://p2.org/", "https://a.com/", "nofollow"),
    ("https://p3.net/", "https://b.com/"),
    ("https://p3.net/", "https://me.com/", "nofollow"),
    ("https://-dash.com/", "https://a.com/"),
    ("https://me.com/", "https://a.com/"),
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-gap-index")
    build_test_index(path, LINKS)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["gap", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_one_document_with_api_fields(capsys, index_dir) -> None:
    code, out, err = run(capsys, "--index", str(index_dir), "https://me.com",
                         "--competitor", "a.com", "-c", "B.com", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert isinstance(rows, list)
    assert {r["domain"] for r in rows} == {"p1.com", "p2.org", "-dash.com"}
    assert all(list(r) == list(PROSPECT_FIELDS) for r in rows)
    p1 = next(r for r in rows if r["domain"] == "p1.com")
    assert p1["competitors"] == ["a.com", "b.com"] and p1["dofollow"] is True
    assert "3 prospects found" in err


def test_filters_and_sort(capsys, index_dir) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com", "-c", "b.com",
                       "--no-dofollow", "--format", "json")
    assert code == 0 and [r["domain"] for r in json.loads(out)] == ["p2.org"]
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com", "-c", "b.com",
                       "--competitor-filter", "www.b.com", "--format", "json")
    assert [r["domain"] for r in json.loads(out)] == ["p1.com"]
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com", "-c", "b.com",
                       "--sort", "rank", "--order", "asc", "--format", "json")
    ranks = [r["rank"] for r in json.loads(out)]
    assert ranks == sorted(ranks, reverse=True)
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com", "-c", "b.com",
                       "--mode", "intersect", "--format", "json")
    assert [r["domain"] for r in json.loads(out)] == ["p1.com"]
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                       "--limit", "1", "--format", "json")
    assert len(json.loads(out)) == 1


def test_csv_has_header_and_guard(capsys, index_dir) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                       "--format", "csv")
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == list(PROSPECT_FIELDS)
    assert "'-dash.com" in [line[0] for line in table[1:]]
    assert "\r" not in out


def test_table_lists_the_prospects(capsys, index_dir) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com")
    assert code == 0
    assert "p1.com" in out and "p2.org" in out
    heading = next(line for line in out.splitlines() if " domain " in line)
    # short headings keep a prospect on one line; piped output is not folded
    assert [h.strip() for h in heading.strip("┃ ").split("┃")] == [
        "domain", "DR", "backlinks", "RD", "overlap", "competitors", "dofollow", "spam",
        "score", "rank",
    ]


def test_warnings_go_to_stderr(capsys, index_dir) -> None:
    code, out, err = run(capsys, "--index", str(index_dir), "newcomer.io", "-c", "a.com",
                         "-c", "ghost.dev", "--format", "json")
    assert code == 0
    assert json.loads(out)  # stdout stays clean JSON
    assert "newcomer.io is not in the backlink index" in err
    assert "ghost.dev is not in the backlink index" in err


def test_invalid_input_exits_1(capsys, index_dir) -> None:
    code, out, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "me.com")
    assert code == 1 and out == "" and "your own domain" in err
    code, _, err = run(capsys, "--index", str(index_dir), "co.uk", "-c", "a.com")
    assert code == 1 and "co.uk" in err
    code, _, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                       "--min-overlap", "2")
    assert code == 1 and "min_overlap" in err
    code, _, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                       "--competitor-filter", "b.com")
    assert code == 1 and "not one of this run's competitors" in err


def test_misspelt_competitors_exit_1_naming_them(capsys, index_dir) -> None:
    code, out, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.cmo",
                         "-c", "bb.com", "--format", "json")
    assert code == 1 and out == ""
    assert "a.cmo, bb.com are not in the backlink index" in err
    assert "no prospect can exist" in err
    # Intersect needs every competitor: one unknown is enough to refuse.
    code, out, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                         "-c", "bb.com", "--mode", "intersect")
    assert code == 1 and out == "" and "bb.com is not in the backlink index" in err


def test_usage_errors_exit_2(capsys, index_dir) -> None:
    assert run(capsys, "--index", str(index_dir), "me.com")[0] == 2  # no competitor
    assert run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
               "--mode", "both")[0] == 2
    assert run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
               "--max-spam", "101")[0] == 2


def test_missing_index_is_a_clear_error(capsys, tmp_path) -> None:
    code, out, err = run(capsys, "--index", str(tmp_path / "none"), "me.com", "-c", "a.com")
    assert code == 1 and out == "" and "no index" in err


def test_default_index_comes_from_the_settings(capsys, index_dir, monkeypatch) -> None:
    monkeypatch.setenv("LINKGAP_INDEX", str(index_dir))
    code, out, _ = run(capsys, "me.com", "-c", "a.com", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 3


# ---------------------------------------------------------------- filters before --limit

#: Ten strong prospects with dofollow links, two weak nofollow-only ones, and a partner
#: site that three of the strong ones link to.
OUTREACH_LINKS = [
    *[(f"https://strong{i}.com/", "https://a.com/") for i in range(10)],
    *[(f"https://strong{i}.com/", "https://b.com/") for i in range(0, 10, 2)],
    *[(f"https://blog{i}.com/", f"https://strong{i}.com/") for i in range(10)],
    ("https://quiet1.org/", "https://a.com/", "nofollow"),
    ("https://quiet2.org/", "https://b.com/", "ugc"),
    *[(f"https://strong{i}.com/", "https://partner.net/") for i in (0, 1, 2)],
]


@pytest.fixture(scope="module")
def outreach_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-gap-outreach")
    build_test_index(path, OUTREACH_LINKS)
    return path


def gap_rows(capsys, index_dir, *args: str) -> tuple[list[dict], str]:
    code, out, err = run(capsys, "--index", str(index_dir), "me.com", "-c", "a.com",
                         "-c", "b.com", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out), err


def test_no_dofollow_finds_the_nofollow_prospects_a_small_limit_missed(
        capsys, outreach_index) -> None:
    top, err = gap_rows(capsys, outreach_index, "--limit", "5")
    assert len(top) == 5 and all(r["dofollow"] for r in top)
    assert "12 prospects found, 5 kept" in err
    quiet, err = gap_rows(capsys, outreach_index, "--limit", "5", "--no-dofollow")
    assert sorted(r["domain"] for r in quiet) == ["quiet1.org", "quiet2.org"]
    assert "2 prospects found, 2 kept, after filters: nofollow only" in err


def test_every_filter_flag_applies_before_the_limit(capsys, outreach_index) -> None:
    everything, _ = gap_rows(capsys, outreach_index)
    floor = sorted({r["domain_rating"] for r in everything})[-1]
    strongest, err = gap_rows(capsys, outreach_index, "--limit", "3", "--min-authority",
                              str(floor))
    assert strongest == [r for r in everything if r["domain_rating"] >= floor][:3]
    # The competitor and search filters narrow the unlimited run, then the best are kept.
    to_b, err = gap_rows(capsys, outreach_index, "--limit", "2", "--competitor-filter",
                         "www.b.com", "--no-dofollow")
    assert [r["domain"] for r in to_b] == ["quiet2.org"]
    assert "1 prospect found, 1 kept, after filters: linking to www.b.com with nofollow " \
           "links only" in err
    found, err = gap_rows(capsys, outreach_index, "--limit", "1", "--search", "QUIET")
    assert [r["domain"] for r in found] == [
        next(r["domain"] for r in everything if "quiet" in r["domain"])]
    assert "2 prospects found, 1 kept" in err


def test_exclude_removes_the_referrers_of_excluded_domains_before_the_limit(
        capsys, outreach_index) -> None:
    everything, _ = gap_rows(capsys, outreach_index)
    gone = {"strong0.com", "strong1.com", "strong2.com", "partner.net"}
    want = [r for r in everything if r["domain"] not in gone]
    rows, err = gap_rows(capsys, outreach_index, "--limit", "4", "--exclude",
                         "https://Partner.net/", "-x", "nowhere.org")
    assert rows == want[:4]
    assert f"{len(want)} prospects found, 4 kept, after filters: excluding 2 domains" in err
    assert "nowhere.org is not in the backlink index" in err


def test_bad_exclusions_exit_1_naming_them(capsys, outreach_index) -> None:
    code, out, err = run(capsys, "--index", str(outreach_index), "me.com", "-c", "a.com",
                         "--exclude", "ok.com", "--exclude", "co.uk")
    assert code == 1 and out == "" and "co.uk" in err
    code, out, err = run(capsys, "--index", str(outreach_index), "me.com", "-c", "a.com",
                         "--exclude", "A.com")
    assert code == 1 and out == "" and "one of the competitors" in err
    many = [arg for i in range(101) for arg in ("-x", f"d{i}.com")]
    code, out, err = run(capsys, "--index", str(outreach_index), "me.com", "-c", "a.com", *many)
    assert code == 1 and "at most 100 domains" in err
