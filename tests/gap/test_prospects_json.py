"""Pages as JSON bytes (linkgap.prospects.query_page_json / rows_json): the same as
encoding ``query_page``'s rows, whatever is already cached; ``order_is_ready`` tells
work that grows with the run from work that does not."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkgap import prospects as pq
from linkgap.gap import GapResult


def _encoded(rows: list[dict[str, Any]]) -> bytes:
    """What Starlette's JSONResponse writes for ``rows``."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()


queries = st.builds(
    pq.ProspectQuery,
    min_authority=st.none() | st.integers(0, 100),
    max_spam=st.none() | st.integers(0, 100),
    dofollow=st.none() | st.booleans(),
    q=st.none() | st.sampled_from(["site0", "dup", "bücher", "xn--", ".de", "zzz"]),
    sort=st.sampled_from(pq.SORTS),
    order=st.sampled_from(pq.ORDERS),
)


@settings(max_examples=80, deadline=None)
@given(query=queries, page=st.integers(1, 8), per_page=st.integers(1, 100))
def test_a_json_page_is_the_encoded_page(sample_result: GapResult, query: pq.ProspectQuery,
                                         page: int, per_page: int) -> None:
    rows, total = pq.query_page(sample_result, query, page, per_page)
    data, total_json = pq.query_page_json(sample_result, query, page, per_page)
    assert total_json == total
    assert data == _encoded(rows)


def test_rows_json_with_partly_encoded_rows_and_a_full_store(fresh_sample_result: Any,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    result = fresh_sample_result()
    rng = np.random.default_rng(3)
    monkeypatch.setattr(pq, "ROW_JSON_KEPT", 25)
    for _ in range(20):
        idx = rng.choice(len(result), size=int(rng.integers(0, 40)), replace=False)
        assert pq.rows_json(result, idx) == _encoded(result.rows(idx))
    assert len(result.cache["row_json"]) < 25 + 40  # stops growing once full
    assert pq.rows_json(result, np.zeros(0, dtype=np.int64)) == b"[]"


def _big_result(n: int) -> GapResult:
    rng = np.random.default_rng(9)
    ids = np.arange(n, dtype=np.int64)
    score = np.sort(rng.integers(0, 100, n).astype(np.uint8))[::-1].copy()
    return GapResult(
        target="me.com", competitors=["a.com", "b.com"], mode="union", min_overlap=1,
        total_found=n, warnings=[], index_version="v1", ids=ids,
        names=pa.array([f"d{i:07d}.com" for i in range(n)], pa.large_string()),
        domain_rating=rng.integers(0, 101, n).astype(np.uint8),
        backlinks=rng.integers(0, 10**6, n), referring_domains=rng.integers(0, 10**5, n),
        spam_score=rng.integers(0, 101, n).astype(np.uint8), rank=rng.permutation(n) + 1,
        competitor_overlap=rng.integers(1, 3, n).astype(np.uint8),
        competitor_mask=rng.integers(1, 4, n).astype(np.uint32),
        dofollow_mask=rng.integers(0, 4, n).astype(np.uint32), score=score, limit=None,
    )


def test_order_is_ready_only_once_a_big_runs_order_is_known() -> None:
    big = _big_result(30_000)
    by_rating = pq.ProspectQuery(sort="domain_rating", min_authority=10)
    assert not pq.order_is_ready(big, by_rating, 1, 50)
    pq.query_page(big, by_rating, 1, 50)  # orders (a prefix of) this query
    assert pq.order_is_ready(big, by_rating, 1, 50)
    assert pq.order_is_ready(big, by_rating, 20, 50)  # inside the ordered prefix
    assert not pq.order_is_ready(big, by_rating, 500, 50)  # deeper: orders everything
    assert not pq.order_is_ready(big, pq.ProspectQuery(sort="rank"), 1, 50)
    small = _big_result(500)
    assert pq.order_is_ready(small, pq.ProspectQuery(sort="rank"), 1, 50)


def test_the_cache_allowance_covers_what_prospects_keeps() -> None:
    big = _big_result(30_000)
    for sort in pq.SORTS:
        for order in pq.ORDERS:
            pq.sorted_indices(big, pq.ProspectQuery(sort=sort, order=order))
    for page in range(1, 300):
        pq.query_page_json(big, pq.ProspectQuery(), page, 100)
    kept = sum(rows.nbytes for rows, _, _ in big.cache["orders"].values())
    kept += sum(len(b) + 100 for b in big.cache["row_json"].values())
    assert kept <= pq.cache_allowance(len(big))
