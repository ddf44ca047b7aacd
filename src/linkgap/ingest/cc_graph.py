"""``cc-graph`` input: Common Crawl's domain-level (or host-level) web graph.

A pair of gzip text files: vertices (``id \\t reversed_name [\\t n_hosts]``,
``com.example.www`` for ``www.example.com``) and edges (``from_id \\t
to_id``). Each edge counts as one dofollow link without page URLs, anchor or
date: ``source_url``/``target_url`` are ``ccgraph:<canonical host of the
vertex>`` so the same vertex pair given twice still counts once.

Names are normalised like any host; vertices that fold into one registrable
domain (``www.example.com`` and ``example.com``) merge, so the edges between
them become internal and are dropped.

The graph can be large (tens of millions of edges), so this reader works on
whole columns: edges are parsed by ``pyarrow.csv`` in blocks, vertex ids are
mapped with NumPy arrays and the string columns are built with Arrow ``take``.
The only per-vertex Python work is the registrable-domain lookup.

Skip reasons of this reader:

======================== ====================================================
``bad_vertex_line``      a vertices line without an integer id and a name
``duplicate_vertex``     a vertex id given again (the first one is kept)
``vertex_not_domain``    a vertex whose name is not a registrable domain
``bad_edge_line``        an edges line that is not two integer ids
``unknown_vertex``       an edge naming an id the vertices file does not have
``skipped_vertex``       an edge from or to a vertex skipped as not a domain
``internal_link``        an edge inside one registrable domain (incl. self-loops)
======================== ====================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from linkgap.domains import DomainNormalizer, canonical_host
from linkgap.ingest.base import BATCH_ROWS, LINK_SCHEMA, InputSpec, InputStats
from linkgap.ingest.streams import LenientReader

__all__ = [
    "HostEdgeSink", "VertexMap", "edge_blocks", "feed_cc_graph", "kept_edges", "load_vertices",
    "packed_vertex_ids", "read_cc_graph", "reversed_to_host",
]

URL_PREFIX = "ccgraph:"
_BLOCK_BYTES = 16 << 20
_READ_BYTES = 4 << 20
_NAME_CHUNK = 1 << 20  # vertex names normalised per round
# A name every label of which is already canonical ASCII (lowercase letters,
# digits, "-", "_"; 1-63 characters; not Punycode): canonical_host returns
# such a name unchanged unless its last label is all digits. Checking this
# for the whole column at once spares canonical_host's per-name Python work.
_PLAIN_NAME = r"^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$"
_NEEDS_CHECK = r"(^|\.)xn--|(^|\.)[0-9]+$"


def _open_stream(path: Path) -> LenientReader:
    return LenientReader(path, whole_lines=True, chunk=_READ_BYTES)


def reversed_to_host(names: pa.Array) -> pa.Array:
    """``com.example.www`` → ``www.example.com`` for a whole string column."""
    parts = pc.split_pattern(names, ".")
    offsets = parts.offsets.to_numpy()
    flat = parts.flatten()
    parent = pc.list_parent_indices(parts).to_numpy()
    index = offsets[parent] + offsets[parent + 1] - 1 - np.arange(len(flat), dtype=np.int64)
    rev = pa.ListArray.from_arrays(parts.offsets, flat.take(pa.array(index)))
    return pc.binary_join(rev, ".")


#: ``VertexMap.row_of`` of an id a dense map's range holds but the vertices file does not.
_NOT_LISTED = -2


@dataclass
class VertexMap:
    """Vertex id → (row in ``hosts``, id in ``domains``); -1 where the vertex is unknown/skipped."""

    ids: np.ndarray  # sorted vertex ids (int64) when ``dense`` is False
    #: int32 row into ``hosts``, -1 = skipped vertex; when ``dense``, -2 = an id the
    #: vertices file does not list (a gap in the id range)
    row_of: np.ndarray
    domain_of: np.ndarray  # int32 index into ``domains``, -1 = skipped vertex
    dense: bool  # True: row_of/domain_of are indexed by the id itself
    hosts: pa.Array  # canonical host per kept vertex
    domains: pa.Array  # distinct canonical domains

    @cached_property
    def urls(self) -> pa.Array:
        """``ccgraph:<canonical host>`` per kept vertex (the LINK_SCHEMA URLs)."""
        return pc.binary_join_element_wise(URL_PREFIX, self.hosts, "")

    def lookup(self, vid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(known, row, domain)`` arrays for vertex ids ``vid`` (row/domain -1 when not kept)."""
        known, safe = _slots(self.ids, len(self.row_of), self.dense, vid)
        if len(self.row_of) == 0:
            empty = np.full(len(vid), -1, np.int64)
            return known, empty, empty.astype(np.int32)
        row = self.row_of[safe]
        if self.dense:
            known &= row != _NOT_LISTED
        row = np.where(known, row, -1)
        dom = np.where(known, self.domain_of[safe], -1)
        return known, row, dom


def _slots(ids: np.ndarray, size: int, dense: bool,
           vid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(in the map, slot)`` of vertex ids ``vid`` in a map's per-vertex arrays of
    ``size`` entries (slot 0 where not in the map): the id itself when ``dense``, else its
    position in the sorted ``ids``. A dense map's gaps are in range: the caller checks
    its entries for ``_NOT_LISTED``."""
    if dense:
        known = (vid >= 0) & (vid < size)
        return known, np.where(known, vid, 0)
    pos = np.searchsorted(ids, vid)
    pos = np.minimum(pos, len(ids) - 1) if len(ids) else pos
    known = (ids[pos] == vid) if len(ids) else np.zeros(len(vid), bool)
    return known, np.where(known, pos, 0)


def _canonical_hosts(hosts: pa.Array) -> pa.Array:
    """Canonical form of each host (null where there is none), as an Arrow column.

    Plain names pass through as they are (one regex over the column); only
    the others (Unicode, Punycode, odd characters, numeric last labels) go
    through ``canonical_host`` one by one.
    """
    plain = pc.and_(
        pc.match_substring_regex(hosts, _PLAIN_NAME),
        pc.invert(pc.match_substring_regex(hosts, _NEEDS_CHECK)),
    )
    plain = pc.and_(plain, pc.less_equal(pc.utf8_length(hosts), 253)).fill_null(False)
    hosts = hosts.cast(pa.string())
    if pc.all(plain).as_py() is not False:
        return hosts
    odd = np.flatnonzero(~np.asarray(plain))
    raw_canonical = canonical_host.__wrapped__  # skip the LRU
    fixed = [raw_canonical(name) if name is not None else None
             for name in hosts.take(pa.array(odd)).to_pylist()]
    return pc.replace_with_mask(hosts, pc.invert(plain), pa.array(fixed, pa.string()))


def registrable_domains(canonical: pa.Array, normalizer: DomainNormalizer) -> pa.Array:
    """The registrable domain of each canonical host (null where there is none), vectorised."""
    return normalizer.registrable_array(canonical)


def _vertex_domains(names: pa.Array, normalizer: DomainNormalizer,
                    chunk: int = _NAME_CHUNK) -> tuple[pa.Array, pa.Array]:
    """Reversed vertex names → (canonical host, registrable domain), a chunk at a time.

    Chunks keep the temporary arrays of the string kernels small whatever
    the number of vertices.
    """
    hosts: list[pa.Array] = []
    domains: list[pa.Array] = []
    for start in range(0, len(names), chunk):
        part = reversed_to_host(pc.utf8_lower(names.slice(start, chunk)))
        canonical = _canonical_hosts(part)
        hosts.append(canonical)
        domains.append(registrable_domains(canonical, normalizer))
        del part, canonical
        _return_freed_memory()
    if not hosts:
        return pa.array([], pa.string()), pa.array([], pa.string())
    return (pa.concat_arrays(hosts).cast(pa.string()),
            pa.concat_arrays(domains).cast(pa.string()))


def _return_freed_memory() -> None:
    """Hand the memory Arrow's allocator freed back to the system now.

    Arrow's default allocator (mimalloc or jemalloc) keeps freed pages for
    reuse; after the string kernels over millions of vertex names that is
    over a gigabyte (measured: 1.9 GB resident for 0.27 GB of live arrays at
    8M vertices) which the build's memory budget does not know about.
    """
    pa.default_memory_pool().release_unused()


def _csv_batches(
    path: Path, names: list[str], on_invalid: Any, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """Tab-separated text as string columns, block by block; damage is counted, never raised."""
    with _open_stream(path) as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(
                    delimiter="\t", quote_char=False, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names}, check_utf8=False
                ),
            )
            yield from reader
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" not in str(exc):
                stats.skip("unreadable_rest")  # e.g. a line longer than a whole block
        if stream.damaged:
            stats.skip("truncated_gzip")


def load_vertices(path: Path, normalizer: DomainNormalizer, stats: InputStats) -> VertexMap:
    """Read a vertices file into a :class:`VertexMap`, counting the vertices that are skipped."""
    bad_lines = 0

    def on_invalid(_row: object) -> str:
        nonlocal bad_lines
        bad_lines += 1
        return "skip"

    with _open_stream(path) as stream:
        first = stream.read(64 << 10).split(b"\n", 1)[0]
    n_columns = 3 if first.count(b"\t") >= 2 else 2
    names = ["id", "name", "hosts"][:n_columns]
    schema = pa.schema([(name, pa.string()) for name in names])
    table = pa.Table.from_batches(list(_csv_batches(path, names, on_invalid, stats)), schema)
    id_text = pc.utf8_trim_whitespace(table.column("id").combine_chunks())
    name_text = pc.utf8_trim_whitespace(table.column("name").combine_chunks())
    good = pc.and_(pc.utf8_is_digit(id_text), pc.greater(pc.utf8_length(name_text), 0))
    good = pc.and_(good, pc.less_equal(pc.utf8_length(id_text), 18))  # fits in int64
    good = good.fill_null(False)
    bad_lines += len(id_text) - pc.sum(good).as_py() if len(id_text) else 0
    if bad_lines:
        stats.skip("bad_vertex_line", bad_lines)
    ids = pc.cast(id_text.filter(good), pa.int64()).to_numpy()
    names = name_text.filter(good)
    del table, id_text, name_text, good
    _return_freed_memory()
    stats.records += len(ids)

    # Keep the first line of a repeated id.
    unique_ids, first_index = np.unique(ids, return_index=True)
    del ids
    if len(unique_ids) < len(names):
        stats.skip("duplicate_vertex", len(names) - len(unique_ids))
    if len(first_index) != len(names) or np.any(np.diff(first_index) != 1):
        names = names.take(pa.array(first_index))  # rows in id order, first of a repeat
    del first_index
    canonical, domains = _vertex_domains(names, normalizer)
    del names
    _return_freed_memory()
    kept_mask = domains.is_valid()
    kept = kept_mask.to_numpy(zero_copy_only=False)
    skipped = domains.null_count
    if skipped:
        stats.skip("vertex_not_domain", skipped)

    kept_hosts = canonical.filter(kept_mask)
    encoded = domains.filter(kept_mask).dictionary_encode()
    del canonical, domains, kept_mask
    _return_freed_memory()
    row = np.full(len(unique_ids), -1, np.int32)
    row[kept] = np.arange(int(kept.sum()), dtype=np.int32)
    dom = np.full(len(unique_ids), -1, np.int32)
    dom[kept] = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)

    max_id = int(unique_ids[-1]) if len(unique_ids) else -1
    if 0 <= max_id < 4 * len(unique_ids) + 1024 and (len(unique_ids) == 0 or unique_ids[0] >= 0):
        # ids in the range that the file does not list are unknown, not skipped
        dense_row = np.full(max_id + 1, _NOT_LISTED, np.int32)
        dense_dom = np.full(max_id + 1, -1, np.int32)
        dense_row[unique_ids] = row
        dense_dom[unique_ids] = dom
        return VertexMap(unique_ids, dense_row, dense_dom, True, kept_hosts, encoded.dictionary)
    return VertexMap(unique_ids, row, dom, False, kept_hosts, encoded.dictionary)


def edge_blocks(path: Path, stats: InputStats) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(from_ids, to_ids) arrays per block of the edges file; bad lines counted and dropped."""
    bad_lines = 0  # lines the CSV parser dropped (wrong number of fields)
    bad_ids = 0  # parsed lines whose ids are not integers

    def on_invalid(_row: object) -> str:
        nonlocal bad_lines
        bad_lines += 1
        return "skip"

    for batch in _csv_batches(path, ["src", "dst"], on_invalid, stats):
        src_text, dst_text = batch.column(0), batch.column(1)
        stats.records += batch.num_rows
        try:
            src = pc.cast(src_text, pa.int64())
            dst = pc.cast(dst_text, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            src_text = pc.utf8_trim_whitespace(src_text)
            dst_text = pc.utf8_trim_whitespace(dst_text)
            good = pc.and_(pc.utf8_is_digit(src_text), pc.utf8_is_digit(dst_text))
            for text in (src_text, dst_text):
                good = pc.and_(good, pc.less_equal(pc.utf8_length(text), 18))
            good = good.fill_null(False)
            bad_ids += batch.num_rows - (pc.sum(good).as_py() or 0)
            src = pc.cast(src_text.filter(good), pa.int64())
            dst = pc.cast(dst_text.filter(good), pa.int64())
        if src.null_count or dst.null_count:  # empty fields
            good = pc.and_(pc.is_valid(src), pc.is_valid(dst))
            bad_ids += len(src) - (pc.sum(good).as_py() or 0)
            src, dst = src.filter(good), dst.filter(good)
        src_ids = src.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        dst_ids = dst.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        negative = (src_ids < 0) | (dst_ids < 0)
        if negative.any():  # "-1" casts fine but is no vertex id
            bad_ids += int(negative.sum())
            src_ids, dst_ids = src_ids[~negative], dst_ids[~negative]
        yield src_ids, dst_ids
    stats.records += bad_lines
    if bad_lines + bad_ids:
        stats.skip("bad_edge_line", bad_lines + bad_ids)


def kept_edges(
    vmap: VertexMap, src: np.ndarray, dst: np.ndarray, stats: InputStats
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(source row, target row, source domain, target domain) of the edges that count.

    Unknown, skipped and internal edges are counted in ``stats`` and dropped.
    """
    stats.links_seen += len(src)
    src_known, src_row, src_dom = vmap.lookup(src)
    dst_known, dst_row, dst_dom = vmap.lookup(dst)
    keep = _keep_mask(src_known & dst_known, (src_row < 0) | (dst_row < 0),
                      src_dom == dst_dom, stats)
    return src_row[keep], dst_row[keep], src_dom[keep], dst_dom[keep]


def _keep_mask(known: np.ndarray, not_kept: np.ndarray, same_domain: np.ndarray,
               stats: InputStats) -> np.ndarray:
    """The edges that count: both ends known, both kept, two domains; the others are
    counted in ``stats`` by the first reason that applies."""
    unknown = ~known
    skipped_vertex = known & not_kept
    internal = known & ~not_kept & same_domain
    for reason, mask in (
        ("unknown_vertex", unknown),
        ("skipped_vertex", skipped_vertex),
        ("internal_link", internal),
    ):
        n = int(mask.sum())
        if n:
            stats.skip(reason, n)
    return ~(unknown | skipped_vertex | internal)


def packed_vertex_ids(vmap: VertexMap, domain_ids: np.ndarray,
                      row_host: np.ndarray) -> np.ndarray:
    """Per slot of ``vmap``: ``domain id << 32 | host id`` of a kept vertex (``domain_ids``
    by domain index, ``row_host`` by host row, as a sink interned them), -1 for a
    skipped vertex, ``_NOT_LISTED`` for a dense map's gap."""
    packed = np.full(len(vmap.row_of), -1, np.int64)
    valid = vmap.row_of >= 0
    packed[valid] = ((domain_ids[vmap.domain_of[valid]].astype(np.int64) << 32)
                     | row_host[vmap.row_of[valid]].astype(np.int64))
    packed[vmap.row_of == _NOT_LISTED] = _NOT_LISTED
    return packed


def _interned_edges(ids: np.ndarray, dense: bool, packed: np.ndarray, src: np.ndarray,
                    dst: np.ndarray, stats: InputStats
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(target domain id, source domain id, target host id, source host id) of the edges
    that count, from ``packed`` (per vertex slot: ``domain id << 32 | host id``, -1 for
    a skipped vertex, ``_NOT_LISTED`` for a dense map's gap): one gather an endpoint.
    The same edges and counts as ``kept_edges``."""
    stats.links_seen += len(src)
    src_known, src_slot = _slots(ids, len(packed), dense, src)
    dst_known, dst_slot = _slots(ids, len(packed), dense, dst)
    if len(packed) == 0:  # no vertex: every edge names an unknown one
        known = np.zeros(len(src), bool)
        src_ids = dst_ids = np.full(len(src), -1, np.int64)
    else:
        src_ids, dst_ids = packed[src_slot], packed[dst_slot]
        known = src_known & dst_known
        if dense:
            known &= (src_ids != _NOT_LISTED) & (dst_ids != _NOT_LISTED)
    keep = _keep_mask(known, (src_ids < 0) | (dst_ids < 0),
                      (src_ids >> 32) == (dst_ids >> 32), stats)
    src_ids, dst_ids = src_ids[keep], dst_ids[keep]
    low = np.int64(0xFFFFFFFF)
    return ((dst_ids >> 32).astype(np.int32), (src_ids >> 32).astype(np.int32),
            (dst_ids & low).astype(np.int32), (src_ids & low).astype(np.int32))


def _edge_batches(
    vmap: VertexMap, src: np.ndarray, dst: np.ndarray, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    src_row, dst_row, src_dom, dst_dom = kept_edges(vmap, src, dst, stats)
    urls = vmap.urls
    for start in range(0, len(src_row), BATCH_ROWS):
        part = slice(start, start + BATCH_ROWS)
        n = len(src_row[part])
        batch = pa.record_batch(
            [
                urls.take(pa.array(src_row[part])),
                urls.take(pa.array(dst_row[part])),
                vmap.domains.take(pa.array(src_dom[part])),
                vmap.domains.take(pa.array(dst_dom[part])),
                pa.array(np.ones(n, dtype=bool)),
                pa.nulls(n, pa.string()),
                pa.nulls(n, pa.timestamp("s", tz="UTC")),
            ],
            schema=LINK_SCHEMA,
        )
        stats.links_counted += n
        yield batch


def read_cc_graph(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches of the edges of a (vertices, edges) file pair, one dofollow link each."""
    vertices_path, edges_path = spec.paths
    vmap = load_vertices(vertices_path, normalizer, stats)
    for src, dst in edge_blocks(edges_path, stats):
        yield from _edge_batches(vmap, src, dst, stats)


class HostEdgeSink(Protocol):
    """Where ``feed_cc_graph`` puts a graph: interned names, then integer edges."""

    def intern_domains(self, names: pa.Array) -> np.ndarray: ...

    def intern_hosts(self, names: pa.Array, domain_ids: np.ndarray) -> np.ndarray: ...

    def add_host_edges(self, dd: np.ndarray, sd: np.ndarray, dh: np.ndarray,
                       sh: np.ndarray) -> None: ...

    def hold(self, name: str, nbytes: int) -> None:
        """The reader keeps ``nbytes`` of arrays in memory from now on (0: no more)."""


def feed_cc_graph(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats, sink: HostEdgeSink
) -> Iterator[int]:
    """Put a (vertices, edges) pair into ``sink`` as interned ids; yields after each block.

    The same edges and counts as ``read_cc_graph``, without a string per edge:
    every distinct host and domain name is interned once, and each edge that
    counts becomes four integers (target/source domain id, target/source host
    id). Yields the edges counted so far.
    """
    vertices_path, edges_path = spec.paths
    vmap = load_vertices(vertices_path, normalizer, stats)
    domain_ids = sink.intern_domains(vmap.domains)
    hosts = vmap.hosts.dictionary_encode()
    _return_freed_memory()  # the encoder's hash table over every host name
    row_domain = np.full(len(vmap.hosts), -1, dtype=np.int32)
    valid = vmap.row_of >= 0
    row_domain[vmap.row_of[valid]] = vmap.domain_of[valid]
    host_index = hosts.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    host_domain = np.full(len(hosts.dictionary), -1, dtype=np.int32)
    host_domain[host_index] = domain_ids[row_domain]
    host_ids = sink.intern_hosts(hosts.dictionary, host_domain)
    row_host = host_ids[host_index]
    del hosts, host_index, host_domain, row_domain, host_ids
    # From here on only the interned ids are needed, one int64 a vertex slot: an edge is
    # then one gather an endpoint, not four (row, domain, then their interned ids).
    packed = packed_vertex_ids(vmap, domain_ids, row_host)
    dense = vmap.dense
    # a dense map is indexed by the id itself: its sorted ids are not needed (a slice
    # would keep them alive)
    ids = vmap.ids if not dense else np.empty(0, dtype=vmap.ids.dtype)
    del vmap, valid, row_host, domain_ids
    _return_freed_memory()
    sink.hold("cc-graph vertex map", ids.nbytes + packed.nbytes)
    for src, dst in edge_blocks(edges_path, stats):
        dd, sd, dh, sh = _interned_edges(ids, dense, packed, src, dst, stats)
        sink.add_host_edges(dd, sd, dh, sh)
        stats.links_counted += len(dd)
        del src, dst, dd, sd, dh, sh
        _return_freed_memory()  # each block's text and temporaries, before the next
        yield stats.links_counted
    sink.hold("cc-graph vertex map", 0)
