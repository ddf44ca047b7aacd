"""Freezing a run: a ``GapResult`` as Arrow IPC stream bytes and back.

The bytes hold the columns (``domain`` plus ``COLUMNS``) and the run's
metadata under ``linkgap.gap`` in the schema; ``format`` lets an older linkgap
refuse a result frozen by a newer one instead of misreading it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from linkgap.gap.filters import RunFilters
from linkgap.gap.result import GapResult

__all__ = ["COLUMNS", "from_ipc", "to_ipc"]

_IPC_META_KEY = b"linkgap.gap"
_IPC_FORMAT = 1

#: The stored columns besides ``domain`` and their dtypes.
COLUMNS: dict[str, Any] = {
    "id": np.int64,
    "domain_rating": np.uint8,
    "backlinks": np.int64,
    "referring_domains": np.int64,
    "spam_score": np.uint8,
    "rank": np.int64,
    "competitor_overlap": np.uint8,
    "competitor_mask": np.uint32,
    "dofollow_mask": np.uint32,
    "score": np.uint8,
}


def to_ipc(result: GapResult, compression: str | None = None) -> bytes:
    """Freeze ``result`` as Arrow IPC stream bytes (columns + run metadata)."""
    arrays = [pa.array(np.asarray(getattr(result, c) if c != "id" else result.ids, dtype=t))
              for c, t in COLUMNS.items()]
    names = result.names if result.names.type == pa.large_string() else result.names.cast(
        pa.large_string()
    )
    meta = dict(result.meta(), format=_IPC_FORMAT)
    schema = pa.schema(
        [pa.field("domain", pa.large_string())]
        + [pa.field(c, a.type) for c, a in zip(COLUMNS, arrays, strict=True)],
        metadata={_IPC_META_KEY: json.dumps(meta).encode()},
    )
    batch = pa.RecordBatch.from_arrays([names, *arrays], schema=schema)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, schema, options=options) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def from_ipc(data: bytes | pa.Buffer) -> GapResult:
    """Load a result frozen by :meth:`to_ipc` (columns are read-only, zero-copy)."""
    reader = pa.ipc.open_stream(pa.py_buffer(data) if isinstance(data, bytes) else data)
    table = reader.read_all()
    raw = (table.schema.metadata or {}).get(_IPC_META_KEY)
    if raw is None:
        raise ValueError("not a frozen linkgap gap result")
    meta = json.loads(raw)
    if int(meta.get("format", 0)) > _IPC_FORMAT:
        raise ValueError(
            f"this gap result was frozen by a newer linkgap (format {meta['format']})"
        )
    cols: dict[str, np.ndarray] = {}
    for c, t in COLUMNS.items():
        chunked = table.column(c)
        arr = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        cols[c] = (np.asarray(arr.to_numpy(zero_copy_only=False), dtype=t)
                   if len(arr) else np.zeros(0, dtype=t))
    names_col = table.column("domain")
    names = (names_col.chunk(0) if names_col.num_chunks == 1
             else names_col.combine_chunks()) if names_col.num_chunks else pa.array(
        [], pa.large_string())
    return GapResult(
        target=meta["target"], competitors=list(meta["competitors"]), mode=meta["mode"],
        min_overlap=int(meta["min_overlap"]), total_found=int(meta["total_found"]),
        warnings=[dict(w) for w in meta["warnings"]], index_version=meta["index_version"],
        limit=meta.get("limit"), ids=cols["id"], names=names,
        domain_rating=cols["domain_rating"], backlinks=cols["backlinks"],
        referring_domains=cols["referring_domains"], spam_score=cols["spam_score"],
        rank=cols["rank"], competitor_overlap=cols["competitor_overlap"],
        competitor_mask=cols["competitor_mask"], dofollow_mask=cols["dofollow_mask"],
        score=cols["score"],
        # Results frozen before run-time filters existed have neither: none applied.
        filters={**RunFilters().as_dict(), **(meta.get("filters") or {})},
        exclude=list(meta.get("exclude") or []),
    )
