"""``linkgap diff RUN_ID --against RUN_ID``: what changed between two stored runs (SPEC 13).

An operator's command like ``linkgap accounts``: it reads the runs from the
state database (``--database``), whatever account they belong to, and applies
the API's rules (same domain, both completed) and its filters and sorts
(:mod:`linkgap.diff`). Counts go to stderr; entries to stdout.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer

from linkgap.cli.admin_cmds import Database, _service
from linkgap.cli.gap_cmd import Order, OrderOption, Sort, SortOption
from linkgap.cli.output import OutputFormat, emit, say
from linkgap.diff import DIFF_KINDS, diff_counts, diff_page, iter_diff_csv
from linkgap.prospects import ProspectQuery, resolve_competitor

__all__ = ["register"]

TABLE_COLUMNS = ("kind", "domain", "domain_rating", "score", "rank", "competitors", "changes")


class Kind(enum.StrEnum):
    """Diff entry kinds."""

    added = "added"
    removed = "removed"
    changed = "changed"


def _changes_text(changes: dict[str, dict[str, Any]] | None) -> str:
    """``score 40→45, rank 12→9`` for a table cell."""
    def show(value: Any) -> str:
        return ";".join(value) if isinstance(value, list) else str(value).lower() \
            if isinstance(value, bool) else str(value)
    return ", ".join(f"{f} {show(c['old'])}→{show(c['new'])}" for f, c in (changes or {}).items())


def diff(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The run (the new values).")],
    against: Annotated[str, typer.Option(
        "--against", metavar="RUN_ID", show_default=False,
        help="The run to compare with, usually an earlier run of the same domain "
             "(the old values).")],
    kind: Annotated[Kind | None, typer.Option(
        "--kind", show_default=False,
        help="Only added, removed or changed entries (default: all three).")] = None,
    min_authority: Annotated[int | None, typer.Option(
        "--min-authority", min=0, max=100, show_default=False,
        help="Only entries with domain_rating at least this.")] = None,
    max_spam: Annotated[int | None, typer.Option(
        "--max-spam", min=0, max=100, show_default=False,
        help="Only entries with spam_score at most this.")] = None,
    dofollow: Annotated[bool | None, typer.Option(
        "--dofollow/--no-dofollow", show_default=False,
        help="Only entries with (or without) a dofollow link to a competitor "
             "(to --competitor when given).")] = None,
    competitor: Annotated[str | None, typer.Option(
        "--competitor", "-c", metavar="C", show_default=False,
        help="Only entries linking to this competitor (of either run).")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", "-q", metavar="TEXT", show_default=False,
        help="Only entries whose domain contains TEXT (case-insensitive).")] = None,
    sort: SortOption = Sort.score,
    order: OrderOption = Order.desc,
    database: Database = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] =
        OutputFormat.table,
) -> None:
    """Show the prospects added, removed and changed since another run of the domain."""
    from linkgap.service.diffs import run_diff

    with _service(database) as service:
        result = run_diff(service, None, run_id, against)
        wanted = resolve_competitor(result.entries, competitor) if competitor else None
        query = ProspectQuery(min_authority=min_authority, max_spam=max_spam,
                              dofollow=dofollow, competitor=wanted, q=search,
                              sort=sort.value, order=order.value)
        counts = diff_counts(result, query)
        say(", ".join(f"{counts[k]:,} {k}" for k in DIFF_KINDS)
            + f" ({result.unchanged:,} unchanged in all) — {run_id} (index version "
            f"{result.new.index_version}) against {against} (index version "
            f"{result.old.index_version})")
        chosen = kind.value if kind else None
        if fmt is OutputFormat.csv:
            for piece in iter_diff_csv(result, query, chosen, newline="\n"):
                sys.stdout.write(piece)
            return
        rows, _ = diff_page(result, query, chosen, 1, max(len(result), 1))
    if fmt is OutputFormat.json:
        emit(rows, fmt)
    else:
        emit([{**r, "changes": _changes_text(r["changes"])} for r in rows], fmt,
             TABLE_COLUMNS, title=f"changes for {result.new.target}",
             empty=f"no changes for {result.new.target}"
             + (" (none passes the filters)" if len(result) else ""))


def register(app: typer.Typer) -> None:
    """Add the ``diff`` command to the ``linkgap`` app."""
    app.command("diff")(diff)
