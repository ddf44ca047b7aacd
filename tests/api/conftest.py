"""Fixtures for the HTTP API tests: a small real index (see ``api.apitest_support``),
a real service on a fresh SQLite state database per test, and an in-process client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import PROSPECT_COUNT, Api, build_index, make_api


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test index, built once (read-only for the tests that share it)."""
    path = tmp_path_factory.mktemp("api-index") / "index"
    build_index(path)
    return path


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """The error records the app logs during the test, live; a test that asks for them
    expects some, and checks them itself."""
    handler = _Collect()
    logger = logging.getLogger("linkgap.api")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every API test fails if the app logged an unhandled error (a would-be 500), unless
    it asked for ``server_errors``."""
    handler = _Collect()
    logger = logging.getLogger("linkgap.api")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if "server_errors" not in request.fixturenames:
        assert not handler.records, [r.getMessage() for r in handler.records]


@pytest.fixture
def api(tmp_path: Path, shared_index: Path) -> Iterator[Api]:
    """The Api every test uses: account acme (1000 credits, key), account rival (key)."""
    yield from make_api(tmp_path, shared_index)


@pytest.fixture
def run_id(api: Api) -> str:
    """A completed union run of mysite.com against a, b, c (limit 100)."""
    return api.completed_run()


@pytest.fixture
def all_prospects(api: Api, run_id: str) -> list[dict[str, Any]]:
    """Every prospect of ``run_id`` in the default order (one page of 100)."""
    r = api.get(f"/v1/backlinks/gap/{run_id}/prospects", params={"per_page": 100})
    assert r.status_code == 200
    rows = list(r.json()["data"])
    assert len(rows) == PROSPECT_COUNT
    return rows
