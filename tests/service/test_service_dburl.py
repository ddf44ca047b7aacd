"""State database URLs (SQLAlchemy convention), schema versioning, PostgreSQL refusal."""

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


@pytest.mark.parametrize("url", [
    "postgresql://linkgap:s3cret@db.example/linkgap", "postgres://db/x",
    "postgresql+psycopg://u@h/d",
])
def test_postgresql_is_refused_clearly_without_echoing_the_password(url: str) -> None:
    with pytest.raises(UnsupportedDatabase) as caught:
        parse_database_url(url)
    assert "PostgreSQL is not supported yet" in caught.value.message
    assert "s3cret" not in caught.value.message


@pytest.mark.parametrize("url", ["mysql://h/d", "/just/a/path.db", "sqlite://host/x.db"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        parse_database_url(url)


def test_service_refuses_postgresql(tmp_path: Path, index_dir: Path) -> None:
    settings = make_settings(tmp_path, index_dir, database_url="postgresql://h/d")
    with pytest.raises(UnsupportedDatabase):
        LinkgapService(settings)


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


def test_newer_schema_is_refused(tmp_path: Path, index_dir: Path) -> None:
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UnsupportedDatabase, match="newer"):
        LinkgapService(make_settings(tmp_path, index_dir, database_url=f"sqlite:///{db}"))


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
