"""Link occurrences → distinct links → domain edges, in DuckDB, out of core.

Three kinds of input arrive, and all become one stream of aggregated domain
edges sorted by (target, source) for the finalise step
(``linkgap.index.finalize``):

``links``        page links, one row per occurrence as the readers yield them
                 (LINK_SCHEMA): the pair key (below), both domains, dofollow,
                 seen. Distinct (source URL, target URL) pairs are grouped
                 into domain edges in SQL.
``host_edges``   web-graph edges (cc-graph inputs) as four integers: target
                 and source domain, target and source host. Hosts and domains
                 are interned once per distinct name (``host_dict``,
                 ``domain_dict``), so an edge costs 16 bytes, never a string.
                 Repeats of a host pair count once: the final sort brings them
                 together and the stream drops them.
``named_edges``  domain edges aggregated elsewhere (a Spark stage), by name.

Domains get provisional ids in ``domain_dict`` as they are met; the final ids
are positions in canonical-name order, assigned when the names are sorted
(out of core, by DuckDB) and applied with a join in the final sort.

A page link is identified by the 128-bit MD5 of its two normalised URLs
(``md5_number(length(source_url) || ':' || source_url || target_url)``; the
length prefix keeps the split between the URLs unambiguous). Grouping on a
16-byte key instead of two URL strings keeps the aggregation small and fast;
two different pairs would have to collide in 128 bits to merge, which at ten
billion pairs has a probability near 1e-19.

Evidence (``--evidence N`` > 0, SPEC 12): the ``links`` table also keeps
each occurrence's URLs and anchor; the distinct pairs are materialised once
(``pairs``), grouped into the domain edges, and ranked per edge with a window
(``linkgap.index.evidence.SAMPLE_ORDER``), keeping the first N (``samples``).
With N = 0 none of this text is stored and the aggregation is as before.

DuckDB's memory is capped by the build's ``MemoryBudget``; beyond it DuckDB
spills to the temp folder (inside the build folder unless ``--temp-dir``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.errors import BuildFailed
from linkgap.index.budget import MemoryBudget, return_freed_memory_promptly
from linkgap.index.evidence import ANCHOR_KEY, SAMPLE_ORDER

__all__ = ["AggregateCounts", "EdgeChunk", "LinkAggregator", "spill_bytes"]

#: Rows gathered in Python before one INSERT (bounded memory, few round trips).
_FLUSH_ROWS = 500_000
#: An aggregation of fewer input rows than this runs on one DuckDB thread (unless the
#: caller chose the threads): the input is a few of DuckDB's 122,880-row groups, and a
#: second thread mostly adds partitioning and merging. On the WARC benchmark (67k rows)
#: one thread took 12 % less CPU and no more wall time; at 407k rows 8-11 % less CPU
#: and no more wall time (2 cores, load about 5; docs/benchmarks.md).
_ONE_THREAD_ROWS = _FLUSH_ROWS
#: Rows per batch read back from DuckDB.
_READ_ROWS = 1 << 20
#: Sample rows per batch read back (they carry URLs: a smaller batch bounds the memory).
_SAMPLE_ROWS = 1 << 16
_ID_LIMIT = 2**31 - 1
_NO_FIRST = np.iinfo(np.int64).max

_CREATE = (
    """CREATE TABLE links (
        pair UHUGEINT NOT NULL, source_domain VARCHAR NOT NULL,
        target_domain VARCHAR NOT NULL, dofollow BOOLEAN NOT NULL, seen BIGINT)""",
    "CREATE TABLE domain_dict (name VARCHAR NOT NULL, id INTEGER NOT NULL)",
    "CREATE TABLE host_dict (name VARCHAR NOT NULL, id INTEGER NOT NULL, domain INTEGER NOT NULL)",
    "CREATE TABLE host_edges (dd INTEGER, sd INTEGER, dh INTEGER, sh INTEGER)",
    """CREATE TABLE named_edges (
        source_domain VARCHAR, target_domain VARCHAR, links BIGINT, dofollow_links BIGINT,
        first_seen BIGINT, last_seen BIGINT)""",
)

# Internal links are dropped here too (readers already do): a builder fed by a
# careless producer must still never count them.
_INSERT_LINKS = """
INSERT INTO links
SELECT md5_number(length(source_url::VARCHAR)::VARCHAR || ':' || source_url::VARCHAR
                  || target_url::VARCHAR),
       source_domain::VARCHAR, target_domain::VARCHAR, dofollow, seen
FROM incoming
WHERE source_domain::VARCHAR <> target_domain::VARCHAR
"""

# With evidence the occurrence's text is kept too.
_CREATE_LINKS_WITH_TEXT = """CREATE TABLE links (
        pair UHUGEINT NOT NULL, source_domain VARCHAR NOT NULL,
        target_domain VARCHAR NOT NULL, dofollow BOOLEAN NOT NULL, seen BIGINT,
        source_url VARCHAR NOT NULL, target_url VARCHAR NOT NULL, anchor VARCHAR)"""

_INSERT_LINKS_WITH_TEXT = """
INSERT INTO links
SELECT md5_number(length(source_url::VARCHAR)::VARCHAR || ':' || source_url::VARCHAR
                  || target_url::VARCHAR),
       source_domain::VARCHAR, target_domain::VARCHAR, dofollow, seen,
       source_url::VARCHAR, target_url::VARCHAR, anchor::VARCHAR
FROM incoming
WHERE source_domain::VARCHAR <> target_domain::VARCHAR
"""

# Distinct links with their text (evidence builds): one row per pair. The URLs
# are grouping keys (a pair's URLs are the same in each of its occurrences), not
# aggregate states, so DuckDB can spill them; the anchor comes from a window
# over the occurrences that have one (a sort, which spills too).
_PAIRS = f"""
CREATE TABLE pairs AS
SELECT p.src, p.dst, p.dofollow, p.first_seen, p.last_seen, p.source_url, p.target_url,
       a.anchor
FROM (
    SELECT l.pair, any_value(s.id) AS src, any_value(t.id) AS dst,
           bool_or(l.dofollow) AS dofollow, min(l.seen) AS first_seen,
           max(l.seen) AS last_seen, l.source_url, l.target_url
    FROM links l
    JOIN domain_dict s ON l.source_domain = s.name
    JOIN domain_dict t ON l.target_domain = t.name
    GROUP BY l.pair, l.source_url, l.target_url
) p
LEFT JOIN (
    SELECT pair, anchor FROM links WHERE anchor IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY pair ORDER BY {ANCHOR_KEY}) = 1
) a USING (pair)
"""

_PAIR_EDGES = """
CREATE TABLE page_edges AS
SELECT dst, src, count(*)::BIGINT AS links, count_if(dofollow)::BIGINT AS dofollow_links,
       coalesce(min(first_seen), -1)::BIGINT AS first_seen,
       coalesce(max(last_seen), -1)::BIGINT AS last_seen
FROM pairs
GROUP BY dst, src
"""

# The first N distinct links of each domain edge in the SPEC 12 order.
_SAMPLES = f"""
CREATE TABLE samples AS
SELECT dst, src, source_url, target_url, anchor, dofollow, first_seen, last_seen,
       (row_number() OVER (PARTITION BY dst, src ORDER BY {SAMPLE_ORDER}) - 1)::BIGINT
           AS sample
FROM pairs
QUALIFY sample < {{n}}
"""

# Page links → domain edges with provisional ids: distinct pairs (dofollow if
# any occurrence is, first and last seen), then per (target, source).
_PAGE_EDGES = """
CREATE TABLE page_edges AS
SELECT dst, src, count(*)::BIGINT AS links, count_if(dofollow)::BIGINT AS dofollow_links,
       coalesce(min(first_seen), -1)::BIGINT AS first_seen,
       coalesce(max(last_seen), -1)::BIGINT AS last_seen
FROM (
    SELECT any_value(s.id) AS src, any_value(t.id) AS dst, bool_or(l.dofollow) AS dofollow,
           min(l.seen) AS first_seen, max(l.seen) AS last_seen
    FROM links l
    JOIN domain_dict s ON l.source_domain = s.name
    JOIN domain_dict t ON l.target_domain = t.name
    GROUP BY l.pair
)
GROUP BY dst, src
"""

_NAMED_EDGES = """
INSERT INTO page_edges
SELECT t.id, s.id, e.links, e.dofollow_links, coalesce(e.first_seen, -1),
       coalesce(e.last_seen, -1)
FROM named_edges e
JOIN domain_dict s ON e.source_domain = s.name
JOIN domain_dict t ON e.target_domain = t.name
WHERE e.source_domain <> e.target_domain AND e.links > 0
"""


def spill_bytes(folder: Path) -> int:
    """Bytes of the files in DuckDB's temp folder right now."""
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file():
                    total += entry.stat().st_size
    except FileNotFoundError:
        pass
    return total


@dataclass
class AggregateCounts:
    """Totals of an aggregation: occurrences read, distinct links, edges, domains.

    The embedded engine counts ``links``, ``dofollow_links`` and ``edges``
    while finalising (repeated web-graph edges meet only in the final sort),
    so it gives -1 for them here; a staging folder gives them all, and the
    finaliser checks them.
    """

    occurrences: int
    links: int
    dofollow_links: int
    edges: int
    domains: int


@dataclass
class EdgeChunk:
    """Aggregated domain edges sorted by (target, source), final ids, exact int64 counts."""

    dst: np.ndarray
    src: np.ndarray
    links: np.ndarray
    dofollow_links: np.ndarray
    first_seen: np.ndarray  # epoch seconds, -1 when unknown
    last_seen: np.ndarray


def _prepare(batch: pa.RecordBatch | pa.Table, with_anchor: bool = False) -> pa.Table:
    """Keep the columns the aggregation needs; ``seen_at`` becomes epoch seconds."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    seen = table.column("seen_at")
    if pa.types.is_timestamp(seen.type):
        seen = pc.cast(pc.cast(seen, pa.timestamp("s", tz="UTC")), pa.int64())
    else:
        seen = pc.cast(seen, pa.int64())
    # Dictionary-encoded or large strings become plain strings, so batches of
    # any string flavour concatenate into one table.
    columns = {name: _plain_string(table.column(name)) for name in _STRING_COLUMNS}
    if with_anchor:
        columns["anchor"] = _plain_string(table.column("anchor"))
    return pa.table({**columns, "dofollow": table.column("dofollow").cast(pa.bool_()),
                     "seen": seen})


_STRING_COLUMNS = ("source_url", "target_url", "source_domain", "target_domain")


def _plain_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type == pa.string():
        return column
    return column.cast(pa.string())


class LinkAggregator:
    """Collects links, web-graph edges and named domain edges; streams sorted domain edges."""

    def __init__(self, spill_dir: Path, budget: MemoryBudget, *,
                 threads: int | None = None, evidence: int = 0) -> None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        self.spill_dir = spill_dir
        self.budget = budget
        return_freed_memory_promptly()  # the budget counts what is held, not what is cached
        # An in-memory database: no checkpoint on close; tables larger than
        # DuckDB's share of the budget are offloaded to the temp folder.
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET temp_directory = '{_sql_str(str(spill_dir))}'")
        self._con.execute("SET preserve_insertion_order = false")
        budget.attach(self._con)
        self._threads = threads
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        #: Samples kept per domain edge (``--evidence``); 0 keeps no link text at all.
        self.evidence = max(0, int(evidence))
        for statement in _CREATE:
            if self.evidence and statement.startswith("CREATE TABLE links"):
                statement = _CREATE_LINKS_WITH_TEXT
            self._con.execute(statement)
        self._has_samples = False
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._next_domain = 0
        self._next_host = 0
        self._used = np.zeros(0, dtype=bool)  # provisional domain id → in a counted edge
        self._page_rows = 0
        self._named_rows = 0
        self._host_rows = 0
        self.occurrences = 0
        self.peak_spill = 0
        self._closed = False
        self._final_of: np.ndarray | None = None
        # DuckDB spills and frees temp files inside a query: a watcher samples the folder.
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch_spill, name="linkgap-spill-watch",
                                         daemon=True)
        self._watcher.start()

    def _watch_spill(self) -> None:
        while not self._stop.wait(0.05):
            self._check_spill()

    # -- input ---------------------------------------------------------------

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append one LINK_SCHEMA batch (string or dictionary-encoded string columns)."""
        if batch.num_rows == 0:
            return
        self._pending.append(_prepare(batch, with_anchor=self.evidence > 0))
        self._pending_rows += batch.num_rows
        if self._pending_rows >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        incoming = pa.concat_tables(self._pending, promote_options="permissive")
        self._pending = []
        self._pending_rows = 0
        self._run_with("incoming", incoming,
                       _INSERT_LINKS_WITH_TEXT if self.evidence else _INSERT_LINKS)
        self._page_rows += incoming.num_rows
        self.occurrences += incoming.num_rows

    def intern_domains(self, names: pa.Array) -> np.ndarray:
        """Provisional ids (int32) of distinct canonical domain names, new ones added."""
        ids = self._intern("domain_dict", names, self._next_domain)
        self._next_domain = self._dict_size("domain_dict")
        if len(self._used) < self._next_domain:
            grown = np.zeros(max(self._next_domain, 2 * len(self._used)), dtype=bool)
            grown[: len(self._used)] = self._used
            self._used = grown
        return ids

    def intern_hosts(self, names: pa.Array, domain_ids: np.ndarray) -> np.ndarray:
        """Ids (int32) of distinct canonical host names; ``domain_ids`` = their domains' ids."""
        extra = pa.array(np.asarray(domain_ids, dtype=np.int32))
        ids = self._intern("host_dict", names, self._next_host, extra)
        self._next_host = self._dict_size("host_dict")
        return ids

    def add_host_edges(self, dd: np.ndarray, sd: np.ndarray, dh: np.ndarray,
                       sh: np.ndarray) -> None:
        """Append web-graph edges as interned ids (target/source domain, target/source host).

        Each distinct host pair counts as one dofollow link without a date.
        """
        if len(dd) == 0:
            return
        self._used[dd] = True
        self._used[sd] = True
        table = pa.table({"dd": pa.array(dd, pa.int32()), "sd": pa.array(sd, pa.int32()),
                          "dh": pa.array(dh, pa.int32()), "sh": pa.array(sh, pa.int32())})
        self._run_with("incoming_edges", table, "INSERT INTO host_edges SELECT * FROM "
                       "incoming_edges")
        self._host_rows += len(dd)
        self.occurrences += len(dd)

    def hold(self, name: str, nbytes: int) -> None:
        """A reader holds ``nbytes`` of arrays: DuckDB's share shrinks by as much."""
        if nbytes:
            self.budget.reserve(name, nbytes)
        else:
            self.budget.release(name)

    def add_domain_edges(self, table: pa.Table | pa.RecordBatch) -> None:
        """Append domain edges aggregated elsewhere: ``source_domain, target_domain, links,
        dofollow_links, first_seen, last_seen`` (canonical names; seen in epoch seconds or null).

        Their links add to those of any other input on the same edge.
        """
        if table.num_rows == 0:
            return
        self._run_with("incoming_named", table,
                       "INSERT INTO named_edges SELECT source_domain, target_domain, links, "
                       "dofollow_links, first_seen, last_seen FROM incoming_named")
        self._named_rows += table.num_rows
        self.occurrences += int(pc.sum(table.column("links")).as_py() or 0)

    # -- aggregation -----------------------------------------------------------

    def finish(self) -> AggregateCounts:
        """Group the page links into domain edges; returns the totals so far."""
        rows = self._page_rows + self._pending_rows + self._host_rows + self._named_rows
        if not self._threads and rows < _ONE_THREAD_ROWS:
            self._con.execute("SET threads = 1")
        self._flush()
        con = self._con
        if self._page_rows:
            self._mark_used_names(
                "SELECT source_domain AS name FROM links UNION SELECT target_domain FROM links")
            if self.evidence:
                con.execute(_PAIRS)
                con.execute("DROP TABLE links")
                con.execute(_PAIR_EDGES)
                con.execute(_SAMPLES.replace("{n}", str(int(self.evidence))))
                con.execute("DROP TABLE pairs")
                self._has_samples = True
            else:
                con.execute(_PAGE_EDGES)
                con.execute("DROP TABLE links")
            self._check_spill()
        else:
            con.execute("CREATE TABLE page_edges (dst INTEGER, src INTEGER, links BIGINT, "
                        "dofollow_links BIGINT, first_seen BIGINT, last_seen BIGINT)")
        if self._named_rows:
            self._mark_used_names("SELECT source_domain AS name FROM named_edges UNION "
                                  "SELECT target_domain FROM named_edges")
            con.execute(_NAMED_EDGES)
            con.execute("DROP TABLE named_edges")
        return AggregateCounts(self.occurrences, -1, -1, -1, int(self._used.sum()))

    def _mark_used_names(self, names_sql: str) -> None:
        con = self._con
        con.execute(f"CREATE TEMP TABLE new_names AS SELECT DISTINCT name FROM ({names_sql})")
        con.execute(
            f"INSERT INTO domain_dict SELECT name, {self._next_domain} + "
            "(row_number() OVER () - 1)::INTEGER FROM new_names "
            "WHERE name NOT IN (SELECT name FROM domain_dict)")
        self._next_domain = self._dict_size("domain_dict")
        self._check_ids(self._next_domain, "domains")
        ids = con.sql("SELECT d.id FROM new_names n JOIN domain_dict d USING (name)").fetchnumpy()
        con.execute("DROP TABLE new_names")
        grown = np.zeros(self._next_domain, dtype=bool)
        grown[: min(len(self._used), self._next_domain)] = self._used[: self._next_domain]
        grown[ids["id"].astype(np.int64)] = True
        self._used = grown

    def iter_names(self, rows: int = _READ_ROWS) -> Iterator[pa.Array]:
        """Names of the domains in the index in canonical-name order: their final ids.

        Canonical names compare byte-wise (DuckDB's default binary collation):
        the order the reader's binary search relies on. Sorting is DuckDB's,
        out of core; the map from provisional to final ids (4 bytes per name)
        is kept for :meth:`iter_edges`.
        """
        used = self._used
        final_of = np.full(self._next_domain, -1, dtype=np.int32)
        self.budget.reserve("final ids", final_of.nbytes)
        self._final_of = final_of
        done = 0
        reader = self._con.sql("SELECT name, id FROM domain_dict ORDER BY name"
                               ).to_arrow_reader(rows)
        for batch in reader:
            ids = batch.column(1).to_numpy().astype(np.int64)
            keep = used[ids]
            names = batch.column(0)
            if not keep.all():
                names, ids = names.filter(pa.array(keep)), ids[keep]
            final_of[ids] = np.arange(done, done + len(ids), dtype=np.int32)
            done += len(ids)
            if len(ids):
                yield names

    def iter_edges(self, rows: int = _READ_ROWS) -> Iterator[EdgeChunk]:
        """Every domain edge once, sorted by (target, source) in final ids, exact counts."""
        if self._final_of is None:
            raise RuntimeError("iter_edges needs the final ids: run iter_names first")
        final_of = self._final_of
        con = self._con
        known = np.flatnonzero(final_of >= 0)
        idmap = pa.table({"tmp": pa.array(known.astype(np.int32)),
                          "fin": pa.array(final_of[known].astype(np.int32))})
        con.register("idmap_in", idmap)
        try:
            con.execute("CREATE TABLE idmap AS SELECT * FROM idmap_in")
        finally:
            con.unregister("idmap_in")
        self._final_of = final_of = np.zeros(0, dtype=np.int32)
        self.budget.release("final ids")
        del idmap, known
        has_page = _scalar(con, "SELECT count(*) FROM page_edges") > 0
        if self._host_rows and not has_page and self._hosts_are_domains():
            # every host is its own domain: a repeated domain pair is a repeated host pair
            sql = ("SELECT m1.fin AS dst, m2.fin AS src FROM host_edges "
                   "JOIN idmap m1 ON dd = m1.tmp JOIN idmap m2 ON sd = m2.tmp "
                   "ORDER BY dst, src")
        elif not has_page:
            sql = ("SELECT m1.fin AS dst, m2.fin AS src, dh, sh FROM host_edges "
                   "JOIN idmap m1 ON dd = m1.tmp JOIN idmap m2 ON sd = m2.tmp "
                   "ORDER BY dst, src, dh, sh")
        else:
            sql = ("SELECT m1.fin AS dst, m2.fin AS src, dh, sh, links, dofollow_links, "
                   "first_seen, last_seen FROM ("
                   "  SELECT dd, sd, dh, sh, 1::BIGINT AS links, 1::BIGINT AS dofollow_links, "
                   "         -1::BIGINT AS first_seen, -1::BIGINT AS last_seen FROM host_edges"
                   "  UNION ALL"
                   "  SELECT dst, src, -1, -1, links, dofollow_links, first_seen, last_seen "
                   "  FROM page_edges) e "
                   "JOIN idmap m1 ON e.dd = m1.tmp JOIN idmap m2 ON e.sd = m2.tmp "
                   "ORDER BY dst, src, dh, sh")
        combiner = _EdgeCombiner()
        for batch in con.sql(sql).to_arrow_reader(rows):
            chunk = combiner.add(batch)
            if chunk is not None:
                yield chunk
        last = combiner.finish()
        if last is not None:
            yield last

    def iter_samples(self, rows: int = _SAMPLE_ROWS) -> Iterator[pa.RecordBatch] | None:
        """The kept sample links sorted by (dst, src, sample) in final ids
        (``linkgap.index.evidence.STAGED_SAMPLE_SCHEMA``), or None when the build keeps
        none. Call after :meth:`iter_edges` (which makes the final id map)."""
        if not self.evidence:
            return None
        if not self._has_samples:  # no page links (web graphs only): no samples, empty files
            return iter(())
        return self._samples_reader(rows)

    def _samples_reader(self, rows: int) -> Iterator[pa.RecordBatch]:
        sql = ("SELECT m1.fin::BIGINT AS dst, m2.fin::BIGINT AS src, sample, source_url, "
               "target_url, anchor, dofollow, first_seen, last_seen FROM samples "
               "JOIN idmap m1 ON dst = m1.tmp JOIN idmap m2 ON src = m2.tmp "
               "ORDER BY 1, 2, 3")
        yield from self._con.sql(sql).to_arrow_reader(rows)

    def _hosts_are_domains(self) -> bool:
        return bool(_scalar(self._con, "SELECT count(*) = count(DISTINCT domain) FROM host_dict"))

    # -- helpers ---------------------------------------------------------------

    def _run_with(self, name: str, table: pa.Table | pa.RecordBatch, sql: str) -> None:
        self._con.register(name, table)
        try:
            self._con.execute(sql)
        finally:
            self._con.unregister(name)
        self._check_spill()

    def _intern(self, table: str, names: pa.Array, next_id: int,
                extra: pa.Array | None = None) -> np.ndarray:
        """Ids of distinct ``names`` in a dictionary table, adding the new ones."""
        n = len(names)
        if n == 0:
            return np.zeros(0, dtype=np.int32)
        cols = {"pos": pa.array(np.arange(n, dtype=np.int64)), "name": names}
        if extra is not None:
            cols["extra"] = extra
        incoming = pa.table(cols)
        con = self._con
        extra_sql = ", extra" if extra is not None else ""
        # The first names of an empty table (a build's first cc-graph input) are
        # distinct, so their ids are their positions: no lookup of what is there.
        # That spares two hash tables over millions of names (measured: 0.8 GB of
        # resident memory at 8M vertices, most of it kept by DuckDB's allocator).
        first = next_id == 0
        con.register("incoming_names", incoming)
        try:
            if first:
                con.execute(f"INSERT INTO {table} SELECT name, pos::INTEGER{extra_sql} "
                            "FROM incoming_names")
            else:
                con.execute(
                    f"INSERT INTO {table} SELECT name, {next_id} + (row_number() OVER () - 1)"
                    f"::INTEGER{extra_sql} FROM incoming_names "
                    f"WHERE name NOT IN (SELECT name FROM {table})")
            self._check_ids(n if first else self._dict_size(table), table)
            found = None if first else con.sql(
                f"SELECT i.pos, t.id FROM incoming_names i JOIN {table} t USING (name)"
            ).fetchnumpy()
        finally:
            con.unregister("incoming_names")
        if found is None:
            return np.arange(n, dtype=np.int32)
        ids = np.empty(n, dtype=np.int32)
        ids[found["pos"]] = found["id"]
        return ids

    def _dict_size(self, table: str) -> int:
        return _scalar(self._con, f"SELECT count(*) FROM {table}")

    @staticmethod
    def _check_ids(count: int, what: str) -> None:
        if count >= _ID_LIMIT:
            raise BuildFailed(f"more than {_ID_LIMIT:,} {what}: too many for one index")

    def _check_spill(self) -> None:
        self.peak_spill = max(self.peak_spill, spill_bytes(self.spill_dir))

    def close(self) -> None:
        """Close the DuckDB connection (its temp files go with it); closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._watcher.join()
        self._check_spill()
        self.budget.attach(None)
        self.budget.release("final ids")
        self._con.close()


class _EdgeCombiner:
    """Sorted rows (dst, src[, dh, sh[, links, dofollow_links, first, last]]) → one row per edge.

    Rows with the same (dst, src, dh, sh) and a host pair (dh ≥ 0) are one
    link given twice and count once; the links of the other rows of an edge
    add up. The last edge of a batch may go on in the next one, so it is
    held back (as running totals) until then.
    """

    def __init__(self) -> None:
        self.key: tuple[int, int, int, int] | None = None  # last row seen
        self.carry: list[int] | None = None  # dst, src, links, dofollow, first, last

    def add(self, batch: pa.RecordBatch) -> EdgeChunk | None:
        k = batch.num_rows
        if k == 0:
            return None
        cols = [batch.column(i).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
                for i in range(batch.num_columns)]
        dst, src = cols[0], cols[1]
        if len(cols) >= 4:
            dh, sh = cols[2], cols[3]
        else:
            dh = sh = np.zeros(k, dtype=np.int64)
        if len(cols) == 8:
            links, dfl, first, last = cols[4], cols[5], cols[6].copy(), cols[7]
        else:
            links = dfl = np.ones(k, dtype=np.int64)
            first = np.full(k, -1, dtype=np.int64)
            last = first
        same = np.empty(k, dtype=bool)
        same[1:] = (dst[1:] == dst[:-1]) & (src[1:] == src[:-1]) & (dh[1:] == dh[:-1]) & (
            sh[1:] == sh[:-1])
        same[0] = self.key == (int(dst[0]), int(src[0]), int(dh[0]), int(sh[0]))
        self.key = (int(dst[-1]), int(src[-1]), int(dh[-1]), int(sh[-1]))
        dup = same & (dh >= 0)
        if dup.any():
            keep = ~dup
            dst, src, links, dfl, first, last = (a[keep] for a in (dst, src, links, dfl, first,
                                                                   last))
            if len(dst) == 0:
                return None
        first = np.where(first < 0, _NO_FIRST, first)
        k = len(dst)
        starts_mask = np.empty(k, dtype=bool)
        starts_mask[1:] = (dst[1:] != dst[:-1]) | (src[1:] != src[:-1])
        starts_mask[0] = True
        if starts_mask.all():  # one row per edge already (a web graph): nothing to reduce
            g_dst, g_src, g_links, g_dfl, g_first, g_last = dst, src, links, dfl, first, last
        else:
            starts = np.flatnonzero(starts_mask)
            g_dst, g_src = dst[starts], src[starts]
            g_links = np.add.reduceat(links, starts)
            g_dfl = np.add.reduceat(dfl, starts)
            g_first = np.minimum.reduceat(first, starts)
            g_last = np.maximum.reduceat(last, starts)
        c = self.carry
        if c is not None and c[0] == g_dst[0] and c[1] == g_src[0]:
            g_links, g_dfl, g_first, g_last = (a.copy() for a in (g_links, g_dfl, g_first,
                                                                   g_last))
            g_links[0] += c[2]
            g_dfl[0] += c[3]
            g_first[0] = min(g_first[0], c[4])
            g_last[0] = max(g_last[0], c[5])
            c = None
        out = None
        if c is not None:
            out = [np.concatenate(([v], arr[:-1])) for v, arr in
                   zip(c, (g_dst, g_src, g_links, g_dfl, g_first, g_last), strict=True)]
        elif len(g_dst) > 1:
            out = [arr[:-1] for arr in (g_dst, g_src, g_links, g_dfl, g_first, g_last)]
        self.carry = [int(arr[-1]) for arr in (g_dst, g_src, g_links, g_dfl, g_first, g_last)]
        return _chunk(out) if out is not None else None

    def finish(self) -> EdgeChunk | None:
        if self.carry is None:
            return None
        out = [np.array([v], dtype=np.int64) for v in self.carry]
        self.carry = None
        return _chunk(out)


def _chunk(cols: list[np.ndarray]) -> EdgeChunk:
    first = cols[4]
    first = np.where(first == _NO_FIRST, -1, first)
    return EdgeChunk(cols[0], cols[1], cols[2], cols[3], first, cols[5])


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _sql_str(text: str) -> str:
    return text.replace("'", "''")
