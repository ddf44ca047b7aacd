"""``links-csv`` input: one link per row of a CSV (plain or gzip) or Parquet file.

Columns, by name in the header (order free, extra columns ignored):
``source_url`` and ``target_url`` (required, absolute http(s) URLs), and
optionally ``rel`` (space-separated tokens as in HTML: ``nofollow``, ``ugc``
and ``sponsored`` make the link not dofollow), ``anchor`` and ``seen_at``
(ISO-8601 date or date-time; a time without a zone is UTC).

A file without ``source_url`` and ``target_url`` in its header is not a
links file: ``BuildFailed``. Skip reasons of this reader, on top of those of
``linkgap.ingest.collect``:

======================== ====================================================
``bad_csv_row``          a row with the wrong number of fields, an empty
                         ``source_url``/``target_url``, or unreadable CSV
``bad_seen_at``          a ``seen_at`` that is not an ISO-8601 date or time
                         (the whole row is skipped)
``bad_source_url``       ``source_url`` is not an absolute http(s) URL with a host
``source_not_domain``    the source host is not a registrable domain
``bad_parquet_row_group`` a Parquet row group that cannot be read (its rows are
                         skipped, the other groups are read)
======================== ====================================================

A target that is not absolute (``example.com/x``) is ``bad_url``: rows carry
absolute URLs, so it is not read as a path relative to the source.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from linkgap.domains import DomainNormalizer
from linkgap.errors import BuildFailed
from linkgap.ingest.base import BATCH_ROWS, InputSpec, InputStats
from linkgap.ingest.collect import LinkCollector
from linkgap.ingest.rules import parse_seen_at, rel_is_nofollow

__all__ = ["REQUIRED_COLUMNS", "OPTIONAL_COLUMNS", "is_parquet", "read_header", "read_links_csv"]

REQUIRED_COLUMNS = ("source_url", "target_url")
OPTIONAL_COLUMNS = ("rel", "anchor", "seen_at")
PARQUET_MAGIC = b"PAR1"

# Real rows can carry long anchors; the csv module's default limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 16 << 20))


def is_parquet(path: Path) -> bool:
    """True when the file starts with the Parquet magic bytes."""
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else path.open("rb")  # noqa: SIM115 - wrapped, closed by caller
    # utf-8-sig drops the byte-order mark spreadsheet programs write.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def read_header(path: Path) -> list[str]:
    """The column names of a links file (CSV header or Parquet schema), lowercased and stripped."""
    if is_parquet(path):
        return [name.strip().lower() for name in pq.ParquetFile(path).schema_arrow.names]
    with _open_text(path) as fh:
        try:
            row = next(csv.reader(fh), [])
        except (csv.Error, OSError, EOFError):
            row = []
    return [name.strip().lower() for name in row]


def _check_header(path: Path, names: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        shown = ",".join(names[:8]) if names else "(nothing)"
        raise BuildFailed(
            f"{path}: not a links file: its header is {shown!r} but must name the columns "
            f"source_url and target_url (optional: rel, anchor, seen_at)"
        )


def _seen_at_value(value: Any) -> int | None:
    """Epoch seconds of a ``seen_at`` value (None when empty); ValueError when unreadable."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    text = str(value).strip()
    if not text:
        return None
    parsed = parse_seen_at(text)
    if parsed is None:
        raise ValueError(f"not an ISO-8601 date or time: {text!r}")
    return parsed


@lru_cache(maxsize=4096)
def _seen_at_text(text: str) -> int | None:
    """``_seen_at_value`` of a string, cached: a file holds few distinct dates."""
    return _seen_at_value(text)


def _seen_at(value: Any) -> int | None:
    return _seen_at_text(value) if isinstance(value, str) else _seen_at_value(value)


def _add_row(collector: LinkCollector, stats: InputStats, row: dict[str, Any]) -> None:
    source = row.get("source_url")
    target = row.get("target_url")
    if not isinstance(source, str) or not isinstance(target, str):
        stats.skip("bad_csv_row")
        return
    if not source.strip() or not target.strip():
        stats.skip("bad_csv_row")
        return
    try:
        seen_at = _seen_at(row.get("seen_at"))
    except ValueError:
        stats.skip("bad_seen_at")
        return
    rel = row.get("rel")
    anchor = row.get("anchor")
    collector.add_link(
        source,
        target,
        dofollow=not rel_is_nofollow(rel if isinstance(rel, str) else None),
        anchor=anchor if isinstance(anchor, str) else None,
        seen_at=seen_at,
    )


def _csv_rows(path: Path, stats: InputStats) -> Iterator[dict[str, Any]]:
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        try:
            header = [name.strip().lower() for name in next(reader, [])]
        except csv.Error:
            header = []
        _check_header(path, header)
        width = len(header)
        wanted = [
            (i, name)
            for i, name in enumerate(header)
            if name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        ]
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:  # e.g. a NUL byte or an over-long field: that line only
                stats.records += 1
                stats.skip("bad_csv_row")
                continue
            except (EOFError, OSError, zlib.error):  # a gzip file cut short or corrupt
                stats.skip("truncated_gzip")
                return
            if not row:
                continue  # a blank line
            stats.records += 1
            if len(row) != width:
                stats.skip("bad_csv_row")
                continue
            yield {name: row[i] for i, name in wanted}


def _parquet_rows(path: Path, stats: InputStats) -> Iterator[dict[str, Any]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise BuildFailed(f"{path}: cannot read this Parquet file: {exc}") from exc
    names = {name.strip().lower(): name for name in parquet.schema_arrow.names}
    _check_header(path, list(names))
    wanted = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in names]
    columns = [names[c] for c in wanted]
    for group in range(parquet.num_row_groups):
        try:
            table = parquet.read_row_group(group, columns=columns)
        except (pa.ArrowException, OSError):  # a corrupt row group: the others still count
            stats.skip("bad_parquet_row_group")
            continue
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            values_by_column = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*values_by_column, strict=True):
                stats.records += 1
                yield dict(zip(wanted, values, strict=True))


def read_links_csv(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches of the rows of the spec's CSV / gzip CSV / Parquet files."""
    collector = LinkCollector(normalizer, stats)
    for path in spec.paths:
        rows = _parquet_rows(path, stats) if is_parquet(path) else _csv_rows(path, stats)
        for row in rows:
            _add_row(collector, stats, row)
            yield from collector.ready_batches()
    yield from collector.ready_batches(final=True)
