"""``linkgap competitors DOMAIN``: the domains sharing the most referring domains (SPEC 13).

Local, like ``linkgap gap``: it reads the index directly and costs no credits.
The rows are those of ``GET /v1/domains/{domain}/competitors``
(:mod:`linkgap.competitors`); what they were computed from (referring domains,
the 50,000 cap) goes to stderr as one line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from linkgap.cli.index_cmds import FormatOption, IndexOption, _index_dir
from linkgap.cli.output import OutputFormat, count, emit, say
from linkgap.competitors import COMPETITOR_FIELDS, DEFAULT_LIMIT, MAX_LIMIT

__all__ = ["register"]


def competitors(
    domain: Annotated[str, typer.Argument(
        metavar="DOMAIN", show_default=False,
        help="Your domain (URLs and host names are normalised).")],
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=1, max=MAX_LIMIT,
        help=f"How many competitors to show (1-{MAX_LIMIT}).")] = DEFAULT_LIMIT,
    index: IndexOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the domains whose referring domains overlap most with DOMAIN's."""
    from linkgap.index.reader import BacklinkIndex

    backlinks = BacklinkIndex.open(_index_dir(index))
    found = backlinks.competitors(domain, limit=limit)
    if not found.found:
        say(f"{found.domain} is not in the index (version {found.index_version})")
        empty = f"no link competitors for {found.domain}: it is not in the index"
    else:
        used = (f"; only the strongest {found.referring_domains_used:,} were used"
                if found.capped else "")
        say(f"{found.domain} has {count(found.referring_domains, 'referring domain')}{used} "
            f"(index version {found.index_version})")
        empty = f"no link competitors for {found.domain}: no other domain shares a " \
                "referring domain with it"
    emit(found.rows, fmt, COMPETITOR_FIELDS, title=f"link competitors of {found.domain}",
         empty=empty)


def register(app: typer.Typer) -> None:
    """Add the ``competitors`` command to the ``linkgap`` app."""
    app.command("competitors", short_help="Show the domains sharing your referring domains."
                )(competitors)
