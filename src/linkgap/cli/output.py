"""The one output path every read command shares: ``--format table|json|csv``.

json: one JSON document on stdout, a list of rows. csv: a header row of the
column names, then the rows (lists joined with ``;``, booleans ``true``/``false``).
table: a rich table. Messages and progress never go to stdout.
"""

from __future__ import annotations

import csv
import enum
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["OutputFormat", "emit", "stderr"]

stderr = Console(stderr=True)


class OutputFormat(enum.StrEnum):
    """The formats every read command offers."""

    table = "table"
    json = "json"
    csv = "csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    return str(value)


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat | str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Write ``rows`` to stdout in ``fmt``; ``columns`` fixes the column order."""
    fmt = OutputFormat(fmt)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt is OutputFormat.json:
        json.dump([dict(r) for r in rows], sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in cols])
    else:
        table = Table(title=title, show_lines=False)
        for c in cols:
            table.add_column(c, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in cols))
        Console().print(table)
