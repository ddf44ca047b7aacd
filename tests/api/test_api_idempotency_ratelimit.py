"""SPEC 5 "Idempotency" and "Rate limits" over HTTP, and the limiter on its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api, make_api
from api.test_api_errors import assert_error
from support.postgres import fresh_database

from linkgap.api.ratelimit import SharedRateLimiter
from linkgap.service import Store, open_store

GAP = "/v1/backlinks/gap"
BODY = {"domain": TARGET, "competitors": COMPETITORS, "limit": 60}


def available(api: Api) -> int:
    return int(api.get("/v1/account").json()["data"]["credits"]["available"])


def post(api: Api, key: str | None, body: Any = None, path: str = GAP) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(path, BODY if body is None else body, headers=headers)


# ---------------------------------------------------------------- idempotency

def test_repeat_replays_the_first_answer_and_charges_nothing(api: Api) -> None:
    first = post(api, "order-1")
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers
    assert available(api) == 1000 - 6
    again = post(api, "order-1", {"limit": 60, "competitors": COMPETITORS, "domain": TARGET})
    assert again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    a, b = first.json(), again.json()
    assert b["data"] == a["data"]
    # The first response's body: credits_charged as first recorded; this request's id.
    assert b["meta"]["credits_charged"] == a["meta"]["credits_charged"] == 6
    assert b["meta"]["request_id"] == again.headers["x-request-id"]
    assert available(api) == 1000 - 6
    assert api.get(GAP).json()["meta"]["total"] == 1


def test_without_a_key_every_post_counts(api: Api) -> None:
    post(api, None)
    post(api, None)
    assert api.get(GAP).json()["meta"]["total"] == 2
    assert available(api) == 1000 - 12


def test_same_key_different_body_is_409(api: Api) -> None:
    assert post(api, "k").status_code == 202
    err = assert_error(post(api, "k", {**BODY, "limit": 61}), 409, "idempotency_conflict")
    assert "Idempotency-Key" in err["message"]
    assert_error(post(api, "k", {"domains": ["a.com"]}, "/v1/domains/metrics"), 409,
                 "idempotency_conflict")
    assert available(api) == 1000 - 6


def test_keys_are_scoped_to_the_account(api: Api) -> None:
    assert post(api, "shared").status_code == 202
    r = api.client.post(GAP, json={**BODY, "limit": 90},
                        headers={"Authorization": f"Bearer {api.other_key}",
                                 "Idempotency-Key": "shared"})
    assert r.status_code == 202 and "idempotent-replayed" not in r.headers


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_key_length_is_1_to_255(api: Api, key: str) -> None:
    assert_error(post(api, key), 422, "invalid_parameter", "Idempotency-Key")
    assert available(api) == 1000


def test_key_of_255_characters_is_fine(api: Api) -> None:
    assert post(api, "k" * 255).status_code == 202
    assert post(api, "k" * 255).headers["idempotent-replayed"] == "true"


def test_metrics_replay_charges_nothing(api: Api) -> None:
    body = {"domains": ["hub1.com", "a.com"]}
    first = post(api, "m1", body, "/v1/domains/metrics")
    assert first.json()["meta"]["credits_charged"] == 2
    again = post(api, "m1", body, "/v1/domains/metrics")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]
    assert available(api) == 998


def test_a_422_from_the_service_is_replayed(api: Api) -> None:
    bad = {**BODY, "limit": 5}
    first = post(api, "bad", bad)
    assert_error(first, 422, "invalid_parameter", "limit")
    again = post(api, "bad", bad)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["error"] == first.json()["error"]


def test_a_402_is_replayed_and_a_new_key_goes_through(api: Api) -> None:
    """SPEC 5: a repeat returns the first response's status and body, a 402 included."""
    api.service.create_account("later", credits=1)
    key, _ = api.service.create_key("later")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "retry-me"}
    first = api.client.post(GAP, json=BODY, headers=headers)
    assert_error(first, 402, "insufficient_credits")
    api.service.topup("later", 100)
    again = api.client.post(GAP, json=BODY, headers=headers)
    assert again.status_code == 402 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["error"] == first.json()["error"]
    fresh = api.client.post(GAP, json=BODY, headers={**headers, "Idempotency-Key": "after-topup"})
    assert fresh.status_code == 202 and "idempotent-replayed" not in fresh.headers


def test_concurrent_repeats_create_one_run(api: Api) -> None:
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        results.append(post(api, "race"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [202] * 4
    assert len({r.json()["data"]["id"] for r in results}) == 1
    assert sum("idempotent-replayed" in r.headers for r in results) == 3
    assert available(api) == 1000 - 6
    assert api.get(GAP).json()["meta"]["total"] == 1


# ---------------------------------------------------------------- rate limits over HTTP

@pytest.fixture
def limited(tmp_path: Path, shared_index: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, shared_index, rate_limit=3)


def test_every_authenticated_response_has_ratelimit_headers(limited: Api) -> None:
    responses = [limited.get("/v1/account"), limited.get(f"{GAP}/run_nope"),
                 limited.get(GAP, params={"per_page": 0})]
    assert [r.status_code for r in responses] == [200, 404, 422]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0"]
    for r in responses:
        assert r.headers["ratelimit-limit"] == "3"
        assert 1 <= int(r.headers["ratelimit-reset"]) <= 60
        assert "retry-after" not in r.headers


def test_over_the_limit_is_429_with_retry_after(limited: Api) -> None:
    for _ in range(3):
        assert limited.get("/v1/account").status_code == 200
    r = limited.get("/v1/account")
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["ratelimit-remaining"] == "0"
    # POSTs count too, and are refused before their body is looked at.
    assert_error(limited.post(GAP, BODY), 429, "rate_limited")


def test_limits_are_per_key_and_unauthenticated_requests_do_not_count(limited: Api) -> None:
    for _ in range(5):
        assert limited.client.get("/v1/account").status_code == 401
    for _ in range(3):
        assert limited.get("/v1/account").status_code == 200
    assert limited.get("/v1/account").status_code == 429
    other = limited.client.get("/v1/account",
                               headers={"Authorization": f"Bearer {limited.other_key}"})
    assert other.status_code == 200 and other.headers["ratelimit-remaining"] == "2"


def test_public_paths_are_not_rate_limited(limited: Api) -> None:
    for _ in range(5):
        r = limited.client.get("/healthz")
        assert r.status_code == 200 and "ratelimit-limit" not in r.headers


# ---------------------------------------------------------------- the limiter itself

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The limiter's window lives in the state database: a SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        yield opened
        opened.close()
        return
    with fresh_database() as url:
        opened = open_store(url)
        yield opened
        opened.close()


def test_sliding_window(store: Store) -> None:
    clock = Clock()
    limiter = SharedRateLimiter(store.rate_lease, store.rate_return, 2, window=60, clock=clock)
    first = limiter.hit("k")
    assert (first.allowed, first.remaining, first.reset) == (True, 1, 60)
    clock.now += 20
    second = limiter.hit("k")
    assert (second.allowed, second.remaining, second.reset) == (True, 0, 40)
    clock.now += 10
    third = limiter.hit("k")
    assert (third.allowed, third.remaining, third.retry_after) == (False, 0, 30)
    assert third.headers()["Retry-After"] == "30"
    clock.now += 30  # the first request leaves the window
    fourth = limiter.hit("k")
    assert (fourth.allowed, fourth.remaining) == (True, 0)
    assert limiter.hit("other").remaining == 1


def test_rejected_requests_are_not_counted(store: Store) -> None:
    clock = Clock()
    limiter = SharedRateLimiter(store.rate_lease, store.rate_return, 1, window=60, clock=clock)
    assert limiter.hit("k").allowed
    for _ in range(10):
        clock.now += 1
        assert not limiter.hit("k").allowed
    clock.now += 50
    assert limiter.hit("k").allowed


def test_limiter_is_exact_under_threads_and_across_store_connections(
        store: Store, tmp_path: Path) -> None:
    """Threads share the store as a server's request pool does; a second store object on
    the same database stands for another server process."""
    url = store.database.url  # type: ignore[attr-defined]
    other = open_store(url)
    limiters = [SharedRateLimiter(s.rate_lease, s.rate_return, 50, window=3600)
                for s in (store, other)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(i: int) -> None:
        for _ in range(10):
            ok = limiters[i % 2].hit("k").allowed
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert sum(allowed) == 50 and len(allowed) == 80


def test_limit_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError):
        SharedRateLimiter(store.rate_lease, store.rate_return, 0)
