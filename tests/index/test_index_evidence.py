"""Evidence in the index (SPEC 12): the choice rule, the cap, the files, the reader API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from support.crawlfiles import write_cc_graph, write_links_csv

from linkgap import BacklinkIndex, EdgeEvidence, LinkSample
from linkgap.errors import InvalidDomain, InvalidInput
from linkgap.index.build import build_from_batches, build_index
from linkgap.index.evidence import EVIDENCE_FILES
from linkgap.index.reader import EVIDENCE_TABLE_SCHEMA
from linkgap.ingest.base import LINK_SCHEMA

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _batch(rows: list[tuple[str, str, bool, str | None, datetime | None]]) -> pa.RecordBatch:
    """LINK_SCHEMA rows from (source URL, target URL, dofollow, anchor, seen)."""
    def domain(url: str) -> str:
        host = url.split("/")[2]
        return ".".join(host.split(".")[-2:])

    return pa.RecordBatch.from_arrays([
        pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]),
        pa.array([domain(r[0]) for r in rows]), pa.array([domain(r[1]) for r in rows]),
        pa.array([r[2] for r in rows]), pa.array([r[3] for r in rows], pa.string()),
        pa.array([r[4] for r in rows], pa.timestamp("s", tz="UTC")),
    ], schema=LINK_SCHEMA)


def _days(n: int) -> datetime:
    return T0 + timedelta(days=n)


# Five links of one edge, written so that every step of the rule decides something.
RULE_ROWS = [
    ("https://s.com/e", "https://t.com/", False, "nofollow, earliest", _days(0)),
    ("https://s.com/d", "https://t.com/", True, "dofollow, late", _days(9)),
    ("https://s.com/b", "https://t.com/2", True, "dofollow, early, b", _days(1)),
    ("https://s.com/b", "https://t.com/1", True, "dofollow, early, b 1", _days(1)),
    ("https://s.com/a", "https://t.com/", True, "dofollow, undated", None),
    ("https://s.com/c", "https://t.com/", True, "dofollow, early, c", _days(1)),
]
RULE_ORDER = ["https://s.com/b https://t.com/1", "https://s.com/b https://t.com/2",
              "https://s.com/c https://t.com/", "https://s.com/d https://t.com/",
              "https://s.com/a https://t.com/", "https://s.com/e https://t.com/"]


def _order(samples: list[LinkSample]) -> list[str]:
    return [f"{s.source_url} {s.target_url}" for s in samples]


def test_dofollow_first_then_earliest_then_url_order_and_the_cap(tmp_path: Path) -> None:
    for n in (1, 3, 6, 10):
        build_from_batches(tmp_path / str(n), [_batch(RULE_ROWS)], evidence=n)
        index = BacklinkIndex.open(tmp_path / str(n))
        assert index.evidence_per_edge == n
        assert _order(index.links("s.com", "t.com")) == RULE_ORDER[:n]
        assert index.manifest.evidence == {"per_edge": n, "samples": min(n, 6)}
    # rows in another order (and split in batches) keep the same samples
    build_from_batches(tmp_path / "shuffled", [_batch(RULE_ROWS[::-1][:3]),
                                               _batch(RULE_ROWS[::-1][3:])], evidence=3)
    assert _order(BacklinkIndex.open(tmp_path / "shuffled").links("s.com", "t.com")) == \
        RULE_ORDER[:3]


def test_a_repeated_pair_is_one_sample_dofollow_if_any_with_the_first_dofollow_anchor(
        tmp_path: Path) -> None:
    rows = [
        ("https://s.com/p", "https://t.com/", False, "nofollow first", _days(0)),
        ("https://s.com/p", "https://t.com/", True, None, _days(1)),
        ("https://s.com/p", "https://t.com/", True, "dofollow later", _days(5)),
        ("https://s.com/p", "https://t.com/", True, "dofollow earlier", _days(2)),
    ]
    build_from_batches(tmp_path, [_batch(rows)], evidence=3)
    index = BacklinkIndex.open(tmp_path)
    assert index.links("s.com", "t.com") == [
        LinkSample("https://s.com/p", "https://t.com/", "dofollow earlier", True, _days(0),
                   _days(5))]


def test_evidence_zero_keeps_no_files_and_reports_zero(tmp_path: Path) -> None:
    manifest = build_from_batches(tmp_path, [_batch(RULE_ROWS)], evidence=0)
    index = BacklinkIndex.open(tmp_path)
    assert not any((index.folder / name).exists() for name in EVIDENCE_FILES)
    assert manifest.evidence is None and "evidence" not in json.loads(
        (index.folder / "manifest.json").read_text())
    assert index.evidence_per_edge == 0
    assert index.links("s.com", "t.com") == []
    edge = index.edge_evidence(index.id_of("s.com"), index.id_of("t.com"))
    assert edge is not None and edge.samples == [] and edge.links_total == 6


def test_a_rebuild_keeps_the_same_samples_and_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = [(f"https://s{int(rng.integers(0, 40))}.com/p{int(rng.integers(0, 30))}",
             f"https://t{int(rng.integers(0, 25))}.org/{int(rng.integers(0, 5))}",
             bool(rng.random() < 0.6), f"anchor {i}" if i % 3 else None,
             _days(int(rng.integers(0, 400))) if i % 4 else None) for i in range(5000)]
    build_from_batches(tmp_path / "a", [_batch(rows)], evidence=3)
    build_from_batches(tmp_path / "b", [_batch(rows[2500:]), _batch(rows[:2500])], evidence=3)
    a, b = BacklinkIndex.open(tmp_path / "a"), BacklinkIndex.open(tmp_path / "b")
    for name in EVIDENCE_FILES:
        assert (a.folder / name).read_bytes() == (b.folder / name).read_bytes(), name
    assert a.manifest.evidence == b.manifest.evidence
    assert a.manifest.evidence is not None and a.manifest.evidence["samples"] > 1000
    # a rebuild of the same index directory publishes a new version with the same samples
    build_from_batches(tmp_path / "a", [_batch(rows[::-1])], evidence=3)
    again = BacklinkIndex.open(tmp_path / "a")
    assert again.version != a.version
    for s in range(0, 40, 7):
        for t in range(0, 25, 6):
            assert again.links(f"s{s}.com", f"t{t}.org") == a.links(f"s{s}.com", f"t{t}.org")


def test_the_samples_equal_a_plain_python_choice(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    rows = [(f"https://s{int(rng.integers(0, 6))}.com/{int(rng.integers(0, 12))}",
             f"https://t{int(rng.integers(0, 4))}.net/{int(rng.integers(0, 3))}",
             bool(rng.random() < 0.5), None,
             _days(int(rng.integers(0, 9))) if rng.random() < 0.8 else None)
            for _ in range(600)]
    build_from_batches(tmp_path, [_batch(rows)], evidence=4)
    index = BacklinkIndex.open(tmp_path)
    pairs: dict[tuple[str, str], list[tuple[bool, datetime | None]]] = {}
    for src, dst, follow, _, seen in rows:
        pairs.setdefault((src, dst), []).append((follow, seen))
    for s in range(6):
        for t in range(4):
            links = []
            for (src, dst), occ in pairs.items():
                if src.startswith(f"https://s{s}.com/") and dst.startswith(f"https://t{t}.net/"):
                    dates = [d for _, d in occ if d is not None]
                    links.append((not any(f for f, _ in occ),
                                  min(dates) if dates else datetime.max.replace(tzinfo=UTC),
                                  src.encode(), dst.encode(), src, dst))
            expected = [f"{x[4]} {x[5]}" for x in sorted(links)[:4]]
            assert _order(index.links(f"s{s}.com", f"t{t}.net")) == expected


def test_names_in_any_form_invalid_names_and_missing_edges(tmp_path: Path) -> None:
    build_from_batches(tmp_path, [_batch(RULE_ROWS)], evidence=2)
    index = BacklinkIndex.open(tmp_path)
    expected = index.links("s.com", "t.com")
    assert len(expected) == 2
    assert index.links("https://WWW.S.com/some/page", "T.COM.") == expected
    assert index.links("t.com", "s.com") == []  # the edge runs the other way only
    assert index.links("s.com", "unknown.com") == []
    for bad in ("not a domain", "", "http://"):
        with pytest.raises(InvalidDomain):
            index.links(bad, "t.com")
        with pytest.raises(InvalidDomain):
            index.links("s.com", bad)
    s, t = index.id_of("s.com"), index.id_of("t.com")
    assert s is not None and t is not None
    assert index.edge_evidence(t, s) is None
    assert index.edge_evidence(s, 10_000) is None
    edge = index.edge_evidence(s, t)
    assert isinstance(edge, EdgeEvidence) and edge.samples == expected
    assert (edge.links_total, edge.dofollow_links) == (6, 5)
    assert edge.first_seen == _days(0) and edge.last_seen == _days(9)


def test_evidence_table_gives_every_sample_of_the_pairs_asked_for(tmp_path: Path) -> None:
    rows = [*RULE_ROWS, ("https://x.com/1", "https://t.com/", True, "x", _days(3)),
            ("https://x.com/1", "https://s.com/", False, None, None)]
    build_from_batches(tmp_path, [_batch(rows)], evidence=3)
    index = BacklinkIndex.open(tmp_path)
    s, t, x = (index.id_of(n) for n in ("s.com", "t.com", "x.com"))
    table = index.evidence_table(np.array([x, s, t, x, 99]), np.array([s, t, s, t, t]))
    assert table.schema == EVIDENCE_TABLE_SCHEMA
    got = table.to_pylist()
    assert [(r["source_id"], r["target_id"], r["sample"]) for r in got] == [
        (x, s, 0), (s, t, 0), (s, t, 1), (s, t, 2), (x, t, 0)]
    assert [r["source_url"] + " " + r["target_url"] for r in got[1:4]] == RULE_ORDER[:3]
    assert got[0]["anchor"] is None and got[0]["dofollow"] is False
    assert got[0]["first_seen"] is None
    assert got[4]["first_seen"] == _days(3) and got[4]["anchor"] == "x"
    empty = index.evidence_table(np.array([], dtype=np.int32), np.array([], dtype=np.int32))
    assert empty.num_rows == 0 and empty.schema == EVIDENCE_TABLE_SCHEMA
    with pytest.raises(ValueError):
        index.evidence_table(np.array([1, 2]), np.array([1]))


def test_an_index_built_before_evidence_opens_and_reports_none(tmp_path: Path) -> None:
    build_from_batches(tmp_path, [_batch(RULE_ROWS)], evidence=3)
    index = BacklinkIndex.open(tmp_path)
    # what a version written before evidence existed looks like: no key, no files
    manifest_path = index.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["evidence"]
    manifest_path.write_text(json.dumps(manifest))
    for name in EVIDENCE_FILES:
        (index.folder / name).unlink()
    old = BacklinkIndex.open(tmp_path)
    assert old.evidence_per_edge == 0
    assert old.links("s.com", "t.com") == []
    assert old.evidence_table(np.array([0]), np.array([1])).num_rows == 0
    assert len(old.gap("x.org", ["t.com"])) == 1  # and the gap query works as ever


def test_web_graph_inputs_have_no_samples(tmp_path: Path) -> None:
    vertices, edges = write_cc_graph(tmp_path / "g", "graph", [(0, "com.a", 1), (1, "com.b", 1)],
                                     [(0, 1)])
    csv_path = write_links_csv(tmp_path / "l.csv", [("https://c.com/p", "https://b.com/",
                                                     "", "page link", "")])
    build_index(tmp_path / "graph", [str(vertices), str(edges)], evidence=3)
    graph = BacklinkIndex.open(tmp_path / "graph")
    assert graph.evidence_per_edge == 3 and graph.manifest.evidence == {"per_edge": 3,
                                                                        "samples": 0}
    assert graph.links("a.com", "b.com") == []
    edge = graph.edge_evidence(graph.id_of("a.com"), graph.id_of("b.com"))
    assert edge is not None and edge.links_total == 1 and edge.samples == []
    build_index(tmp_path / "both", [str(vertices), str(edges), str(csv_path)], evidence=3)
    both = BacklinkIndex.open(tmp_path / "both")
    assert both.links("a.com", "b.com") == []
    assert [s.anchor for s in both.links("c.com", "b.com")] == ["page link"]


def test_evidence_out_of_range_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    for bad in (-1, 101, True, 2.5):
        with pytest.raises(InvalidInput, match="evidence"):
            build_from_batches(tmp_path, [_batch(RULE_ROWS)], evidence=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "CURRENT").exists()


def test_a_small_memory_limit_spills_and_keeps_the_same_samples(tmp_path: Path) -> None:
    k = 150_000
    rng = np.random.default_rng(2)
    src = rng.integers(0, 2000, k)
    dst = (src + rng.integers(1, 2000, k)) % 2000
    batch = pa.RecordBatch.from_arrays([
        pa.array([f"https://s{s}.com/page/{i}" for i, s in enumerate(src)]),
        pa.array([f"https://t{t}.com/" for t in dst]),
        pa.array([f"s{s}.com" for s in src]), pa.array([f"t{t}.com" for t in dst]),
        pa.array(rng.random(k) < 0.7), pa.array([f"anchor {i % 97}" for i in range(k)]),
        pa.array((1_700_000_000 + rng.integers(0, 10**7, k)).astype("datetime64[s]"),
                 pa.timestamp("s", tz="UTC")),
    ], schema=LINK_SCHEMA)
    small = build_from_batches(tmp_path / "small", [batch], memory_limit="64MiB")
    build_from_batches(tmp_path / "big", [batch], memory_limit="2GB")
    assert small.build is not None and small.build["peak_spill_bytes"] > 0
    x, y = BacklinkIndex.open(tmp_path / "small"), BacklinkIndex.open(tmp_path / "big")
    for name in EVIDENCE_FILES:
        assert (x.folder / name).read_bytes() == (y.folder / name).read_bytes(), name


def test_edges_evidence_equals_edge_evidence_pair_by_pair(tmp_path: Path) -> None:
    rows = [*RULE_ROWS, ("https://x.com/1", "https://t.com/", True, "x", _days(3)),
            ("https://x.com/1", "https://s.com/", False, None, None)]
    build_from_batches(tmp_path, [_batch(rows)], evidence=2)
    index = BacklinkIndex.open(tmp_path)
    s, t, x = (index.id_of(n) for n in ("s.com", "t.com", "x.com"))
    sources, targets = [s, x, t, s, x], [t, t, s, t, s]  # (s, t) twice, (t, s) no edge
    got = index.edges_evidence(sources, targets)
    assert got == [index.edge_evidence(a, b) for a, b in zip(sources, targets, strict=True)]
    assert got[2] is None and got[0] == got[3] and got[0] is not None
    assert _order(got[0].samples) == RULE_ORDER[:2]
    assert index.edges_evidence([], []) == []


def test_samples_across_many_batches_read_back_whole(tmp_path: Path) -> None:
    from linkgap.index.evidence import EVIDENCE_BATCH_ROWS

    rows = [(f"https://s{i % 97}.com/{i}", f"https://t{i % 89}.net/", i % 5 != 0, f"a{i}",
             _days(i % 31)) for i in range(4 * EVIDENCE_BATCH_ROWS)]
    build_from_batches(tmp_path, [_batch(rows)], evidence=3)
    index = BacklinkIndex.open(tmp_path)
    assert index.manifest.evidence is not None
    assert index.manifest.evidence["samples"] > 2 * EVIDENCE_BATCH_ROWS  # several batches
    targets = np.repeat(np.arange(index.num_domains), np.diff(np.asarray(index.in_indptr)))
    sources = np.asarray(index.in_src, dtype=np.int64)
    table = index.evidence_table(sources, targets)
    assert table.num_rows == index.manifest.evidence["samples"]
    by_edge: dict[tuple[int, int], list[str]] = {}
    for r in table.to_pylist():
        by_edge.setdefault((r["source_id"], r["target_id"]), []).append(r["source_url"])
    for (s, t), urls in list(by_edge.items())[::50]:
        assert [x.source_url for x in index.links(index.name_of(s), index.name_of(t))] == urls
