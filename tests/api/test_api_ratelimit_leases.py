"""The rate limiter's leases (SPEC 11 "Rate limits"): a process counts requests in the
state database in batches and answers them from memory, yet a key never gets more
than its limit in a window, whichever processes answer, and what a process leased but
did not use goes back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.asyncrun import run_coroutine
from support.postgres import fresh_database
from support.state_db import sqlite_at_schema

from linkgap.api.ratelimit import BATCH_SHARE, SharedRateLimiter
from linkgap.service import Store, open_store
from linkgap.service.db import upgrade_database
from linkgap.service.store import RateLease


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore:
    """The store's two rate calls, counted (a lease is one write transaction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.leases = 0
        self.wants: list[int] = []
        self.returned = 0

    def lease(self, key: str, now: float, window: float, limit: int, want: int) -> RateLease:
        self.leases += 1
        self.wants.append(want)
        return self.store.rate_lease(key, now, window, limit, want)

    def give_back(self, key: str, at: float, unused: int) -> None:
        self.returned += unused
        self.store.rate_return(key, at, unused)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    with fresh_database() as fresh:
        yield fresh


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    yield opened
    opened.close()


def counted(store: Store, key: str, now: float, window: float = 60.0) -> int:
    """Requests the database counts for ``key`` in the window ending at ``now``."""
    return store.rate_lease(key, now, window, 10**9, 0).count


# ---------------------------------------------------------------- the store's calls

def test_a_lease_counts_what_the_window_has_room_for(store: Store) -> None:
    first = store.rate_lease("k", 1000.0, 60, 10, 4)
    assert (first.granted, first.count, first.oldest) == (4, 4, 1000.0)
    second = store.rate_lease("k", 1010.0, 60, 10, 8)  # room for 6 only
    assert (second.granted, second.count, second.oldest) == (6, 10, 1000.0)
    full = store.rate_lease("k", 1020.0, 60, 10, 1)
    assert (full.granted, full.count) == (0, 10)
    # The first four leave the window at 1060: room for four again.
    later = store.rate_lease("k", 1060.0, 60, 10, 5)
    assert (later.granted, later.count, later.oldest) == (4, 10, 1010.0)
    assert store.rate_lease("other", 1060.0, 60, 10, 3).granted == 3


def test_giving_back_uncounts_exactly_the_unused(store: Store) -> None:
    store.rate_lease("k", 1000.0, 60, 100, 10)
    store.rate_lease("k", 1000.5, 60, 100, 10)
    store.rate_return("k", 1000.0, 7)
    assert counted(store, "k", 1001.0) == 13
    store.rate_return("k", 1000.5, 10)
    assert counted(store, "k", 1001.0) == 3
    store.rate_return("k", 1000.0, 50)  # never below zero, never another lease's
    assert counted(store, "k", 1001.0) == 0
    store.rate_return("nobody", 1000.0, 5)  # nothing to give back: nothing happens


def test_two_leases_at_the_same_instant_give_back_only_their_own(store: Store) -> None:
    # Two processes may lease at the same epoch time: rows are told apart by count.
    store.rate_lease("k", 1000.0, 60, 100, 5)
    store.rate_lease("k", 1000.0, 60, 100, 5)
    store.rate_return("k", 1000.0, 4)
    assert counted(store, "k", 1001.0) == 6


def _rate_rows(url: str) -> list[tuple[str, float, int]]:
    """The rows of ``rate_hits`` as the database holds them."""
    sql = "SELECT key_id, at, n FROM rate_hits ORDER BY at, n"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return [tuple(row) for row in conn.execute(sql)]
    import psycopg

    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(sql)]


def test_a_lease_is_one_row_however_many_requests_it_counts(url: str, store: Store) -> None:
    store.rate_lease("k", 1000.0, 60, 5000, 1024)
    store.rate_lease("k", 1000.5, 60, 5000, 1)
    assert _rate_rows(url) == [("k", 1000.0, 1024), ("k", 1000.5, 1)]
    store.rate_return("k", 1000.0, 24)  # what a lease did not use: still one row
    assert _rate_rows(url) == [("k", 1000.0, 1000), ("k", 1000.5, 1)]
    assert counted(store, "k", 1001.0) == 1001


def test_rows_of_one_request_each_from_schema_4_still_count(tmp_path: Path) -> None:
    # A database written by a linkgap of schema 4 holds a row per counted request.
    url = f"sqlite:///{tmp_path / 'state.db'}"
    conn = sqlite_at_schema(tmp_path / "state.db", 4)
    conn.executemany("INSERT INTO rate_hits (key_id, at) VALUES (?, ?)", [("k", 1000.0)] * 7)
    conn.commit()
    conn.close()
    assert upgrade_database(url).before == 4
    upgraded = open_store(url)
    try:
        assert counted(upgraded, "k", 1001.0) == 7
        upgraded.rate_return("k", 1000.0, 2)
        assert _rate_rows(url) == [("k", 1000.0, 5)]
        assert upgraded.rate_lease("k", 1002.0, 60, 10, 9).granted == 5  # the limit holds
    finally:
        upgraded.close()


# ---------------------------------------------------------------- the limiter

def test_small_limits_are_counted_one_request_at_a_time(store: Store) -> None:
    calls = CountingStore(store)
    limiter = SharedRateLimiter(calls.lease, calls.give_back, BATCH_SHARE * 2 - 1)
    assert limiter.max_batch == 1
    for _ in range(5):
        limiter.hit("k")
    assert calls.leases == 5


def test_a_busy_key_is_answered_from_memory_and_counted_in_batches(store: Store) -> None:
    clock = Clock()
    calls = CountingStore(store)
    limit = 6400  # batches of up to 100
    limiter = SharedRateLimiter(calls.lease, calls.give_back, limit, clock=clock)
    assert limiter.max_batch == 100
    decisions = [limiter.hit("k") for _ in range(1000)]
    assert all(d.allowed for d in decisions)
    # 1 + 2 + ... + 64 (127 requests), then batches of 100.
    assert calls.leases == 7 + 9
    # Remaining counts the requests made, exactly, on the only server.
    assert [d.remaining for d in decisions] == list(range(limit - 1, limit - 1001, -1))
    # The database counts what was leased: the requests made and the unused rest.
    held = counted(store, "k", clock.now) - 1000
    assert 0 <= held < 100
    # Once the lease is over, the unused requests go back.
    clock.now += limiter.lease_s
    assert limiter.sweep() == held
    assert counted(store, "k", clock.now) == 1000
    # The key's next lease starts at what the last one used, not at one request.
    assert limiter.hit("k").allowed
    assert calls.wants[-1] == 100 - held
    # A key quiet for a minute is forgotten.
    clock.now += 61
    limiter.sweep()
    assert limiter.sweep() == 0 and not limiter.holding()


def test_the_limit_holds_across_processes_and_nothing_is_lost(url: str, store: Store) -> None:
    """Two limiters on two store connections stand for two servers."""
    clock = Clock()
    other = open_store(url)
    limit = BATCH_SHARE * 10  # batches of up to 10
    limiters = [SharedRateLimiter(s.rate_lease, s.rate_return, limit, clock=clock)
                for s in (store, other)]
    try:
        allowed = 0
        for i in range(3 * limit):
            clock.now += 0.001
            allowed += limiters[i % 2].hit("k").allowed
        # Never more than the limit; at most one batch held back by the other server.
        assert limit - 10 <= allowed <= limit
        clock.now += 1.0  # both leases are over: what they held goes back
        for limiter in limiters:
            limiter.sweep()
        while limiters[0].hit("k").allowed:
            allowed += 1
        assert allowed == limit
        refused = limiters[1].hit("k")
        assert not refused.allowed and refused.remaining == 0
        assert 1 <= refused.retry_after <= 60
    finally:
        other.close()


def test_an_expired_lease_is_given_back_before_the_next(store: Store) -> None:
    clock = Clock()
    calls = CountingStore(store)
    limiter = SharedRateLimiter(calls.lease, calls.give_back, BATCH_SHARE * 100, clock=clock)
    for _ in range(4):  # leases of 1, 2 and 4: three of the last one left
        limiter.hit("k")
    clock.now += 5  # past the lease's life: the three are no longer this process's
    assert limiter.local_hit("k") is None
    assert limiter.hit("k").allowed
    assert calls.returned == 3
    assert counted(store, "k", clock.now) == 5


def test_a_failed_give_back_is_logged_and_harmless(store: Store,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()

    def broken(key: str, at: float, unused: int) -> None:
        raise OSError("database went away")

    limiter = SharedRateLimiter(store.rate_lease, broken, BATCH_SHARE * 100, clock=clock)
    for _ in range(2):
        limiter.hit("k")  # leases of 1 and 2: one left
    clock.now += 5
    assert limiter.sweep() == 1
    assert "could not give back 1 leased requests" in caplog.text
    assert limiter.hit("k").allowed


def test_requests_waiting_for_a_lease_share_it(store: Store) -> None:
    """When a key's batch runs out under concurrent requests, one of them leases the next
    off the event loop and the others wait for it: not one thread hop each."""
    import asyncio
    import time

    from linkgap.api.gateway import GatewayMiddleware

    def slow_lease(key: str, now: float, window: float, limit: int, want: int) -> RateLease:
        time.sleep(0.05)  # a busy database: the requests pile up behind the lease
        return store.rate_lease(key, now, window, limit, want)

    limiter = SharedRateLimiter(slow_lease, store.rate_return, BATCH_SHARE * 100)
    hops: list[str] = []
    real_hit = limiter.hit

    def counted_hit(key: str) -> Any:
        hops.append(key)
        return real_hit(key)

    limiter.hit = counted_hit  # type: ignore[method-assign]
    gateway = GatewayMiddleware(lambda *a: None, authenticate=lambda token: None,
                                limiter=limiter)

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(gateway._count("k") for _ in range(20))))

    decisions = run_coroutine(main)
    assert all(d.allowed for d in decisions)
    assert sorted(d.remaining for d in decisions) == list(range(6400 - 20, 6400))
    # Batches of 1, 2, 4, 8 and 16 served the 20: five leases, five hops.
    assert len(hops) == 5
