"""From the paths a user typed to the list of inputs a build reads (``plan_inputs``).

Globs are expanded (sorted), every file is checked to exist and be readable,
and each file's format is found from its name, then its content:

- ``*-vertices.txt.gz`` / ``*-edges.txt.gz`` (or ``.txt``) are the two halves
  of a ``cc-graph`` input and are paired by their common prefix;
- ``*.wat.gz`` / ``*.wat`` are ``wat``;
- ``*.warc.gz`` / ``*.warc`` (and zstd / lz4 ``*.warc.zst`` / ``*.warc.lz4``)
  are ``warc``, unless their first records are
  ``metadata`` records holding JSON, which makes them ``wat``;
- ``*.csv``, ``*.csv.gz``, ``*.parquet``, ``*.pq`` are ``links-csv`` (their
  header must name a source and a target column, ``linkgap.ingest.link_columns``);
- any other name is recognised by content: a WARC record, a Parquet file, a
  CSV header (any of its delimiters) naming a source column.

With an explicit format every file is read as that format; for ``cc-graph``
the files are taken as (vertices, edges) pairs in the order given.
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from linkgap.errors import BuildFailed
from linkgap.ingest.base import InputSpec
from linkgap.ingest.link_columns import ColumnMap, detect_delimiter, detect_encoding
from linkgap.ingest.links_csv import check_columns, column_map, read_header

__all__ = ["FORMATS", "detect_format", "expand_paths", "format_from_name", "plan_inputs"]

#: The input formats a build can read (``--input-format`` also takes ``auto``).
FORMATS = ("warc", "wat", "links-csv", "cc-graph")

_VERTICES_SUFFIXES = ("-vertices.txt.gz", "-vertices.txt")
_EDGES_SUFFIXES = ("-edges.txt.gz", "-edges.txt")
_CC_VERTICES = "cc-graph vertices"
_CC_EDGES = "cc-graph edges"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


def _check_readable(path: Path, shown: str) -> None:
    if not path.exists():
        raise BuildFailed(f"input file not found: {shown}")
    if path.is_dir():
        raise BuildFailed(
            f"input {shown} is a directory: give the files in it, e.g. '{shown}/*.warc.gz'"
        )
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise BuildFailed(f"cannot read input file {shown}: {exc.strerror or exc}") from exc


def expand_paths(paths: list[str]) -> list[Path]:
    """The input files named by ``paths`` (globs expanded, sorted), each once, in order.

    Raises BuildFailed for a missing or unreadable file, a directory, or a glob
    that matches no file.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for text in paths:
        pattern = os.path.expanduser(text)
        if glob.has_magic(pattern):
            matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise BuildFailed(f"no input file matches {text!r}")
        else:
            matches = [Path(pattern)]
        for path in matches:
            _check_readable(path, str(path))
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _peek(path: Path, size: int = 64 << 10) -> bytes:
    """The first bytes of a file, decompressed when it is gzip (b"" when unreadable)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(size)
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                return gz.read(size)
        return raw
    except (OSError, EOFError, zlib.error):
        return b""


def _warc_kind(path: Path) -> str | None:
    """``wat`` when the first records of a WARC file are JSON metadata, ``warc`` for other
    records, None when no WARC record can be read at all."""
    seen = False
    try:
        for i, record in enumerate(ArchiveIterator(str(path), parse_http=False)):
            seen = True
            kind = record.record_type
            if kind == WarcRecordType.metadata:
                content_type = (record.headers.get("Content-Type") or "").lower()
                if "json" in content_type:
                    return "wat"
            elif kind != WarcRecordType.warcinfo:
                return "warc"
            if i >= 8:
                break
    except OSError:
        pass  # a damaged file: the reader counts what is wrong with it
    return "warc" if seen else None


def _warc_or_wat(path: Path) -> str:
    """The WARC kind of a file named as a WARC file (``warc`` when it cannot be read)."""
    return _warc_kind(path) or "warc"


def _sniff(path: Path) -> str | None:
    head = _peek(path)
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return "links-csv"
    if head.startswith(b"WARC/") or magic in (_ZSTD_MAGIC, _LZ4_MAGIC):
        return _warc_kind(path)
    if _looks_like_links_header(head):
        return "links-csv"
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    fields = first.split("\t")
    if len(fields) in (2, 3) and fields[0].strip().isdigit():
        if len(fields) == 3 or not fields[1].strip().isdigit():
            return _CC_VERTICES
        return _CC_EDGES
    return None


def _looks_like_links_header(head: bytes) -> bool:
    """True when the first line names a source column (SPEC 12 aliases, any delimiter)."""
    encoding = detect_encoding(head[:4])
    first = head.decode(encoding, "replace").splitlines()[0] if head else ""
    first = first.lstrip("\ufeff")
    names = [c.strip().strip('"') for c in first.split(detect_delimiter(first))]
    return ColumnMap.from_header(names).source is not None


def format_from_name(name: str) -> str | None:
    """The format a file name says (``warc`` may still turn out ``wat``), or None.

    One of FORMATS or ``cc-graph vertices`` / ``cc-graph edges``.
    """
    name = name.lower()
    if name.endswith(_VERTICES_SUFFIXES):
        return _CC_VERTICES
    if name.endswith(_EDGES_SUFFIXES):
        return _CC_EDGES
    if name.endswith((".wat.gz", ".wat")):
        return "wat"
    if name.endswith((".warc.gz", ".warc", ".warc.zst", ".warc.lz4")):
        return "warc"
    if name.endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        return "links-csv"
    return None


def detect_format(path: Path) -> str:
    """The format of one file: a FORMATS name, or ``cc-graph vertices`` / ``cc-graph edges``.

    Raises BuildFailed when the format cannot be told.
    """
    by_name = format_from_name(path.name)
    if by_name == "warc":
        return _warc_or_wat(path)
    found = by_name or _sniff(path)
    if found is None:
        raise BuildFailed(
            f"cannot tell the format of {path}: name it .warc.gz, .wat.gz, .csv or .parquet, "
            f"or give --input-format (warc, wat, links-csv, cc-graph)"
        )
    return found


def _check_links_header(path: Path, link_target: str | None) -> None:
    try:
        names = read_header(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a links file"
        raise BuildFailed(f"cannot read {path} as a links file: {exc}") from exc
    check_columns(path, column_map(names), link_target)


def _cc_prefix(path: Path, suffixes: tuple[str, ...]) -> tuple[Path, str]:
    name = path.name
    for suffix in suffixes:
        if name.lower().endswith(suffix):
            return path.parent.resolve(), name[: -len(suffix)]
    return path.parent.resolve(), name


def _explicit_cc_pairs(files: list[Path]) -> list[InputSpec]:
    if len(files) % 2:
        raise BuildFailed(
            "--input-format cc-graph takes the files in pairs (vertices file, then edges file); "
            f"got {len(files)} files"
        )
    specs = []
    for vertices, edges in zip(files[::2], files[1::2], strict=True):
        if _sniff(vertices) == _CC_EDGES or _sniff(edges) == _CC_VERTICES:
            raise BuildFailed(
                f"cc-graph pair ({vertices}, {edges}): give the vertices file first, "
                "then its edges file"
            )
        specs.append(InputSpec("cc-graph", (vertices, edges)))
    return specs


def plan_inputs(paths: list[str], input_format: str = "auto",
                link_target: str | None = None) -> list[InputSpec]:
    """The inputs of a build, in the order given: globs expanded, formats detected, pairs made.

    ``link_target`` (``index build --target``) is the domain that links files
    without a target column link to.

    Raises BuildFailed (with a message for the user) for no inputs, a missing
    or unreadable file, an empty glob, an unknown or undetectable format, a
    links file without the required columns, or a cc-graph file without its pair.
    """
    if input_format != "auto" and input_format not in FORMATS:
        raise BuildFailed(f"unknown input format {input_format!r}: use auto, {', '.join(FORMATS)}")
    if not paths:
        raise BuildFailed("no input files given")
    files = expand_paths(paths)
    if input_format == "cc-graph":
        return _explicit_cc_pairs(files)
    if input_format != "auto":
        if input_format == "links-csv":
            for path in files:
                _check_links_header(path, link_target)
            return [InputSpec(input_format, (path,), link_target=link_target) for path in files]
        return [InputSpec(input_format, (path,)) for path in files]

    detected = [(path, detect_format(path)) for path in files]
    edges_by_prefix = {
        _cc_prefix(path, _EDGES_SUFFIXES): path for path, fmt in detected if fmt == _CC_EDGES
    }
    paired: set[Path] = set()
    specs: list[InputSpec] = []
    for path, fmt in detected:
        if fmt == _CC_VERTICES:
            if not path.name.lower().endswith(_VERTICES_SUFFIXES):
                raise BuildFailed(
                    f"{path} looks like a cc-graph vertices file; name it …-vertices.txt.gz next "
                    "to its …-edges.txt.gz, or give both with --input-format cc-graph"
                )
            parent, prefix = _cc_prefix(path, _VERTICES_SUFFIXES)
            edges = edges_by_prefix.get((parent, prefix))
            if edges is None:
                raise BuildFailed(
                    f"cc-graph vertices file {path} has no edges file among the inputs "
                    f"(expected {path.parent / (prefix + '-edges.txt.gz')})"
                )
            paired.add(edges)
            specs.append(InputSpec("cc-graph", (path, edges)))
        elif fmt == _CC_EDGES:
            continue
        else:
            if fmt == "links-csv":
                _check_links_header(path, link_target)
                specs.append(InputSpec(fmt, (path,), link_target=link_target))
            else:
                specs.append(InputSpec(fmt, (path,)))
    for path, fmt in detected:
        if fmt == _CC_EDGES and path not in paired:
            if not path.name.lower().endswith(_EDGES_SUFFIXES):
                raise BuildFailed(
                    f"{path} looks like a cc-graph edges file; name it …-edges.txt.gz next to "
                    "its …-vertices.txt.gz, or give both with --input-format cc-graph"
                )
            parent, prefix = _cc_prefix(path, _EDGES_SUFFIXES)
            raise BuildFailed(
                f"cc-graph edges file {path} has no vertices file among the inputs "
                f"(expected {path.parent / (prefix + '-vertices.txt.gz')})"
            )
    return specs
