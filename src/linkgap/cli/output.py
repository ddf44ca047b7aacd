"""The one output path every read command shares: ``--format table|json|csv``.

json: one JSON document on stdout, a list of rows. csv: a header row of the
column names, then the rows written by ``linkgap.csvcells.safe_cell`` (lists
joined with ``;``, booleans ``true``/``false``, formula cells guarded).
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
from rich.text import Text

from linkgap.csvcells import cell_text, safe_cell

__all__ = ["OutputFormat", "count", "emit", "say", "stderr"]

stderr = Console(stderr=True)

#: Shorter column headings for the table format only (json and csv keep field names),
#: so that a prospect or metrics row fits a laptop terminal.
TABLE_HEADINGS = {
    "domain_rating": "DR",
    "referring_domains": "RD",
    "competitor_overlap": "overlap",
    "spam_score": "spam",
    "spam_signals": "spam signals",
    "linked_domains": "linked",
    "fetched_at": "fetched at",
}
_NUMERIC = (int, float)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: ``1 item``, ``2 items``, ``1,204 links``."""
    noun = singular if n == 1 else (plural or f"{singular}s")
    return f"{n:,} {noun}"


def say(message: str, *, label: str | None = None, style: str = "") -> None:
    """Write one message to stderr as one line, never wrapped (scripts read these lines).

    ``label`` (``error``, ``warning``) is shown in ``style`` before it; the
    message itself is printed as is: square brackets in it are not markup.
    """
    line = Text()
    if label:
        line.append(f"{label}:", style=style)
        line.append(" ")
    line.append(message)
    stderr.print(line, soft_wrap=True, highlight=False)


class OutputFormat(enum.StrEnum):
    """The formats every read command offers."""

    table = "table"
    json = "json"
    csv = "csv"


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat | str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """Write ``rows`` to stdout in ``fmt``; ``columns`` fixes the column order.

    With no rows, json writes ``[]`` and csv the header alone (valid empty
    documents); the table says so in words: ``empty`` (default ``no <title>``).
    """
    fmt = OutputFormat(fmt)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt is OutputFormat.json:
        json.dump([dict(r) for r in rows], sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([safe_cell(row.get(c)) for c in cols])
    elif not rows:
        sys.stdout.write(f"{empty or (f'no {title}' if title else 'nothing to show')}\n")
    else:
        table = Table(title=title, show_lines=False)
        for i, c in enumerate(cols):
            numeric = bool(rows) and all(
                isinstance(r.get(c), _NUMERIC) and not isinstance(r.get(c), bool)
                for r in rows if r.get(c) is not None
            ) and any(r.get(c) is not None for r in rows)
            table.add_column(
                TABLE_HEADINGS.get(c, c),
                justify="right" if numeric else "left",
                no_wrap=i == 0 or numeric,
                overflow="fold",
            )
        for row in rows:
            table.add_row(*(cell_text(row.get(c)).replace(";", "; ") for c in cols))
        console = Console()
        if not console.is_terminal:
            console = Console(width=240)  # piped: full rows rather than a wrapped 80 columns
        console.print(table)
