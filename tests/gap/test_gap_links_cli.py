"""``linkgap gap --links`` and ``linkgap index build --evidence`` on the real CLI (SPEC 12)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.crawlfiles import write_links_csv

from linkgap import BacklinkIndex
from linkgap.cli import main
from linkgap.index.evidence import LINK_CSV_FIELDS
from linkgap.prospects import PROSPECT_FIELDS

ROWS = [
    # p1 links to both competitors: two pages to a.com (one nofollow), one to b.com
    ("https://p1.com/list", "https://a.com/tool", "", "A's tool", "2024-03-01"),
    ("https://p1.com/old", "https://a.com/", "nofollow", "old mention", "2023-01-01"),
    ("https://p1.com/list", "https://www.b.com/", "", "=cheap B", "2024-03-02"),
    # p2 links only to a.com, without anchor or date
    ("https://p2.org/", "https://a.com/", "", "", ""),
    # not a prospect: links to me.com too
    ("https://p3.net/", "https://a.com/", "", "x", ""),
    ("https://p3.net/", "https://me.com/", "", "y", ""),
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gap-links")
    path = write_links_csv(folder / "links.csv", ROWS)
    assert main(["index", "build", "--index", str(folder / "index"), str(path)]) == 0
    return folder / "index"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["gap", *args])
    out, err = capsys.readouterr()
    return code, out, err


GAP = ("me.com", "-c", "a.com", "-c", "b.com")


def test_json_has_the_links_of_each_prospect_per_competitor(
        capsys: pytest.CaptureFixture[str], index_dir: Path) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), *GAP, "--links", "--format", "json")
    assert code == 0
    rows = {r["domain"]: r for r in json.loads(out)}
    assert set(rows) == {"p1.com", "p2.org"}
    assert list(rows["p1.com"]) == [*PROSPECT_FIELDS, "links"]
    a, b = rows["p1.com"]["links"]
    assert (a["competitor"], a["links_total"], a["dofollow_links"]) == ("a.com", 2, 1)
    assert a["first_seen"] == "2023-01-01T00:00:00.000Z"
    assert a["last_seen"] == "2024-03-01T00:00:00.000Z"
    assert a["samples"] == [
        {"source_url": "https://p1.com/list", "target_url": "https://a.com/tool",
         "anchor": "A's tool", "dofollow": True, "first_seen": "2024-03-01T00:00:00.000Z",
         "last_seen": "2024-03-01T00:00:00.000Z"},
        {"source_url": "https://p1.com/old", "target_url": "https://a.com/",
         "anchor": "old mention", "dofollow": False, "first_seen": "2023-01-01T00:00:00.000Z",
         "last_seen": "2023-01-01T00:00:00.000Z"},
    ]
    assert b["competitor"] == "b.com" and [s["target_url"] for s in b["samples"]] == [
        "https://www.b.com/"]
    (only,) = rows["p2.org"]["links"]
    assert only["samples"] == [{"source_url": "https://p2.org/", "target_url": "https://a.com/",
                                "anchor": None, "dofollow": True, "first_seen": None,
                                "last_seen": None}]


def test_csv_has_one_row_per_sample_link(capsys: pytest.CaptureFixture[str],
                                         index_dir: Path) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), *GAP, "--links", "--format", "csv")
    assert code == 0
    reader = csv.reader(io.StringIO(out))
    assert next(reader) == [*PROSPECT_FIELDS, *LINK_CSV_FIELDS]
    rows = [dict(zip([*PROSPECT_FIELDS, *LINK_CSV_FIELDS], r, strict=True)) for r in reader]
    assert [(r["domain"], r["competitor"], r["source_url"], r["target_url"], r["anchor"],
             r["link_dofollow"]) for r in rows] == [
        ("p1.com", "a.com", "https://p1.com/list", "https://a.com/tool", "A's tool", "true"),
        ("p1.com", "a.com", "https://p1.com/old", "https://a.com/", "old mention", "false"),
        # a cell that a spreadsheet would run as a formula is guarded, as everywhere
        ("p1.com", "b.com", "https://p1.com/list", "https://www.b.com/", "'=cheap B", "true"),
        ("p2.org", "a.com", "https://p2.org/", "https://a.com/", "", "true"),
    ]


def test_table_lists_the_links_after_the_prospects(capsys: pytest.CaptureFixture[str],
                                                   index_dir: Path) -> None:
    code, out, _ = run(capsys, "--index", str(index_dir), *GAP, "--links")
    assert code == 0
    prospects_at = out.index("link prospects for me.com")
    links_at = out.index("links behind the prospects")
    assert prospects_at < links_at
    tail = out[links_at:]
    for text in ("https://p1.com/old", "old mention", "https://a.com/tool", "2024-03-01",
                 "https://p2.org/"):
        assert text in tail
    code, plain, _ = run(capsys, "--index", str(index_dir), *GAP)
    assert "links behind the prospects" not in plain


def test_an_index_without_evidence_says_so(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    path = write_links_csv(tmp_path / "links.csv", ROWS)
    assert main(["index", "build", "--index", str(tmp_path / "i"), "--evidence", "0",
                 str(path)]) == 0
    capsys.readouterr()
    assert BacklinkIndex.open(tmp_path / "i").evidence_per_edge == 0
    code, out, err = run(capsys, "--index", str(tmp_path / "i"), *GAP, "--links", "--format",
                         "json")
    assert code == 0 and "keeps no sample links" in err
    rows = json.loads(out)
    assert rows and all(e["samples"] == [] for r in rows for e in r["links"])
    assert all(e["links_total"] >= 1 for r in rows for e in r["links"])


def test_build_evidence_flag_and_setting(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_links_csv(tmp_path / "links.csv", ROWS)
    assert main(["index", "build", "--index", str(tmp_path / "one"), "--evidence", "1",
                 str(path)]) == 0
    err = capsys.readouterr().err
    assert "evidence: up to 1 sample links per domain edge" in err
    one = BacklinkIndex.open(tmp_path / "one")
    assert one.evidence_per_edge == 1 and len(one.links("p1.com", "a.com")) == 1
    monkeypatch.setenv("LINKGAP_BUILD_EVIDENCE", "2")
    assert main(["index", "build", "--index", str(tmp_path / "two"), str(path)]) == 0
    assert BacklinkIndex.open(tmp_path / "two").evidence_per_edge == 2
    capsys.readouterr()
    for bad in ("101", "-1"):
        code = main(["index", "build", "--index", str(tmp_path / "bad"), "--evidence", bad,
                     str(path)])
        err = capsys.readouterr().err
        assert code != 0 and "--evidence" in err and "0 to 100" in err
        assert not (tmp_path / "bad" / "CURRENT").exists()
    monkeypatch.setenv("LINKGAP_BUILD_EVIDENCE", "many")
    code = main(["index", "build", "--index", str(tmp_path / "bad"), str(path)])
    assert code != 0 and "LINKGAP_BUILD_EVIDENCE" in capsys.readouterr().err
