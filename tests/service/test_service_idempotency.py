"""Idempotency keys: replay, conflict, in-flight wait, abandon, 24-hour retention, scope."""

from __future__ import annotations

import threading
import time

import pytest
from service.servicetest_support import FakeClock

from linkgap.errors import IdempotencyConflict, InvalidInput
from linkgap.service import LinkgapService, StoredResponse


def test_first_request_goes_ahead_and_repeats_replay(service: LinkgapService) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp-a") is None
    service.idempotency_complete(acct.id, "k1", 202, {"data": {"id": "run_x"}})
    assert service.idempotency_begin(acct.id, "k1", "fp-a") == StoredResponse(
        202, {"data": {"id": "run_x"}})
    assert service.idempotency_begin(acct.id, "k1", "fp-a") == StoredResponse(
        202, {"data": {"id": "run_x"}})


def test_same_key_different_body_conflicts(service: LinkgapService) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp-a") is None
    with pytest.raises(IdempotencyConflict):  # while in flight
        service.idempotency_begin(acct.id, "k1", "fp-b", timeout=0)
    service.idempotency_complete(acct.id, "k1", 200, {"ok": True})
    with pytest.raises(IdempotencyConflict):  # and once done
        service.idempotency_begin(acct.id, "k1", "fp-b")


def test_keys_are_scoped_to_the_account(service: LinkgapService) -> None:
    acme = service.create_account("acme")
    globex = service.create_account("globex")
    assert service.idempotency_begin(acme.id, "k1", "fp-a") is None
    service.idempotency_complete(acme.id, "k1", 200, {"who": "acme"})
    assert service.idempotency_begin(globex.id, "k1", "fp-b") is None


def test_repeat_waits_for_the_request_in_flight(service: LinkgapService) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp") is None
    got: list[StoredResponse | None] = []
    started = threading.Event()

    def repeat() -> None:
        started.set()
        got.append(service.idempotency_begin(acct.id, "k1", "fp", timeout=60))

    thread = threading.Thread(target=repeat)
    thread.start()
    started.wait()
    time.sleep(0.2)  # let the repeat reach its polling loop
    assert got == []  # still waiting: the first has not answered yet
    service.idempotency_complete(acct.id, "k1", 202, {"n": 1})
    thread.join()
    assert got == [StoredResponse(202, {"n": 1})]


def test_repeat_gives_up_with_409_while_the_first_is_still_running(
        service: LinkgapService) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp") is None
    with pytest.raises(IdempotencyConflict, match="still being processed"):
        service.idempotency_begin(acct.id, "k1", "fp", timeout=0.1)


def test_abandoned_key_lets_a_repeat_retry(service: LinkgapService) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp") is None
    waiting: list[StoredResponse | None] = []
    thread = threading.Thread(
        target=lambda: waiting.append(service.idempotency_begin(acct.id, "k1", "fp", timeout=60)))
    thread.start()
    time.sleep(0.1)
    service.idempotency_abandon(acct.id, "k1")
    thread.join()
    assert waiting == [None]  # the waiter now owns the key
    with pytest.raises(IdempotencyConflict):
        service.idempotency_begin(acct.id, "k1", "fp", timeout=0)


def test_stale_in_flight_marker_is_taken_over(service: LinkgapService,
                                              clock: FakeClock) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp") is None
    clock.advance(minutes=11)  # the first request's process died long ago
    assert service.idempotency_begin(acct.id, "k1", "fp", timeout=0) is None


def test_keys_are_forgotten_after_24_hours(service: LinkgapService, clock: FakeClock) -> None:
    acct = service.create_account("acme")
    assert service.idempotency_begin(acct.id, "k1", "fp-a") is None
    service.idempotency_complete(acct.id, "k1", 200, {"first": True})
    clock.advance(hours=23, minutes=59)
    assert service.idempotency_begin(acct.id, "k1", "fp-a") == StoredResponse(
        200, {"first": True})
    clock.advance(minutes=2)
    assert service.idempotency_begin(acct.id, "k1", "fp-b") is None


@pytest.mark.parametrize("key", ["", "x" * 256, None])
def test_key_length_is_checked(service: LinkgapService, key: object) -> None:
    acct = service.create_account("acme")
    with pytest.raises(InvalidInput) as caught:
        service.idempotency_begin(acct.id, key, "fp")  # type: ignore[arg-type]
    assert caught.value.param == "Idempotency-Key"
    assert service.idempotency_begin(acct.id, "x" * 255, "fp") is None
