"""The fixtures that every suite running a service on its own state database shares:
a real small index (built once, copied per test), a state database of each kind and a
fake clock. Conftests import them (``tests/service``, ``tests/webhooks``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service.servicetest_support import LINKS_V1, FakeClock
from support.indexes import build_test_index
from support.postgres import fresh_database

__all__ = ["built_index", "clock", "index_dir", "state_url"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small test index, built once; tests get their own copy (some rebuild it)."""
    path = tmp_path_factory.mktemp("service-index") / "index"
    build_test_index(path, LINKS_V1)
    return path


@pytest.fixture
def index_dir(tmp_path: Path, built_index: Path) -> Path:
    path = tmp_path / "index"
    shutil.copytree(built_index, path, symlinks=True)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The state database of the test: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'state.db'}"
        return
    with fresh_database() as url:
        yield url
