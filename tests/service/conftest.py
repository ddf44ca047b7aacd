"""Fixtures for the service-core tests: a real small index, a state database, a fake clock.

``state_url`` is parametrised over both stores: every test that opens services through
``make_service`` (or asks for ``state_url``) runs once on SQLite and once on a fresh
PostgreSQL database of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service.service_fixtures import built_index, clock, index_dir, state_url
from service.servicetest_support import FakeClock, make_settings

from linkgap.service import LinkgapService

__all__ = ["built_index", "clock", "index_dir", "state_url"]  # shared fixtures


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
