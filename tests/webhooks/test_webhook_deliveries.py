"""Webhook deliveries through the service, on SQLite and PostgreSQL, to real receivers on
loopback ports (SPEC 13): what is POSTed and signed, retries with backoff (a settable
clock stands in for the waits), giving up after 24 hours, the run's ``webhook`` field,
addresses refused at send time, timeouts, secret rotation, leases shared by several
senders."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from service.servicetest_support import FakeClock
from support.receiver import Received, receiver

from linkgap.errors import InvalidInput, NotFound
from linkgap.service import LinkgapService
from linkgap.service.timeutil import iso_z, parse_iso_z
from linkgap.webhooks.signing import verify

COMPETITORS = ["a.com", "b.com"]


def _run(service: LinkgapService, account: str, url: str | None) -> str:
    view, _ = service.create_run(account, domain="mysite.com", competitors=COMPETITORS,
                                 callback_url=url)
    return view.id


def _signed_by(secret: str, got: Received) -> bool:
    return verify(secret, got.headers["Linkgap-Signature"], got.body)


def test_a_completed_run_is_posted_signed_as_get_shows_it(service: LinkgapService,
                                                          account: str) -> None:
    with receiver([200]) as r:
        run_id = _run(service, account, r.url)
        queued = service.get_run(account, run_id)
        assert queued.callback_url == r.url
        assert queued.webhook == {"status": "pending", "attempts": 0, "last_error": None,
                                  "next_attempt_at": None}
        assert not service.deliver_pending_once()  # nothing is due before the run ends
        assert service.run_pending_once()
        assert service.deliver_pending_once()
        (got,) = r.wait_for(1)
    payload = json.loads(got.body)
    after = service.get_run(account, run_id).as_dict()
    assert payload["id"] == run_id and payload["status"] == "completed"
    # The run object, as GET showed it when the attempt was made (this attempt counted).
    assert payload == {**after, "webhook": {**after["webhook"], "status": "pending",
                                            "next_attempt_at": payload["webhook"][
                                                "next_attempt_at"]}}
    assert got.headers["Linkgap-Event"] == "run.completed"
    assert got.headers["Linkgap-Attempt"] == "1"
    assert _signed_by(service.webhook_secret("acme"), got)
    assert after["webhook"] == {"status": "delivered", "attempts": 1, "last_error": None,
                                "next_attempt_at": None}
    (attempt,) = service.store.delivery_attempts(run_id)
    assert (attempt.attempt, attempt.outcome, attempt.http_status) == (1, "delivered", 200)
    assert not service.deliver_pending_once()  # delivered once, never again


def test_a_failed_run_is_posted_too(service: LinkgapService, account: str,
                                    index_dir: Path, tmp_path: Path) -> None:
    with receiver([200]) as r:
        run_id = _run(service, account, r.url)
        shutil.move(index_dir, tmp_path / "gone")  # the run cannot be computed: it fails
        assert service.run_pending_once()
        assert service.deliver_pending_once()
        (got,) = r.wait_for(1)
    payload = json.loads(got.body)
    assert payload["status"] == "failed" and payload["error"]["code"] == "index_unavailable"
    assert payload["credits_charged"] == 0  # refunded, as GET shows it
    assert got.headers["Linkgap-Event"] == "run.failed"
    assert service.get_run(account, run_id).webhook["status"] == "delivered"


def test_a_receiver_that_fails_twice_gets_the_third_attempt(
        service: LinkgapService, account: str, clock: FakeClock) -> None:
    with receiver([500, 503, 200]) as r:
        run_id = _run(service, account, r.url)
        assert service.run_pending_once()
        first_at = clock.now
        assert service.deliver_pending_once()
        hook = service.get_run(account, run_id).webhook
        assert hook["status"] == "pending" and hook["attempts"] == 1
        assert hook["last_error"] == "the receiver answered 500"
        assert parse_iso_z(hook["next_attempt_at"]) == first_at + timedelta(seconds=10)
        clock.advance(seconds=9)
        assert not service.deliver_pending_once()  # not due yet
        clock.advance(seconds=1)
        assert service.deliver_pending_once()
        hook = service.get_run(account, run_id).webhook
        assert hook["attempts"] == 2 and hook["last_error"] == "the receiver answered 503"
        # The wait doubles: 20 s after the second attempt.
        assert parse_iso_z(hook["next_attempt_at"]) == clock.now + timedelta(seconds=20)
        clock.advance(seconds=20)
        assert service.deliver_pending_once()
        got = r.wait_for(3)
    assert [g.headers["Linkgap-Attempt"] for g in got] == ["1", "2", "3"]
    assert len({g.body for g in got}) == 3  # each shows the attempts made before it
    assert json.loads(got[2].body)["webhook"]["last_error"] == "the receiver answered 503"
    assert service.get_run(account, run_id).webhook == {
        "status": "delivered", "attempts": 3, "last_error": None, "next_attempt_at": None}
    attempts = service.store.delivery_attempts(run_id)
    assert [(a.attempt, a.outcome, a.http_status) for a in attempts] == [
        (1, "failed", 500), (2, "failed", 503), (3, "delivered", 200)]
    assert attempts[0].error == "the receiver answered 500" and attempts[2].error is None


def test_a_delivery_is_given_up_24_hours_after_its_first_attempt(
        service: LinkgapService, account: str, clock: FakeClock) -> None:
    with receiver([500]) as r:
        run_id = _run(service, account, r.url)
        assert service.run_pending_once()
        first_at = clock.now
        while True:
            assert service.deliver_pending_once()
            hook = service.get_run(account, run_id).webhook
            if hook["status"] != "pending":
                break
            assert hook["attempts"] < 100, "retries never end"
            clock.set(parse_iso_z(hook["next_attempt_at"]))
        attempts = service.store.delivery_attempts(run_id)
        assert len(r.received) == len(attempts)
    assert hook == {"status": "failed", "attempts": len(attempts),
                    "last_error": "the receiver answered 500", "next_attempt_at": None}
    starts = [parse_iso_z(a.started_at) for a in attempts]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[:3] == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert max(gaps) == timedelta(hours=1)  # at most an hour apart
    assert starts[-1] <= first_at + timedelta(hours=24) < starts[-1] + timedelta(hours=1)
    clock.advance(days=2)
    assert not service.deliver_pending_once()


def test_no_callback_means_no_webhook(service: LinkgapService, account: str) -> None:
    run_id = _run(service, account, None)
    assert service.run_pending_once()
    view = service.get_run(account, run_id)
    assert view.callback_url is None and view.webhook is None
    assert view.as_dict()["webhook"] is None
    assert not service.deliver_pending_once()
    assert service.store.deliveries([run_id]) == {}


def test_the_runs_list_shows_each_runs_webhook(service: LinkgapService, account: str) -> None:
    with receiver([200]) as r:
        hooked = _run(service, account, r.url)
        plain = _run(service, account, None)
        assert service.run_pending_once() and service.run_pending_once()
        assert service.deliver_pending_once()
        r.wait_for(1)
    views, total = service.list_runs(account)
    by_id = {v.id: v for v in views}
    assert total == 2 and by_id[plain].webhook is None
    assert by_id[hooked].webhook["status"] == "delivered"


@pytest.mark.parametrize("url,words", [
    ("https://10.0.0.7/hook", "private"),
    ("https://127.0.0.1:9/hook", "loopback"),
    ("https://[::ffff:192.168.1.4]/hook", "private"),
    ("https://2130706433/hook", "loopback"),
    ("https://169.254.169.254/latest", "link-local"),
    ("https://localhost:8443/hook", "loopback"),
    ("http://hooks.example.com/hook", "https"),
])
def test_a_refused_callback_url_charges_and_queues_nothing(
        make_service: Callable[..., LinkgapService], url: str, words: str) -> None:
    service = make_service(webhook_allow_private=False, webhook_allow_http=False)
    account = service.create_account("acme", credits=100).id
    with pytest.raises(InvalidInput) as refused:
        _run(service, account, url)
    assert refused.value.param == "callback_url" and words in refused.value.message
    assert service.account(account).credits.available == 100
    assert service.list_runs(account)[1] == 0


def test_a_name_that_resolves_to_a_private_address_is_refused_at_send_time(
        make_service: Callable[..., LinkgapService], clock: FakeClock) -> None:
    service = make_service(webhook_allow_private=False)
    account = service.create_account("acme", credits=100).id
    answers = {"hooks.example.com": ["93.184.216.34"]}
    service.webhooks.resolver = lambda host, port: answers[host]
    with receiver([200]) as r:
        # A public name when the run is made (nothing resolves it then) …
        run_id = _run(service, account, f"http://hooks.example.com:{r.port}/hook")
        assert service.run_pending_once()
        # … that points at this machine when the delivery goes (DNS rebinding).
        answers["hooks.example.com"] = ["127.0.0.1"]
        assert service.deliver_pending_once()
        time.sleep(0.2)
        assert r.received == []  # nothing was sent
    hook = service.get_run(account, run_id).webhook
    assert hook["status"] == "pending" and hook["attempts"] == 1
    assert "resolves to 127.0.0.1" in hook["last_error"]
    assert "delivery refused" in hook["last_error"]
    (attempt,) = service.store.delivery_attempts(run_id)
    assert attempt.outcome == "failed" and attempt.http_status is None


def test_a_hanging_receiver_is_timed_out_and_retried(
        make_service: Callable[..., LinkgapService], clock: FakeClock) -> None:
    service = make_service(webhook_timeout=1)
    account = service.create_account("acme", credits=100).id
    with receiver(["hang", 200]) as r:
        run_id = _run(service, account, r.url)
        assert service.run_pending_once()
        started = time.monotonic()
        assert service.deliver_pending_once()
        elapsed = time.monotonic() - started
        hook = service.get_run(account, run_id).webhook
        assert hook["status"] == "pending"
        assert hook["last_error"] == "no answer within 1 s (timed out)"
        assert elapsed < 15  # bounded by the timeout, not by the receiver
        clock.advance(seconds=10)
        assert service.deliver_pending_once()
        r.wait_for(2)
    assert service.get_run(account, run_id).webhook["status"] == "delivered"


def test_rotating_the_secret_changes_the_signing_key_at_once(
        service: LinkgapService, account: str, clock: FakeClock) -> None:
    old = service.webhook_secret("acme")
    assert old.startswith("whsec_") and service.webhook_secret("acme") == old
    with receiver([500, 200]) as r:
        _run(service, account, r.url)
        assert service.run_pending_once()
        assert service.deliver_pending_once()
        new = service.webhook_secret("acme", rotate=True)
        assert new != old and service.webhook_secret("acme") == new
        clock.advance(seconds=10)
        assert service.deliver_pending_once()  # the retry of a run made before the rotation
        first, second = r.wait_for(2)
    assert _signed_by(old, first) and not _signed_by(new, first)
    assert _signed_by(new, second) and not _signed_by(old, second)


def test_the_first_delivery_creates_the_secret_the_command_then_shows(
        service: LinkgapService, account: str) -> None:
    with receiver([200]) as r:
        _run(service, account, r.url)
        assert service.run_pending_once() and service.deliver_pending_once()
        (got,) = r.wait_for(1)
    assert _signed_by(service.webhook_secret("acme"), got)


def test_each_account_has_its_own_secret(service: LinkgapService, account: str) -> None:
    service.create_account("globex")
    assert service.webhook_secret("acme") != service.webhook_secret("globex")
    with pytest.raises(NotFound):
        service.webhook_secret("nobody")


def test_an_attempt_whose_sender_died_is_taken_over_after_its_lease(
        make_service: Callable[..., LinkgapService], account: str, clock: FakeClock) -> None:
    first, second = make_service(), make_service()
    with receiver([200]) as r:
        run_id = _run(first, account, r.url)
        assert first.run_pending_once()
        claimed = first.webhooks.claim("dying-sender")  # claimed, then its process died
        assert claimed is not None and claimed.attempts == 1
        assert not second.deliver_pending_once()  # the lease is alive: nobody else sends
        clock.advance(seconds=5 + 60 + 1)  # the timeout plus the margin
        assert second.deliver_pending_once()
        r.wait_for(1)
        # The first sender comes back late: what it would record is dropped.
        assert not first.store.finish_delivery(run_id, 1, "dying-sender", iso_z(clock.now),
                                               delivered=False, http_status=None,
                                               error="late", retry_at=None)
    attempts = second.store.delivery_attempts(run_id)
    assert [(a.attempt, a.worker, a.outcome) for a in attempts] == [
        (1, "dying-sender", "interrupted"), (2, attempts[1].worker, "delivered")]
    assert second.get_run(account, run_id).webhook["attempts"] == 2


def test_concurrent_senders_never_claim_the_same_delivery(
        make_service: Callable[..., LinkgapService], account: str) -> None:
    services = [make_service() for _ in range(4)]
    runs = [_run(services[0], account, f"https://hooks.example.com/{i}") for i in range(12)]
    while services[0].run_pending_once():
        pass
    claimed: list[list[str]] = [[] for _ in services]
    start = threading.Barrier(len(services))

    def claim_all(i: int) -> None:
        start.wait()
        while (got := services[i].webhooks.claim(f"sender-{i}")) is not None:
            claimed[i].append(got.run_id)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(len(services))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    every = [run_id for mine in claimed for run_id in mine]
    assert sorted(every) == sorted(runs)  # each delivery claimed once, none left over
    for run_id in runs:
        (attempt,) = services[0].store.delivery_attempts(run_id)
        assert attempt.outcome is None  # claimed, being sent


def test_the_delivery_loop_of_a_process_with_workers_sends_on_its_own(
        make_service: Callable[..., LinkgapService]) -> None:
    service = make_service(workers=1)
    account = service.create_account("acme", credits=100).id
    with receiver([200]) as r:
        service.start_worker()
        try:
            run_id = _run(service, account, r.url)
            (got,) = r.wait_for(1)
            deadline = time.monotonic() + 30
            while service.get_run(account, run_id).webhook["status"] != "delivered":
                assert time.monotonic() < deadline, "the delivery was not recorded"
                time.sleep(0.02)
        finally:
            service.stop_worker()
    assert json.loads(got.body)["status"] == "completed"


def test_a_hanging_receiver_holds_up_no_other_delivery(
        make_service: Callable[..., LinkgapService]) -> None:
    service = make_service(workers=1, webhook_timeout=20)
    account = service.create_account("acme", credits=100).id
    with receiver(["hang"]) as stuck, receiver([200]) as fine:
        service.start_worker()
        try:
            slow = _run(service, account, stuck.url)
            stuck.wait_for(1)  # its sender now waits for an answer that never comes
            fast = _run(service, account, fine.url)
            fine.wait_for(1)
            deadline = time.monotonic() + 15  # well before the hanging attempt times out
            while service.get_run(account, fast).webhook["status"] != "delivered":
                assert time.monotonic() < deadline, "a hanging receiver held up another"
                time.sleep(0.02)
            assert service.get_run(account, slow).webhook["attempts"] == 1
        finally:
            stuck.stop.set()  # let the hanging attempt end, so the loop can stop
            service.stop_worker()
