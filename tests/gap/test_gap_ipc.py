"""Freezing a run: Arrow IPC bytes round-trip exactly."""

from __future__ import annotations

import numpy as np
import pytest

from linkgap.gap import GapResult
from linkgap.prospects import ProspectQuery, query_page

GRAPH = """
p1.com -> a.com
p1.com ~> b.com
xn--bcher-kva.de -> b.com
-dash.com -> a.com
p3.com ~> b.com
me.com -> a.com
"""


def assert_same(a: GapResult, b: GapResult) -> None:
    assert a.meta() == b.meta()
    assert a.prospects() == b.prospects()
    for col in ("ids", "domain_rating", "backlinks", "referring_domains", "spam_score", "rank",
                "competitor_overlap", "competitor_mask", "dofollow_mask", "score"):
        x, y = getattr(a, col), getattr(b, col)
        assert x.dtype == y.dtype and np.array_equal(x, y), col


@pytest.mark.parametrize("compression", [None, "zstd", "lz4"])
def test_round_trip_is_exact(make_index, compression) -> None:
    result = make_index(GRAPH, version="v42").gap("nobody.org", ["a.com", "b.com", "gone.net"],
                                                  limit=3)
    frozen = result.to_ipc(compression=compression)
    assert isinstance(frozen, bytes)
    again = GapResult.from_ipc(frozen)
    assert_same(result, again)
    assert again.total_found == 5 and len(again) == 3 and again.limit == 3
    assert again.index_version == "v42"
    assert [w["code"] for w in again.warnings] == ["target_not_indexed", "competitor_not_indexed"]
    # A loaded run is queryable like a fresh one.
    rows, total = query_page(again, ProspectQuery(q="-DASH", sort="domain_rating"), 1, 10)
    assert total == 1 and rows[0]["domain"] == "-dash.com"


def test_empty_result_round_trips(make_index) -> None:
    # p3.com is indexed (it links out) but nothing links to it.
    result = make_index(GRAPH).gap("me.com", ["p3.com"], mode="intersect")
    again = GapResult.from_ipc(result.to_ipc())
    assert len(again) == 0 and again.prospects() == [] and again.total_found == 0
    assert_same(result, again)
    assert query_page(again, ProspectQuery(min_authority=5), 1, 50) == ([], 0)


def test_large_result_round_trips(make_index) -> None:
    spec = [(f"d{i:05d}.com", "a.com", i % 3 == 0) for i in range(5000)]
    spec += [(f"d{i:05d}.com", "b.com", i % 5 == 0) for i in range(0, 5000, 2)]
    result = make_index(spec).gap("me.com", ["a.com", "b.com"])
    again = GapResult.from_ipc(result.to_ipc())
    assert_same(result, again)


def test_foreign_bytes_are_refused() -> None:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    table = pa.table({"x": [1, 2]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(ValueError, match="not a frozen"):
        GapResult.from_ipc(sink.getvalue().to_pybytes())
