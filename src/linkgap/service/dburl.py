"""State database URLs, read the way SQLAlchemy reads them.

``sqlite:////abs/path.db`` is an absolute path, ``sqlite:///rel/path.db`` is
relative to the working directory, and ``sqlite://`` or ``sqlite:///:memory:``
is a private in-memory database (useful in tests; it lives as long as the
service object). ``postgresql://user:password@host:port/db?options`` (also
``postgres://`` and SQLAlchemy's ``postgresql+psycopg://``) selects the
PostgreSQL store; the part after the scheme is handed to libpq as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from linkgap.errors import UnsupportedDatabase

__all__ = ["DatabaseURL", "parse_database_url"]

_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2",
                     "postgresql+asyncpg", "postgresql+pg8000")


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed state-database URL: ``kind`` ``sqlite`` (``path`` the file, None in memory)
    or ``postgresql`` (``conninfo`` the libpq URL)."""

    url: str
    path: Path | None
    kind: str = "sqlite"
    conninfo: str = ""

    @property
    def in_memory(self) -> bool:
        """True for ``sqlite://`` and ``sqlite:///:memory:``."""
        return self.kind == "sqlite" and self.path is None

    @property
    def redacted(self) -> str:
        """The URL without its password, for messages and logs."""
        return _redact(self.url)


def _redact(url: str) -> str:
    """The URL with any password removed, so error messages never echo secrets."""
    url = re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, _, host = rest.partition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def parse_database_url(url: str) -> DatabaseURL:
    """Parse a state-database URL; UnsupportedDatabase for anything but SQLite and
    PostgreSQL."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise UnsupportedDatabase(
            f"{text!r} is not a database URL; use sqlite:////absolute/path/state.db "
            "or sqlite:///relative/path/state.db"
        )
    if scheme in _POSTGRES_SCHEMES:
        return DatabaseURL(text, None, "postgresql", "postgresql://" + rest)
    if scheme not in _SQLITE_SCHEMES:
        raise UnsupportedDatabase(
            f"unsupported database {scheme!r} in {_redact(text)!r}; linkgap supports "
            "sqlite:/// and postgresql:// URLs"
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
