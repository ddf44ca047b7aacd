"""``index build`` end to end: real WARC, WAT, links CSV/Parquet and cc-graph files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from support.crawlfiles import (
    Page,
    WatPage,
    html_page,
    write_cc_graph,
    write_links_csv,
    write_links_parquet,
    write_warc,
    write_wat,
)

from linkgap import BacklinkIndex
from linkgap.cli import main
from linkgap.errors import BuildFailed
from linkgap.index.build import build_index
from linkgap.index.format import days_to_dates

pytestmark = pytest.mark.slow

# The same links of a.com's page, as three formats would carry them.
A_LINKS = [("https://b.com/", "B", None), ("https://c.com/x", "C", "nofollow"),
           ("/internal", "home", None), ("mailto:x@a.com", "mail", None)]


def _write_three_formats(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    warc = write_warc(folder / "crawl.warc.gz", [
        Page("https://a.com/", html_page(A_LINKS), warc_date="2024-02-01T00:00:00Z"),
        Page("https://d.com/", html_page([("https://b.com/", "B", "ugc")])),
    ])
    wat = write_wat(folder / "crawl.warc.wat.gz", [
        # a.com's page again: its links repeat the WARC's and count once
        WatPage("https://a.com/", [("https://b.com/", "B", None)],
                warc_date="2024-05-01T00:00:00Z"),
        WatPage("https://e.com/", [("https://b.com/", "B", "nofollow")]),
    ])
    csv = write_links_csv(folder / "links.csv", [
        ("https://d.com/", "https://b.com/", "", "B", "2023-12-01"),  # dofollow repeat of a ugc
        ("https://e.com/x", "https://c.com/", "", "", ""),
        "this,row,is,broken,\"",
    ])
    return [str(warc), str(wat), str(csv)]


def test_build_merges_formats_and_counts_each_pair_once(tmp_path: Path) -> None:
    inputs = _write_three_formats(tmp_path / "in")
    report = build_index(tmp_path / "index", inputs)
    assert [s.input.format for s in report.inputs] == ["warc", "wat", "links-csv"]
    index = BacklinkIndex.open(tmp_path / "index")
    b = index.domain("b.com")
    assert b is not None
    # pairs into b.com: a.com/ (warc+wat), d.com/ (warc ugc + csv dofollow), e.com/ (wat)
    assert (b.backlinks, b.referring_domains) == (3, 3)
    sl = index.in_links_of(index.id_of("b.com"))  # type: ignore[arg-type]
    assert index.names_of(index.in_src[sl]) == ["a.com", "d.com", "e.com"]
    assert index.in_dofollow[sl].tolist() == [1, 1, 0]
    # seen times are day codes (docs/index-format.md): days since 1970-01-01 plus 1
    a_first, a_last = days_to_dates(index.in_first_seen[sl])[0], days_to_dates(
        index.in_last_seen[sl])[0]
    assert a_first == np.datetime64(datetime(2024, 2, 1, tzinfo=UTC).date())
    assert a_last == np.datetime64(datetime(2024, 5, 1, tzinfo=UTC).date())
    c = index.domain("c.com")
    assert c is not None and (c.backlinks, c.referring_domains) == (2, 2)
    assert index.domain("a.com").outlinks == 2  # type: ignore[union-attr]
    manifest = index.manifest
    assert manifest.counts["links"] == 5
    assert [i["format"] for i in manifest.inputs] == ["warc", "wat", "links-csv"]
    assert manifest.inputs[2]["skipped"]  # the broken CSV row is counted per input
    assert manifest.counts["skipped"] >= 1


def test_results_do_not_depend_on_how_links_are_split_into_files(tmp_path: Path) -> None:
    rows = [(f"https://s{i % 7}.com/p{i}", f"https://t{i % 5}.org/", "nofollow" if i % 3 else "",
             "", "") for i in range(60)]
    one = write_links_csv(tmp_path / "all.csv", rows)
    parts = [write_links_csv(tmp_path / "part1.csv", rows[:25]),
             write_links_parquet(tmp_path / "part2.parquet", rows[40:]),
             write_links_csv(tmp_path / "part3.csv.gz", rows[20:45])]  # overlaps both
    build_index(tmp_path / "one", [str(one)])
    build_index(tmp_path / "many", [str(p) for p in reversed(parts)])
    x, y = BacklinkIndex.open(tmp_path / "one"), BacklinkIndex.open(tmp_path / "many")
    assert x.manifest.counts["links"] == y.manifest.counts["links"] == 60
    for name in ("backlinks", "referring_domains", "pagerank", "domain_rating", "rank",
                 "spam_score", "in_src", "in_links", "in_dofollow"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name


def test_cc_graph_input(tmp_path: Path) -> None:
    vertices, edges = write_cc_graph(tmp_path, "graph", [
        (0, "com.a", 1), (1, "com.b", 2), (2, "com.b.www", 1), (3, "localhost", 1),
        (4, "uk.co.c", 1),
    ], [(0, 1), (0, 2), (2, 1), (2, 0), (3, 0), (4, 1), (4, 2)])
    report = build_index(tmp_path / "index", [str(vertices), str(edges)])
    assert report.inputs[0].input.format == "cc-graph"
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.names_of(range(index.num_domains)) == ["a.com", "b.com", "c.co.uk"]
    b = index.domain("b.com")
    assert b is not None
    # a>b and a>www.b are one edge; www.b>b is internal; c>b and c>www.b one edge
    assert (b.referring_domains, b.domain_rating > 0) == (2, True)
    assert index.manifest.counts["edges"] == 3  # a>b, c>b, b>a
    assert sum(report.inputs[0].skipped.values()) >= 1  # localhost is no domain


def test_missing_input_fails_and_keeps_previous_version(tmp_path: Path) -> None:
    inputs = _write_three_formats(tmp_path / "in")
    first = build_index(tmp_path / "index", inputs[:1])
    with pytest.raises(BuildFailed, match="nope.warc.gz"):
        build_index(tmp_path / "index", [inputs[1], str(tmp_path / "nope.warc.gz")])
    assert BacklinkIndex.open(tmp_path / "index").version == first.version
    assert not list((tmp_path / "index").glob("tmp-*"))


def test_cli_build_summary_and_exit_codes(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    inputs = _write_three_formats(tmp_path / "in")
    index = str(tmp_path / "index")
    code = main(["index", "build", "--index", index, *inputs])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == ""  # messages only on stderr
    text = " ".join(err.split())
    assert "published version" in text and "5 distinct links" in text
    assert all(fmt in text for fmt in ("warc", "wat", "links-csv"))  # one row per input
    version = (tmp_path / "index" / "CURRENT").read_text().strip()

    only_internal = write_links_csv(tmp_path / "internal.csv",
                                    [("https://a.com/", "https://www.a.com/x", "", "", "")])
    code = main(["index", "build", "--index", index, str(only_internal)])
    _, err = capsys.readouterr()
    assert code == 1 and "no valid links" in " ".join(err.split())
    code = main(["index", "build", "--index", index, str(tmp_path / "missing.csv")])
    _, err = capsys.readouterr()
    assert code == 1 and "missing.csv" in err
    assert (tmp_path / "index" / "CURRENT").read_text().strip() == version

    code = main(["index", "info", "--index", index, "--format", "json"])
    out, _ = capsys.readouterr()
    (row,) = json.loads(out)
    assert row["version"] == version and len(row["inputs"]) == 3

    code = main(["index", "build", "--index", str(tmp_path / "icann"), "--icann-only",
                 "--input-format", "links-csv", inputs[2]])
    capsys.readouterr()
    assert code == 0
    assert BacklinkIndex.open(tmp_path / "icann").manifest.psl["mode"] == "icann"
