"""The ``cc-graph`` reader: Common Crawl domain graph vertices + edges → domain links."""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from support.crawlfiles import write_cc_graph

from linkgap.index.build import build_index
from linkgap.ingest import cc_graph as cc
from linkgap.ingest.base import InputSpec, InputStats

VERTICES = [
    (0, "com.example", 3),
    (1, "com.example.www", 1),  # folds into example.com
    (2, "org.other", 1),
    (3, "uk.co.bbc", 9),
    (4, "uk.co", 1),  # a bare public suffix: not a domain
    (5, "localhost", 1),  # a single label
    (6, "io.github.alice", 1),  # private-section domains are separate owners
    (7, "io.github.bob", 1),
    (8, "de.xn--strae-oqa", 1),
    (9, "COM.Upper", 1),
]


def test_edges_become_dofollow_links_between_canonical_domains(tmp_path, read):
    edges = [(0, 2), (2, 3), (6, 7), (3, 8), (9, 0)]
    result = read(list(write_cc_graph(tmp_path, "g", VERTICES, edges)))
    rows = [(r["source_domain"], r["target_domain"]) for r in result.rows]
    assert rows == [
        ("example.com", "other.org"),
        ("other.org", "bbc.co.uk"),
        ("alice.github.io", "bob.github.io"),
        ("bbc.co.uk", "xn--strae-oqa.de"),
        ("upper.com", "example.com"),
    ]
    first = result.rows[0]
    assert first["source_url"] == "ccgraph:example.com"
    assert first["target_url"] == "ccgraph:other.org"
    assert first["dofollow"] is True and first["anchor"] is None and first["seen_at"] is None
    assert result.stats[0].input.format == "cc-graph"


def test_folded_vertices_merge_and_their_edges_become_internal(tmp_path, read):
    edges = [(0, 1), (1, 0), (1, 2), (0, 2), (2, 2)]
    result = read(list(write_cc_graph(tmp_path, "g", VERTICES, edges)))
    assert [(r["source_url"], r["target_url"]) for r in result.rows] == [
        ("ccgraph:www.example.com", "ccgraph:other.org"),
        ("ccgraph:example.com", "ccgraph:other.org"),
    ]
    assert {r["source_domain"] for r in result.rows} == {"example.com"}
    assert result.skipped == {"internal_link": 3, "vertex_not_domain": 2}


def test_vertices_that_are_not_domains_are_skipped_with_their_edges(tmp_path, read):
    edges = [(4, 0), (0, 5), (0, 2), (0, 99)]
    result = read(list(write_cc_graph(tmp_path, "g", VERTICES, edges)))
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == [
        ("example.com", "other.org")
    ]
    assert result.skipped == {"vertex_not_domain": 2, "skipped_vertex": 2, "unknown_vertex": 1}
    stats = result.stats[0]
    assert stats.links_seen == 4 and stats.links_counted == 1


def test_bad_lines_in_both_files_are_counted(tmp_path, read):
    vertices_path, edges_path = write_cc_graph(tmp_path, "g", VERTICES[:3], [])
    with gzip.open(vertices_path, "at") as fh:
        fh.write("x\tcom.bad\t1\n\tcom.empty\t1\n1\tcom.duplicate\t1\n10\n11\tnet.ok\t2\n")
    with gzip.open(edges_path, "wt") as fh:
        fh.write("0\t2\nnot\tnumbers\n0\t2\t5\n2\n-1\t0\n\n11\t0\n")
    result = read([vertices_path, edges_path])
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == [
        ("example.com", "other.org"),
        ("ok.net", "example.com"),
    ]
    assert result.skipped == {
        "bad_vertex_line": 3,
        "duplicate_vertex": 1,
        "bad_edge_line": 4,
    }


def test_sparse_vertex_ids_are_mapped(tmp_path, read):
    vertices = [(10, "com.a", 1), (5_000_000_000, "com.b", 1), (7, "com.c", 1)]
    edges = [(10, 5_000_000_000), (5_000_000_000, 7), (7, 11)]
    result = read(list(write_cc_graph(tmp_path, "sparse", vertices, edges)))
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == [
        ("a.com", "b.com"),
        ("b.com", "c.com"),
    ]
    assert result.skipped == {"unknown_vertex": 1}


def test_a_host_graph_without_the_host_count_column(tmp_path, read):
    vertices_path = tmp_path / "h-vertices.txt.gz"
    edges_path = tmp_path / "h-edges.txt.gz"
    vertices_path.write_bytes(gzip.compress(b"0\tcom.example.blog\n1\torg.other.www\n"))
    edges_path.write_bytes(gzip.compress(b"0\t1\n"))
    result = read([vertices_path, edges_path])
    assert [(r["source_url"], r["target_domain"]) for r in result.rows] == [
        ("ccgraph:blog.example.com", "other.org")
    ]


def test_many_edges_come_in_several_batches(tmp_path, read, monkeypatch):
    import linkgap.ingest.cc_graph as cc_graph

    monkeypatch.setattr(cc_graph, "BATCH_ROWS", 100)
    vertices = [(i, f"com.site{i}", 1) for i in range(50)]
    edges = [(i % 50, (i * 7) % 50) for i in range(1000)]  # 40 self-loops
    result = read(list(write_cc_graph(tmp_path, "big", vertices, edges)))
    expected = [(f"site{a}.com", f"site{b}.com") for a, b in edges if a != b]
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == expected
    assert result.skipped == {"internal_link": 1000 - len(expected)}


def test_a_truncated_edges_file_keeps_what_was_read(tmp_path, read):
    vertices = [(i, f"com.site{i}", 1) for i in range(100)]
    edges = [(i % 100, (i + 1) % 100) for i in range(200_000)]
    vertices_path, edges_path = write_cc_graph(tmp_path, "t", vertices, edges)
    data = edges_path.read_bytes()
    edges_path.write_bytes(data[: len(data) * 3 // 4])
    result = read([vertices_path, edges_path])
    assert result.skipped.get("truncated_gzip") == 1
    assert 0 < len(result.rows) < 200_000
    got = [(r["source_domain"], r["target_domain"]) for r in result.rows]
    assert got == [(f"site{a}.com", f"site{b}.com") for a, b in edges[: len(got)]]


def test_a_line_longer_than_a_block_stops_the_file_but_keeps_what_came_before(
    tmp_path, read, monkeypatch
):
    import linkgap.ingest.cc_graph as cc_graph

    monkeypatch.setattr(cc_graph, "_BLOCK_BYTES", 4096)
    monkeypatch.setattr(cc_graph, "_READ_BYTES", 4096)
    vertices = [(i, f"com.site{i}", 1) for i in range(10)]
    edges = [(i % 10, (i + 1) % 10) for i in range(2000)]
    vertices_path, edges_path = write_cc_graph(tmp_path, "g", vertices, edges)
    text = gzip.decompress(edges_path.read_bytes())
    middle = text.index(b"\n", len(text) // 2) + 1
    edges_path.write_bytes(
        gzip.compress(text[:middle] + b"1\t" + b"9" * 10_000 + b"\n" + text[middle:])
    )
    result = read([vertices_path, edges_path])
    assert result.skipped.get("unreadable_rest") == 1
    assert 0 < len(result.rows) < 2000
    got = [(r["source_domain"], r["target_domain"]) for r in result.rows]
    assert got == [(f"site{a}.com", f"site{b}.com") for a, b in edges[: len(got)]]


def test_an_id_missing_from_a_dense_range_is_unknown_not_skipped(tmp_path, read):
    # Ids 0-5 with 3 and 4 missing: the map is held dense (indexed by the id), and an
    # edge naming 3 is an unknown vertex, as with sparse ids, not a skipped one.
    vertices = [(0, "com.a", 1), (1, "com.b", 1), (2, "uk.co", 1), (5, "org.c", 1)]
    edges = [(0, 1), (3, 1), (0, 4), (2, 1), (5, 0)]
    paths = [str(p) for p in write_cc_graph(tmp_path, "gap", vertices, edges)]
    result = read(paths)
    assert [(r["source_domain"], r["target_domain"]) for r in result.rows] == [
        ("a.com", "b.com"), ("c.org", "a.com")]
    want = {"vertex_not_domain": 1, "unknown_vertex": 2, "skipped_vertex": 1}
    assert result.skipped == want
    # The build reads the pair through interned ids: the same counts.
    report = build_index(tmp_path / "index", paths, "cc-graph")
    assert report.inputs[0].skipped == want and report.inputs[0].links_counted == 2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 60), st.integers(0, 400), st.integers(0, 10**6), st.booleans())
def test_the_builds_one_gather_lookup_keeps_and_counts_what_the_reader_does(
        vertices: int, edges: int, seed: int, sparse: bool) -> None:
    # feed_cc_graph's packed lookup against kept_edges plus the interned ids, on maps
    # dense and sparse, with gaps, skipped vertices, shared domains and unknown ids.
    rng = np.random.default_rng(seed)
    listed = np.sort(rng.choice(np.arange(3 * vertices + 1) * (10**10 if sparse else 1),
                                size=vertices, replace=False)).astype(np.int64)
    kept = rng.random(vertices) < 0.8
    row = np.full(vertices, -1, np.int32)
    row[kept] = np.arange(int(kept.sum()), dtype=np.int32)
    n_domains = max(1, vertices // 3)
    dom = np.where(kept, rng.integers(0, n_domains, vertices), -1).astype(np.int32)
    domain_ids = rng.permutation(n_domains).astype(np.int32)  # as a sink interns them
    row_host = rng.permutation(int(kept.sum())).astype(np.int32)
    dense = not sparse and vertices > 0
    if dense:
        slot_row = np.full(int(listed[-1]) + 1, cc._NOT_LISTED, np.int32)
        slot_dom = np.full(int(listed[-1]) + 1, -1, np.int32)
        slot_row[listed], slot_dom[listed] = row, dom
    else:
        slot_row, slot_dom = row, dom
    vmap = cc.VertexMap(listed, slot_row, slot_dom, dense, pa.array([], pa.string()),
                        pa.array([], pa.string()))
    pool = np.concatenate((listed, rng.integers(0, 4 * vertices + 2, 20)))  # and unknown ids
    src, dst = rng.choice(pool, size=edges), rng.choice(pool, size=edges)

    reader, build = InputStats(InputSpec("cc-graph", ())), InputStats(InputSpec("cc-graph", ()))
    src_row, dst_row, src_dom, dst_dom = cc.kept_edges(vmap, src, dst, reader)
    packed = cc.packed_vertex_ids(vmap, domain_ids, row_host)
    got = cc._interned_edges(listed if not dense else listed[:0], dense, packed, src, dst,
                             build)
    want = (domain_ids[dst_dom], domain_ids[src_dom], row_host[dst_row], row_host[src_row])
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert build.skipped == reader.skipped and build.links_seen == reader.links_seen
