"""State databases as an older linkgap wrote them, for upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from linkgap.service.migrations import MIGRATIONS


def sqlite_at_schema(path: Path, version: int) -> sqlite3.Connection:
    """A new SQLite state database at ``path`` holding schema ``version`` (migrations 1 to
    ``version`` applied, as that linkgap made it); the open connection, for rows to add."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        conn.executescript(migration.sqlite)
    conn.execute("UPDATE schema_version SET version = ?", (version,))
    conn.execute(f"PRAGMA user_version = {int(version)}")
    conn.commit()
    return conn
