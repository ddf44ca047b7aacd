"""``plan_inputs``: globs, format detection, cc-graph pairing and clear failures."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

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

from linkgap.errors import BuildFailed
from linkgap.ingest import InputSpec, detect_format, plan_inputs

PAGE = Page("https://a.com/", html_page([("https://b.com/", "b", None)]))
WAT = WatPage("https://a.com/", [("https://b.com/", "b", None)])
ROW = ("https://a.com/", "https://b.com/")
VERTICES = [(0, "com.a", 1), (1, "com.b", 1)]


def formats(specs: list[InputSpec]) -> list[tuple[str, list[str]]]:
    return [(s.format, [p.name for p in s.paths]) for s in specs]


def test_each_format_is_detected_from_its_name(tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [PAGE])
    plain = write_warc(tmp_path / "b.warc", [PAGE], gzip=False)
    wat = write_wat(tmp_path / "c.warc.wat.gz", [WAT])
    csv_file = write_links_csv(tmp_path / "d.csv", [ROW])
    csv_gz = write_links_csv(tmp_path / "e.csv.gz", [ROW])
    parquet = write_links_parquet(tmp_path / "f.parquet", [ROW])
    vertices, edges = write_cc_graph(tmp_path, "g", VERTICES, [(0, 1)])
    paths = [warc, plain, wat, csv_file, csv_gz, parquet, vertices, edges]
    assert formats(plan_inputs([str(p) for p in paths])) == [
        ("warc", ["a.warc.gz"]),
        ("warc", ["b.warc"]),
        ("wat", ["c.warc.wat.gz"]),
        ("links-csv", ["d.csv"]),
        ("links-csv", ["e.csv.gz"]),
        ("links-csv", ["f.parquet"]),
        ("cc-graph", ["g-vertices.txt.gz", "g-edges.txt.gz"]),
    ]


def test_formats_are_detected_from_content_when_the_name_says_nothing(tmp_path):
    shutil.copy(write_warc(tmp_path / "x.warc.gz", [PAGE]), tmp_path / "crawl.bin")
    shutil.copy(write_wat(tmp_path / "x.wat.gz", [WAT]), tmp_path / "meta.dat")
    shutil.copy(write_wat(tmp_path / "y.wat.gz", [WAT]), tmp_path / "meta.warc.gz")
    shutil.copy(write_links_csv(tmp_path / "x.csv", [ROW]), tmp_path / "links.txt")
    shutil.copy(write_links_parquet(tmp_path / "x.parquet", [ROW]), tmp_path / "links.data")
    names = ["crawl.bin", "meta.dat", "meta.warc.gz", "links.txt", "links.data"]
    assert [detect_format(tmp_path / n) for n in names] == [
        "warc",
        "wat",
        "wat",
        "links-csv",
        "links-csv",
    ]


def test_cc_graph_files_pair_by_prefix_in_any_order(tmp_path):
    v1, e1 = write_cc_graph(tmp_path, "one", VERTICES, [(0, 1)])
    v2, e2 = write_cc_graph(tmp_path / "sub", "two", VERTICES, [(1, 0)])
    specs = plan_inputs([str(e2), str(e1), str(v1), str(v2)])
    assert [(s.format, s.paths) for s in specs] == [
        ("cc-graph", (v1, e1)),
        ("cc-graph", (v2, e2)),
    ]


def test_an_unpaired_cc_graph_file_fails_clearly(tmp_path):
    vertices, edges = write_cc_graph(tmp_path, "g", VERTICES, [(0, 1)])
    with pytest.raises(BuildFailed, match="g-edges.txt.gz"):
        plan_inputs([str(vertices)])
    with pytest.raises(BuildFailed, match="g-vertices.txt.gz"):
        plan_inputs([str(edges)])
    other_vertices, _ = write_cc_graph(tmp_path, "other", VERTICES, [])
    with pytest.raises(BuildFailed, match="no edges file"):
        plan_inputs([str(other_vertices), str(edges)])


def test_explicit_cc_graph_takes_pairs_in_order(tmp_path):
    vertices, edges = write_cc_graph(tmp_path, "g", VERTICES, [(0, 1)])
    shutil.copy(vertices, tmp_path / "nodes.gz")
    shutil.copy(edges, tmp_path / "links.gz")
    specs = plan_inputs([str(tmp_path / "nodes.gz"), str(tmp_path / "links.gz")], "cc-graph")
    assert formats(specs) == [("cc-graph", ["nodes.gz", "links.gz"])]
    with pytest.raises(BuildFailed, match="pairs"):
        plan_inputs([str(tmp_path / "nodes.gz")], "cc-graph")
    with pytest.raises(BuildFailed, match="vertices file first"):
        plan_inputs([str(tmp_path / "links.gz"), str(tmp_path / "nodes.gz")], "cc-graph")


def test_content_detected_graph_files_must_be_named_or_given_explicitly(tmp_path):
    vertices, _ = write_cc_graph(tmp_path, "g", VERTICES, [(0, 1)])
    shutil.copy(vertices, tmp_path / "nodes.gz")
    with pytest.raises(BuildFailed, match="--input-format cc-graph"):
        plan_inputs([str(tmp_path / "nodes.gz")])


def test_explicit_formats_apply_to_every_file(tmp_path):
    path = write_warc(tmp_path / "pages.bin", [PAGE])
    assert formats(plan_inputs([str(path)], "warc")) == [("warc", ["pages.bin"])]
    csv_path = write_links_csv(tmp_path / "l.txt", [ROW])
    assert formats(plan_inputs([str(csv_path)], "links-csv")) == [("links-csv", ["l.txt"])]
    with pytest.raises(BuildFailed, match="source_url and target_url"):
        plan_inputs([str(path)], "links-csv")
    with pytest.raises(BuildFailed, match="unknown input format 'html'"):
        plan_inputs([str(path)], "html")


def test_globs_expand_sorted_and_duplicates_count_once(tmp_path):
    for name in ("b", "a", "c"):
        write_warc(tmp_path / f"{name}.warc.gz", [PAGE])
    write_links_csv(tmp_path / "z.csv", [ROW])
    specs = plan_inputs([str(tmp_path / "*.warc.gz"), str(tmp_path / "a.warc.gz")])
    assert formats(specs) == [
        ("warc", ["a.warc.gz"]),
        ("warc", ["b.warc.gz"]),
        ("warc", ["c.warc.gz"]),
    ]
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    write_warc(nested / "n.warc.gz", [PAGE])
    assert formats(plan_inputs([str(tmp_path / "**" / "*.warc.gz")]))[-1] == (
        "warc",
        ["n.warc.gz"],
    )


def test_an_empty_glob_fails_clearly(tmp_path):
    with pytest.raises(BuildFailed, match=r"no input file matches .*\*\.warc\.gz"):
        plan_inputs([str(tmp_path / "*.warc.gz")])


def test_missing_file_directory_and_no_inputs_fail_clearly(tmp_path):
    with pytest.raises(BuildFailed, match="input file not found: .*nope.warc.gz"):
        plan_inputs([str(tmp_path / "nope.warc.gz")])
    with pytest.raises(BuildFailed, match="is a directory"):
        plan_inputs([str(tmp_path)])
    with pytest.raises(BuildFailed, match="no input files"):
        plan_inputs([])


def test_an_undetectable_format_fails_clearly(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some words\nand more\n")
    with pytest.raises(BuildFailed, match="cannot tell the format of .*notes.txt"):
        plan_inputs([str(path)])
    binary = tmp_path / "blob.gz"
    binary.write_bytes(gzip.compress(b"\x00\x01\x02"))
    with pytest.raises(BuildFailed, match="--input-format"):
        plan_inputs([str(binary)])


def test_read_input_fails_clearly_when_a_planned_file_disappears(tmp_path):
    from linkgap.domains import DomainNormalizer
    from linkgap.ingest import InputStats, read_input

    path = write_warc(tmp_path / "gone.warc.gz", [PAGE])
    (spec,) = plan_inputs([str(path)])
    Path(path).unlink()
    with pytest.raises(BuildFailed, match="not found"):
        list(read_input(spec, DomainNormalizer(), InputStats(spec)))


def test_a_zstd_file_that_is_not_a_warc_is_not_taken_for_one(tmp_path):
    from fastwarc.stream_io import ZstdWriter

    path = tmp_path / "data.bin"
    writer = ZstdWriter(str(path))
    writer.write(b"just some compressed words\n")
    writer.close()
    with pytest.raises(BuildFailed, match="cannot tell the format"):
        plan_inputs([str(path)])
