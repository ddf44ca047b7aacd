"""SPEC 11 on both stores: fairness, concurrent claims, schema versions, damage, retention.

Every test that takes ``make_service`` or ``state_url`` runs on SQLite and on a fresh
PostgreSQL database.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from service.servicetest_support import FakeClock, make_settings

from linkgap.errors import RunExpired, UnsupportedDatabase
from linkgap.service import LinkgapService, open_store
from linkgap.service.db import check_database, upgrade_database
from linkgap.service.migrations import MIGRATIONS, SCHEMA_VERSION

SMALL = {"domain": "mysite.com", "competitors": ["a.com"], "limit": 10}
BIG = {"domain": "mysite.com", "competitors": ["a.com", "b.com"], "limit": 300}


def test_a_small_run_of_b_is_not_stuck_behind_30_queued_runs_of_a(make_service) -> None:
    service = make_service()
    a = service.create_account("a", credits=10_000)
    b = service.create_account("b", credits=100)
    a_runs = [service.create_run(a.id, **BIG)[0].id for _ in range(30)]
    b_run = service.create_run(b.id, **SMALL)[0].id
    finished: list[str] = []
    while service.run_pending_once():
        finished = [r.id for r in sorted(
            (r for acct in (a, b) for r in service.list_runs(acct.id, per_page=100)[0]
             if r.status == "completed"), key=lambda r: (r.finished_at, r.id))]
        if b_run in finished:
            break
    # Round-robin: A's oldest run went first (A was served no earlier than B), then B's.
    assert finished.index(b_run) <= 1 and len(finished) <= 2
    while service.run_pending_once():
        pass
    order = [service.get_run(a.id, r).started_at for r in a_runs]
    assert order == sorted(order), "oldest first within one account"


def test_round_robin_alternates_between_accounts_oldest_first(make_service) -> None:
    service = make_service()
    accounts = [service.create_account(n, credits=100) for n in ("x", "y", "z")]
    made = {acct.id: [service.create_run(acct.id, **SMALL)[0].id for _ in range(3)]
            for acct in accounts}
    owner = {run: acct for acct, runs in made.items() for run in runs}
    claimed = []
    while (rec := service.store.claim_run("2026-03-14T12:00:00.000Z", "w")) is not None:
        claimed.append(rec.id)
    assert len(claimed) == 9
    rounds = [claimed[i:i + 3] for i in range(0, 9, 3)]
    for rnd in rounds:
        assert len({owner[r] for r in rnd}) == 3, "every account once per round"
    for acct, runs in made.items():
        assert [r for r in claimed if owner[r] == acct] == runs


def test_concurrent_claimers_never_take_the_same_run(make_service) -> None:
    service = make_service()
    acct = service.create_account("acme", credits=1000)
    ids = {service.create_run(acct.id, **SMALL)[0].id for _ in range(40)}
    other = make_service()  # a second process's connections
    got: list[str] = []
    lock = threading.Lock()

    def claim(svc: LinkgapService, name: str) -> None:
        while (rec := svc.store.claim_run("2026-03-14T12:00:00.000Z", name)) is not None:
            with lock:
                got.append(rec.id)

    threads = [threading.Thread(target=claim, args=(svc, f"w{i}"))
               for i, svc in enumerate([service, other] * 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)


def test_retention_expires_completed_runs_and_their_prospects_are_410(
        make_service, clock: FakeClock) -> None:
    service = make_service(run_retention_days=7)
    acct = service.create_account("acme", credits=100)
    old = service.create_run(acct.id, **SMALL)[0]
    service.run_pending_once()
    clock.advance(days=6)
    fresh = service.create_run(acct.id, **SMALL)[0]
    service.run_pending_once()
    failed = service.create_run(acct.id, **SMALL)[0]
    service.store.fail_run(failed.id, "2026-03-20T12:00:00.000Z",
                           {"code": "x", "message": "y"}, "2026-03")
    assert service.run_result(acct.id, old.id).prospects()
    clock.advance(days=1, seconds=1)
    # Past retention: expired at once, before any prune ran (no write on the read path).
    assert service.get_run(acct.id, old.id).status == "expired"
    with pytest.raises(RunExpired) as caught:
        service.run_result(acct.id, old.id)
    assert caught.value.status == 410 and caught.value.code == "run_expired"
    assert [v.id for v in service.list_runs(acct.id, status="expired")[0]] == [old.id]
    assert {v.id for v in service.list_runs(acct.id, status="completed")[0]} == {fresh.id}
    assert service.prune_runs() == 1
    assert service.store.run_result(old.id) is None  # the prospects are gone
    view = service.get_run(acct.id, old.id)
    assert view.status == "expired" and view.prospect_count is not None
    assert service.get_run(acct.id, failed.id).status == "failed"  # failed runs stay failed
    assert service.run_result(acct.id, fresh.id).prospects()
    assert service.prune_runs() == 0


def test_runs_are_kept_forever_by_default(make_service, clock: FakeClock) -> None:
    service = make_service()
    acct = service.create_account("acme", credits=100)
    run = service.create_run(acct.id, **SMALL)[0]
    service.run_pending_once()
    clock.advance(days=3650)
    assert service.prune_runs() == 0
    assert service.get_run(acct.id, run.id).status == "completed"


# ---------------------------------------------------------------- schema versions

def _v1_database(state_url: str) -> None:
    """A state database as linkgap 0.1 wrote it (schema 1), with a run left running."""
    if state_url.startswith("sqlite"):
        path = state_url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
        conn.executescript(MIGRATIONS[0].sqlite + ";\nPRAGMA user_version = 1;")
        run = conn.execute
    else:
        import psycopg

        conn = psycopg.connect(state_url, autocommit=True)  # type: ignore[assignment]
        for statement in MIGRATIONS[0].statements("postgresql"):
            conn.execute(statement)
        run = lambda sql, args=(): conn.execute(sql.replace("?", "%s"), args)  # noqa: E731
    run("INSERT INTO accounts (id, name, created_at, monthly_quota, monthly_used, quota_period,"
        " topup_balance) VALUES ('acct_1', 'acme', '2026-01-01T00:00:00.000Z', 0, 0, '2026-01',"
        " 93)")
    run("INSERT INTO runs (id, account_id, status, domain, competitors, mode, min_overlap, "
        "\"limit\", created_at, started_at, credits_charged, charge_topup, charge_period, "
        "attempts) VALUES ('run_old', 'acct_1', 'running', 'mysite.com', '[\"a.com\", "
        "\"b.com\"]', 'union', 1, 100, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z',"
        " 7, 7, '2026-01', 1)")
    run("INSERT INTO idempotency (account_id, key, fingerprint, state, created_at) VALUES "
        "('acct_1', 'left-in-flight', 'fp', 'in_flight', '2026-01-01T00:00:00.000Z')")
    if hasattr(conn, "commit"):
        conn.commit()
    conn.close()


def test_an_older_schema_is_refused_until_db_upgrade_then_its_runs_complete(
        state_url: str, make_service) -> None:
    _v1_database(state_url)
    with pytest.raises(UnsupportedDatabase) as caught:
        open_store(state_url)
    assert "older" in caught.value.message and "`linkgap db upgrade`" in caught.value.message
    assert check_database(state_url).problems == [caught.value.message]
    report = upgrade_database(state_url)
    assert (report.before, report.version) == (1, SCHEMA_VERSION)
    assert upgrade_database(state_url).before == SCHEMA_VERSION  # a second upgrade: no-op
    assert check_database(state_url).problems == []
    service = make_service()
    # The run 0.1 left running has no live lease: the first worker takes it over.
    assert service.run_pending_once()
    run = service.get_run("acct_1", "run_old")
    assert run.status == "completed" and run.prospect_count == 2
    # Queued before run-time filters existed: none applied, nothing excluded.
    assert run.filters == {"min_authority": None, "max_spam": None, "dofollow": None}
    assert run.exclude == []
    assert service.account("acct_1").credits.available == 93
    assert service.idempotency_lookup("acct_1", "left-in-flight", "fp") is None


def test_a_run_keeps_its_filters_and_exclusions_in_either_store(make_service) -> None:
    service = make_service()
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(
        acct.id, domain="mysite.com", competitors=["a.com", "b.com"], limit=10,
        filters={"dofollow": False, "max_spam": 100},
        exclude=["https://WWW.Blog.com/", "blog.com", "elsewhere.org"])
    assert view.filters == {"min_authority": None, "max_spam": 100, "dofollow": False}
    assert view.exclude == ["blog.com", "elsewhere.org"]
    other = make_service()  # another process, reading the stored row
    stored = other.get_run(acct.id, view.id)
    assert (stored.filters, stored.exclude) == (view.filters, view.exclude)
    assert other.run_pending_once()
    done = service.get_run(acct.id, view.id)
    assert done.status == "completed" and done.total_found == 1
    assert [w["code"] for w in done.warnings or []] == ["exclude_not_indexed"]
    assert [r["domain"] for r in service.run_result(acct.id, view.id).prospects()] == [
        "forum.net"]
    assert service.run_result(acct.id, view.id).exclude == ["blog.com", "elsewhere.org"]


def test_the_links_frozen_with_a_run_are_kept_in_either_store(make_service) -> None:
    service = make_service()
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(acct.id, domain="mysite.com", competitors=["a.com", "b.com"],
                                 limit=10)
    assert service.run_pending_once()
    other = make_service()  # another process: reads the stored links, not a cache
    data = other.prospect(acct.id, view.id, "https://WWW.Blog.com/")
    assert data["domain"] == "blog.com" and data["links_frozen"] is True
    assert [e["competitor"] for e in data["links"]] == ["a.com", "b.com"]
    assert [s["source_url"] for s in data["links"][1]["samples"]] == ["https://blog.com/a"]
    assert other.store.run_links(view.id) == service.store.run_links(view.id) is not None
    # Retention deletes them with the prospects.
    assert service.store.expire_runs("9999-01-01T00:00:00.000Z") == 1
    assert service.store.run_links(view.id) is None


def test_a_newer_schema_is_refused(state_url: str, make_service) -> None:
    make_service().close()
    _set_version(state_url, SCHEMA_VERSION + 1)
    for opener in (open_store, lambda url: open_store(url, upgrade=True)):
        with pytest.raises(UnsupportedDatabase, match="newer than this linkgap knows.*"
                                                      "upgrade linkgap"):
            opener(state_url)


def _set_version(state_url: str, version: int) -> None:
    if state_url.startswith("sqlite"):
        with sqlite3.connect(state_url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE schema_version SET version = ?", (version,))
    else:
        import psycopg

        with psycopg.connect(state_url, autocommit=True) as pg:
            pg.execute("UPDATE schema_version SET version = %s", (version,))


def test_a_database_of_something_else_is_not_touched(state_url: str) -> None:
    if state_url.startswith("sqlite"):
        path = Path(state_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER)")
    else:
        import psycopg

        with psycopg.connect(state_url, autocommit=True) as pg:
            pg.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(UnsupportedDatabase, match="is not a linkgap state database"):
        open_store(state_url, upgrade=True)


def test_a_file_that_is_not_a_database_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(UnsupportedDatabase) as caught:
        open_store(f"sqlite:///{bad}")
    assert "damaged or is not a SQLite database" in caught.value.message
    assert "\n" not in caught.value.message


def test_damage_in_the_middle_of_the_file_is_found_by_db_check_and_at_start(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    from linkgap.service.store import AccountRecord

    for i in range(400):
        store.create_account(AccountRecord(f"acct_{i:04d}", f"name-{i:04d}-" + "x" * 40,
                                           "2026-01-01T00:00:00.000Z", 0, 0, "2026-01", i))
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 8
    data = bytearray(path.read_bytes())
    middle = (pages // 2) * page_size  # a few whole pages half-way: page 1 stays readable
    data[middle: middle + 4 * page_size] = b"\xa5" * (4 * page_size)
    path.write_bytes(bytes(data))
    report = check_database(url)
    assert report.problems and report.row()["ok"] is False
    with LinkgapService(make_settings(tmp_path, tmp_path / "index", database_url=url)) as svc, \
            pytest.raises(UnsupportedDatabase, match="damaged.*linkgap db check"):
        svc.verify_store()  # what `linkgap serve` and `linkgap worker` do at start
