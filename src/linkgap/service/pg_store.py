"""The PostgreSQL store: the rules of ``sqlstore.SQLStore`` over psycopg 3 and a pool.

- Connections come from a ``psycopg_pool.ConnectionPool`` (autocommit; a write is
  an explicit transaction). Transactions run at READ COMMITTED; what must be
  serialised is locked explicitly: the account row being charged (``FOR
  UPDATE``), the run being claimed or reaped (``FOR UPDATE … SKIP LOCKED``, so
  concurrent workers pass each other instead of queueing), and each API key's
  rate-limit window (a transaction-scoped advisory lock).
- An Idempotency-Key is taken with ``INSERT … ON CONFLICT DO NOTHING``, which
  waits while another transaction holds the same key uncommitted: a repeat
  waits for the first request and replays its answer, or goes ahead when the
  first rolled back (its process died).
- Writes that move no credits (claims, lease renewals, completions, rate-limit
  counts) commit with ``synchronous_commit = off``: no flush to wait for, and a
  database crash can only lose such a write, which is harmless (the run is
  claimed or computed again). Charges and recorded answers wait for the flush.
- A queued run sends ``NOTIFY linkgap_runs`` at commit; workers ``LISTEN`` on a
  connection of their own and wake at once.
- The schema is created in an empty database (under an advisory lock, so
  servers starting together create it once); an older one is refused until
  ``linkgap db upgrade``, a newer one always, and a database holding other
  tables is not touched.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from linkgap.errors import UnsupportedDatabase
from linkgap.service.dburl import DatabaseURL
from linkgap.service.migrations import MIGRATIONS, SCHEMA_VERSION, TABLES
from linkgap.service.sqlstore import SQLStore

__all__ = ["PostgresStore"]

log = logging.getLogger("linkgap.service")

CHANNEL = "linkgap_runs"
CONNECT_TIMEOUT_S = 10
DEFAULT_POOL_SIZE = 10
#: How long a LISTEN wait lasts before the watcher checks whether to stop.
LISTEN_POLL_S = 0.5


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the shared SQL contains no other ``?`` or ``%``)."""
    return sql.replace("?", "%s")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStore(SQLStore):
    """State in one PostgreSQL database, shared by any number of servers and workers."""

    dialect = "postgresql"
    _FOR_UPDATE = " FOR UPDATE"
    _SKIP_LOCKED = " FOR UPDATE OF r SKIP LOCKED"
    _NEXT_SEQ = "DEFAULT"

    def __init__(self, database: DatabaseURL, *, upgrade: bool = False,
                 pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.database = database
        self._stop_watch = threading.Event()
        self._watchers: list[threading.Thread] = []
        self.schema_version, self.upgraded_from = self._prepare_schema(upgrade)
        self.pool = ConnectionPool(
            database.conninfo, min_size=1, max_size=max(2, pool_size), open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            name="linkgap", timeout=30.0,
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:
            self.pool.close()
            raise UnsupportedDatabase(
                f"cannot connect to the state database {self.where}: {_first_line(exc)}"
            ) from None

    @property
    def where(self) -> str:
        """The URL without its password, for messages."""
        return self.database.redacted

    # connections ------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        """A connection outside the pool (schema work, checks, LISTEN)."""
        try:
            return psycopg.connect(self.database.conninfo, autocommit=True,
                                   row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise UnsupportedDatabase(
                f"cannot connect to the state database {self.where}: {_first_line(exc)}"
            ) from None

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            if not durable:
                # Commit without waiting for the WAL flush: such a write can only be lost
                # if the database server crashes, and losing it is harmless (SQLStore._write).
                conn.execute("SET LOCAL synchronous_commit = off")
            yield conn

    def _read(self) -> Any:
        return self.pool.connection()

    def _x(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(_placeholders(sql), tuple(params) or None)

    def _xmany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(_placeholders(sql), rows)

    def _skip_locked(self, alias: str) -> str:
        return f" FOR UPDATE OF {alias} SKIP LOCKED"

    def _lock_name(self, conn: Any, name: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))

    def _notify_queued(self, conn: Any) -> None:
        conn.execute(f"NOTIFY {CHANNEL}")

    # schema -----------------------------------------------------------------------
    @staticmethod
    def _tables(conn: psycopg.Connection[Any]) -> set[str]:
        return {r["table_name"] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE "
            "table_schema = current_schema() AND table_type = 'BASE TABLE'")}

    def _version(self, conn: psycopg.Connection[Any]) -> int:
        tables = self._tables(conn)
        if not tables:
            return 0
        if "schema_version" in tables:
            row = conn.execute("SELECT max(version) AS v FROM schema_version").fetchone()
            return int(row["v"]) if row and row["v"] is not None else -1
        # Version 1 had no version table: its tables alone say what it is.
        return 1 if {"accounts", "runs", "idempotency"} <= tables else -1

    def _prepare_schema(self, upgrade: bool) -> tuple[int, int]:
        with self._connect() as conn, conn.transaction():
            # Servers starting together on an empty database create the schema once.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('linkgap.schema', 0))")
            before = self._version(conn)
            if before == SCHEMA_VERSION:
                return SCHEMA_VERSION, before
            if before < 0:
                raise UnsupportedDatabase(
                    f"{self.where} is not a linkgap state database (it holds other tables); "
                    "point LINKGAP_DATABASE_URL at an empty database")
            if before > SCHEMA_VERSION:
                raise UnsupportedDatabase(
                    f"the state database {self.where} has schema version {before}, newer "
                    f"than this linkgap knows ({SCHEMA_VERSION}): upgrade linkgap")
            if before > 0 and not upgrade:
                raise UnsupportedDatabase(
                    f"the state database {self.where} has schema version {before}, older "
                    f"than this linkgap's ({SCHEMA_VERSION}): run `linkgap db upgrade` (back "
                    "it up first; see docs/deployment.md)")
            for step in MIGRATIONS:
                if step.version > before:
                    for statement in step.statements("postgresql"):
                        conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))
        return SCHEMA_VERSION, before

    def check(self, quick: bool = False) -> list[str]:
        """Every table present and readable end to end (PostgreSQL checks its own pages as
        it reads them); the problems found."""
        problems: list[str] = []
        try:
            with self._connect() as conn:
                tables = self._tables(conn)
                problems += [f"table {t} is missing" for t in TABLES if t not in tables]
                if not quick:
                    for table in TABLES:
                        if table in tables:
                            conn.execute(f"SELECT count(*) FROM {table}")
                orphans = conn.execute(
                    "SELECT count(*) AS n FROM run_results WHERE run_id NOT IN "
                    "(SELECT id FROM runs)").fetchone()
                if orphans and orphans["n"]:
                    problems.append(f"{orphans['n']} results belong to no run")
        except psycopg.Error as exc:
            problems.append(f"cannot be read: {_first_line(exc)}")
        return problems

    # waking workers -----------------------------------------------------------------
    def watch(self, on_change: Callable[[], None]) -> None:
        """LISTEN for queued runs on a connection of its own; reconnects after errors."""

        def listen() -> None:
            while not self._stop_watch.is_set():
                try:
                    with self._connect() as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        on_change()  # anything queued while (re)connecting
                        while not self._stop_watch.is_set():
                            for _ in conn.notifies(timeout=LISTEN_POLL_S):
                                on_change()
                except (psycopg.Error, UnsupportedDatabase) as exc:
                    log.warning("lost the PostgreSQL notification connection (%s); "
                                "reconnecting", _first_line(exc))
                    self._stop_watch.wait(1.0)

        thread = threading.Thread(target=listen, name="linkgap-pg-listen", daemon=True)
        thread.start()
        self._watchers.append(thread)

    def close(self) -> None:
        """Stop listening and close the pool."""
        self._stop_watch.set()
        for thread in self._watchers:
            thread.join(LISTEN_POLL_S * 4)
        with contextlib.suppress(Exception):
            self.pool.close()
