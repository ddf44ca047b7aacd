"""``links-csv`` input: one link per row of a CSV (plain or gzip) or Parquet file.

Columns, by name in the header (order free, extra columns ignored): a source
page URL and a target URL (required), and optionally ``rel`` (space-separated
tokens as in HTML: ``nofollow``, ``ugc`` and ``sponsored`` make the link not
dofollow), an anchor and a date (ISO-8601 date or date-time; a time without a
zone is UTC). Besides linkgap's own names (``source_url``, ``target_url``,
``rel``, ``anchor``, ``seen_at``) the column names of the SEO tools' backlink
exports are read (``linkgap.ingest.link_columns``), the delimiter (comma,
semicolon, tab) and a UTF-8/UTF-16 byte-order mark are detected, and a URL
without a scheme (``example.com/page``) is read as ``http://``. A file with
only a source column links to the build's ``--target`` domain.

A file without a source column, or without a target column and no
``--target``, is not a links file: ``BuildFailed``. Skip reasons of this
reader, on top of those of ``linkgap.ingest.collect``:

======================== ====================================================
``bad_csv_row``          a row with the wrong number of fields, an empty
                         source or target URL, or unreadable CSV
``bad_seen_at``          a date that is not an ISO-8601 date or time
                         (the whole row is skipped)
``bad_source_url``       the source is not an http(s) URL with a host
``source_not_domain``    the source host is not a registrable domain
``bad_parquet_row_group`` a Parquet row group that cannot be read (its rows are
                         skipped, the other groups are read)
======================== ====================================================

A target with a scheme other than http(s) is ``bad_url``; one without a scheme
is read as ``http://`` when it starts with a host name.
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
from linkgap.errors import BuildFailed, InvalidDomain
from linkgap.ingest.base import BATCH_ROWS, InputSpec, InputStats
from linkgap.ingest.collect import LinkCollector
from linkgap.ingest.link_columns import (
    ColumnMap,
    detect_delimiter,
    detect_encoding,
    flag_is_true,
    link_type_is_nofollow,
    with_default_scheme,
)
from linkgap.ingest.rules import parse_seen_at, rel_is_nofollow

__all__ = ["check_columns", "column_map", "is_parquet", "read_header", "read_links_csv"]

PARQUET_MAGIC = b"PAR1"

# Real rows can carry long anchors; the csv module's default limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 16 << 20))


def is_parquet(path: Path) -> bool:
    """True when the file starts with the Parquet magic bytes."""
    with path.open("rb") as fh:
        return fh.read(4) == PARQUET_MAGIC


def _open_text(path: Path) -> tuple[io.TextIOBase, str]:
    """The file as text (gzip undone, encoding from its byte-order mark) and its delimiter."""
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    raw = gzip.open(path, "rb") if gz else path.open("rb")  # noqa: SIM115 - wrapped, closed by caller
    buffered = io.BufferedReader(raw) if gz else raw
    try:
        encoding = detect_encoding(buffered.peek(4)[:4])
    except (OSError, EOFError, zlib.error):
        encoding = "utf-8-sig"
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
    try:
        header_line = text.readline()
        text.seek(0)
    except (OSError, EOFError, zlib.error, UnicodeError):
        header_line = ""
    return text, detect_delimiter(header_line)


def read_header(path: Path) -> list[str]:
    """The column names of a links file (CSV header or Parquet schema), stripped."""
    if is_parquet(path):
        return [name.strip() for name in pq.ParquetFile(path).schema_arrow.names]
    text, delimiter = _open_text(path)
    with text as fh:
        try:
            row = next(csv.reader(fh, delimiter=delimiter), [])
        except (csv.Error, OSError, EOFError, zlib.error):
            row = []
    return [name.strip().lstrip("\ufeff").strip() for name in row]


def column_map(names: list[str]) -> ColumnMap:
    """Which of these header names plays which role (SPEC 12 aliases)."""
    return ColumnMap.from_header(names)


def check_columns(path: Path, columns: ColumnMap, link_target: str | None) -> None:
    """BuildFailed unless the file has a source column and a target column (or --target)."""
    if columns.source is not None and (columns.target is not None or link_target):
        return
    names = columns.columns() or ["(nothing)"]
    if columns.source is not None:
        raise BuildFailed(
            f"{path}: this links file has a source column ({columns.source!r}) but no target "
            f"column: give --target DOMAIN, the site the export is for (a Search Console "
            f"'latest links' export lists only the linking pages)")
    raise BuildFailed(
        f"{path}: not a links file: the header must name the columns source_url and "
        f"target_url, or those of an SEO tool's export ('Referring page URL', 'Source url', "
        f"'Linking page', 'URL from' / 'Target URL', 'URL to', 'Link URL'; docs/inputs.md "
        f"lists every name read); columns it names that linkgap reads: {', '.join(names)}")


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


def _is_nofollow(row: dict[str, Any], columns: ColumnMap) -> bool:
    rel = row.get(columns.rel) if columns.rel else None
    if isinstance(rel, str) and rel_is_nofollow(rel):
        return True
    if any(flag_is_true(row.get(name)) for name in columns.nofollow):
        return True
    return columns.link_type is not None and link_type_is_nofollow(row.get(columns.link_type))


def _add_row(collector: LinkCollector, stats: InputStats, row: dict[str, Any],
             columns: ColumnMap, default_target: str | None) -> None:
    source = row.get(columns.source) if columns.source else None
    target = row.get(columns.target) if columns.target else default_target
    if not isinstance(source, str) or not isinstance(target, str):
        stats.skip("bad_csv_row")
        return
    if not source.strip() or not target.strip():
        stats.skip("bad_csv_row")
        return
    try:
        seen_at = _seen_at(row.get(columns.seen_at)) if columns.seen_at else None
    except ValueError:
        stats.skip("bad_seen_at")
        return
    anchor = row.get(columns.anchor) if columns.anchor else None
    collector.add_link(
        with_default_scheme(source),
        with_default_scheme(target),
        dofollow=not _is_nofollow(row, columns),
        anchor=anchor if isinstance(anchor, str) else None,
        seen_at=seen_at,
    )


def _csv_rows(path: Path, stats: InputStats, link_target: str | None
              ) -> tuple[ColumnMap, Iterator[dict[str, Any]]]:
    text, delimiter = _open_text(path)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = [name.strip().lstrip("\ufeff").strip() for name in next(reader, [])]
    except (csv.Error, OSError, EOFError, zlib.error):
        header = []
    columns = column_map(header)
    try:
        check_columns(path, columns, link_target)
    except BuildFailed:
        text.close()
        raise
    width = len(header)
    wanted = [(i, name) for i, name in enumerate(header) if name in set(columns.columns())]

    def rows() -> Iterator[dict[str, Any]]:
        with text:
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

    return columns, rows()


def _parquet_rows(path: Path, stats: InputStats, link_target: str | None
                  ) -> tuple[ColumnMap, Iterator[dict[str, Any]]]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise BuildFailed(f"{path}: cannot read this Parquet file: {exc}") from exc
    columns = column_map([name.strip() for name in parquet.schema_arrow.names])
    check_columns(path, columns, link_target)
    by_stripped = {name.strip(): name for name in parquet.schema_arrow.names}
    wanted = columns.columns()
    stored = [by_stripped[c] for c in wanted]

    def rows() -> Iterator[dict[str, Any]]:
        for group in range(parquet.num_row_groups):
            try:
                table = parquet.read_row_group(group, columns=stored)
            except (pa.ArrowException, OSError):  # a corrupt row group: the others still count
                stats.skip("bad_parquet_row_group")
                continue
            for batch in table.to_batches(max_chunksize=BATCH_ROWS):
                values_by_column = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*values_by_column, strict=True):
                    stats.records += 1
                    yield dict(zip(wanted, values, strict=True))

    return columns, rows()


def _default_target(spec: InputSpec, normalizer: DomainNormalizer) -> str | None:
    """``http://DOMAIN/`` for the build's --target, checked to be a domain."""
    if spec.link_target is None:
        return None
    try:
        return f"http://{normalizer.normalize(spec.link_target)}/"
    except InvalidDomain as exc:
        raise BuildFailed(f"--target {spec.link_target!r}: {exc.message}") from None


def read_links_csv(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """LINK_SCHEMA batches of the rows of the spec's CSV / gzip CSV / Parquet files."""
    collector = LinkCollector(normalizer, stats)
    default_target = _default_target(spec, normalizer)
    for path in spec.paths:
        read = _parquet_rows if is_parquet(path) else _csv_rows
        columns, rows = read(path, stats, spec.link_target)
        stats.columns = columns.describe()
        target = None if columns.target else default_target
        for row in rows:
            _add_row(collector, stats, row, columns, target)
            yield from collector.ready_batches()
    yield from collector.ready_batches(final=True)
