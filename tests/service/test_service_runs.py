"""Gap runs: validation, charge, queue, claim, complete, fail/refund, frozen results, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from service.servicetest_support import LINKS_V2, FakeClock, make_settings, wait_for
from support.indexes import build_test_index

from linkgap.errors import IndexUnavailable, InvalidInput, NotFound, RunNotCompleted
from linkgap.service import LinkgapService
from linkgap.service.views import RUN_FIELDS

RUN = {"domain": "mysite.com", "competitors": ["a.com", "b.com"]}


def test_create_run_normalises_queues_and_charges(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=50)
    view, charged = service.create_run(acct.id, domain="https://WWW.MySite.com/x",
                                       competitors=["a.com", "B.com", "www.a.com"], limit=100)
    assert charged == 7  # k = 2 distinct competitors, ceil(2 * 100 / 30)
    d = view.as_dict()
    assert list(d) == list(RUN_FIELDS)
    assert d["id"].startswith("run_") and len(d["id"]) == 4 + 32
    assert d["status"] == "queued" and d["domain"] == "mysite.com"
    assert d["competitors"] == ["a.com", "b.com"] and d["competitor_count"] == 2
    assert d["mode"] == "union" and d["min_overlap"] == 1 and d["limit"] == 100
    assert d["credits_charged"] == 7 and d["created_at"] == "2026-03-14T12:00:00.000Z"
    for unknown in ("prospect_count", "total_found", "started_at", "finished_at",
                    "index_version", "warnings", "error"):
        assert d[unknown] is None
    # No run-time filter given: every filter field present and null, nothing excluded.
    assert d["filters"] == {"min_authority": None, "max_spam": None, "dofollow": None}
    assert d["exclude"] == []
    assert service.account(acct.id).credits.available == 43
    assert service.get_run(acct.id, view.id) == view


@pytest.mark.parametrize("kwargs,param", [
    ({"domain": "localhost"}, "domain"),
    ({"domain": 5}, "domain"),
    ({"competitors": []}, "competitors"),
    ({"competitors": "a.com"}, "competitors"),
    ({"competitors": ["a.com", "co.uk"]}, "competitors[1]"),
    ({"competitors": ["a.com", "www.mysite.com"]}, "competitors[1]"),
    ({"competitors": [f"c{i}.com" for i in range(21)]}, "competitors"),
    ({"mode": "all"}, "mode"),
    ({"min_overlap": 3}, "min_overlap"),
    ({"min_overlap": 0}, "min_overlap"),
    ({"min_overlap": True}, "min_overlap"),
    ({"mode": "intersect", "min_overlap": 1}, "min_overlap"),
    ({"limit": 9}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"limit": "100"}, "limit"),
    ({"limit": 100.0}, "limit"),
    ({"filters": {"min_authority": 101}}, "filters.min_authority"),
    ({"filters": {"max_spam": -1}}, "filters.max_spam"),
    ({"filters": {"dofollow": 0}}, "filters.dofollow"),
    ({"filters": {"q": "blog"}}, "filters.q"),
    ({"filters": "dofollow"}, "filters"),
    ({"exclude": [f"x{i}.com" for i in range(101)]}, "exclude"),
    ({"exclude": ["ok.com", "not a domain"]}, "exclude[1]"),
    ({"exclude": ["https://www.A.com/"]}, "exclude[0]"),  # a competitor
    ({"exclude": "ok.com"}, "exclude"),
])
def test_invalid_runs_are_refused_and_not_charged(service: LinkgapService, kwargs: dict,
                                                  param: str) -> None:
    acct = service.create_account("acme", credits=100)
    with pytest.raises(InvalidInput) as caught:
        service.create_run(acct.id, **{**RUN, **kwargs})
    assert caught.value.param == param
    assert service.account(acct.id).credits.available == 100


def test_intersect_min_overlap_is_k_and_max_limit_is_a_setting(make_service) -> None:
    service = make_service(max_run_limit=5000)
    acct = service.create_account("acme", credits=1000)
    view, charged = service.create_run(acct.id, **RUN, mode="intersect", min_overlap=2,
                                       limit=5000)
    assert view.min_overlap == 2 and view.mode == "intersect" and charged == 334


def test_no_index_refuses_without_charging(make_service, tmp_path: Path) -> None:
    service = make_service(index=tmp_path / "missing")
    acct = service.create_account("acme", credits=100)
    with pytest.raises(IndexUnavailable):
        service.create_run(acct.id, **RUN)
    assert service.account(acct.id).credits.available == 100


def test_claim_complete_and_result(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(acct.id, **RUN)
    with pytest.raises(RunNotCompleted) as caught:
        service.run_result(acct.id, view.id)
    assert caught.value.details == {"status": "queued"}
    assert service.run_pending_once() is True
    assert service.run_pending_once() is False
    done = service.get_run(acct.id, view.id)
    assert done.status == "completed"
    assert done.started_at and done.finished_at and done.index_version
    assert done.prospect_count == 2 and done.total_found == 2 and done.warnings == []
    assert done.error is None and done.credits_charged == 7
    result = service.run_result(acct.id, view.id)
    assert {p["domain"] for p in result.prospects()} == {"blog.com", "forum.net"}
    assert result.index_version == done.index_version
    assert service.run_result(acct.id, view.id) is result  # cached


def test_warnings_for_domains_missing_from_the_index(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(acct.id, domain="unknown-site.com",
                                 competitors=["a.com", "nowhere.com"])
    service.run_pending_once()
    codes = [w["code"] for w in service.get_run(acct.id, view.id).warnings or []]
    assert codes == ["target_not_indexed", "competitor_not_indexed"]


def test_result_is_frozen_across_an_index_rebuild(service: LinkgapService,
                                                  index_dir: Path) -> None:
    acct = service.create_account("acme", credits=100)
    first, _ = service.create_run(acct.id, **RUN)
    service.run_pending_once()
    before = service.run_result(acct.id, first.id).prospects()
    old_version = service.get_run(acct.id, first.id).index_version
    build_test_index(index_dir, LINKS_V2)
    # A fresh service (no in-memory cache) still reads the frozen result.
    fresh = LinkgapService(service.settings, clock=service.clock)
    assert fresh.run_result(acct.id, first.id).prospects() == before
    assert fresh.get_run(acct.id, first.id).index_version == old_version
    second, _ = fresh.create_run(acct.id, **RUN)
    fresh.run_pending_once()
    new_run = fresh.get_run(acct.id, second.id)
    assert new_run.index_version != old_version
    # blog.com now links to mysite.com; fresh.io is a new prospect.
    assert {p["domain"] for p in fresh.run_result(acct.id, second.id).prospects()} == {
        "fresh.io", "forum.net"}
    fresh.close()


def test_runs_are_private_to_their_account(service: LinkgapService) -> None:
    acme = service.create_account("acme", credits=100)
    globex = service.create_account("globex", credits=100)
    view, _ = service.create_run(acme.id, **RUN)
    service.run_pending_once()
    for call in (service.get_run, service.run_result):
        with pytest.raises(NotFound):
            call(globex.id, view.id)
    with pytest.raises(NotFound):
        service.get_run(acme.id, "run_" + "0" * 32)
    assert service.list_runs(globex.id) == ([], 0)


def test_list_runs_newest_first_paged_and_filtered(service: LinkgapService,
                                                   clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=1000)
    ids = []
    for _ in range(5):
        ids.append(service.create_run(acct.id, **RUN)[0].id)
        clock.advance(seconds=1)
    same_time = [service.create_run(acct.id, **RUN)[0].id for _ in range(2)]
    service.run_pending_once()  # completes the oldest
    views, total = service.list_runs(acct.id, page=1, per_page=3)
    assert total == 7
    expected = sorted(same_time) + list(reversed(ids))
    assert [v.id for v in views] == expected[:3]
    assert [v.id for v in service.list_runs(acct.id, page=3, per_page=3)[0]] == expected[6:]
    assert service.list_runs(acct.id, page=4, per_page=3)[0] == []
    completed, n = service.list_runs(acct.id, status="completed")
    assert n == 1 and completed[0].id == ids[0]
    for kwargs, param in (({"status": "done"}, "status"), ({"page": 0}, "page"),
                          ({"per_page": 101}, "per_page")):
        with pytest.raises(InvalidInput) as caught:
            service.list_runs(acct.id, **kwargs)
        assert caught.value.param == param


def test_worker_threads_complete_runs(make_service) -> None:
    service = make_service(workers=2)
    acct = service.create_account("acme", credits=100)
    views = [service.create_run(acct.id, **RUN)[0] for _ in range(4)]
    service.start_worker()
    wait_for(lambda: all(service.get_run(acct.id, v.id).status == "completed" for v in views))
    service.stop_worker()


def test_the_first_worker_warms_the_gap_kernel(make_service, tmp_path, caplog) -> None:
    from linkgap.gap import kernel

    assert make_service(index=tmp_path / "no-index").warm_engine() is False  # nothing to warm
    service = make_service()
    with caplog.at_level("INFO", logger="linkgap.service"):
        service.start_worker()
        wait_for(lambda: "gap kernel ready" in caplog.text)
        service.stop_worker()
    assert service.warm_engine() is kernel.available()


def test_a_dead_workers_run_is_taken_over_once_its_lease_expires(
        make_service, clock: FakeClock) -> None:
    killed = make_service()
    acct = killed.create_account("acme", credits=30)
    left_running, _ = killed.create_run(acct.id, **RUN)
    left_queued, _ = killed.create_run(acct.id, **RUN)
    claimed = killed.store.claim_run("2026-03-14T12:00:00.000Z", "dead-worker",
                                     "2026-03-14T12:00:30.000Z")
    assert claimed is not None and claimed.id == left_running.id
    # The "killed" worker never finishes: nothing renews its lease.
    assert killed.get_run(acct.id, left_running.id).status == "running"

    restarted = make_service()
    restarted.start_worker()
    wait_for(lambda: restarted.get_run(acct.id, left_queued.id).status == "completed")
    # While the lease lives, nobody else computes the run.
    assert restarted.get_run(acct.id, left_running.id).status == "running"
    clock.advance(seconds=31)
    wait_for(lambda: restarted.get_run(acct.id, left_running.id).status == "completed")
    restarted.stop_worker()
    assert restarted.account(acct.id).credits.available == 30 - 2 * 7
    assert restarted.run_result(acct.id, left_running.id).prospects()
    attempts = restarted.store.run_attempts(left_running.id)
    assert [(a.attempt, a.outcome) for a in attempts] == [(1, "lease_expired"),
                                                          (2, "completed")]
    assert attempts[0].worker == "dead-worker" and attempts[1].worker != "dead-worker"
    assert all(a.started_at and a.finished_at for a in attempts)


def test_a_live_lease_is_renewed_and_a_lost_one_drops_the_result(
        service: LinkgapService, clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=30)
    view, _ = service.create_run(acct.id, **RUN)
    rec = service.store.claim_run("2026-03-14T12:00:00.000Z", "w1", "2026-03-14T12:00:30.000Z")
    assert rec is not None
    assert service.store.renew_lease(rec.id, "w1", "2026-03-14T12:01:00.000Z")
    assert not service.store.renew_lease(rec.id, "w2", "2026-03-14T12:09:00.000Z")
    clock.advance(seconds=45)  # past the first lease, within the renewed one
    assert service.reap() == (0, 0)
    clock.advance(seconds=30)
    assert service.reap() == (1, 0)
    assert service.get_run(acct.id, view.id).status == "queued"
    # w1 comes back after its lease was taken: its result is dropped, its renewal refused.
    assert not service.store.renew_lease(rec.id, "w1", "2026-03-14T12:09:00.000Z")
    assert not service.store.complete_run(rec.id, "2026-03-14T12:01:20.000Z", "v", 0, 0, [],
                                          b"x", "w1")
    assert not service.store.fail_run(rec.id, "2026-03-14T12:01:20.000Z",
                                      {"code": "x", "message": "y"}, "2026-03", "w1")
    assert service.run_pending_once()
    run = service.get_run(acct.id, view.id)
    assert run.status == "completed" and run.prospect_count == 2
    assert service.account(acct.id).credits.available == 23


def test_a_run_whose_lease_expires_three_times_fails_with_a_refund(
        service: LinkgapService, clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=30)
    view, _ = service.create_run(acct.id, **RUN)
    for attempt in range(3):
        now = clock.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert service.store.claim_run(now, f"w{attempt}", now) is not None
        clock.advance(seconds=1)
        assert service.reap() == ((1, 0) if attempt < 2 else (0, 1))
    run = service.get_run(acct.id, view.id)
    assert run.status == "failed" and run.error and run.error["code"] == "run_interrupted"
    assert run.credits_charged == 0
    assert service.account(acct.id).credits.available == 30
    assert [a.outcome for a in service.store.run_attempts(view.id)] == ["lease_expired"] * 3
    assert service.run_pending_once() is False


KILLED_SERVER = """
import os, sys, time
from linkgap.service import LinkgapService
from linkgap.settings import Settings
db, index, account = sys.argv[1:4]
service = LinkgapService(Settings({"database_url": db, "index": index}, environ={}))
view, _ = service.create_run(account, domain="mysite.com", competitors=["a.com", "b.com"])
service.create_run(account, domain="mysite.com", competitors=["a.com"])
run = service.store.claim_run("2026-01-01T00:00:00.000Z")
print(run.id, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_runs_survive_a_killed_server_process(tmp_path: Path, index_dir: Path) -> None:
    settings = make_settings(tmp_path, index_dir)
    service = LinkgapService(settings)
    acct = service.create_account("acme", credits=30)
    with subprocess.Popen([sys.executable, "-c", KILLED_SERVER, settings.database_url,
                           str(index_dir), acct.id], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        running_id = proc.stdout.readline().strip()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert service.get_run(acct.id, running_id).status == "running"
    service.start_worker()
    wait_for(lambda: all(r.status == "completed" for r in service.list_runs(acct.id)[0]))
    service.stop_worker()
    runs, total = service.list_runs(acct.id)
    assert total == 2
    assert service.account(acct.id).credits.available == 30 - 7 - 4
    service.close()
