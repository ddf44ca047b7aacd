"""The service core: accounts, keys, credits, runs, domain metrics, idempotency, worker.

``LinkgapService`` holds every business rule; the HTTP API, the CLI and the
demo are thin adapters over it. State lives behind the ``Store`` interface:
SQLite by default, PostgreSQL for several servers and workers (SPEC 11).
"""

from __future__ import annotations

from linkgap.service.core import IdempotentRequest, LinkgapService, open_store
from linkgap.service.dburl import DatabaseURL, parse_database_url
from linkgap.service.store import Replay, Store
from linkgap.service.views import (
    AccountView,
    CreditsView,
    KeyView,
    Principal,
    RunView,
    StoredResponse,
)

__all__ = [
    "AccountView",
    "CreditsView",
    "DatabaseURL",
    "IdempotentRequest",
    "KeyView",
    "LinkgapService",
    "Principal",
    "Replay",
    "RunView",
    "Store",
    "StoredResponse",
    "open_store",
    "parse_database_url",
]
