"""The SQLite store: the rules of ``sqlstore.SQLStore`` over one SQLite file.

- One connection per thread (``threading.local``), WAL journal
  (``synchronous = NORMAL``), a generous ``busy_timeout``: readers never block
  the writer and many processes (servers, workers, the CLI) can share one file.
- Every write runs inside ``BEGIN IMMEDIATE``: the write lock is taken before
  anything is read, so two charges can never both see the same balance and two
  workers can never claim the same run. CHECK constraints guard the balances a
  second time.
- The schema version lives in the ``schema_version`` table (databases from
  before it: ``PRAGMA user_version``). A new file gets the current schema; an
  older one is refused until ``linkgap db upgrade``, a newer one always. A file
  that is not a SQLite database, is damaged, or holds other tables is refused
  with a one-line message.
- Workers in other processes learn of new runs by watching ``PRAGMA
  data_version`` (it changes when another connection commits) rather than by
  claiming on a timer.
- An in-memory database (``sqlite://``) is a single connection shared by all
  threads behind a lock, since each SQLite memory connection is its own
  database.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from linkgap.errors import UnsupportedDatabase
from linkgap.service.dburl import DatabaseURL
from linkgap.service.migrations import MIGRATIONS, SCHEMA_VERSION, TABLES
from linkgap.service.sqlstore import SQLStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

BUSY_TIMEOUT_MS = 30_000
#: How often a watching worker looks for commits by other processes.
WATCH_INTERVAL_S = 0.02


def _damaged(where: str, exc: BaseException) -> UnsupportedDatabase:
    return UnsupportedDatabase(
        f"the state database {where} cannot be read ({exc}): it is damaged or is not a "
        "SQLite database; restore it from a backup (see docs/deployment.md), or point "
        "LINKGAP_DATABASE_URL elsewhere")


class SQLiteStore(SQLStore):
    """State in one SQLite file (or in memory), safe across threads and processes."""

    dialect = "sqlite"

    def __init__(self, database: DatabaseURL, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                 upgrade: bool = False) -> None:
        self.database = database
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Every connection opened, with the thread that owns it: a server's thread pool
        # replaces idle threads, so connections of finished threads are closed as new ones
        # open (otherwise file descriptors would leak over a long uptime).
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._stop_watch = threading.Event()
        self._watchers: list[threading.Thread] = []
        # In memory there is one connection, so one thread at a time may use it.
        self._memory_lock: threading.RLock | None = None
        self._memory_conn: sqlite3.Connection | None = None
        if database.path is None:
            self._memory_lock = threading.RLock()
            self._memory_conn = self._open(":memory:")
        else:
            database.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.schema_version, self.upgraded_from = self._prepare_schema(upgrade)
        except BaseException:
            self.close()
            raise

    @property
    def where(self) -> str:
        """The file (or ``memory``), for messages."""
        return str(self.database.path) if self.database.path else "(in memory)"

    # connections ------------------------------------------------------------
    def _open(self, target: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                target, isolation_level=None, check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if target != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut can
                # lose the last commits but never splits one (a run and its charge go together).
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise _damaged(target, exc) from None
        except sqlite3.Error as exc:
            raise UnsupportedDatabase(f"cannot open the state database {target}: {exc}") from None
        with self._all_lock:
            alive = []
            for thread, old in self._all:
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    with contextlib.suppress(sqlite3.Error):
                        old.close()
            alive.append((threading.current_thread(), conn))
            self._all = alive
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise RuntimeError("the state store is closed")
        if self._memory_lock is not None and self._memory_conn is not None:
            with self._memory_lock:
                yield self._memory_conn
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            assert self.database.path is not None
            conn = self._open(str(self.database.path))
            self._local.conn = conn
        yield conn

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from its first statement (every
        commit is equally durable here: WAL with ``synchronous = NORMAL``)."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self) -> Any:
        return self._conn()

    def _x(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(sql, params)

    def _xmany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    # schema -----------------------------------------------------------------
    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        """The schema version of the open database: 0 for an empty one."""
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        if not tables:
            return 0
        if "schema_version" in tables:
            return int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0])
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if user_version >= 1 and {"accounts", "runs"} <= tables:
            return user_version  # linkgap 0.1 kept its version here
        return -1

    def _prepare_schema(self, upgrade: bool) -> tuple[int, int]:
        """Create, check or (with ``upgrade``) migrate the schema: (version, version before)."""
        try:
            with self._conn() as conn:
                # A table rebuild must not trip foreign keys half-way; they are checked at
                # the end instead. The pragma cannot change inside a transaction.
                conn.execute("PRAGMA foreign_keys = OFF")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        before = self._version(conn)
                        self._migrate(conn, before, upgrade)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                finally:
                    conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.where, exc) from None
        return SCHEMA_VERSION, before

    def _migrate(self, conn: sqlite3.Connection, before: int, upgrade: bool) -> None:
        if before == SCHEMA_VERSION:
            return
        if before < 0:
            raise UnsupportedDatabase(
                f"{self.where} is not a linkgap state database (it holds other tables); "
                "point LINKGAP_DATABASE_URL at a new file")
        if before > SCHEMA_VERSION:
            raise UnsupportedDatabase(
                f"the state database {self.where} has schema version {before}, newer than "
                f"this linkgap knows ({SCHEMA_VERSION}): upgrade linkgap")
        if before > 0 and not upgrade:
            raise UnsupportedDatabase(
                f"the state database {self.where} has schema version {before}, older than "
                f"this linkgap's ({SCHEMA_VERSION}): run `linkgap db upgrade` (back it up "
                "first; see docs/deployment.md)")
        for step in MIGRATIONS:
            if step.version > before:
                for statement in step.statements("sqlite"):
                    conn.execute(statement)
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:  # pragma: no cover - a migration bug, not a user error
            raise UnsupportedDatabase(f"migration left {len(broken)} broken references")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def check(self, quick: bool = False) -> list[str]:
        """``PRAGMA integrity_check`` (``quick_check`` when ``quick``), foreign keys and
        tables; the problems found (empty when the database is sound)."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            with self._conn() as conn:
                problems = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}")]
                if problems == ["ok"]:
                    problems = []
                problems += [f"broken reference in {r[0]} (row {r[1]}) to {r[2]}"
                             for r in conn.execute("PRAGMA foreign_key_check")]
                tables = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            return [f"cannot be read: {exc}"]
        problems += [f"table {t} is missing" for t in TABLES if t not in tables]
        return problems

    # waking workers in other processes ------------------------------------------
    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` whenever another connection commits (polls data_version)."""
        if self.database.path is None:
            return  # one process: the service wakes its own workers
        path = str(self.database.path)

        def poll() -> None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                seen = conn.execute("PRAGMA data_version").fetchone()[0]
                while not self._stop_watch.wait(WATCH_INTERVAL_S):
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                    if now != seen:
                        seen = now
                        on_change()
            except sqlite3.Error:  # pragma: no cover - the file went away: stop watching
                return
            finally:
                conn.close()

        thread = threading.Thread(target=poll, name="linkgap-sqlite-watch", daemon=True)
        thread.start()
        self._watchers.append(thread)

    @property
    def open_connections(self) -> int:
        """How many connections this store holds open (one per live thread that used it)."""
        with self._all_lock:
            return len(self._all)

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        self._closed = True
        self._stop_watch.set()
        for thread in self._watchers:
            thread.join(1.0)
        with self._all_lock:
            conns, self._all = self._all, []
        for _thread, conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing is best effort
                conn.close()
