"""Index format 4: compact per-edge and per-domain columns, constant columns stored as one
value, saturation, exact totals, format 3 still read, older formats refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from support.crawlfiles import write_cc_graph, write_links_csv

from linkgap import BacklinkIndex
from linkgap.cli import main
from linkgap.errors import IndexUnavailable
from linkgap.index import metrics as m
from linkgap.index.build import (
    build_from_batches,
    build_from_domain_edges,
    build_from_links,
    build_index,
    shared_normalizer,
)
from linkgap.index.csr import CsrWriter
from linkgap.index.format import (
    DOFOLLOW_LINKS_MAX,
    EDGE_COLUMNS,
    FORMAT_VERSION,
    LINKS_MAX,
    days_to_dates,
    edge_bytes,
    encode_days,
)
from linkgap.ingest.base import LINK_SCHEMA, InputSpec, InputStats
from linkgap.ingest.cc_graph import read_cc_graph

GRAPH = [
    ("https://a.com/p1", "https://b.com/", ""),
    ("https://a.com/p2", "https://b.com/", "nofollow"),
    ("https://c.com/", "https://b.com/x", "ugc"),
    ("https://b.com/", "https://a.com/", ""),
    ("https://d.org/", "https://a.com/", ""),
]


def test_edge_columns_take_15_bytes_and_the_hot_path_5() -> None:
    assert edge_bytes() == 15
    assert sum(c.dtype.itemsize for c in EDGE_COLUMNS if c.hot) == 5
    assert [c.name for c in EDGE_COLUMNS if c.hot] == ["in_src", "in_dofollow"]


def test_per_domain_files_take_52_bytes_plus_the_name(tmp_path: Path) -> None:
    build_from_links(tmp_path, GRAPH)
    index = BacklinkIndex.open(tmp_path)
    # the out-link and evidence files are optional and counted on their own
    widths = {p.stem: np.load(p, mmap_mode="r").dtype for p in index.folder.glob("*.npy")
              if p.stem not in {c.name for c in EDGE_COLUMNS}
              and not p.stem.startswith(("out_", "evidence_"))}
    assert widths == {
        "names.offsets": np.int64, "in_indptr": np.int64, "backlinks": np.int64,
        "outlinks": np.int64, "referring_domains": np.int32, "linked_domains": np.int32,
        "pagerank": np.float32, "rank": np.int32, "domain_rating": np.uint8,
        "spam_score": np.uint8, "spam_signals": np.uint16,
    }
    assert sum(d.itemsize for d in widths.values()) == 52
    # the narrowed PageRank still gives the stored ranks: order and ties are kept
    assert np.array_equal(index.rank, m.rank_by_pagerank(np.asarray(index.pagerank)))


def test_six_significant_digits_survive_float32() -> None:
    # PageRank is stored rounded to PAGERANK_DIGITS in float32: distinct values must
    # stay distinct and in order, equal ones equal (ranks and DR rely on it).
    rng = np.random.default_rng(3)
    values = np.concatenate([10.0 ** rng.uniform(-12, 0, 200_000),
                             1e-7 * (1 + np.arange(20_000) * 1e-5)])  # neighbours in digit 6
    rounded = np.unique(m.round_significant(values, m.PAGERANK_DIGITS))
    narrow = rounded.astype(np.float32)
    assert np.all(np.diff(narrow) > 0)
    assert np.array_equal(m.round_significant(narrow.astype(np.float64), m.PAGERANK_DIGITS),
                          rounded)


def test_day_codes() -> None:
    seconds = np.array([-1, 0, 86_399, 86_400, 1_706_745_600, -5 * 86_400, 10**12])
    codes = encode_days(seconds)
    assert codes.dtype == np.uint16
    assert codes.tolist() == [0, 1, 1, 2, 19755, 0, 65535]
    dates = days_to_dates(codes)
    assert np.isnat(dates[0])
    assert str(dates[4]) == "2024-02-01"
    assert str(dates[-1]) == "2149-06-05"  # the last day a code can hold


def _write(tmp_path: Path, chunks: list[dict[str, list[int]]], n: int) -> Path:
    folder = tmp_path / "v"
    folder.mkdir()
    writer = CsrWriter(folder, folder / "work", n)
    for c in chunks:
        writer.add(*(np.asarray(c[k], dtype=np.int64) for k in (
            "dst", "src", "links", "dofollow_links", "first", "last")))
    totals = writer.close()
    assert totals.edges == sum(len(c["dst"]) for c in chunks)
    return folder


def test_counts_saturate_per_edge_but_totals_stay_exact(tmp_path: Path) -> None:
    huge = LINKS_MAX + 10
    folder = _write(tmp_path, [
        {"dst": [1, 1], "src": [0, 2], "links": [huge, 3], "dofollow_links": [70_000, 0],
         "first": [-1, 86_400], "last": [-1, 2 * 86_400]},
        {"dst": [2], "src": [1], "links": [5], "dofollow_links": [5], "first": [0],
         "last": [0]},
    ], n=3)
    load = lambda name: np.load(folder / f"{name}.npy")  # noqa: E731
    assert load("in_links").tolist() == [LINKS_MAX, 3, 5]
    assert load("in_dofollow_links").tolist() == [DOFOLLOW_LINKS_MAX, 0, 5]
    assert load("in_dofollow").tolist() == [1, 0, 1]
    assert load("in_first_seen").tolist() == [0, 2, 1]
    assert load("backlinks").tolist() == [0, huge + 3, 5]  # exact: summed before saturating
    assert load("outlinks").tolist() == [huge, 5, 3]
    assert load("referring_domains").tolist() == [0, 2, 1]
    assert np.load(folder / "work" / "dofollow_backlinks.npy").tolist() == [0, 70_000, 5]
    assert np.load(folder / "work" / "top_referrer_links.npy").tolist() == [0, huge, 5]
    assert load("in_indptr").tolist() == [0, 0, 2, 3]


def test_streamed_totals_match_the_in_memory_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n, e = 300, 4000
    keys = np.unique(rng.integers(0, n, e) * n + rng.integers(0, n, e))
    dst, src = keys // n, keys % n
    keep = dst != src
    dst, src = dst[keep], src[keep]
    links = rng.integers(1, 5, len(dst))
    dfl = np.minimum(links, rng.integers(0, 3, len(dst)))
    cuts = np.sort(rng.choice(np.arange(1, len(dst)), size=40, replace=False))
    chunks = [{"dst": d.tolist(), "src": s.tolist(), "links": li.tolist(),
               "dofollow_links": df.tolist(), "first": [-1] * len(d), "last": [-1] * len(d)}
              for d, s, li, df in zip(*(np.split(a, cuts) for a in (dst, src, links, dfl)),
                                      strict=True)]
    folder = _write(tmp_path, chunks, n)
    indptr = np.load(folder / "in_indptr.npy")
    assert indptr.tolist() == np.concatenate(([0], np.cumsum(np.bincount(dst, minlength=n)))
                                             ).tolist()
    ref = m.compute_counts(indptr, src, links, dfl)
    for name, where in (("backlinks", ""), ("referring_domains", ""), ("linked_domains", ""),
                        ("outlinks", ""), ("dofollow_backlinks", "work"),
                        ("dofollow_referring_domains", "work"),
                        ("dofollow_linked_domains", "work"), ("top_referrer_links", "work")):
        assert np.load(folder / where / f"{name}.npy").tolist() == getattr(ref, name).tolist()
    # the dofollow-only sources PageRank reads
    df_src = np.load(folder / "work" / "pagerank-src.npy")
    assert df_src.tolist() == src[dfl > 0].tolist()


def test_a_build_saturates_and_reports_exact_totals(tmp_path: Path) -> None:
    k = DOFOLLOW_LINKS_MAX + 100
    urls = pa.array([f"https://a.com/p{i}" for i in range(k)])
    batch = pa.RecordBatch.from_arrays([
        urls, pa.array(["https://b.com/"] * k), pa.array(["a.com"] * k),
        pa.array(["b.com"] * k), pa.array(np.ones(k, dtype=bool)), pa.nulls(k, pa.string()),
        pa.nulls(k, pa.timestamp("s", tz="UTC")),
    ], schema=LINK_SCHEMA)
    manifest = build_from_batches(tmp_path, [batch])
    assert manifest.counts["links"] == manifest.counts["dofollow_links"] == k
    index = BacklinkIndex.open(tmp_path)
    b = index.domain("b.com")
    assert b is not None and b.backlinks == k
    sl = index.in_links_of(index.id_of("b.com"))  # type: ignore[arg-type]
    assert index.in_links[sl].tolist() == [k]
    assert index.in_dofollow_links[sl].tolist() == [DOFOLLOW_LINKS_MAX]  # saturated
    assert index.domain("a.com").outlinks == k  # type: ignore[union-attr]


@pytest.mark.parametrize("found, words", [(1, "old format 1"), (None, "old format 1"),
                                          (2, "old format 2"), (5, "newer linkgap")])
def test_another_format_is_refused_with_a_rebuild_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], found: int | None, words: str
) -> None:
    manifest = build_from_links(tmp_path, GRAPH)
    path = tmp_path / "versions" / manifest.version / "manifest.json"
    data = json.loads(path.read_text())
    if found is None:
        del data["format"]
    else:
        data["format"] = found
    path.write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable, match=words) as err:
        BacklinkIndex.open(tmp_path)
    assert "linkgap index build" in str(err.value)
    assert main(["index", "info", "--index", str(tmp_path)]) == 1
    assert "rebuild" in capsys.readouterr().err


def test_index_info_prints_bytes_per_edge(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    build_from_links(tmp_path, GRAPH)
    assert main(["index", "info", "--index", str(tmp_path), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["format"] == FORMAT_VERSION == 4
    assert row["edges"] == 4
    # GRAPH has no dates: both seen-day columns are one value (2 bytes each); the
    # other four columns take 4 + 1 + 4 + 2 bytes on each of the 4 edges.
    assert row["edge_bytes"] == 4 * 11 + 2 + 2
    assert row["bytes_per_edge"] == 12.0
    assert row["index_bytes_per_edge"] > row["bytes_per_edge"]
    assert main(["index", "info", "--index", str(tmp_path)]) == 0
    assert "bytes_per_edge" in capsys.readouterr().out


def _same_index(x: BacklinkIndex, y: BacklinkIndex) -> None:
    assert x.names_of(range(x.num_domains)) == y.names_of(range(y.num_domains))
    for name in ("backlinks", "referring_domains", "linked_domains", "outlinks", "pagerank",
                 "domain_rating", "rank", "spam_score", "spam_signals", "in_indptr",
                 *(c.name for c in EDGE_COLUMNS)):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    for key in ("domains", "edges", "links", "dofollow_links"):
        assert x.manifest.counts[key] == y.manifest.counts[key], key


def test_named_domain_edges_finalise_like_links(tmp_path: Path) -> None:
    build_from_links(tmp_path / "links", GRAPH)
    edges = pa.table({
        "source_domain": ["a.com", "c.com", "b.com", "d.org", "a.com"],
        "target_domain": ["b.com", "b.com", "a.com", "a.com", "b.com"],
        "links": pa.array([1, 1, 1, 1, 1], pa.int64()),  # a.com>b.com comes in two rows
        "dofollow_links": pa.array([1, 0, 1, 1, 0], pa.int64()),
        "first_seen": pa.array([None] * 5, pa.int64()),
        "last_seen": pa.array([None] * 5, pa.int64()),
    })
    build_from_domain_edges(tmp_path / "edges", [edges.slice(0, 2), edges.slice(2)])
    _same_index(BacklinkIndex.open(tmp_path / "links"), BacklinkIndex.open(tmp_path / "edges"))


def test_cc_graph_ids_route_equals_the_link_batches_route(tmp_path: Path) -> None:
    # host-level names that fold into one domain, a repeated edge, internal and
    # skipped vertices, and a second input repeating part of the first
    first = write_cc_graph(tmp_path / "g1", "one", [
        (0, "com.a", 1), (1, "com.b", 2), (2, "com.b.www", 1), (3, "localhost", 1),
        (4, "uk.co.c", 1), (5, "io.github.alice", 1), (6, "io.github.bob", 1),
    ], [(0, 1), (0, 2), (0, 1), (2, 1), (2, 0), (3, 0), (4, 1), (4, 2), (5, 6), (6, 5),
        (9, 0)])
    second = write_cc_graph(tmp_path / "g2", "two", [
        (10, "com.a", 1), (11, "com.b", 1), (12, "org.d", 1),
    ], [(10, 11), (12, 10), (12, 11)])
    csv = write_links_csv(tmp_path / "l.csv", [("https://d.org/x", "https://b.com/",
                                                "nofollow")])
    inputs = [str(p) for p in (*first, *second, csv)]
    report = build_index(tmp_path / "ids", inputs)
    # the same inputs through LINK_SCHEMA batches only
    norm = shared_normalizer()
    stats = [InputStats(InputSpec("cc-graph", (first[0], first[1]))),
             InputStats(InputSpec("cc-graph", (second[0], second[1])))]

    def batches():  # type: ignore[no-untyped-def]
        for st in stats:
            yield from read_cc_graph(st.input, norm, st)
        from linkgap.ingest import plan_inputs, read_input
        spec = plan_inputs([str(csv)])[0]
        yield from read_input(spec, norm, InputStats(spec))

    build_from_batches(tmp_path / "batches", batches())
    x, y = BacklinkIndex.open(tmp_path / "ids"), BacklinkIndex.open(tmp_path / "batches")
    _same_index(x, y)
    assert x.names_of(range(x.num_domains)) == [
        "a.com", "alice.github.io", "b.com", "bob.github.io", "c.co.uk", "d.org"]
    assert report.inputs[0].skipped == stats[0].skipped
    assert report.inputs[0].links_counted == stats[0].links_counted
    b = x.domain("b.com")
    assert b is not None and (b.backlinks, b.referring_domains) == (5, 3)


def test_a_web_graph_stores_its_constant_columns_as_one_value(tmp_path: Path) -> None:
    vertices, edges = write_cc_graph(tmp_path / "graph", "g", [
        (0, "com.a", 1), (1, "com.b", 1), (2, "org.c", 1), (3, "net.d", 1)],
        [(0, 1), (2, 1), (3, 1), (1, 0), (2, 0)])
    build_index(tmp_path / "index", [str(vertices), str(edges)], "cc-graph")
    index = BacklinkIndex.open(tmp_path / "index")
    # every edge of a web graph: one dofollow link, no date
    assert index.manifest.constant_columns == {
        "in_links": 1, "in_dofollow_links": 1, "in_first_seen": 0, "in_last_seen": 0}
    for name, value in index.manifest.constant_columns.items():
        assert np.load(index.folder / f"{name}.npy").tolist() == [value]  # one element on disk
        column = getattr(index, name)
        assert len(column) == 5 and column.tolist() == [value] * 5  # every edge reads it
        assert column[index.in_links_of(index.id_of("b.com"))].tolist() == [value] * 3
    assert index.in_src.tolist() and len(index.in_dofollow) == 5  # the hot columns in full
    usage = index.disk_usage()
    # 5 bytes on each edge, plus the four one-element files (4 + 2 + 2 + 2 bytes)
    assert usage["edge_bytes"] == 5 * 5 + 10 and usage["bytes_per_edge"] == 7.0
    assert index.domain("b.com").backlinks == 3  # type: ignore[union-attr]


def test_a_column_written_as_one_value_then_another_is_written_in_full(tmp_path: Path) -> None:
    from linkgap.index.csr import ConstantColumnWriter

    writer = ConstantColumnWriter(tmp_path / "c.npy", np.uint16)
    chunks = [np.full(3, 7), np.full(2, 7), np.array([7, 8, 7]), np.array([9])]
    for chunk in chunks:
        writer.write(chunk)
    assert writer.close() is None
    assert np.load(tmp_path / "c.npy").tolist() == np.concatenate(chunks).tolist()
    same = ConstantColumnWriter(tmp_path / "d.npy", np.uint16)
    for chunk in (np.full(4, 3), np.zeros(0), np.full(2, 3)):
        same.write(chunk)
    assert same.close() == 3 and np.load(tmp_path / "d.npy").tolist() == [3]
    empty = ConstantColumnWriter(tmp_path / "e.npy", np.uint16)
    assert empty.close() is None and np.load(tmp_path / "e.npy").tolist() == []


def test_a_constant_column_that_disagrees_with_the_manifest_is_unreadable(tmp_path: Path) -> None:
    build_from_links(tmp_path, GRAPH)
    index = BacklinkIndex.open(tmp_path)
    assert index.manifest.constant_columns == {"in_first_seen": 0, "in_last_seen": 0}
    path = index.folder / "manifest.json"
    data = json.loads(path.read_text())
    data["constant_columns"]["in_links"] = 1  # in_links.npy holds every edge
    path.write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable, match="unreadable"):
        BacklinkIndex.open(index.folder)


def test_a_format_3_version_is_read_as_it_is(tmp_path: Path) -> None:
    rows = [("https://a.com/", "https://b.com/", "", "", "2026-01-02T00:00:00Z"),
            ("https://c.com/", "https://b.com/", "nofollow", "", "2026-03-04T00:00:00Z"),
            ("https://c.com/x", "https://b.com/", "", "", "2026-03-05T00:00:00Z"),
            ("https://d.com/", "https://b.com/", "nofollow", "", "2026-03-06T00:00:00Z")]
    csv = write_links_csv(tmp_path / "links.csv", rows)
    build_index(tmp_path / "index", [str(csv)], "links-csv")
    index = BacklinkIndex.open(tmp_path / "index")
    assert index.manifest.constant_columns is None  # every column varies: all in full
    path = index.folder / "manifest.json"
    data = json.loads(path.read_text())
    data["format"] = 3
    path.write_text(json.dumps(data))
    old = BacklinkIndex.open(tmp_path / "index")
    assert old.manifest.format == 3
    _same_index(old, index)
