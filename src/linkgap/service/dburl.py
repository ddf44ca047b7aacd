"""State database URLs, read the way SQLAlchemy reads them.

``sqlite:////abs/path.db`` is an absolute path, ``sqlite:///rel/path.db`` is
relative to the working directory, and ``sqlite://`` or ``sqlite:///:memory:``
is a private in-memory database (useful in tests; it lives as long as the
service object). ``postgresql://…`` is recognised and refused until linkgap
supports PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from linkgap.errors import UnsupportedDatabase

__all__ = ["DatabaseURL", "parse_database_url"]

_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2",
                     "postgresql+asyncpg", "postgresql+pg8000")


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed state-database URL: the SQLite file, or None for an in-memory database."""

    url: str
    path: Path | None

    @property
    def in_memory(self) -> bool:
        """True for ``sqlite://`` and ``sqlite:///:memory:``."""
        return self.path is None


def _redact(url: str) -> str:
    """The URL with any password removed, so error messages never echo secrets."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, _, host = rest.partition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def parse_database_url(url: str) -> DatabaseURL:
    """Parse a state-database URL; raises UnsupportedDatabase for anything but SQLite."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise UnsupportedDatabase(
            f"{text!r} is not a database URL; use sqlite:////absolute/path/state.db "
            "or sqlite:///relative/path/state.db"
        )
    if scheme in _POSTGRES_SCHEMES:
        raise UnsupportedDatabase(
            f"PostgreSQL is not supported yet ({_redact(text)}); linkgap keeps its state in "
            "SQLite for now: set LINKGAP_DATABASE_URL (or --database) to a sqlite:/// URL"
        )
    if scheme not in _SQLITE_SCHEMES:
        raise UnsupportedDatabase(
            f"unsupported database {scheme!r} in {_redact(text)!r}; linkgap supports "
            "sqlite:/// URLs only"
        )
    # SQLite URLs carry no host: "sqlite:///x" leaves rest "/x", whose leading "/" separates
    # the (empty) host from the path, so the path is what follows it.
    rest = rest.split("?", 1)[0]
    if rest in ("", "/", "/:memory:"):
        return DatabaseURL(text, None)
    if not rest.startswith("/"):
        raise UnsupportedDatabase(
            f"{text!r}: a SQLite URL has no host; use sqlite:////absolute/path or "
            "sqlite:///relative/path"
        )
    return DatabaseURL(text, Path(rest[1:]))
