"""The links behind a run's prospects (SPEC 12): frozen with the run, or read from the index.

A run freezes, for its first ``LINKGAP_EVIDENCE_FREEZE_MAX`` prospects (best
first) and each competitor they link to, the domain edge's counts and dates
and its sample links, from the index version the run used, so that what a
user hands to outreach never changes after a rebuild. The frozen links are one
Arrow IPC stream, one row per (prospect, competitor) in row then run order:

    row             int32     the prospect's position in the run (0 = best)
    competitor      int8      the competitor's position in the run
    links_total     int64     the edge's links (any rel)
    dofollow_links  int64     of which dofollow
    first_seen, last_seen     timestamp[s, UTC], null when unknown
    samples         list<struct<source_url, target_url, anchor, dofollow,
                                first_seen, last_seen>>   in SPEC 12 order

Prospects beyond those are answered from the current index (``live_links``),
and the answer says which index version that is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from linkgap.index.evidence import evidence_json
from linkgap.index.format import DAY_UNKNOWN
from linkgap.service.timeutil import iso_z

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.gap import GapResult
    from linkgap.index.reader import BacklinkIndex

__all__ = ["FrozenLinks", "freeze_links", "live_links", "live_links_many", "no_links"]

_META_KEY = b"linkgap.run_links"
_FORMAT = 1
_TS = pa.timestamp("s", tz="UTC")
_SAMPLE = pa.struct([
    pa.field("source_url", pa.string()), pa.field("target_url", pa.string()),
    pa.field("anchor", pa.string()), pa.field("dofollow", pa.bool_()),
    pa.field("first_seen", _TS), pa.field("last_seen", _TS),
])
SCHEMA = pa.schema([
    pa.field("row", pa.int32()), pa.field("competitor", pa.int8()),
    pa.field("links_total", pa.int64()), pa.field("dofollow_links", pa.int64()),
    pa.field("first_seen", _TS), pa.field("last_seen", _TS),
    pa.field("samples", pa.list_(_SAMPLE)),
])
_SECONDS_PER_DAY = 86_400


def _days_as_times(codes: np.ndarray) -> pa.Array:
    """Seen-day codes of the in-link arrays (1 = 1970-01-01, 0 unknown) as timestamps."""
    codes = np.asarray(codes, dtype=np.int64)
    unknown = codes == DAY_UNKNOWN
    return pa.array((codes - 1) * _SECONDS_PER_DAY, type=_TS, mask=unknown)


def freeze_links(index: BacklinkIndex, result: GapResult, max_prospects: int) -> bytes:
    """The links of ``result``'s first ``max_prospects`` prospects on ``index`` (the version
    the run was computed on: ids are that version's), as Arrow IPC bytes."""
    frozen = min(len(result), max(0, int(max_prospects)))
    comp_ids = [index.id_of(c) for c in result.competitors]
    rows_parts: list[np.ndarray] = []
    comp_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    masks = np.asarray(result.competitor_mask[:frozen], dtype=np.int64)
    sources = np.asarray(result.ids[:frozen], dtype=np.int64)
    for j, cid in enumerate(comp_ids):
        rows = np.flatnonzero((masks >> j) & 1)
        if cid is None or rows.shape[0] == 0:
            continue
        lo, hi = int(index.in_indptr[cid]), int(index.in_indptr[cid + 1])
        # In-link sources of a target are ascending: one search finds every prospect's edge.
        at = lo + np.searchsorted(np.asarray(index.in_src[lo:hi]), sources[rows])
        rows_parts.append(rows)
        comp_parts.append(np.full(rows.shape[0], j, dtype=np.int64))
        pos_parts.append(at)
    if rows_parts:
        rows = np.concatenate(rows_parts)
        comps = np.concatenate(comp_parts)
        at = np.concatenate(pos_parts)
        order = np.lexsort((comps, rows))
        rows, comps, at = rows[order], comps[order], at[order]
    else:
        rows = comps = at = np.zeros(0, dtype=np.int64)
    comp_id_of = np.array([-1 if c is None else c for c in comp_ids], dtype=np.int64)
    src_ids, dst_ids = sources[rows], comp_id_of[comps]
    samples = index.evidence_table(src_ids, dst_ids)
    # Each sample's pair (pairs are distinct: one prospect, one competitor), found by one
    # search over the sorted pair keys; then the samples are grouped by pair, in rank order.
    n = np.int64(max(1, int(index.num_domains)))
    pair_keys = src_ids * n + dst_ids
    by_key = np.argsort(pair_keys, kind="stable")
    sample_keys = (np.asarray(samples.column("source_id").to_numpy(), dtype=np.int64) * n
                   + np.asarray(samples.column("target_id").to_numpy(), dtype=np.int64))
    pair_of_sample = by_key[np.searchsorted(pair_keys[by_key], sample_keys)]
    sample_order = np.lexsort((samples.column("sample").to_numpy(), pair_of_sample))
    samples = samples.take(pa.array(sample_order))
    counts = np.bincount(pair_of_sample, minlength=rows.shape[0])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    struct = pa.StructArray.from_arrays(
        [samples.column(f.name).combine_chunks().cast(f.type) for f in _SAMPLE],
        fields=list(_SAMPLE))
    table = pa.table({
        "row": pa.array(rows.astype(np.int32)),
        "competitor": pa.array(comps.astype(np.int8)),
        "links_total": pa.array(np.asarray(index.in_links[at], dtype=np.int64)),
        "dofollow_links": pa.array(np.asarray(index.in_dofollow_links[at], dtype=np.int64)),
        "first_seen": _days_as_times(np.asarray(index.in_first_seen[at])),
        "last_seen": _days_as_times(np.asarray(index.in_last_seen[at])),
        "samples": pa.ListArray.from_arrays(pa.array(offsets), struct),
    }, schema=SCHEMA)
    meta = {"format": _FORMAT, "prospects": frozen, "index_version": str(index.version),
            "evidence_per_edge": int(index.evidence_per_edge)}
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@functools.lru_cache(maxsize=1 << 16)
def _iso(value: datetime | None) -> str | None:
    # Seen times are days: few distinct values, each formatted once.
    if value is None:
        return None
    return iso_z(value.replace(tzinfo=UTC) if value.tzinfo is None else value)


@dataclass(frozen=True)
class FrozenLinks:
    """The links frozen with a run: which prospects they cover, and their entries."""

    prospects: int  # rows 0 .. prospects - 1 are covered
    index_version: str
    table: pa.Table
    rows: np.ndarray

    @classmethod
    def from_ipc(cls, data: bytes) -> FrozenLinks:
        """Load bytes written by :func:`freeze_links`."""
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        meta = json.loads((table.schema.metadata or {})[_META_KEY])
        if int(meta.get("format", 0)) > _FORMAT:
            raise ValueError(f"these links were frozen by a newer linkgap (format "
                             f"{meta['format']})")
        table = table.combine_chunks()
        return cls(int(meta["prospects"]), str(meta["index_version"]), table,
                   table.column("row").to_numpy())

    def covers(self, row: int) -> bool:
        """True when the links of the prospect at ``row`` were frozen."""
        return 0 <= row < self.prospects

    def links_of(self, row: int, competitors: Sequence[str]) -> list[dict[str, Any]]:
        """The prospect's ``links`` entries (SPEC 12 JSON), in run order."""
        return self.links_of_many([row], competitors)[0]

    def links_of_many(self, rows: Sequence[int], competitors: Sequence[str]
                      ) -> list[list[dict[str, Any]]]:
        """:meth:`links_of` of many rows, their entries gathered in one take."""
        wanted = np.asarray(rows, dtype=np.int64)
        lo = np.searchsorted(self.rows, wanted)
        hi = np.searchsorted(self.rows, wanted + 1)
        counts = hi - lo
        picks = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)]) \
            if counts.sum() else np.zeros(0, dtype=np.int64)
        entries = self.table.take(pa.array(picks, type=pa.int64())).to_pylist()
        out: list[list[dict[str, Any]]] = []
        at = 0
        for n in counts.tolist():
            out.append([{
                "competitor": competitors[int(entry["competitor"])],
                "links_total": int(entry["links_total"]),
                "dofollow_links": int(entry["dofollow_links"]),
                "first_seen": _iso(entry["first_seen"]), "last_seen": _iso(entry["last_seen"]),
                "samples": [{**s, "first_seen": _iso(s["first_seen"]),
                             "last_seen": _iso(s["last_seen"])} for s in entry["samples"]],
            } for entry in entries[at:at + n]])
            at += n
        return out


def no_links(competitor: str) -> dict[str, Any]:
    """The entry of a competitor whose domain edge the index no longer has."""
    return {"competitor": competitor, "links_total": 0, "dofollow_links": 0,
            "first_seen": None, "last_seen": None, "samples": []}


def live_links(index: BacklinkIndex, domain: str,
               competitors: Sequence[str]) -> list[dict[str, Any]]:
    """The ``links`` entries of ``domain`` to ``competitors`` (in that order) read from
    ``index``; an edge the index does not have (a rebuild dropped it) has counts 0."""
    return live_links_many(index, [(domain, competitors)])[0]


def live_links_many(index: BacklinkIndex, prospects: Sequence[tuple[str, Sequence[str]]]
                    ) -> list[list[dict[str, Any]]]:
    """:func:`live_links` of many (domain, competitors), the samples read in one pass."""
    ids: dict[str, int | None] = {}

    def id_of(name: str) -> int:
        if name not in ids:
            ids[name] = index.id_of(name)
        found = ids[name]
        return -1 if found is None else found

    pairs = [(id_of(domain), id_of(c)) for domain, comps in prospects for c in comps]
    found = index.edges_evidence([s for s, _ in pairs], [t for _, t in pairs]) if pairs else []
    out: list[list[dict[str, Any]]] = []
    at = 0
    for _, comps in prospects:
        entries = []
        for competitor in comps:
            evidence = found[at]
            at += 1
            entries.append(no_links(competitor) if evidence is None
                           else evidence_json(competitor, evidence))
        out.append(entries)
    return out
