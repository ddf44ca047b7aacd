"""Operator checks on a state database: ``linkgap db upgrade`` and ``linkgap db check``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkgap.errors import UnsupportedDatabase
from linkgap.service.core import open_store
from linkgap.service.dburl import parse_database_url
from linkgap.service.migrations import SCHEMA_VERSION

__all__ = ["DatabaseReport", "check_database", "upgrade_database"]


@dataclass(frozen=True)
class DatabaseReport:
    """What a check or an upgrade found: where, versions before and after, problems."""

    where: str
    version: int | None
    before: int | None = None
    problems: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """A row for ``db check`` output."""
        return {"database": self.where, "schema_version": self.version,
                "expected_version": SCHEMA_VERSION, "ok": not self.problems,
                "problems": list(self.problems)}


def upgrade_database(url: str) -> DatabaseReport:
    """Bring the database at ``url`` to this linkgap's schema (creating it when empty)."""
    store = open_store(url, upgrade=True)
    try:
        return DatabaseReport(parse_database_url(url).redacted, store.schema_version,
                              store.upgraded_from)
    finally:
        store.close()


def check_database(url: str) -> DatabaseReport:
    """Check the database at ``url``: that it is a linkgap database of this schema version,
    and a full integrity check. Changes nothing (an empty database gets the schema, as
    with every command)."""
    database = parse_database_url(url)
    where = database.redacted
    if database.kind == "sqlite" and database.path is not None and not database.path.exists():
        return DatabaseReport(where, None, problems=[f"no database at {database.path}"])
    try:
        store = open_store(url)
    except UnsupportedDatabase as exc:
        return DatabaseReport(where, None, problems=[exc.message])
    try:
        return DatabaseReport(where, store.schema_version,
                              problems=store.check())
    finally:
        store.close()
