"""Fixtures for the service-core tests: a real small index, a state database, a fake clock.

``state_url`` is parametrised over both stores: every test that opens services through
``make_service`` (or asks for ``state_url``) runs once on SQLite and once on a fresh
PostgreSQL database of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service.servicetest_support import LINKS_V1, FakeClock, make_settings
from support.indexes import build_test_index
from support.postgres import fresh_database

from linkgap.service import LinkgapService


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


@pytest.fixture
def make_service(tmp_path: Path, index_dir: Path, clock: FakeClock,
                 state_url: str) -> Iterator[Callable[..., LinkgapService]]:
    """Open services on one state database (close them all at the end)."""
    opened: list[LinkgapService] = []

    def factory(**overrides: object) -> LinkgapService:
        overrides.setdefault("database_url", state_url)
        service = LinkgapService(make_settings(tmp_path, index_dir, **overrides), clock=clock)
        opened.append(service)
        return service

    yield factory
    for service in opened:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., LinkgapService]) -> LinkgapService:
    return make_service()
