"""The Spark job: inputs → link occurrences → domain edges → a staging folder.

The shape is cc-pyspark's: the job's input is the list of planned inputs,
one per partition, so each task opens its own files and iterates their
records with linkgap's readers (``linkgap.spark.extract``); the skip counters
come back through an accumulator. Then Spark SQL does what
``linkgap.index.aggregate`` does in DuckDB, with the same rules (SPEC 2):

1. ``pairs``: occurrences grouped by the 128-bit MD5 of (length-prefixed)
   source URL + target URL — one link per distinct pair, dofollow if any
   occurrence is, first/last ``seen`` of its occurrences;
2. ``edges``: pairs grouped by (source domain, target domain) — links,
   dofollow links, first/last seen (-1 unknown);
3. domain ids: the distinct names sorted byte-wise, numbered 0..n-1 without
   a single-partition step (a range-partitioned sort, counts per part file,
   offsets);
4. edges with ids, sorted by (dst, src), written as ordered part files;
5. with ``evidence`` N > 0, the pairs keep their URLs and anchor, and the
   first N of each domain edge in the order of ``linkgap.index.evidence``
   (the same SQL text as the embedded engine's) are written with ids, sorted
   by (dst, src, sample), as ``samples/``.

Web graphs (cc-graph pairs) skip the occurrences: their tasks write integer
edges and the names of the domains (and hosts) those use
(``linkgap.spark.extract.GRAPH_SCHEMA``); the names are numbered with the
others, the pair's numbers are mapped to ids by broadcast joins, and each
distinct host pair counts once per domain edge (:func:`_graph_edges`). Their
domain edges join the page formats' ones by id.

Every step that is read twice is written to Parquet first (``_work/`` in the
staging folder), so no stage runs twice and the extraction runs in the tasks
of exactly one action: the accumulator's counts are exact. ``_work/`` goes
before the marker is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark.accumulators import AccumulatorParam
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from linkgap.errors import BuildFailed
from linkgap.index.aggregate import AggregateCounts
from linkgap.index.evidence import ANCHOR_KEY, SAMPLE_ORDER
from linkgap.index.staging import LAYOUT, MARKER, marker_document
from linkgap.ingest.base import InputStats
from linkgap.spark.extract import (
    GRAPH_DOMAIN,
    GRAPH_EDGE,
    GRAPH_HOST,
    GRAPH_SCHEMA,
    OCCURRENCE_SCHEMA,
    WorkItem,
    run_item,
    write_graph_item,
)

__all__ = ["StagingResult", "run_staging_job"]

_OCCURRENCE_DDL = ("source_url string, target_url string, source_domain string, "
                   "target_domain string, dofollow boolean, seen bigint, anchor string")
_ITEM_DDL = ("idx int, format string, paths array<string>, label string, "
             "link_target string")
_GRAPH_DDL = "item int, kind tinyint, sh int, dh int, sd int, dd int, name string"
# A name → id map of at most this many rows is broadcast to the joins of the graph
# edges (one hash lookup per edge, no shuffle of the edges); a larger one (a whole
# web graph on a cluster) is joined the way Spark chooses. The driver collects and
# hashes a broadcast map: at most one row per _HEAP_BYTES_PER_ROW of its heap (8M
# rows ran in a 2 GB heap, with the JVM at 2.6 GB resident).
_BROADCAST_ROWS = 20_000_000
_HEAP_BYTES_PER_ROW = 200
_EDGES_PER_PART = 4_000_000

_PAIRS_SQL = """
SELECT any_value(source_domain) AS source_domain, any_value(target_domain) AS target_domain,
       bool_or(dofollow) AS dofollow, min(seen) AS first_seen, max(seen) AS last_seen
FROM occurrences
GROUP BY unhex(md5(concat(CAST(length(source_url) AS STRING), ':', source_url, target_url)))
"""

_PAIR_KEY = "unhex(md5(concat(CAST(length(source_url) AS STRING), ':', source_url, target_url)))"

# Evidence builds: the distinct links with their text, materialised once (read
# by the edges and by the samples). A pair's URLs are those of any occurrence
# (the same in each); its anchor is picked as linkgap.index.evidence says.
_PAIRS_WITH_TEXT_SQL = f"""
SELECT any_value(source_domain) AS source_domain, any_value(target_domain) AS target_domain,
       bool_or(dofollow) AS dofollow, min(seen) AS first_seen, max(seen) AS last_seen,
       any_value(source_url) AS source_url, any_value(target_url) AS target_url,
       min_by(anchor, struct({ANCHOR_KEY})) FILTER (WHERE anchor IS NOT NULL) AS anchor
FROM occurrences
GROUP BY {_PAIR_KEY}
"""

_EDGES_FROM_PAIRS_SQL = """
SELECT source_domain, target_domain,
       CAST(count(*) AS BIGINT) AS links,
       CAST(count_if(dofollow) AS BIGINT) AS dofollow_links,
       CAST(coalesce(min(first_seen), -1) AS BIGINT) AS first_seen,
       CAST(coalesce(max(last_seen), -1) AS BIGINT) AS last_seen
FROM pairs
GROUP BY source_domain, target_domain
"""

# Web-graph edges (cc-graph rows, "ccgraph:" URLs) are links without pages: no samples.
_SAMPLES_SQL = f"""
SELECT t.id AS dst, s.id AS src, CAST(r.sample AS BIGINT) AS sample, r.source_url,
       r.target_url, r.anchor, r.dofollow, r.first_seen, r.last_seen
FROM (
    SELECT *, row_number() OVER (PARTITION BY source_domain, target_domain
                                 ORDER BY {SAMPLE_ORDER}) - 1 AS sample
    FROM pairs
    WHERE source_url NOT LIKE 'ccgraph:%'
) r
JOIN names s ON r.source_domain = s.name
JOIN names t ON r.target_domain = t.name
WHERE r.sample < {{n}}
"""

_EDGES_BY_NAME_SQL = f"""
SELECT source_domain, target_domain,
       CAST(count(*) AS BIGINT) AS links,
       CAST(count_if(dofollow) AS BIGINT) AS dofollow_links,
       CAST(coalesce(min(first_seen), -1) AS BIGINT) AS first_seen,
       CAST(coalesce(max(last_seen), -1) AS BIGINT) AS last_seen
FROM ({_PAIRS_SQL}) AS pairs
GROUP BY source_domain, target_domain
"""

_EDGES_SQL = """
SELECT t.id AS dst, s.id AS src, e.links, e.dofollow_links, e.first_seen, e.last_seen
FROM edges_by_name e
JOIN names s ON e.source_domain = s.name
JOIN names t ON e.target_domain = t.name
"""


class _StatsParam(AccumulatorParam):
    """Accumulates ``{item index: {"stats": …, "error": …}}`` reports from the tasks."""

    def zero(self, value: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        return {}

    def addInPlace(self, acc: dict[int, dict[str, Any]],  # noqa: N802 - pyspark's name
                   more: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        for index, report in more.items():
            if index in acc:  # the same input reported twice: add the counters
                _add_stats(acc[index]["stats"], report["stats"])
                acc[index]["occurrences"] += report["occurrences"]
                acc[index]["error"] = acc[index]["error"] or report["error"]
            else:
                acc[index] = report
        return acc


def _add_stats(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key in ("records", "pages", "links_seen", "links_counted"):
        into[key] = into.get(key, 0) + more.get(key, 0)
    skipped = dict(into.get("skipped", {}))
    for reason, n in more.get("skipped", {}).items():
        skipped[reason] = skipped.get(reason, 0) + n
    into["skipped"] = dict(sorted(skipped.items()))


class HadoopFolder:
    """A folder on any filesystem the Spark driver's Hadoop configuration reaches."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self._jvm = jvm
        self.uri = uri.rstrip("/")
        self._path = jvm.org.apache.hadoop.fs.Path(self.uri)
        conf = spark.sparkContext._jsc.hadoopConfiguration()
        self._fs = self._path.getFileSystem(conf)

    def child(self, name: str) -> str:
        """The URI of an entry of this folder."""
        return f"{self.uri}/{name}"

    def exists(self) -> bool:
        """True when the folder exists."""
        return bool(self._fs.exists(self._path))

    def delete(self, name: str | None = None) -> None:
        """Remove the folder (or one entry of it), recursively."""
        path = self._path if name is None else self._jvm.org.apache.hadoop.fs.Path(self.child(name))
        self._fs.delete(path, True)

    def parts(self, name: str) -> list[str]:
        """The ``part-*`` files of a Spark output folder, relative to this one, in part order."""
        entries = self._fs.listStatus(self._jvm.org.apache.hadoop.fs.Path(self.child(name)))
        files = sorted(str(e.getPath().getName()) for e in entries)
        return [f"{name}/{f}" for f in files if f.startswith("part-")]

    def write_text(self, name: str, text: str) -> None:
        """Write a small text file into the folder (replacing one of that name)."""
        tmp = self._jvm.org.apache.hadoop.fs.Path(self.child(f".{name}.tmp"))
        out = self._fs.create(tmp, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        final = self._jvm.org.apache.hadoop.fs.Path(self.child(name))
        self._fs.delete(final, False)
        if not self._fs.rename(tmp, final):
            raise BuildFailed(f"cannot write {self.child(name)}")

    def copy_to_local(self, local: str) -> None:
        """Copy the whole folder to a local path."""
        self._fs.copyToLocalFile(False, self._path, self._jvm.org.apache.hadoop.fs.Path(local),
                                 True)


@dataclass
class StagingResult:
    """What the job wrote: totals and per-input counts (also in the marker)."""

    totals: AggregateCounts
    inputs: list[InputStats]
    marker: dict[str, Any]


def _items_frame(spark: SparkSession, items: Sequence[WorkItem]) -> DataFrame:
    """The work items as a DataFrame of one row (and one task) per item.

    Every field goes with the item, ``link_target`` (index build --target)
    included: a source-only export names no target of its own.
    """
    rows = [(i.index, i.format, list(i.paths), i.label, i.link_target) for i in items]
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, len(rows)), _ITEM_DDL)


def _work_items(batches: Iterator[pa.RecordBatch]) -> Iterator[WorkItem]:
    """The rows of ``_items_frame`` back as work items, inside a task."""
    for batch in batches:
        for row in batch.to_pylist():
            yield WorkItem(int(row["idx"]), str(row["format"]), tuple(row["paths"]),
                           str(row["label"]), row["link_target"])


def _extract_partition(icann_only: bool, report: Any) -> Any:
    """The mapInArrow function: every work item of the partition through run_item."""
    def extract(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for item in _work_items(batches):
            yield from run_item(item, icann_only, report.add)
    return extract


def _extract(spark: SparkSession, items: Sequence[WorkItem], icann_only: bool,
             out_uri: str, reports: Any) -> None:
    """Job 1: one task per page input (warc, wat, links-csv) writes its occurrences."""
    occurrences = _items_frame(spark, items).mapInArrow(
        _extract_partition(icann_only, reports), _OCCURRENCE_DDL)
    occurrences.write.mode("overwrite").parquet(out_uri)


def _extract_graphs(spark: SparkSession, items: Sequence[WorkItem], icann_only: bool,
                    out_uri: str, reports: Any) -> None:
    """Job 1b: one task per cc-graph pair writes its integer edges and name rows.

    The tasks write their Parquet files themselves (``write_graph_item``);
    the job's rows are just the file names.
    """
    with_hosts = len(items) > 1
    items_df = _items_frame(spark, items)

    def extract(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for item in _work_items(batches):
            name = write_graph_item(item, icann_only, reports.add, with_hosts, out_uri)
            yield pa.record_batch([pa.array([name])], names=["file"])

    items_df.mapInArrow(extract, "file string").collect()


def _numbered(spark: SparkSession, named: DataFrame, work: HadoopFolder, name: str,
              partitions: int) -> tuple[DataFrame, int]:
    """Number the distinct ``name`` values of ``named`` (name, k) in byte order: 0..n-1.

    Gives ``id, name, k, first`` (every row of ``named`` with the id of its
    name; ``first`` on one row per name) and the number of names, without a
    single-partition step: a range-partitioned sort, a rank within each part
    file (written to ``_work/<name>``), the names per part from the ranks,
    offsets.
    """
    sorted_uri = work.child(f"{name}-sorted")
    (named.repartitionByRange(partitions, "name").sortWithinPartitions("name")
     .write.mode("overwrite").parquet(sorted_uri))
    ranged = spark.read.parquet(sorted_uri).withColumn("part", F.col("_metadata.file_name"))
    within = Window.partitionBy("part").orderBy("name")
    previous = F.lag("name").over(within)
    ranked_uri = work.child(name)
    (ranged.select("part", F.dense_rank().over(within).alias("rank"), "name", "k",
                   (previous.isNull() | (previous != F.col("name"))).alias("first"))
     .write.mode("overwrite").parquet(ranked_uri))
    ranked = spark.read.parquet(ranked_uri)
    counts = sorted((str(r["part"]), int(r["n"])) for r in
                    ranked.groupBy("part").agg(F.max("rank").alias("n")).collect())
    offsets, start = [], 0
    for part, n in counts:
        offsets.append((part, start))
        start += n
    offsets_df = spark.createDataFrame(offsets or [("", 0)], "part string, start bigint")
    numbered = (ranked.join(F.broadcast(offsets_df), "part")
                .select((F.col("start") + F.col("rank") - 1).alias("id"), "name", "k", "first"))
    return numbered, start


def _key(item: str, local: str) -> Any:
    """A (pair, pair's own number) as one bigint: the join key of the name maps."""
    return F.shiftleft(F.col(item).cast("bigint"), 32).bitwiseOR(F.col(local).cast("bigint"))


def _id_map(numbered: DataFrame) -> DataFrame:
    """``k → id`` of the numbered rows that came from a pair, for joins."""
    return numbered.where(F.col("k").isNotNull()).select("k", "id")


def _broadcast_limit(spark: SparkSession) -> int:
    """The most rows of a name map that are broadcast, from the driver JVM's heap."""
    jvm = spark.sparkContext._jvm
    try:
        heap = int(jvm.java.lang.Runtime.getRuntime().maxMemory())  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - no JVM view (a remote client): Spark's default 1 GB
        heap = 1 << 30
    return min(_BROADCAST_ROWS, heap // _HEAP_BYTES_PER_ROW)


def _join_map(edges: DataFrame, id_map: DataFrame, key: Any, rows: int,
              as_name: str) -> DataFrame:
    """``edges`` with the id ``id_map`` gives ``key``, as column ``as_name``.

    The map side is the same plan in every join of one map (its columns are
    renamed after the join), so Spark broadcasts it once for the source and
    target lookups alike.
    """
    side = id_map.alias(f"m_{as_name}")
    side = F.broadcast(side) if rows <= _broadcast_limit(edges.sparkSession) else side
    joined = edges.join(side, key == F.col(f"m_{as_name}.k"))
    return joined.select(*[F.col(c) for c in edges.columns],
                         F.col(f"m_{as_name}.id").alias(as_name))


def _graph_edges(spark: SparkSession, graph_uri: str, domain_ids: DataFrame, domain_rows: int,
                 work: HadoopFolder, partitions: int, *, pairs: int,
                 one_host_per_domain: bool) -> DataFrame:
    """Domain edges of the graph rows in final ids: dst, src, links (distinct host pairs).

    The edges are range-partitioned by target once; the de-duplication of host
    pairs and the count per domain edge then run inside the partitions (no
    second shuffle), and each partition holds whole targets, so the parts in
    order, sorted within, are sorted by (dst, src) as the staging layout asks.
    With one pair its own numbers do: its domain numbers are in name order,
    so the final ids of the same domains are in the same order; they are
    de-duplicated and counted before any join (and by domain pair alone
    when no two of its hosts share a domain), then mapped to the final ids.
    """
    graph = spark.read.schema(_GRAPH_DDL).parquet(graph_uri)
    edges = graph.where(F.col("kind") == GRAPH_EDGE)
    domains = _id_map(domain_ids)
    if pairs == 1:
        keys = ["item", "dd", "sd"] if one_host_per_domain else ["item", "dd", "sd", "sh", "dh"]
        ranged = edges.select(*keys).repartitionByRange(partitions, "dd").distinct()
        if one_host_per_domain:
            counted = ranged.withColumn("links", F.lit(1).cast("bigint"))
        else:
            counted = ranged.groupBy("item", "dd", "sd").agg(F.count(F.lit(1)).alias("links"))
        counted = _join_map(counted, domains,
                            _key("item", "sd"), domain_rows, "src")
        counted = _join_map(counted, domains,
                            _key("item", "dd"), domain_rows, "dst")
        return counted.select("dst", "src", "links")
    edges = _join_map(edges, domains, _key("item", "sd"),
                      domain_rows, "src")
    edges = _join_map(edges, domains, _key("item", "dd"),
                      domain_rows, "dst")
    # Pairs number their hosts apart: a host pair two of them give is one link.
    hosts = graph.where(F.col("kind") == GRAPH_HOST).select(
        F.col("name"), _key("item", "sh").alias("k"))
    host_ids, _ = _numbered(spark, hosts, work, "hosts", partitions)
    host_rows = graph.where(F.col("kind") == GRAPH_HOST).count()
    host_map = _id_map(host_ids)
    edges = _join_map(edges, host_map,
                      _key("item", "sh"), host_rows, "s_host")
    edges = _join_map(edges, host_map,
                      _key("item", "dh"), host_rows, "d_host")
    return (edges.select("dst", "src", "s_host", "d_host")
            .repartitionByRange(partitions, "dst")
            .distinct()
            .groupBy("dst", "src").agg(F.count(F.lit(1)).alias("links")))


def run_staging_job(
    spark: SparkSession, items: Sequence[WorkItem], out_uri: str, *, icann_only: bool,
    psl: dict[str, str], partitions: int, progress: Any = None, evidence: int = 0,
) -> StagingResult:
    """Run the whole job into ``out_uri`` (a staging folder; ``linkgap.index.staging``).

    ``evidence`` is the sample links kept per domain edge (``--evidence``).

    Raises BuildFailed when an input cannot be read, or when no valid link
    remains (nothing is then left at ``out_uri`` but what was there before).
    """
    from linkgap.index.build import _no_links_message
    from linkgap.index.staging import stats_from_dict

    def stage(name: str) -> None:
        if progress is not None:
            progress(f"spark: {name}", 0, None)

    out = HadoopFolder(spark, out_uri)
    work = HadoopFolder(spark, out.child("_work"))
    page_items = [i for i in items if i.format != "cc-graph"]
    graph_items = [i for i in items if i.format == "cc-graph"]
    try:
        stage(f"reading {len(items)} inputs")
        reports: dict[int, dict[str, Any]] = {}
        accumulator = spark.sparkContext.accumulator({}, _StatsParam())
        if page_items:
            _extract(spark, page_items, icann_only, work.child("occurrences"), accumulator)
        if graph_items:
            _extract_graphs(spark, graph_items, icann_only, work.child("graph"), accumulator)
        reports = accumulator.value
        inputs = []
        page_rows = graph_rows = 0
        for item in items:
            report = reports.get(item.index)
            if report is None:
                raise BuildFailed(f"the Spark job returned no counts for {item.label}")
            if report["error"]:
                raise BuildFailed(str(report["error"]))
            inputs.append(stats_from_dict(report["stats"]))
            if item.format == "cc-graph":
                graph_rows += int(report["occurrences"])
            else:
                page_rows += int(report["occurrences"])
        n_occurrences = page_rows + graph_rows
        if n_occurrences == 0:
            raise BuildFailed(_no_links_message(inputs))

        named: list[DataFrame] = []
        if page_rows:
            stage("links and domain edges")
            occurrences = spark.read.schema(_OCCURRENCE_DDL).parquet(work.child("occurrences"))
            occurrences.createOrReplaceTempView("occurrences")
            if evidence:
                (spark.sql(_PAIRS_WITH_TEXT_SQL).write.mode("overwrite")
                 .parquet(work.child("pairs")))
                spark.read.parquet(work.child("pairs")).createOrReplaceTempView("pairs")
                edges_sql = _EDGES_FROM_PAIRS_SQL
            else:
                edges_sql = _EDGES_BY_NAME_SQL
            spark.sql(edges_sql).write.mode("overwrite").parquet(work.child("edges-by-name"))
            edges_by_name = spark.read.parquet(work.child("edges-by-name"))
            edges_by_name.createOrReplaceTempView("edges_by_name")
            named.append(edges_by_name.select(F.col("source_domain").alias("name"))
                         .union(edges_by_name.select(F.col("target_domain").alias("name")))
                         .distinct().select("name", F.lit(None).cast("bigint").alias("k")))
        graph = None
        domain_rows = 0
        if graph_rows:
            graph = spark.read.schema(_GRAPH_DDL).parquet(work.child("graph"))
            domain_rows = sum(int(reports[i.index]["domain_rows"]) for i in graph_items)
            named.append(graph.where(F.col("kind") == GRAPH_DOMAIN)
                         .select("name", _key("item", "sd").alias("k")))

        stage("numbering the domains")
        names_uri = out.child("names")
        frame = named[0] if len(named) == 1 else named[0].unionByName(named[1])
        numbered, domains = _numbered(spark, frame, work, "names-numbered", partitions)
        (numbered.where("first").select("id", "name")
         .repartitionByRange(partitions, "id").sortWithinPartitions("id")
         .write.mode("overwrite").parquet(names_uri))
        spark.read.parquet(names_uri).createOrReplaceTempView("names")

        stage("sorting the edges")
        edges_uri = out.child("edges")
        parts: list[DataFrame] = []
        if page_rows:
            parts.append(spark.sql(_EDGES_SQL))
        if graph is not None:
            # Parts of a few million edges: each partition's de-duplication stays small.
            graph_parts = max(partitions, graph_rows // _EDGES_PER_PART + 1)
            one_host = all(reports[i.index].get("one_host_per_domain") for i in graph_items)
            web = _graph_edges(spark, work.child("graph"), numbered, domain_rows, work,
                               graph_parts, pairs=len(graph_items),
                               one_host_per_domain=one_host)
            parts.append(web.select("dst", "src", "links", F.col("links").alias("dofollow_links"),
                                    F.lit(-1).cast("bigint").alias("first_seen"),
                                    F.lit(-1).cast("bigint").alias("last_seen")))
        if len(parts) == 1 and not page_rows:
            # web graphs alone: whole targets per range part already, sorted within
            parts[0].sortWithinPartitions("dst", "src").write.mode("overwrite").parquet(edges_uri)
        elif len(parts) == 1:
            parts[0].orderBy("dst", "src").write.mode("overwrite").parquet(edges_uri)
        else:
            # The same domain edge from pages and from a web graph: links add up, a first
            # seen below 0 is none (as the embedded engine's combiner takes it).
            known_first = F.when(F.col("first_seen") >= 0, F.col("first_seen"))
            (parts[0].unionByName(parts[1]).groupBy("dst", "src")
             .agg(F.sum("links").cast("bigint").alias("links"),
                  F.sum("dofollow_links").cast("bigint").alias("dofollow_links"),
                  F.coalesce(F.min(known_first), F.lit(-1)).cast("bigint").alias("first_seen"),
                  F.max("last_seen").cast("bigint").alias("last_seen"))
             .orderBy("dst", "src").write.mode("overwrite").parquet(edges_uri))

        sample_parts: list[str] = []
        if evidence and page_rows:
            stage("choosing the sample links")
            (spark.sql(_SAMPLES_SQL.replace("{n}", str(int(evidence))))
             .orderBy("dst", "src", "sample").write.mode("overwrite")
             .parquet(out.child("samples")))
            sample_parts = out.parts("samples")

        stage("counting")
        row = spark.read.parquet(edges_uri).agg(
            F.count(F.lit(1)).alias("edges"), F.sum("links").alias("links"),
            F.sum("dofollow_links").alias("dofollow_links")).collect()[0]
        totals = AggregateCounts(int(n_occurrences), int(row["links"] or 0),
                                 int(row["dofollow_links"] or 0), int(row["edges"]),
                                 int(domains))
        work.delete()
        document = marker_document(psl=psl, totals=totals, inputs=inputs,
                                   names=out.parts("names"), edges=out.parts("edges"),
                                   samples=sample_parts, evidence=int(evidence))
        assert document["layout"] == LAYOUT
        out.write_text(MARKER, json.dumps(document, indent=2) + "\n")
    except BaseException:
        work.delete()
        raise
    return StagingResult(totals, inputs, document)


# The occurrence columns must match the DDL the job declares.
assert tuple(OCCURRENCE_SCHEMA.names) == tuple(
    part.split()[0] for part in _OCCURRENCE_DDL.split(", "))
assert tuple(GRAPH_SCHEMA.names) == tuple(part.split()[0] for part in _GRAPH_DDL.split(", "))
