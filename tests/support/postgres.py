"""PostgreSQL for tests: a fresh database per test, dropped afterwards.

The server is ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``,
the one ``.ci/run`` starts). Outside CI a test that needs it skips, saying why,
when no server answers; in CI (``CI=true``) it fails instead, so a missing
server can never pass unnoticed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest

__all__ = ["ADMIN_URL", "fresh_database", "in_ci", "require_postgres"]

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def in_ci() -> bool:
    """True when the suite runs in CI (``CI`` set to true, 1 or yes)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@lru_cache(maxsize=1)
def _unreachable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    import psycopg

    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no PostgreSQL server at {ADMIN_URL} ({first}); set TEST_POSTGRES_URL"
    return None


def require_postgres() -> None:
    """Skip (outside CI) or fail (in CI) the calling test when PostgreSQL is unreachable."""
    reason = _unreachable()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{name}" + (f"?{query}" if query else "")


@contextmanager
def fresh_database(prefix: str = "linkgap_test") -> Iterator[str]:
    """A new, empty database for one test (its URL); dropped when the block ends."""
    import psycopg

    require_postgres()
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
