"""Fixtures for the webhook tests: the small service index, a state database of each kind,
services on it with a settable clock, and an account with credits."""

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
    path = tmp_path_factory.mktemp("webhook-index") / "index"
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


#: Deliveries to the tests' loopback receivers over plain http, fast retries.
LOOPBACK = {"webhook_allow_private": True, "webhook_allow_http": True,
            "webhook_retry_base": 10, "webhook_timeout": 5}


@pytest.fixture
def make_service(tmp_path: Path, index_dir: Path, clock: FakeClock,
                 state_url: str) -> Iterator[Callable[..., LinkgapService]]:
    """Open services on one state database, with LOOPBACK unless overridden."""
    opened: list[LinkgapService] = []

    def factory(**overrides: object) -> LinkgapService:
        values = {**LOOPBACK, "database_url": state_url, **overrides}
        service = LinkgapService(make_settings(tmp_path, index_dir, **values), clock=clock)
        opened.append(service)
        return service

    yield factory
    for service in opened:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., LinkgapService]) -> LinkgapService:
    return make_service()


@pytest.fixture
def account(service: LinkgapService) -> str:
    """The id of an account with credits to spare."""
    return service.create_account("acme", credits=1000).id
