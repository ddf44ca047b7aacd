"""Finalising a domain-edges staging folder (``linkgap index build OUT/``), without Spark.

The folders here are written by hand in the documented layout
(docs/index-format.md), so the finaliser is held to the layout itself; the
Spark tests check that the Spark job writes exactly this.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linkgap import BacklinkIndex, LinkSample
from linkgap.cli import main
from linkgap.errors import BuildFailed
from linkgap.index.aggregate import AggregateCounts
from linkgap.index.build import build_from_links, build_index
from linkgap.index.evidence import STAGED_SAMPLE_SCHEMA
from linkgap.index.staging import MARKER, SAMPLE_COLUMNS, marker_document, write_marker
from linkgap.index.versions import read_current
from linkgap.ingest.base import InputSpec, InputStats

NAMES = ["a.com", "b.com", "c.org"]
# (dst, src, links, dofollow_links, first_seen, last_seen), sorted by (dst, src)
EDGES = [(0, 1, 2, 1, 100, 200), (1, 0, 1, 1, -1, -1), (1, 2, 3, 0, 50, 50)]


def write_staging(folder: Path, names: list[str] = NAMES,
                  edges: list[tuple[int, ...]] = EDGES, *, mode: str = "all",
                  samples: list[tuple[object, ...]] | None = None, evidence: int = 3) -> Path:
    """A staging folder in the documented layout, names and edges in two parts each;
    with ``samples`` (rows of SAMPLE_COLUMNS) a samples/ part and ``evidence`` N."""
    (folder / "names").mkdir(parents=True)
    (folder / "edges").mkdir()
    half = len(names) // 2
    for i, chunk in enumerate((names[:half], names[half:])):
        start = 0 if i == 0 else half
        pq.write_table(pa.table({"id": pa.array(range(start, start + len(chunk)), pa.int64()),
                                 "name": pa.array(chunk, pa.string())}),
                       folder / "names" / f"part-{i:05d}.parquet")
    columns = ("dst", "src", "links", "dofollow_links", "first_seen", "last_seen")
    mid = len(edges) // 2
    for i, chunk in enumerate((edges[:mid], edges[mid:])):
        table = pa.table({c: pa.array([e[k] for e in chunk], pa.int64())
                          for k, c in enumerate(columns)})
        pq.write_table(table, folder / "edges" / f"part-{i:05d}.parquet")
    stats = InputStats(InputSpec("links-csv", (Path("/data/links.csv"),)), records=7,
                       links_seen=7, links_counted=6)
    stats.skip("bad_csv_row")
    totals = AggregateCounts(occurrences=8, links=sum(e[2] for e in edges),
                             dofollow_links=sum(e[3] for e in edges), edges=len(edges),
                             domains=len(names))
    sample_parts = []
    if samples is not None:
        (folder / "samples").mkdir()
        table = pa.Table.from_pylist(
            [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in samples],
            schema=STAGED_SAMPLE_SCHEMA)
        pq.write_table(table, folder / "samples" / "part-00000.parquet")
        sample_parts = ["samples/part-00000.parquet"]
    write_marker(folder, marker_document(
        psl={"mode": mode, "version": "test-psl"}, totals=totals, inputs=[stats],
        names=[f"names/part-{i:05d}.parquet" for i in range(2)],
        edges=[f"edges/part-{i:05d}.parquet" for i in range(2)],
        samples=sample_parts, evidence=evidence if samples is not None else 0))
    return folder


# (dst, src, sample, source_url, target_url, anchor, dofollow, first_seen, last_seen)
SAMPLES = [
    (0, 1, 0, "https://b.com/x", "https://a.com/", "to a", True, 100, 200),
    (0, 1, 1, "https://b.com/y", "https://a.com/", None, False, None, None),
    (1, 2, 0, "https://c.org/", "https://b.com/z", "z", False, 50, 50),
]


def test_staged_samples_become_the_versions_evidence(tmp_path: Path) -> None:
    staged = write_staging(tmp_path / "staged", samples=SAMPLES, evidence=2)
    build_index(tmp_path / "index", [str(staged)], evidence=0)  # the staging's N is kept
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.evidence_per_edge == 2
    assert index.manifest.evidence == {"per_edge": 2, "samples": 3}
    assert index.links("b.com", "a.com") == [
        LinkSample("https://b.com/x", "https://a.com/", "to a", True,
                   datetime.fromtimestamp(100, UTC), datetime.fromtimestamp(200, UTC)),
        LinkSample("https://b.com/y", "https://a.com/", None, False, None, None)]
    assert [s.anchor for s in index.links("c.org", "b.com")] == ["z"]
    assert index.links("a.com", "b.com") == []  # an edge without staged samples


def test_a_staging_folder_without_samples_gives_no_evidence(tmp_path: Path) -> None:
    staged = write_staging(tmp_path / "staged")
    marker = json.loads((staged / MARKER).read_text())
    for key in ("evidence", "samples"):  # as an older linkgap wrote it
        marker.pop(key)
    (staged / MARKER).write_text(json.dumps(marker))
    build_index(tmp_path / "index", [str(staged)])
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.evidence_per_edge == 0 and index.links("b.com", "a.com") == []


@pytest.mark.parametrize("damage", ["unsorted", "unknown id", "missing part"])
def test_damaged_samples_publish_nothing(tmp_path: Path, damage: str) -> None:
    rows = list(SAMPLES)
    if damage == "unsorted":
        rows = [rows[2], rows[0], rows[1]]
    elif damage == "unknown id":
        rows[2] = (1, 9, 0, "https://c.org/", "https://b.com/z", "z", False, 50, 50)
    staged = write_staging(tmp_path / "staged", samples=rows)
    if damage == "missing part":
        (staged / "samples" / "part-00000.parquet").unlink()
    with pytest.raises(BuildFailed, match="damaged|incomplete"):
        build_index(tmp_path / "index", [str(staged)])
    assert read_current(tmp_path / "index") is None
    assert not list((tmp_path / "index").glob("tmp-*"))


def test_a_staging_folder_is_detected_and_finalised(tmp_path: Path) -> None:
    staged = write_staging(tmp_path / "staged")
    report = build_index(tmp_path / "index", [str(staged)])
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.names_of(range(3)) == NAMES
    b = index.domain("b.com")
    assert b is not None and (b.backlinks, b.referring_domains) == (4, 2)
    m = index.manifest
    assert m.counts == {"domains": 3, "edges": 3, "links": 6, "dofollow_links": 2,
                        "occurrences": 8, "skipped": 1}
    assert m.psl == {"mode": "all", "version": "test-psl"}  # the staging's PSL, not ours
    assert m.inputs[0]["input"] == "/data/links.csv" and m.inputs[0]["skipped"] == {
        "bad_csv_row": 1}
    assert report.inputs[0].skipped["bad_csv_row"] == 1


def test_the_same_edges_give_the_same_index_as_the_embedded_build(tmp_path: Path) -> None:
    build_from_links(tmp_path / "embedded", [("https://a.com/", "https://b.com/", ""),
                                             ("https://b.com/", "https://c.org/", "nofollow")])
    staged = write_staging(tmp_path / "staged", edges=[(1, 0, 1, 1, -1, -1),
                                                       (2, 1, 1, 0, -1, -1)])
    build_index(tmp_path / "index", [str(staged)], input_format="domain-edges")
    for name in ("domain_rating", "pagerank", "backlinks", "referring_domains", "spam_score"):
        ours = (tmp_path / "index" / "versions" / read_current(tmp_path / "index") / f"{name}.npy")
        theirs = (tmp_path / "embedded" / "versions" / read_current(tmp_path / "embedded")
                  / f"{name}.npy")
        assert ours.read_bytes() == theirs.read_bytes(), name


@pytest.mark.parametrize("damage, message", [
    ("no-marker", "has no domain-edges.json"),
    ("layout", "this linkgap reads 'linkgap-domain-edges/1'"),
    ("missing-part", "is incomplete"),
    ("unsorted", "not sorted by (dst, src)"),
    ("bad-id", "outside names/"),
    ("count", "the marker says"),
])
def test_a_damaged_staging_folder_fails_and_publishes_nothing(
        tmp_path: Path, damage: str, message: str) -> None:
    index_dir = tmp_path / "index"
    build_from_links(index_dir, [("https://x.com/", "https://y.com/", "")])
    before = read_current(index_dir)
    edges, names = list(EDGES), list(NAMES)
    if damage == "unsorted":
        edges = [EDGES[1], EDGES[0], EDGES[2]]
    if damage == "bad-id":
        edges = [*EDGES[:2], (1, 7, 1, 1, -1, -1)]
    staged = write_staging(tmp_path / "staged", names, edges)
    marker = staged / MARKER
    if damage == "no-marker":
        marker.unlink()
    if damage == "layout":
        marker.write_text(json.dumps({**json.loads(marker.read_text()), "layout": "other/9"}))
    if damage == "missing-part":
        (staged / "edges" / "part-00001.parquet").unlink()
    if damage == "count":
        doc = json.loads(marker.read_text())
        doc["counts"]["domains"] = 4
        marker.write_text(json.dumps(doc))
    with pytest.raises(BuildFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_index(index_dir, [str(staged)], input_format="domain-edges")
    assert read_current(index_dir) == before
    assert not list(index_dir.glob("tmp-*"))


def test_a_staging_folder_is_finalised_alone_and_with_its_psl_mode(tmp_path: Path) -> None:
    staged = write_staging(tmp_path / "staged")
    other = tmp_path / "x.csv"
    other.write_text("source_url,target_url\nhttps://a.com/,https://b.com/\n")
    with pytest.raises(BuildFailed, match="finalised on its own"):
        build_index(tmp_path / "index", [str(staged), str(other)])
    with pytest.raises(BuildFailed, match="without --icann-only"):
        build_index(tmp_path / "index", [str(staged)], icann_only=True)
    icann = write_staging(tmp_path / "icann", mode="icann")
    build_index(tmp_path / "index", [str(icann)])
    assert BacklinkIndex.open(tmp_path / "index").manifest.psl["mode"] == "icann"


def test_cli_finalises_a_staging_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    staged = write_staging(tmp_path / "staged")
    assert main(["index", "build", "--index", str(tmp_path / "index"), str(staged)]) == 0
    err = " ".join(capsys.readouterr().err.split())  # rich folds long lines
    assert "published version" in err and "from 8 link occurrences, 1 item skipped" in err
    assert "input /data/links.csv (links-csv): 7 records" in err and "bad_csv_row 1" in err


def test_spark_options_need_the_spark_engine(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    for flags in (["--stage-only", str(tmp_path / "out")], ["--spark-master", "local[2]"],
                  ["--stage-dir", "hdfs://nn/tmp"]):
        code = main(["index", "build", "--index", str(tmp_path / "i"), *flags, "x.csv"])
        assert code == 2
        assert "needs --engine spark" in capsys.readouterr().err


def test_the_spark_engine_without_pyspark_is_one_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "pyspark" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    data = tmp_path / "x.csv"
    data.write_text("source_url,target_url\nhttps://a.com/,https://b.com/\n")
    code = main(["index", "build", "--index", str(tmp_path / "i"), "--engine", "spark",
                 str(data)])
    err = capsys.readouterr().err
    assert code == 1
    assert "pip install 'linkgap[spark]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "i").exists() or read_current(tmp_path / "i") is None


def test_the_spark_engine_without_java_says_so(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from linkgap.spark import require_spark

    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: the pyspark message comes first")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildFailed, match="needs Java 17 or newer"):
        require_spark()
