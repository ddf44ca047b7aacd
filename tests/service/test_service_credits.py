"""Credits: monthly quota first, then top-up; lazy monthly reset; refunds; no overdraft."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from service.servicetest_support import FakeClock, make_settings

from linkgap.errors import InsufficientCredits, InvalidInput, NotFound
from linkgap.service import LinkgapService

RUN = {"domain": "mysite.com", "competitors": ["a.com", "b.com"], "limit": 100}  # costs 7


def credits(service: LinkgapService, name: str) -> dict[str, object]:
    return next(a for a in service.list_accounts() if a.name == name).credits.as_dict()


def test_new_account_starts_empty_and_reports_spec_shape(service: LinkgapService) -> None:
    view = service.create_account("acme")
    assert view.as_dict() == {"name": "acme", "credits": {
        "available": 0, "monthly_quota": 0, "monthly_used": 0, "topup_balance": 0,
        "resets_at": "2026-04-01T00:00:00.000Z"}}
    with pytest.raises(InsufficientCredits):
        service.create_run(view.id, **RUN)


def test_run_cost_formula(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=1000)
    cases = [(["a.com", "b.com"], 100, 7), (["a.com"], 10, 1), (["a.com", "b.com"], 15, 1),
             (["a.com", "b.com", "forum.net"], 1000, 100), (["a.com"], 31, 2)]
    for comps, limit, cost in cases:
        _view, charged = service.create_run(acct.id, domain="mysite.com", competitors=comps,
                                            limit=limit)
        assert charged == cost, (comps, limit)


def test_quota_is_spent_before_topup(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=10, monthly_credits=5)
    assert credits(service, "acme")["available"] == 15
    _, charged = service.create_run(acct.id, **RUN)
    assert charged == 7
    assert credits(service, "acme") == {
        "available": 8, "monthly_quota": 5, "monthly_used": 5, "topup_balance": 8,
        "resets_at": "2026-04-01T00:00:00.000Z"}


def test_monthly_quota_resets_on_the_first_utc_without_carry_over(
        service: LinkgapService, clock: FakeClock) -> None:
    acct = service.create_account("acme", monthly_credits=20)
    service.create_run(acct.id, **RUN)
    service.create_run(acct.id, **RUN)
    assert credits(service, "acme")["available"] == 6
    clock.set(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    assert credits(service, "acme")["available"] == 6
    clock.set(datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC))
    after = credits(service, "acme")
    # Reset to the full quota, not 6 + 20: unused credits do not carry over.
    assert after["available"] == 20 and after["monthly_used"] == 0
    assert after["resets_at"] == "2026-05-01T00:00:00.000Z"
    service.create_run(acct.id, **RUN)
    assert credits(service, "acme")["monthly_used"] == 7
    clock.set(datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert credits(service, "acme")["resets_at"] == "2027-01-01T00:00:00.000Z"


def test_topup_credits_never_expire(service: LinkgapService, clock: FakeClock) -> None:
    service.create_account("acme", credits=3)
    clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    service.topup("acme", 4)
    assert credits(service, "acme")["topup_balance"] == 7


def test_insufficient_credits_charges_nothing(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=4, monthly_credits=2)
    with pytest.raises(InsufficientCredits) as caught:
        service.create_run(acct.id, **RUN)
    assert caught.value.details == {"required": 7, "available": 6}
    assert credits(service, "acme")["available"] == 6
    assert service.list_runs(acct.id)[1] == 0


def _fail_next_run(service: LinkgapService, index_dir: Path) -> None:
    """Make the queued run fail: the index disappears before the worker reaches it."""
    current = index_dir / "CURRENT"
    saved = current.read_bytes()
    current.unlink()
    try:
        assert service.run_pending_once()
    finally:
        current.write_bytes(saved)


def test_failed_run_refunds_to_the_buckets_it_came_from(
        service: LinkgapService, index_dir: Path) -> None:
    acct = service.create_account("acme", credits=10, monthly_credits=5)
    view, _ = service.create_run(acct.id, **RUN)  # 5 from quota, 2 from top-up
    _fail_next_run(service, index_dir)
    run = service.get_run(acct.id, view.id)
    assert run.status == "failed"
    assert run.error is not None and run.error["code"] == "index_unavailable"
    assert run.credits_charged == 0  # net of the refund
    assert credits(service, "acme") == {
        "available": 15, "monthly_quota": 5, "monthly_used": 0, "topup_balance": 10,
        "resets_at": "2026-04-01T00:00:00.000Z"}


def test_refund_into_a_quota_that_has_since_reset_is_moot(
        service: LinkgapService, index_dir: Path, clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=10, monthly_credits=5)
    service.create_run(acct.id, **RUN)  # March: 5 from quota, 2 from top-up
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    _fail_next_run(service, index_dir)
    after = credits(service, "acme")
    # The top-up part comes back; the quota part belonged to March, and April's quota is full.
    assert after["topup_balance"] == 10
    assert after["monthly_used"] == 0 and after["available"] == 15


def test_quota_refund_never_touches_a_later_month(
        service: LinkgapService, index_dir: Path, clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=10, monthly_credits=7)
    march, _ = service.create_run(acct.id, **RUN)  # 7 from March's quota
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    service.create_run(acct.id, **RUN)  # 7 from April's quota
    service.store.claim_run("2026-04-02T00:00:00.000Z")  # the March run is claimed first...
    service.store.fail_run(march.id, "2026-04-02T00:00:01.000Z", {"code": "x", "message": "x"},
                           "2026-04")  # ...and fails in April
    after = credits(service, "acme")
    assert after["monthly_used"] == 7 and after["topup_balance"] == 10


def test_topup_validation(service: LinkgapService) -> None:
    service.create_account("acme")
    with pytest.raises(InvalidInput):
        service.topup("acme", 0)
    with pytest.raises(NotFound):
        service.topup("nobody", 5)


@pytest.mark.parametrize("balance,quota", [(20, 0), (0, 20), (13, 8)])
def test_concurrent_runs_never_overdraw(service: LinkgapService, balance: int,
                                        quota: int) -> None:
    acct = service.create_account("acme", credits=balance, monthly_credits=quota)
    accepted: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(12)

    def attempt() -> None:
        barrier.wait()
        for _ in range(2):
            try:
                service.create_run(acct.id, **RUN)
                accepted.append(1)
            except InsufficientCredits:
                refused.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = balance + quota
    assert len(accepted) == total // 7
    assert len(accepted) + len(refused) == 24
    assert credits(service, "acme")["available"] == total % 7
    assert service.list_runs(acct.id, per_page=100)[1] == total // 7


CHILD = """
import sys
from linkgap.errors import InsufficientCredits
from linkgap.service import LinkgapService
from linkgap.settings import Settings
db, index, account, tries = sys.argv[1:5]
service = LinkgapService(Settings({"database_url": db, "index": index}, environ={}))
ok = 0
for _ in range(int(tries)):
    try:
        service.create_run(account, domain="mysite.com", competitors=["a.com", "b.com"])
        ok += 1
    except InsufficientCredits:
        pass
service.close()
print(ok)
"""


@pytest.mark.slow
def test_concurrent_processes_never_overdraw(tmp_path: Path, index_dir: Path) -> None:
    settings = make_settings(tmp_path, index_dir)
    service = LinkgapService(settings)  # the real clock, as in the child processes
    acct = service.create_account("acme", credits=40, monthly_credits=10)  # room for 7 runs
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, settings.database_url,
                               str(index_dir), acct.id, "4"], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(int(o.strip()) for o in outputs) == 50 // 7
    assert service.account(acct.id).credits.available == 50 % 7
    service.close()
