"""Property: damaged files never stop a build, and what lies before the damage is kept."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.crawlfiles import Page, WatPage, html_page, write_cc_graph, write_warc, write_wat

from linkgap.domains import DomainNormalizer

PAGES = [
    Page(f"https://site{i}.com/", html_page([(f"https://t{i}.org/", "t", None)])) for i in range(6)
]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _records(directory: Path, compressed: bool) -> list[bytes]:
    """Each page as the bytes it occupies in a WARC file (one gzip member each when compressed)."""
    return [
        write_warc(directory / f"r{i}", [page], gzip=compressed).read_bytes()
        for i, page in enumerate(PAGES)
    ]


DAMAGE = st.one_of(
    st.tuples(st.just("cut"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=200)),
)


def _damage(data: bytes, damage: tuple) -> tuple[bytes, int]:
    """The damaged bytes and the offset of the first damaged byte."""
    kind, where = damage[0], damage[1]
    at = min(int(where * len(data)), len(data) - 1)
    if kind == "cut":
        return data[:at], at
    if kind == "flip":
        noise = damage[2]
        return data[:at] + noise + data[at + len(noise) :], at
    return data[:at] + damage[2] + data[at:], at


@SETTINGS
@given(compressed=st.booleans(), damage=DAMAGE)
def test_damaged_warc_keeps_every_record_before_the_damage(read, compressed, damage):
    with tempfile.TemporaryDirectory() as tmp:
        records = _records(Path(tmp), compressed)
        damaged, at = _damage(b"".join(records), damage)
        path = Path(tmp, "damaged.warc.gz" if compressed else "damaged.warc")
        path.write_bytes(damaged)
        result = read([path])  # never raises
        ends = [sum(len(r) for r in records[: i + 1]) for i in range(len(records))]
        intact = {f"https://t{i}.org/" for i, end in enumerate(ends) if end <= at}
        got = set(result.targets())
        assert intact <= got
        if damage[0] == "cut":
            # Flipped or inserted bytes can rewrite a link's URL inside a body
            # (WARC has no checksum linkgap verifies there), so only a cut
            # promises that nothing but the original targets comes out.
            assert got <= {f"https://t{i}.org/" for i in range(len(PAGES))}
        if damage[0] == "cut" and at > 0 and at not in ends:
            # A cut inside a record is always noticed. (Flipped bytes inside an
            # uncompressed body can go unnoticed: WARC has no checksum there
            # that linkgap verifies.)
            assert set(result.skipped) & {"truncated_record", "truncated_gzip"}


@SETTINGS
@given(cut=st.floats(0, 1))
def test_a_cut_single_stream_gzip_warc_keeps_the_records_before_the_cut(read, cut):
    """A WARC gzipped as one stream (not one member a record) survives a cut too."""
    with tempfile.TemporaryDirectory() as tmp:
        records = _records(Path(tmp), compressed=False)
        plain = b"".join(records)
        packed = gzip.compress(plain)
        at = int(cut * len(packed))
        path = Path(tmp, "one-stream.warc.gz")
        path.write_bytes(packed[:at])
        result = read([path])
        # Whatever decompresses from the cut stream holds these whole records.
        available = len(zlib.decompressobj(31).decompress(packed[:at]))
        ends = [sum(len(r) for r in records[: i + 1]) for i in range(len(records))]
        intact = {f"https://t{i}.org/" for i, end in enumerate(ends) if end <= available}
        got = set(result.targets())
        assert intact <= got
        assert got <= intact | {f"https://t{len(intact)}.org/"}  # the cut one, if whole
        if 0 < at < len(packed):
            assert set(result.skipped) & {"truncated_record", "truncated_gzip"}


@SETTINGS
@given(damage=DAMAGE)
def test_damaged_wat_never_raises(read, damage):
    pages = [WatPage(f"https://s{i}.com/", [(f"https://t{i}.org/", "t", None)]) for i in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wat(Path(tmp, "x.wat.gz"), pages)
        damaged, _ = _damage(path.read_bytes(), damage)
        path.write_bytes(damaged)
        result = read([path])
        assert set(result.targets()) <= {f"https://t{i}.org/" for i in range(4)}


@SETTINGS
@given(vertex_noise=DAMAGE, edge_noise=DAMAGE)
def test_damaged_graph_never_raises(read, vertex_noise, edge_noise):
    vertices = [(i, f"com.site{i}", 1) for i in range(30)]
    edges = [(i, (i + 1) % 30) for i in range(300)]
    with tempfile.TemporaryDirectory() as tmp:
        vertices_path, edges_path = write_cc_graph(tmp, "g", vertices, edges)
        for path, damage in ((vertices_path, vertex_noise), (edges_path, edge_noise)):
            raw = gzip.decompress(path.read_bytes()) if damage[0] != "cut" else path.read_bytes()
            damaged, _ = _damage(raw, damage)
            path.write_bytes(gzip.compress(damaged) if damage[0] != "cut" else damaged)
        result = read([vertices_path, edges_path])
        # Damage can make other valid-looking lines; whatever is yielded is well formed.
        normalizer = DomainNormalizer()
        for row in result.rows:
            assert normalizer.normalize(row["source_domain"]) == row["source_domain"]
            assert normalizer.normalize(row["target_domain"]) == row["target_domain"]
            assert row["source_domain"] != row["target_domain"]
            assert row["source_url"].startswith("ccgraph:")
