"""Fixtures for the webhook tests: the small service index, a state database of each kind,
services on it with a settable clock, and an account with credits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from service.service_fixtures import built_index, clock, index_dir, state_url
from service.servicetest_support import FakeClock, make_settings

from linkgap.service import LinkgapService

__all__ = ["built_index", "clock", "index_dir", "state_url"]  # shared fixtures


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
