"""Fixtures for the service-core tests: a real small index, a state database, a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service.servicetest_support import LINKS_V1, FakeClock, make_settings
from support.indexes import build_test_index

from linkgap.service import LinkgapService


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    build_test_index(path, LINKS_V1)
    return path


@pytest.fixture
def make_service(tmp_path: Path, index_dir: Path,
                 clock: FakeClock) -> Iterator[Callable[..., LinkgapService]]:
    """Open services on one state database (close them all at the end)."""
    opened: list[LinkgapService] = []

    def factory(**overrides: object) -> LinkgapService:
        service = LinkgapService(make_settings(tmp_path, index_dir, **overrides), clock=clock)
        opened.append(service)
        return service

    yield factory
    for service in opened:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., LinkgapService]) -> LinkgapService:
    return make_service()
