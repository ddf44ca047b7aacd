"""``linkgap db upgrade|check`` and ``linkgap runs prune``: the state database (SPEC 11).

Thin over :func:`linkgap.service.open_store` and :class:`linkgap.service.LinkgapService`.
Every command takes ``--database URL`` (default ``LINKGAP_DATABASE_URL``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from linkgap.cli.admin_cmds import Database, Format
from linkgap.cli.output import OutputFormat, count, emit, say
from linkgap.errors import LinkgapError
from linkgap.service import LinkgapService
from linkgap.service.db import check_database, upgrade_database
from linkgap.settings import Settings

__all__ = ["register"]

db_app = typer.Typer(help="Upgrade and check the state database.", no_args_is_help=True)
runs_app = typer.Typer(help="Maintain gap runs.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(database: Database = None) -> None:
    """Apply the schema migrations this linkgap needs (a no-op when up to date)."""
    report = upgrade_database(Settings({"database_url": database}).database_url)
    if report.before == report.version:
        say(f"{report.where}: schema version {report.version}, up to date")
    elif report.before == 0:
        say(f"{report.where}: created at schema version {report.version}")
    else:
        say(f"{report.where}: upgraded from schema version {report.before} to "
                     f"{report.version}")


@db_app.command("check")
def db_check(database: Database = None, fmt: Format = OutputFormat.table) -> None:
    """Verify the state database: schema version and a full integrity check."""
    report = check_database(Settings({"database_url": database}).database_url)
    emit([report.row()], fmt, ("database", "schema_version", "expected_version", "ok",
                               "problems"), title="state database")
    if report.problems:
        for problem in report.problems:
            say(problem, label="problem", style="red")
        raise LinkgapError(f"the state database {report.where} failed its check "
                           f"({count(len(report.problems), 'problem')})")
    say(f"{report.where}: ok")


@runs_app.command("prune")
def runs_prune(
    retention_days: Annotated[int | None, typer.Option(
        "--retention-days", metavar="N", min=1, show_default=False,
        help="Expire runs completed more than N days ago (default: "
             "LINKGAP_RUN_RETENTION_DAYS).")] = None,
    database: Database = None,
) -> None:
    """Apply retention now: delete the prospects of old completed runs (listed as expired)."""
    settings = Settings({"database_url": database, "run_retention_days": retention_days})
    if settings.run_retention_days is None:
        raise LinkgapError("runs are kept forever: set LINKGAP_RUN_RETENTION_DAYS or pass "
                           "--retention-days N")
    with LinkgapService(settings) as service:
        expired = service.prune_runs()
    say(f"expired {count(expired, 'run')} completed more than "
                 f"{settings.run_retention_days} days ago")


def register(app: typer.Typer) -> None:
    """Add the ``db`` and ``runs`` groups to the linkgap command."""
    app.add_typer(db_app, name="db")
    app.add_typer(runs_app, name="runs")
