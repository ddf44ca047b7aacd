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
from linkgap.spark.extract import OCCURRENCE_SCHEMA, WorkItem, run_item

__all__ = ["StagingResult", "run_staging_job"]

_OCCURRENCE_DDL = ("source_url string, target_url string, source_domain string, "
                   "target_domain string, dofollow boolean, seen bigint, anchor string")
_ITEM_DDL = "idx int, format string, paths array<string>, label string"

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


def _extract_partition(icann_only: bool, report: Any) -> Any:
    """The mapInArrow function: every work item of the partition through run_item."""
    def extract(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                item = WorkItem(int(row["idx"]), str(row["format"]), tuple(row["paths"]),
                                str(row["label"]))
                yield from run_item(item, icann_only, report.add)
    return extract


def _extract(spark: SparkSession, items: Sequence[WorkItem], icann_only: bool,
             out_uri: str) -> dict[int, dict[str, Any]]:
    """Job 1: one task per input writes its occurrences; returns the reports by input."""
    sc = spark.sparkContext
    reports = sc.accumulator({}, _StatsParam())
    rows = [(i.index, i.format, list(i.paths), i.label) for i in items]
    items_df = spark.createDataFrame(sc.parallelize(rows, len(rows)), _ITEM_DDL)
    occurrences = items_df.mapInArrow(_extract_partition(icann_only, reports), _OCCURRENCE_DDL)
    occurrences.write.mode("overwrite").parquet(out_uri)
    value: dict[int, dict[str, Any]] = reports.value
    return value


def _numbered_names(spark: SparkSession, edges_by_name: DataFrame, work: HadoopFolder,
                    partitions: int) -> tuple[DataFrame, int]:
    """Every domain name with its id (position in byte order of the names), and their number."""
    names = (edges_by_name.select(F.col("source_domain").alias("name"))
             .union(edges_by_name.select(F.col("target_domain").alias("name"))).distinct())
    sorted_uri = work.child("names-sorted")
    (names.repartitionByRange(partitions, "name").sortWithinPartitions("name")
     .write.mode("overwrite").parquet(sorted_uri))
    ranged = spark.read.parquet(sorted_uri).withColumn("part", F.col("_metadata.file_name"))
    counts = sorted((str(r["part"]), int(r["count"]))
                    for r in ranged.groupBy("part").count().collect())
    offsets, start = [], 0
    for part, n in counts:
        offsets.append((part, start))
        start += n
    offsets_df = spark.createDataFrame(offsets or [("", 0)], "part string, start bigint")
    within = Window.partitionBy("part").orderBy("name")
    numbered = (ranged.join(F.broadcast(offsets_df), "part")
                .select((F.col("start") + F.row_number().over(within) - 1).alias("id"), "name"))
    return numbered, start


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
    try:
        stage(f"reading {len(items)} inputs")
        reports = _extract(spark, items, icann_only, work.child("occurrences"))
        inputs = []
        n_occurrences = 0
        for item in items:
            report = reports.get(item.index)
            if report is None:
                raise BuildFailed(f"the Spark job returned no counts for {item.label}")
            if report["error"]:
                raise BuildFailed(str(report["error"]))
            inputs.append(stats_from_dict(report["stats"]))
            n_occurrences += int(report["occurrences"])

        occurrences = spark.read.schema(_OCCURRENCE_DDL).parquet(work.child("occurrences"))
        occurrences.createOrReplaceTempView("occurrences")
        if n_occurrences == 0:
            raise BuildFailed(_no_links_message(inputs))
        stage("links and domain edges")
        if evidence:
            spark.sql(_PAIRS_WITH_TEXT_SQL).write.mode("overwrite").parquet(work.child("pairs"))
            spark.read.parquet(work.child("pairs")).createOrReplaceTempView("pairs")
            edges_sql = _EDGES_FROM_PAIRS_SQL
        else:
            edges_sql = _EDGES_BY_NAME_SQL
        spark.sql(edges_sql).write.mode("overwrite").parquet(work.child("edges-by-name"))
        edges_by_name = spark.read.parquet(work.child("edges-by-name"))
        edges_by_name.createOrReplaceTempView("edges_by_name")

        stage("numbering the domains")
        names_uri = out.child("names")
        numbered, domains = _numbered_names(spark, edges_by_name, work, partitions)
        (numbered.repartitionByRange(partitions, "id").sortWithinPartitions("id")
         .write.mode("overwrite").parquet(names_uri))
        spark.read.parquet(names_uri).createOrReplaceTempView("names")
        stage("sorting the edges")
        edges_uri = out.child("edges")
        (spark.sql(_EDGES_SQL).orderBy("dst", "src")
         .write.mode("overwrite").parquet(edges_uri))

        sample_parts: list[str] = []
        if evidence:
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
