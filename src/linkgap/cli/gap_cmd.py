"""``linkgap gap``: a local gap analysis straight on the index (SPEC 7).

No credits and no ``limit`` unless one is given. The rows carry the same
fields as the API's prospects and go through the same filters and sorts
(``linkgap.prospects``). Every filter applies before ``--limit`` (SPEC 12):
``--min-authority``, ``--max-spam``, ``--dofollow`` and ``--exclude`` are the
run's own filters, applied by the engine; ``--competitor-filter`` and
``--search``, which a run does not take, narrow the unlimited run before the
best ``--limit`` are kept. Warnings go to stderr; data to stdout.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkgap.cli.output import OutputFormat, count, emit, say
from linkgap.prospects import (
    PROSPECT_FIELDS,
    ProspectQuery,
    all_rows,
    filter_indices,
    resolve_competitor,
    to_csv,
)
from linkgap.settings import Settings

if TYPE_CHECKING:
    from linkgap.index.reader import BacklinkIndex

__all__ = ["register"]


class Mode(enum.StrEnum):
    """Gap modes (SPEC 4)."""

    union = "union"
    intersect = "intersect"


class Sort(enum.StrEnum):
    """Prospect sort fields (SPEC 5)."""

    score = "score"
    rank = "rank"
    backlinks = "backlinks"
    referring_domains = "referring_domains"
    domain_rating = "domain_rating"
    competitor_overlap = "competitor_overlap"
    spam_score = "spam_score"


class Order(enum.StrEnum):
    """Sort direction."""

    asc = "asc"
    desc = "desc"


#: --sort and --order, shared by the commands that list prospects (gap, diff).
SortOption = Annotated[Sort, typer.Option(
    "--sort", metavar="FIELD",
    help="Sort field: score, rank, backlinks, referring_domains, domain_rating, "
         "competitor_overlap or spam_score.")]
OrderOption = Annotated[Order, typer.Option(
    "--order", help="Sort order; with --sort rank, desc lists rank 1 first.")]


def gap(
    domain: Annotated[str, typer.Argument(
        metavar="DOMAIN", help="Your domain (a URL or host name is fine).")],
    competitor: Annotated[list[str], typer.Option(
        "--competitor", "-c", metavar="C",
        help="A competitor's domain; repeat for each (1-20).",
        show_default=False)],
    index: Annotated[Path | None, typer.Option(
        "--index", metavar="DIR", show_default=False,
        help="Index directory (default: LINKGAP_INDEX, else $LINKGAP_HOME/index).")] = None,
    mode: Annotated[Mode, typer.Option(
        "--mode", help="union: links to at least --min-overlap competitors; "
                       "intersect: links to all of them.")] = Mode.union,
    min_overlap: Annotated[int | None, typer.Option(
        "--min-overlap", min=1, show_default=False,
        help="Union mode: least number of competitors a prospect links to (default 1).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, show_default=False,
        help="Keep only the best N prospects by score (default: all).")] = None,
    min_authority: Annotated[int | None, typer.Option(
        "--min-authority", min=0, max=100, show_default=False,
        help="Only prospects with domain_rating at least this.")] = None,
    max_spam: Annotated[int | None, typer.Option(
        "--max-spam", min=0, max=100, show_default=False,
        help="Only prospects with spam_score at most this.")] = None,
    dofollow: Annotated[bool | None, typer.Option(
        "--dofollow/--no-dofollow", show_default=False,
        help="Only prospects with (or without) a dofollow link to a competitor "
             "(to --competitor-filter when given).")] = None,
    competitor_filter: Annotated[str | None, typer.Option(
        "--competitor-filter", metavar="C", show_default=False,
        help="Only prospects linking to this one of the competitors.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", "-q", metavar="TEXT", show_default=False,
        help="Only prospects whose domain contains TEXT (case-insensitive).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", "-x", metavar="D", show_default=False,
        help="Not a prospect: a domain linking to D (your other sites, partners, domains "
             "already contacted); repeat for each (up to 100).")] = None,
    sort: SortOption = Sort.score,
    order: OrderOption = Order.desc,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] =
        OutputFormat.table,
    links: Annotated[bool, typer.Option(
        "--links", help="Also show the sample links behind each prospect, per competitor "
                        "(linking page, target URL, anchor, dofollow, dates): a second table, "
                        "a links field in JSON, one CSV row per sample link.")] = False,
) -> None:
    """Find domains that link to your competitors but not to you."""
    from linkgap.index.reader import BacklinkIndex

    backlinks = BacklinkIndex.open(Settings({"index": index}).index)
    # With --competitor-filter, --dofollow is about the link to that competitor: it is
    # applied with it below, not as the run's filter (a dofollow link to any competitor).
    run_filters = {"min_authority": min_authority, "max_spam": max_spam,
                   "dofollow": None if competitor_filter else dofollow}
    narrowed = competitor_filter is not None or bool(search)
    result = backlinks.gap(domain, competitor, mode=mode.value, min_overlap=min_overlap,
                           limit=None if narrowed else limit, filters=run_filters,
                           exclude=exclude)
    for warning in result.warnings:
        say(warning["message"], label="warning", style="yellow")
    if narrowed:
        # The API's rule for the competitor filter (any typed form of one of the competitors).
        wanted = resolve_competitor(result, competitor_filter) if competitor_filter else None
        passing = filter_indices(result, ProspectQuery(
            dofollow=dofollow if competitor_filter else None, competitor=wanted, q=search))
        result = result.select(passing[:limit], total_found=int(passing.shape[0]))
    rows = all_rows(result, ProspectQuery(sort=sort.value, order=order.value))
    applied = _applied(result.filters, result.exclude, competitor_filter, dofollow, search)
    say(f"{count(result.total_found, 'prospect')} found, {len(result):,} kept{applied} "
        f"(index version {result.index_version})")
    # Filters apply before the limit: a run they narrowed to nothing still says so.
    empty = f"no prospects for {result.target}" + (
        " (none passes the filters)" if applied else "")
    if links:
        _emit_with_links(backlinks, result.target, rows, fmt, empty)
    elif fmt is OutputFormat.csv:
        sys.stdout.write(to_csv(rows, newline="\n"))
    else:
        emit(rows, fmt, PROSPECT_FIELDS, title=f"link prospects for {result.target}",
             empty=empty)


def _applied(filters: dict[str, object], exclude: list[str], competitor: str | None,
             dofollow: bool | None, search: str | None) -> str:
    """What narrowed the run before its limit, for the summary line ("" when nothing)."""
    parts = []
    if filters.get("min_authority") is not None:
        parts.append(f"domain_rating >= {filters['min_authority']}")
    if filters.get("max_spam") is not None:
        parts.append(f"spam_score <= {filters['max_spam']}")
    if filters.get("dofollow") is not None:
        parts.append("dofollow" if filters["dofollow"] else "nofollow only")
    if competitor:
        link = "" if dofollow is None else " with a dofollow link" if dofollow else \
            " with nofollow links only"
        parts.append(f"linking to {competitor}{link}")
    if search:
        parts.append(f"domain contains {search!r}")
    if exclude:
        parts.append(f"excluding {count(len(exclude), 'domain')} and their referrers")
    return f", after filters: {'; '.join(parts)}" if parts else ""


def _emit_with_links(backlinks: BacklinkIndex, target: str, rows: list[dict[str, Any]],
                     fmt: OutputFormat, empty: str) -> None:
    """``--links``: each prospect's evidence per competitor (in run order), in ``fmt``."""
    from linkgap.index.evidence import LINK_CSV_FIELDS, evidence_json

    if backlinks.evidence_per_edge == 0:
        say(f"index version {backlinks.version} keeps no sample links (built with "
            "--evidence 0, before evidence existed, or from a web graph only)",
            label="warning", style="yellow")
    ids = {name: backlinks.id_of(name) for row in rows for name in row["competitors"]}
    pairs = [(row_no, competitor, backlinks.id_of(row["domain"]), ids[competitor])
             for row_no, row in enumerate(rows) for competitor in row["competitors"]]
    known = [(row_no, competitor, s, t) for row_no, competitor, s, t in pairs
             if s is not None and t is not None]
    found = backlinks.edges_evidence([k[2] for k in known], [k[3] for k in known])
    entries: list[list[dict[str, Any]]] = [[] for _ in rows]
    for (row_no, competitor, _, _), evidence in zip(known, found, strict=True):
        if evidence is not None:
            entries[row_no].append(evidence_json(competitor, evidence))
    with_links = [{**row, "links": entries[i]} for i, row in enumerate(rows)]
    if fmt is OutputFormat.json:
        emit(with_links, fmt)
        return
    if fmt is OutputFormat.csv:
        # One row per sample link (prospect fields first); a prospect without samples keeps
        # one row with the link columns empty, so that none is lost.
        flat = []
        for row in with_links:
            samples = [(e["competitor"], s) for e in row["links"] for s in e["samples"]]
            base = {k: v for k, v in row.items() if k != "links"}
            if not samples:
                flat.append(base)
            for competitor, s in samples:
                flat.append({**base, "competitor": competitor, "source_url": s["source_url"],
                             "target_url": s["target_url"], "anchor": s["anchor"],
                             "link_dofollow": s["dofollow"]})
        emit(flat, fmt, (*PROSPECT_FIELDS, *LINK_CSV_FIELDS))
        return
    emit(rows, fmt, PROSPECT_FIELDS, title=f"link prospects for {target}", empty=empty)
    table = [{"domain": row["domain"], "competitor": e["competitor"],
              "source_url": s["source_url"], "target_url": s["target_url"],
              "anchor": s["anchor"], "dofollow": s["dofollow"],
              "first_seen": (s["first_seen"] or "")[:10], "last_seen": (s["last_seen"] or "")[:10]}
             for row in with_links for e in row["links"] for s in e["samples"]]
    if rows:
        emit(table, fmt, LINK_TABLE_FIELDS, title="links behind the prospects",
             empty="no sample links kept for these prospects")


#: Columns of the ``--links`` table printed after the prospects.
LINK_TABLE_FIELDS = ("domain", "competitor", "source_url", "target_url", "anchor", "dofollow",
                     "first_seen", "last_seen")


def register(app: typer.Typer) -> None:
    """Add the ``gap`` command to the ``linkgap`` app."""
    app.command("gap")(gap)
