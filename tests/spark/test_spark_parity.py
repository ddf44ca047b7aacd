"""The Spark engine builds the same index as the embedded one (SPEC 10).

Every file of a version folder (names, CSR, every metric, the evidence) must be the same
bytes, and the manifests the same but for version id and build time: the
per-input counts, the totals, the PSL mode and the metric parameters. The
builds share one local[2] session; the corpus has several files of every
format, with pairs repeating across files and formats and damage that is
skipped and counted.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from support.corpus import all_inputs

from linkgap import BacklinkIndex
from linkgap.errors import BuildFailed
from linkgap.index.build import BuildReport, build_index
from linkgap.index.staging import MARKER
from linkgap.index.versions import read_current, version_dir

# A Spark session can take minutes to start on a busy machine: a longer budget than the
# suite's 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def version_files(index_dir: Path) -> dict[str, bytes]:
    """Every file of the published version but its manifest, by name."""
    folder = version_dir(index_dir, read_current(index_dir) or "")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and p.name != "manifest.json"}


def comparable_manifest(index_dir: Path) -> dict[str, Any]:
    """The published manifest without what differs between any two builds."""
    manifest = BacklinkIndex.open(index_dir).manifest.as_dict()
    for key in ("version", "built_at"):
        manifest.pop(key)
    return manifest


def assert_same_index(left: Path, right: Path) -> None:
    """Same files, byte for byte, and the same manifest but for version id and time."""
    a, b = version_files(left), version_files(right)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name]]
    assert differing == [], f"files that differ: {differing}"
    assert comparable_manifest(left) == comparable_manifest(right)


@pytest.fixture(scope="module")
def embedded(corpus: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, BuildReport]:
    index_dir = tmp_path_factory.mktemp("embedded") / "index"
    return index_dir, build_index(index_dir, all_inputs(corpus))


@pytest.fixture(scope="module")
def spark_built(spark: Any, corpus: dict[str, list[str]],
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    from linkgap.spark import spark_build_index

    index_dir = tmp_path_factory.mktemp("spark") / "index"
    return index_dir, spark_build_index(index_dir, all_inputs(corpus), master="local[2]")


def test_spark_build_equals_the_embedded_build(embedded: tuple[Path, BuildReport],
                                               spark_built: tuple[Path, BuildReport]) -> None:
    assert_same_index(embedded[0], spark_built[0])
    # The out-links by source are finalised here too, through the same code.
    assert {"out_indptr.npy", "out_dst.npy"} <= set(version_files(spark_built[0]))
    counts = spark_built[1].manifest.counts
    assert counts["domains"] > 20 and counts["links"] > counts["edges"] > 100
    assert counts["occurrences"] > counts["links"]  # pairs repeat across files and formats


def _evidence(index_dir: Path) -> tuple[list[int], list[int], pa.Table]:
    folder = BacklinkIndex.open(index_dir).folder
    table = pa.ipc.open_file(pa.memory_map(str(folder / "evidence.arrow"))).read_all()
    return (np.load(folder / "evidence_indptr.npy").tolist(),
            np.load(folder / "evidence_src.npy").tolist(), table)


def test_spark_keeps_the_same_evidence(embedded: tuple[Path, BuildReport],
                                       spark_built: tuple[Path, BuildReport]) -> None:
    a, b = BacklinkIndex.open(embedded[0]), BacklinkIndex.open(spark_built[0])
    assert a.evidence_per_edge == b.evidence_per_edge == 3
    assert a.manifest.evidence == b.manifest.evidence
    mine, theirs = _evidence(spark_built[0]), _evidence(embedded[0])
    assert mine[0] == theirs[0] and mine[1] == theirs[1]
    assert mine[2].to_pylist() == theirs[2].to_pylist()
    samples = theirs[2].to_pylist()
    # the corpus gives the rule something to decide: nofollow and dofollow, dates, anchors,
    # edges with more links than the cap
    assert len(samples) > 100
    assert {s["dofollow"] for s in samples} == {True, False}
    assert any(s["anchor"] for s in samples)
    assert any(s["first_seen"] for s in samples) and any(s["first_seen"] is None for s in samples)
    assert int(np.max(b.in_links)) > 3
    assert not any(s["source_url"].startswith("ccgraph:") for s in samples)


def test_evidence_zero_stages_no_samples(spark: Any, corpus: dict[str, list[str]],
                                         tmp_path: Path) -> None:
    from linkgap.spark import spark_stage

    inputs = corpus["links-csv"]
    out = tmp_path / "staged"
    spark_stage(str(out), inputs, master="local[2]", evidence=0)
    marker = json.loads((out / MARKER).read_text())
    assert marker["evidence"] == 0 and marker["samples"] == [] and not (out / "samples").exists()
    build_index(tmp_path / "spark", [str(out)])
    build_index(tmp_path / "embedded", inputs, evidence=0)
    assert_same_index(tmp_path / "embedded", tmp_path / "spark")
    assert BacklinkIndex.open(tmp_path / "spark").evidence_per_edge == 0


def test_per_input_counts_are_the_same(embedded: tuple[Path, BuildReport],
                                       spark_built: tuple[Path, BuildReport]) -> None:
    mine = [s.as_dict() for s in spark_built[1].inputs]
    theirs = [s.as_dict() for s in embedded[1].inputs]
    assert mine == theirs
    formats = {d["format"] for d in mine}
    assert formats == {"warc", "wat", "links-csv", "cc-graph"}
    skipped = {reason for d in mine for reason in d["skipped"]}
    assert {"truncated_record", "broken_json", "bad_csv_row", "vertex_not_domain",
            "internal_link"} <= skipped
    # no staging or work files are left in the index directory
    assert sorted(p.name for p in spark_built[0].iterdir()) == [".build.lock", "CURRENT",
                                                                "versions"]


def test_stage_only_then_finalise_equals_the_one_step_build(
        spark: Any, corpus: dict[str, list[str]], spark_built: tuple[Path, BuildReport],
        tmp_path: Path) -> None:
    from linkgap.spark import spark_stage

    out = tmp_path / "staged"
    staged = spark_stage(str(out), all_inputs(corpus), master="local[2]")
    assert (out / MARKER).is_file() and not (out / "_work").exists()
    assert staged.totals.edges == spark_built[1].manifest.counts["edges"]
    report = build_index(tmp_path / "index", [str(out)])  # detected as domain-edges
    assert_same_index(spark_built[0], tmp_path / "index")
    assert [s.as_dict() for s in report.inputs] == [s.as_dict() for s in spark_built[1].inputs]


def test_cc_graph_through_a_stage_dir_url(spark: Any, corpus: dict[str, list[str]],
                                          tmp_path: Path) -> None:
    from linkgap.spark import spark_build_index

    graph = corpus["cc-graph"]
    build_index(tmp_path / "embedded", graph)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    spark_build_index(tmp_path / "spark", graph, master="local[2]",
                      stage_dir=scratch.as_uri())
    assert_same_index(tmp_path / "embedded", tmp_path / "spark")
    assert list(scratch.iterdir()) == []  # the job's folder in the stage dir is removed


def test_no_out_links_with_spark(spark: Any, corpus: dict[str, list[str]],
                                 tmp_path: Path) -> None:
    from linkgap.errors import OutLinksMissing
    from linkgap.spark import spark_build_index

    graph = corpus["cc-graph"]
    build_index(tmp_path / "embedded", graph, out_links=False)
    report = spark_build_index(tmp_path / "spark", graph, master="local[2]", out_links=False)
    assert report.manifest.build is not None and report.manifest.build["out_links"] is False
    assert_same_index(tmp_path / "embedded", tmp_path / "spark")
    assert not {"out_indptr.npy", "out_dst.npy"} & set(version_files(tmp_path / "spark"))
    index = BacklinkIndex.open(tmp_path / "spark")
    some_domain = index.name_of(0)
    with pytest.raises(OutLinksMissing):
        index.competitors(some_domain)


def test_an_unreadable_input_fails_and_keeps_the_published_version(
        spark: Any, corpus: dict[str, list[str]], embedded: tuple[Path, BuildReport]) -> None:
    from linkgap.spark import spark_build_index

    index_dir = embedded[0]
    before = read_current(index_dir)
    with pytest.raises(BuildFailed, match="cannot read input file nosuch://host/x.warc.gz"):
        spark_build_index(index_dir, [corpus["warc"][0], "nosuch://host/x.warc.gz"],
                          master="local[2]")
    assert read_current(index_dir) == before
    assert not list(index_dir.glob("tmp-*"))


def test_no_valid_link_fails_like_the_embedded_build(spark: Any, tmp_path: Path) -> None:
    from support.crawlfiles import write_links_csv

    from linkgap.spark import spark_build_index

    path = write_links_csv(tmp_path / "internal.csv", [
        ("https://a.com/x", "https://www.a.com/y", "", "", "")])
    with pytest.raises(BuildFailed) as embedded_error:
        build_index(tmp_path / "e", [str(path)])
    with pytest.raises(BuildFailed) as spark_error:
        spark_build_index(tmp_path / "s", [str(path)], master="local[2]")
    assert spark_error.value.message == embedded_error.value.message
    assert "no valid links" in spark_error.value.message
    assert read_current(tmp_path / "s") is None


def _write_damaged_pair(folder: Path, one_host_per_domain: bool) -> list[str]:
    """One cc-graph pair with everything the reader skips and counts: bad and repeated
    vertex lines, names that are no domain, (with ``one_host_per_domain`` False) hosts
    that fold into one domain, repeated and self edges, unknown ids, bad edge lines and a
    cut-off gzip end."""
    import gzip

    names = [f"com.site{k}" for k in range(30)] + ["localhost", "co.uk", "com.SITE3"]
    if not one_host_per_domain:
        names += ["com.site1.www", "com.site2.blog", "org.other.www"]
    vertices = "".join(f"{k}\t{name}\t1\n" for k, name in enumerate(names))
    vertices += "not-an-id\tcom.bad\t1\n5\tcom.repeated\t1\n"
    rng = random.Random(5)
    edges = [f"{rng.randrange(len(names) + 3)}\t{rng.randrange(len(names))}" for _ in range(400)]
    edges += ["1\t2", "1\t2", "4\t4", "x\t1", "3", "-1\t2", "2\t99"]
    (folder / "g-vertices.txt.gz").write_bytes(gzip.compress(vertices.encode()))
    data = gzip.compress(("\n".join(edges) + "\n").encode())
    (folder / "g-edges.txt.gz").write_bytes(data[:-12])  # the gzip trailer and more cut off
    return [str(folder / "g-vertices.txt.gz"), str(folder / "g-edges.txt.gz")]


@pytest.mark.parametrize("one_host_per_domain", [True, False])
def test_one_damaged_cc_graph_pair_alone(spark: Any, tmp_path: Path,
                                         one_host_per_domain: bool) -> None:
    """A build of one web graph takes its own path through Spark (the pair's numbers,
    no host map): the same index and counts as the embedded build."""
    from linkgap.spark import spark_build_index

    graph = _write_damaged_pair(tmp_path, one_host_per_domain)
    embedded = build_index(tmp_path / "embedded", graph)
    report = spark_build_index(tmp_path / "spark", graph, master="local[2]")
    assert_same_index(tmp_path / "embedded", tmp_path / "spark")
    mine, theirs = report.inputs[0].as_dict(), embedded.inputs[0].as_dict()
    assert mine == theirs
    assert {"bad_vertex_line", "duplicate_vertex", "vertex_not_domain", "bad_edge_line",
            "unknown_vertex", "internal_link", "truncated_gzip"} <= set(mine["skipped"])
    counts = report.manifest.counts
    # repeated edges count once; with hosts folding into a domain, links > edges
    assert counts["occurrences"] > counts["links"] >= counts["edges"] > 20
    assert (counts["links"] > counts["edges"]) is not one_host_per_domain


def test_a_source_only_export_with_target_builds_like_the_embedded_build(
        spark: Any, tmp_path: Path) -> None:
    """``index build --target`` reaches the Spark tasks: a Search Console export names
    only the linking pages."""
    from support.crawlfiles import write_links_csv

    from linkgap.spark import spark_build_index

    export = write_links_csv(tmp_path / "latest-links.csv", [
        ["https://blog.example.org/post", "2024-05-02"],
        ["news.example.net/a", "2024-05-03"],
        ["https://blog.example.org/other", "2024-05-04"],
    ], columns=("Linking page", "Last crawled"))
    build_index(tmp_path / "embedded", [str(export)], link_target="mysite.com")
    spark_build_index(tmp_path / "spark", [str(export)], master="local[2]",
                      link_target="mysite.com")
    assert_same_index(tmp_path / "embedded", tmp_path / "spark")
    index = BacklinkIndex.open(tmp_path / "spark")
    mysite = index.domain("mysite.com")
    assert mysite is not None and mysite.referring_domains == 2
