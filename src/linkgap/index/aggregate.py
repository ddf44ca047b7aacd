"""Link occurrences → distinct page links → domain edges, in DuckDB.

The aggregation is plain SQL over a few tables so that the same step can run
on Spark for a cluster build:

``links``    one row per link occurrence as the readers yield it: the pair key
             (see below), source_domain, target_domain, dofollow, seen;
``domains``  every domain of a link, sorted by canonical name; id = position;
``link_ids`` ``links`` with domain ids instead of names;
``pairs``    one row per distinct (source_url, target_url): dofollow if any
             occurrence is, first and last ``seen`` (a subquery, not stored);
``edges``    one row per (source id, target id): links, dofollow links, first
             and last ``seen``, read out sorted by (target, source).

A link is identified by the 128-bit MD5 of its two normalised URLs
(``md5_number(length(source_url) || ':' || source_url || target_url)``; the
length prefix keeps the split between the URLs unambiguous). Grouping on a
16-byte key instead of two URL strings keeps the aggregation small and fast;
two different pairs would have to collide in 128 bits to merge, which at ten
billion pairs has a probability near 1e-19.

DuckDB works in memory up to ``memory_limit`` (default: 40% of physical
memory) and spills to a temp directory inside the build's folder beyond it,
so memory stays bounded whatever the input size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from linkgap.errors import InvalidInput

__all__ = ["LinkAggregator", "AggregateCounts"]

#: Rows gathered in Python before one INSERT (bounded memory, few round trips).
_FLUSH_ROWS = 500_000

_CREATE_LINKS = """
CREATE TABLE links (
    pair UHUGEINT NOT NULL,
    source_domain VARCHAR NOT NULL,
    target_domain VARCHAR NOT NULL,
    dofollow BOOLEAN NOT NULL,
    seen BIGINT
)
"""

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

# Canonical names compare byte-wise (DuckDB's default binary collation): the
# order the reader's binary search relies on. Id = position in that order.
_DOMAINS = """
CREATE TABLE domains AS
SELECT (row_number() OVER (ORDER BY name) - 1)::BIGINT AS id, name
FROM (SELECT DISTINCT source_domain AS name FROM links
      UNION SELECT DISTINCT target_domain FROM links)
"""

# Domain names become ids before the big aggregations, so those group on
# fixed-width keys (a 16-byte pair key, then two integer ids), not strings.
_LINK_IDS = """
CREATE TABLE link_ids AS
SELECT l.pair, s.id AS src, t.id AS dst, l.dofollow, l.seen
FROM links l
JOIN domains s ON l.source_domain = s.name
JOIN domains t ON l.target_domain = t.name
"""

_PAIRS = """
SELECT any_value(src) AS src, any_value(dst) AS dst, bool_or(dofollow) AS dofollow,
       min(seen) AS first_seen, max(seen) AS last_seen
FROM link_ids
GROUP BY pair
"""

_EDGES = f"""
CREATE TABLE edges AS
SELECT dst, src,
       count(*)::BIGINT AS links,
       count_if(dofollow)::BIGINT AS dofollow_links,
       coalesce(min(first_seen), -1)::BIGINT AS first_seen,
       coalesce(max(last_seen), -1)::BIGINT AS last_seen
FROM ({_PAIRS}) AS pairs
GROUP BY dst, src
"""

_SORTED_EDGES = "SELECT * FROM edges ORDER BY dst, src"


def default_memory_limit() -> str:
    """DuckDB's memory budget for a build: 40% of physical memory (the rest spills to disk)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return "2GB"
    return f"{max(256, int(total * 0.4) >> 20)}MB"


class AggregateCounts:
    """Totals of an aggregation: occurrences read, distinct links, edges, domains."""

    def __init__(self, occurrences: int, links: int, dofollow_links: int, edges: int,
                 domains: int) -> None:
        self.occurrences = occurrences
        self.links = links
        self.dofollow_links = dofollow_links
        self.edges = edges
        self.domains = domains


def _prepare(batch: pa.RecordBatch | pa.Table) -> pa.Table:
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
    return pa.table({**columns, "dofollow": table.column("dofollow").cast(pa.bool_()),
                     "seen": seen})


_STRING_COLUMNS = ("source_url", "target_url", "source_domain", "target_domain")


def _plain_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type == pa.string():
        return column
    return column.cast(pa.string())


class LinkAggregator:
    """Collects link batches and turns them into sorted domains and domain edges."""

    def __init__(self, workdir: Path, *, memory_limit: str | None = None,
                 threads: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        spill = workdir / "spill"
        spill.mkdir(exist_ok=True)
        # An in-memory database: no checkpoint on close; tables larger than
        # memory_limit are offloaded to the temp directory inside the build folder.
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET temp_directory = '{_sql_str(str(spill))}'")
        self._con.execute("SET preserve_insertion_order = false")
        limit = memory_limit or default_memory_limit()
        try:
            self._con.execute(f"SET memory_limit = '{_sql_str(limit)}'")
        except duckdb.Error:
            self._con.close()
            raise InvalidInput(
                f"memory limit {limit!r} is not a size such as 512MB or 4GB",
                param="memory_limit",
            ) from None
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute(_CREATE_LINKS)
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.occurrences = 0
        self._finished = False

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append one LINK_SCHEMA batch (string or dictionary-encoded string columns)."""
        if batch.num_rows == 0:
            return
        self._pending.append(_prepare(batch))
        self._pending_rows += batch.num_rows
        if self._pending_rows >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        incoming = pa.concat_tables(self._pending, promote_options="permissive")
        self._pending = []
        self._pending_rows = 0
        self._con.register("incoming", incoming)
        try:
            self._con.execute(_INSERT_LINKS)
        finally:
            self._con.unregister("incoming")
        self.occurrences += incoming.num_rows

    def finish(self) -> AggregateCounts:
        """Run the pair, edge and domain aggregations; returns the totals."""
        self._flush()
        con = self._con
        con.execute(_DOMAINS)
        con.execute(_LINK_IDS)
        con.execute("DROP TABLE links")
        con.execute(_EDGES)
        con.execute("DROP TABLE link_ids")
        row = con.execute("SELECT sum(links), sum(dofollow_links) FROM edges").fetchall()[0]
        links, dofollow_links = int(row[0] or 0), int(row[1] or 0)
        edges = _scalar(con, "SELECT count(*) FROM edges")
        domains = _scalar(con, "SELECT count(*) FROM domains")
        self._finished = True
        return AggregateCounts(self.occurrences, links, dofollow_links, edges, domains)

    def iter_names(self, rows: int = 1_000_000) -> Iterator[pa.Array]:
        """Domain names in id order, as Arrow string arrays of up to ``rows`` names."""
        reader = self._con.sql("SELECT name FROM domains ORDER BY id").to_arrow_reader(rows)
        for batch in reader:
            yield batch.column(0)

    def iter_edges(self, rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
        """Edges by (target id, source id): dst, src, links, dofollow_links, first/last seen."""
        reader = self._con.sql(_SORTED_EDGES).to_arrow_reader(rows)
        yield from reader

    def close(self) -> None:
        """Close the DuckDB connection (the work files are removed with the build folder)."""
        self._con.close()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _sql_str(text: str) -> str:
    return text.replace("'", "''")
