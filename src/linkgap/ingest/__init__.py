"""Input readers: crawl files → Arrow batches of links (see ``linkgap.ingest.base``).

``plan_inputs`` turns the paths a user gave into :class:`InputSpec` objects
(globs expanded, formats detected, cc-graph files paired); ``read_input``
streams one input as LINK_SCHEMA record batches, counting what it skips in
the input's :class:`InputStats`. Formats and skip reasons: ``docs/inputs.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from linkgap.domains import DomainNormalizer
from linkgap.errors import BuildFailed
from linkgap.ingest.base import BATCH_ROWS, LINK_SCHEMA, InputSpec, InputStats
from linkgap.ingest.cc_graph import read_cc_graph
from linkgap.ingest.detect import FORMATS, detect_format, plan_inputs
from linkgap.ingest.links_csv import read_links_csv
from linkgap.ingest.warc import read_warc
from linkgap.ingest.wat import read_wat

__all__ = [
    "BATCH_ROWS",
    "FORMATS",
    "LINK_SCHEMA",
    "READERS",
    "InputSpec",
    "InputStats",
    "detect_format",
    "plan_inputs",
    "read_input",
]

Reader = Callable[[InputSpec, DomainNormalizer, InputStats], Iterator[pa.RecordBatch]]

#: One reader per input format.
READERS: dict[str, Reader] = {
    "warc": read_warc,
    "wat": read_wat,
    "links-csv": read_links_csv,
    "cc-graph": read_cc_graph,
}


def read_input(
    spec: InputSpec, normalizer: DomainNormalizer, stats: InputStats
) -> Iterator[pa.RecordBatch]:
    """Stream one input as LINK_SCHEMA record batches of about ``BATCH_ROWS`` rows.

    Bad records are skipped and counted in ``stats``; a file that cannot be
    opened or read (as opposed to one with bad content) raises BuildFailed.
    """
    reader = READERS.get(spec.format)
    if reader is None:
        raise BuildFailed(f"unknown input format {spec.format!r} for {spec.label}")
    if spec.format == "cc-graph" and len(spec.paths) != 2:
        raise BuildFailed(f"a cc-graph input is a vertices file and an edges file: {spec.label}")
    for path in spec.paths:
        if not path.is_file():
            raise BuildFailed(f"input file not found: {path}")
    try:
        yield from reader(spec, normalizer, stats)
    except PermissionError as exc:
        raise BuildFailed(f"cannot read input file {exc.filename or spec.label}: {exc}") from exc
