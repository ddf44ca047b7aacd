"""State database URLs (SQLAlchemy convention), SQLite files, PostgreSQL URLs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from service.servicetest_support import make_settings

from linkgap.errors import UnsupportedDatabase
from linkgap.service import LinkgapService, parse_database_url
from linkgap.service.sqlite_store import SCHEMA_VERSION


@pytest.mark.parametrize("url,path", [
    ("sqlite:////abs/dir/state.db", Path("/abs/dir/state.db")),
    ("sqlite:///rel/state.db", Path("rel/state.db")),
    ("sqlite:///state.db", Path("state.db")),
    ("sqlite+pysqlite:////x/y.db", Path("/x/y.db")),
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
])
def test_sqlite_urls(url: str, path: Path | None) -> None:
    parsed = parse_database_url(url)
    assert parsed.path == path
    assert parsed.in_memory == (path is None)


@pytest.mark.parametrize("url,conninfo", [
    ("postgresql://linkgap:s3cret@db.example/linkgap", "postgresql://linkgap:s3cret@db.example/linkgap"),
    ("postgres://db/x", "postgresql://db/x"),
    ("postgresql+psycopg://u@h:5433/d?sslmode=require", "postgresql://u@h:5433/d?sslmode=require"),
])
def test_postgresql_urls_select_the_postgresql_store(url: str, conninfo: str) -> None:
    parsed = parse_database_url(url)
    assert parsed.kind == "postgresql" and parsed.conninfo == conninfo
    assert not parsed.in_memory and "s3cret" not in parsed.redacted


@pytest.mark.parametrize("url", ["postgresql://linkgap:s3cret@127.0.0.1:1/linkgap",
                                 "postgresql://linkgap@127.0.0.1:1/x?password=s3cret"])
def test_unreachable_postgresql_is_one_clear_line_without_the_password(
        tmp_path: Path, index_dir: Path, url: str) -> None:
    with pytest.raises(UnsupportedDatabase) as caught:
        LinkgapService(make_settings(tmp_path, index_dir, database_url=url))
    message = caught.value.message
    assert message.startswith("cannot connect to the state database postgresql://linkgap")
    assert "s3cret" not in message and "\n" not in message


@pytest.mark.parametrize("url", ["mysql://h/d", "/just/a/path.db", "sqlite://host/x.db"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        parse_database_url(url)


def test_parent_folder_created_and_schema_versioned(tmp_path: Path, index_dir: Path) -> None:
    db = tmp_path / "deep" / "er" / "state.db"
    service = LinkgapService(make_settings(tmp_path, index_dir, database_url=f"sqlite:///{db}"))
    service.create_account("acme")
    service.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Reopening keeps the data.
    again = LinkgapService(make_settings(tmp_path, index_dir, database_url=f"sqlite:///{db}"))
    assert [a.name for a in again.list_accounts()] == ["acme"]
    again.close()


def test_relative_url_is_relative_to_the_working_directory(
        tmp_path: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    service = LinkgapService(make_settings(tmp_path, index_dir,
                                           database_url="sqlite:///rel/state.db"))
    service.close()
    assert (tmp_path / "rel" / "state.db").is_file()


def test_in_memory_database_is_shared_by_threads(tmp_path: Path, index_dir: Path) -> None:
    import threading

    service = LinkgapService(make_settings(tmp_path, index_dir, database_url="sqlite://"))
    acct = service.create_account("acme", credits=70)
    errors: list[BaseException] = []

    def go() -> None:
        try:
            service.create_run(acct.id, domain="mysite.com", competitors=["a.com", "b.com"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert service.account(acct.id).credits.available == 0
    service.close()


def test_connections_of_finished_threads_are_closed(tmp_path: Path, index_dir: Path) -> None:
    import threading

    service = LinkgapService(make_settings(tmp_path, index_dir))
    service.create_account("acme")
    for _ in range(30):  # like a server's thread pool replacing idle threads
        thread = threading.Thread(target=service.list_accounts)
        thread.start()
        thread.join()
    assert service.store.open_connections <= 2  # type: ignore[attr-defined]
    assert [a.name for a in service.list_accounts()] == ["acme"]
    service.close()
