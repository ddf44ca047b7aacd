"""Idempotency keys: the answer is recorded with the charge and the run, in one transaction.

Replay, conflict, a concurrent repeat waiting for the first, a transaction cut at any
point leaving nothing, recorded errors, 24-hour retention, scope. Every test runs on
SQLite and on PostgreSQL (``state_url``).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from service.servicetest_support import FakeClock

from linkgap.errors import IdempotencyConflict, InsufficientCredits, InvalidInput
from linkgap.service import IdempotentRequest, LinkgapService, Replay, StoredResponse, faults

RUN = {"domain": "mysite.com", "competitors": ["a.com", "b.com"]}  # costs 7


def respond(view: Any, charged: int) -> tuple[int, dict[str, Any]]:
    return 202, {"data": {"id": view.id}, "meta": {"credits_charged": charged}}


def request(key: str = "k1", fp: str = "fp-a") -> IdempotentRequest:
    return IdempotentRequest(key, fp, respond)


def balance(service: LinkgapService, account_id: str) -> int:
    return service.account(account_id).credits.available


def test_the_answer_is_recorded_with_the_run_and_replayed(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=50)
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") is None
    view, charged = service.create_run(acct.id, **RUN, idempotency=request())
    expected = StoredResponse(202, {"data": {"id": view.id}, "meta": {"credits_charged": 7}})
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") == expected
    # A repeat that got past the lookup (a race) is told to replay; nothing more is charged.
    with pytest.raises(Replay) as caught:
        service.create_run(acct.id, **RUN, idempotency=request())
    assert caught.value.record.body == expected.body
    assert balance(service, acct.id) == 50 - 7
    assert service.list_runs(acct.id)[1] == 1


def test_same_key_different_body_conflicts(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=50)
    service.create_run(acct.id, **RUN, idempotency=request())
    with pytest.raises(IdempotencyConflict):
        service.idempotency_lookup(acct.id, "k1", "fp-b")
    with pytest.raises(IdempotencyConflict):
        service.create_run(acct.id, **RUN, idempotency=request(fp="fp-b"))
    assert balance(service, acct.id) == 43


def test_keys_are_scoped_to_the_account(service: LinkgapService) -> None:
    acme = service.create_account("acme", credits=50)
    globex = service.create_account("globex", credits=50)
    service.create_run(acme.id, **RUN, idempotency=request())
    assert service.idempotency_lookup(globex.id, "k1", "fp-b") is None
    service.create_run(globex.id, **RUN, idempotency=request(fp="fp-b"))
    assert balance(service, globex.id) == 43


def test_a_repeat_waits_for_the_first_inside_its_transaction(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=50)
    inside, release = threading.Event(), threading.Event()

    def pause_first(point: str) -> None:
        if point == "run.charged" and threading.current_thread().name == "first":
            inside.set()
            assert release.wait(30)

    outcomes: dict[str, Any] = {}

    def attempt(name: str) -> None:
        try:
            outcomes[name] = service.create_run(acct.id, **RUN, idempotency=request())[0].id
        except Replay as replay:
            outcomes[name] = ("replay", replay.record.body)

    faults.install(pause_first)
    try:
        first = threading.Thread(target=attempt, args=("first",), name="first")
        first.start()
        assert inside.wait(30)
        second = threading.Thread(target=attempt, args=("second",), name="second")
        second.start()
        second.join(0.5)
        assert second.is_alive(), "the repeat must wait while the first holds its key"
        release.set()
        first.join(30)
        second.join(30)
    finally:
        faults.install(None)
    run_id = outcomes["first"]
    assert outcomes["second"] == ("replay", {"data": {"id": run_id},
                                             "meta": {"credits_charged": 7}})
    assert balance(service, acct.id) == 43 and service.list_runs(acct.id)[1] == 1


@pytest.mark.parametrize("point", ["run.begin", "run.idempotency_recorded", "run.charged",
                                   "run.inserted"])
def test_a_transaction_cut_anywhere_leaves_nothing(service: LinkgapService, point: str) -> None:
    acct = service.create_account("acme", credits=50)

    def crash(reached: str) -> None:
        if reached == point:
            raise RuntimeError("the process died here")

    faults.install(crash)
    try:
        with pytest.raises(RuntimeError):
            service.create_run(acct.id, **RUN, idempotency=request())
    finally:
        faults.install(None)
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") is None
    assert balance(service, acct.id) == 50 and service.list_runs(acct.id)[1] == 0
    # The repeat runs as new, and is charged once.
    service.create_run(acct.id, **RUN, idempotency=request())
    assert balance(service, acct.id) == 43 and service.list_runs(acct.id)[1] == 1


def test_a_refused_request_records_its_answer_and_charges_nothing(
        service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=3)
    with pytest.raises(InsufficientCredits):
        service.create_run(acct.id, **RUN, idempotency=request())
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") is None  # rolled back
    assert service.idempotency_record(acct.id, "k1", "fp-a", 402, {"error": "x"}) is None
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") == StoredResponse(
        402, {"error": "x"})
    # A concurrent repeat that recorded second gets the first answer back.
    assert service.idempotency_record(acct.id, "k1", "fp-a", 402, {"error": "y"}) == (
        StoredResponse(402, {"error": "x"}))
    with pytest.raises(IdempotencyConflict):
        service.idempotency_record(acct.id, "k1", "fp-b", 402, {"error": "z"})
    assert balance(service, acct.id) == 3


def test_domain_metrics_record_their_answer_with_the_charge(service: LinkgapService) -> None:
    acct = service.create_account("acme", credits=10)

    def metrics_answer(rows: Any, charged: int) -> tuple[int, dict[str, Any]]:
        return 200, {"data": [r["domain"] for r in rows], "meta": {"credits_charged": charged}}

    idem = IdempotentRequest("m1", "fp-m", metrics_answer)
    rows, charged = service.domain_metrics(acct.id, ["a.com", "blog.com"], idempotency=idem)
    assert charged == 2
    assert service.idempotency_lookup(acct.id, "m1", "fp-m") == StoredResponse(
        200, {"data": ["a.com", "blog.com"], "meta": {"credits_charged": 2}})
    with pytest.raises(Replay):
        service.domain_metrics(acct.id, ["a.com", "blog.com"], idempotency=idem)
    assert balance(service, acct.id) == 8


def test_keys_are_forgotten_after_24_hours(service: LinkgapService, clock: FakeClock) -> None:
    acct = service.create_account("acme", credits=50)
    service.create_run(acct.id, **RUN, idempotency=request())
    clock.advance(hours=23, minutes=59)
    assert service.idempotency_lookup(acct.id, "k1", "fp-a") is not None
    clock.advance(minutes=2)
    assert service.idempotency_lookup(acct.id, "k1", "fp-b") is None
    service.create_run(acct.id, **RUN, idempotency=request(fp="fp-b"))
    assert balance(service, acct.id) == 50 - 14


@pytest.mark.parametrize("key", ["", "x" * 256, None])
def test_key_length_is_checked(service: LinkgapService, key: object) -> None:
    acct = service.create_account("acme", credits=50)
    with pytest.raises(InvalidInput) as caught:
        service.idempotency_lookup(acct.id, key, "fp")  # type: ignore[arg-type]
    assert caught.value.param == "Idempotency-Key"
    with pytest.raises(InvalidInput):
        service.create_run(acct.id, **RUN, idempotency=request(key=key))  # type: ignore[arg-type]
    assert balance(service, acct.id) == 50
    assert service.idempotency_lookup(acct.id, "x" * 255, "fp") is None
