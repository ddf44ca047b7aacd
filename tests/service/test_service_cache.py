"""The read path's caches (linkgap.service.cache, linkgap.service.reads): single flight,
the byte bound, key records trusted for a short time only, and no database work on the
read path of a completed run once it is warm."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from service.servicetest_support import make_settings

from linkgap.errors import NotFound, RunNotCompleted, Unauthorized
from linkgap.service import LinkgapService
from linkgap.service.cache import SingleFlightCache, TtlCache, result_nbytes
from linkgap.service.core import open_store

RUN = {"domain": "mysite.com", "competitors": ["a.com", "b.com"]}


# ---------------------------------------------------------------- SingleFlightCache


def test_concurrent_cold_reads_share_one_load() -> None:
    cache: SingleFlightCache[str, object] = SingleFlightCache(1000, lambda v: 10)
    release = threading.Event()
    started = threading.Event()
    calls: list[int] = []

    def load() -> object:
        calls.append(1)
        started.set()
        release.wait(30)
        return object()

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("run", load)))
               for _ in range(32)]
    for t in threads:
        t.start()
    assert started.wait(30)
    release.set()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and cache.loads == 1
    assert len(got) == 32 and all(g is got[0] for g in got)
    assert cache.get("run", load) is got[0] and len(calls) == 1  # now a plain hit


def test_a_failed_load_fails_its_waiters_and_is_retried_next_time() -> None:
    cache: SingleFlightCache[str, str] = SingleFlightCache(1000, len)
    release = threading.Event()
    attempts: list[int] = []

    def failing() -> str:
        attempts.append(1)
        release.wait(30)
        raise OSError("disk")

    errors: list[BaseException] = []

    def reader() -> None:
        try:
            cache.get("k", failing)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    while not attempts:
        threading.Event().wait(0.01)
    release.set()
    for t in threads:
        t.join(30)
    assert len(attempts) == 1 and len(errors) == 8
    assert cache.get("k", lambda: "ok") == "ok" and len(cache) == 1


def test_the_cache_is_bounded_in_bytes_least_recently_used_first() -> None:
    cache: SingleFlightCache[str, bytes] = SingleFlightCache(100, len)
    for name in "abc":
        cache.get(name, lambda: b"x" * 30)
    assert cache.nbytes == 90 and len(cache) == 3
    cache.peek("a")  # a is now the most recently used
    cache.get("d", lambda: b"y" * 30)
    assert cache.peek("b") is None and cache.peek("a") is not None
    assert cache.nbytes == 90 <= cache.max_bytes
    big = cache.get("huge", lambda: b"z" * 101)  # larger than the whole bound
    assert len(big) == 101 and cache.peek("huge") is None and cache.nbytes == 90
    cache.discard("a")
    assert cache.nbytes == 60
    empty: SingleFlightCache[str, bytes] = SingleFlightCache(0, len)
    assert empty.get("a", lambda: b"1") == b"1" and len(empty) == 0


def test_ttl_records_expire_and_misses_are_kept_too() -> None:
    now = [0.0]
    cache: TtlCache[str, str | None] = TtlCache(0.5, max_entries=2, clock=lambda: now[0])
    assert cache.get("k") is TtlCache.MISSING
    cache.put("k", "v")
    cache.put("gone", None)
    assert cache.get("k") == "v" and cache.get("gone") is None
    now[0] = 0.49
    assert cache.get("k") == "v"
    now[0] = 0.5
    assert cache.get("k") is TtlCache.MISSING
    for name in ("x", "y", "z"):
        cache.put(name, name)
    assert cache.get("x") is TtlCache.MISSING and cache.get("z") == "z"  # bounded in count


# ---------------------------------------------------------------- the service's read path


class CountingStore:
    """A store that counts the calls made to it (and passes them through)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return target(*args, **kwargs)

        return counted


@pytest.fixture
def counted(tmp_path: Path, index_dir: Path) -> Any:
    settings = make_settings(tmp_path, index_dir)
    (tmp_path / "state").mkdir(exist_ok=True)
    store = CountingStore(open_store(settings.database_url))
    service = LinkgapService(settings, store=store)
    yield service, store
    service.close()


def _completed_run(service: LinkgapService) -> tuple[str, str, str]:
    acct = service.create_account("acme", credits=100)
    key, _ = service.create_key("acme")
    view, _ = service.create_run(acct.id, **RUN)
    assert service.run_pending_once()
    return acct.id, key, view.id


def test_a_warm_read_asks_the_database_nothing(counted: Any) -> None:
    service, store = counted
    service.reads.keys.clock = lambda: 0.0  # within one key TTL throughout (see below)
    acct, key, run_id = _completed_run(service)
    principal = service.authenticate(key)
    service.get_run(principal.account_id, run_id)
    service.run_result(principal.account_id, run_id)
    store.calls.clear()
    for _ in range(50):
        principal = service.authenticate_cached(key)
        assert principal is not None and principal.account_id == acct
        assert service.cached_run_result(acct, run_id) is not None
        assert service.run_result(acct, run_id) is service.cached_run_result(acct, run_id)
        assert service.get_run(acct, run_id).status == "completed"
    assert store.calls == []  # no query, and no write, per read
    service.reads.keys.clock = lambda: 1.0  # the key record is now too old: read again once
    assert service.authenticate(key).account_id == acct
    assert service.authenticate_cached(key) is not None
    assert store.calls == ["key_by_id"]


def test_only_completed_runs_are_kept(counted: Any) -> None:
    service, store = counted
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(acct.id, **RUN)
    with pytest.raises(RunNotCompleted):
        service.run_result(acct.id, view.id)
    assert service.cached_run_result(acct.id, view.id) is None
    service.run_pending_once()
    # The queued state was not kept: the completion is seen at once.
    assert service.get_run(acct.id, view.id).status == "completed"
    assert len(service.run_result(acct.id, view.id)) == 2


def test_cached_runs_stay_private_to_their_account(counted: Any) -> None:
    service, _ = counted
    acct, _, run_id = _completed_run(service)
    service.run_result(acct, run_id)
    rival = service.create_account("rival")
    with pytest.raises(NotFound):
        service.run_result(rival.id, run_id)
    with pytest.raises(NotFound):
        service.get_run(rival.id, run_id)
    assert service.cached_run_result(rival.id, run_id) is None


def test_32_concurrent_cold_reads_of_one_run_load_it_once(counted: Any) -> None:
    service, store = counted
    acct, _, run_id = _completed_run(service)
    service.get_run(acct, run_id)  # the record is warm; the result is not
    store.calls.clear()
    barrier = threading.Barrier(32)
    got: list[object] = []

    def read() -> None:
        barrier.wait(30)
        got.append(service.run_result(acct, run_id))

    threads = [threading.Thread(target=read) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 32 and all(g is got[0] for g in got)
    assert store.calls.count("run_result") == 1


def test_the_result_cache_respects_its_megabytes(make_service: Callable[..., Any]) -> None:
    service = make_service(result_cache_mb=0)
    acct = service.create_account("acme", credits=100)
    view, _ = service.create_run(acct.id, **RUN)
    service.run_pending_once()
    first = service.run_result(acct.id, view.id)
    assert service.reads.results.nbytes == 0 and len(service.reads.results) == 0
    assert service.run_result(acct.id, view.id) is not first  # loaded again: nothing kept
    roomy = make_service()
    kept = roomy.run_result(acct.id, view.id)
    assert roomy.reads.results.nbytes == result_nbytes(kept) > 0
    assert roomy.reads.results.nbytes <= 256 * 2**20


def test_a_revocation_by_another_process_holds_within_the_key_ttl(
        make_service: Callable[..., Any]) -> None:
    from linkgap.service.reads import KEY_TTL_S

    now = [0.0]
    reader = make_service()
    reader.reads.keys.clock = lambda: now[0]  # this process's view of time
    reader.create_account("acme")
    key, view = reader.create_key("acme")
    assert reader.authenticate(key).key_id == view.id
    make_service().revoke_key(view.id)  # "another process": its own service and cache
    now[0] = KEY_TTL_S - 0.01
    assert reader.authenticate(key).key_id == view.id  # still trusted, briefly
    now[0] = KEY_TTL_S
    with pytest.raises(Unauthorized):
        reader.authenticate(key)
    with pytest.raises(Unauthorized):
        reader.authenticate_cached(key)  # the refusal is cached too (no query per request)
    assert KEY_TTL_S <= 0.5  # well inside SPEC's one second, with room for the request


def test_unknown_and_malformed_keys_are_refused_from_the_cache_too(counted: Any) -> None:
    service, store = counted
    service.reads.keys.clock = lambda: 0.0
    with pytest.raises(Unauthorized):
        service.authenticate_cached("not a key")
    unknown = "lgk_000000000000_" + "0" * 40
    assert service.authenticate_cached(unknown) is None  # unknown here: ask the database
    with pytest.raises(Unauthorized):
        service.authenticate(unknown)
    store.calls.clear()
    with pytest.raises(Unauthorized):
        service.authenticate_cached(unknown)
    assert store.calls == []


def test_an_aging_key_is_refreshed_once_in_the_background_and_never_used_past_its_limit(
        counted: Any) -> None:
    """Past KEY_TTL_S the event loop's lookup still answers from memory while one refresh
    reads the record again (not one query per request in flight); past KEY_STALE_S it
    never answers from memory."""
    from linkgap.service.reads import KEY_STALE_S, KEY_TTL_S

    service, store = counted
    now = [0.0]
    service.reads.keys.clock = lambda: now[0]
    service.create_account("acme")
    key, view = service.create_key("acme")
    assert service.authenticate(key).key_id == view.id
    release = threading.Event()
    real = store.inner.key_by_id

    def slow_lookup(key_id: str) -> Any:
        release.wait(30)
        return real(key_id)

    store.inner.key_by_id = slow_lookup  # type: ignore[method-assign]
    store.calls.clear()
    now[0] = KEY_TTL_S + 0.01
    for _ in range(50):  # the requests in flight when the record ages
        principal = service.authenticate_cached(key)
        assert principal is not None and principal.key_id == view.id
    assert store.calls.count("key_by_id") == 1  # one refresh, still running
    now[0] = KEY_STALE_S
    assert service.authenticate_cached(key) is None  # too old: the database must answer
    release.set()
    service.reads.close()  # waits for the refresh
    store.inner.key_by_id = real  # type: ignore[method-assign]
    now[0] = KEY_TTL_S + 0.02  # the refreshed record was stored at KEY_STALE_S: fresh
    assert service.authenticate_cached(key) is not None


def test_a_revocation_is_seen_through_the_background_refresh(
        make_service: Callable[..., Any]) -> None:
    from linkgap.service.reads import KEY_STALE_S, KEY_TTL_S

    now = [0.0]
    reader = make_service()
    reader.reads.keys.clock = lambda: now[0]
    reader.create_account("acme")
    key, view = reader.create_key("acme")
    assert reader.authenticate(key).key_id == view.id
    make_service().revoke_key(view.id)  # another process
    now[0] = KEY_TTL_S + 0.1
    assert reader.authenticate_cached(key) is not None  # stale, refresh started
    reader.reads.close()  # the refresh has read the revocation
    with pytest.raises(Unauthorized):
        reader.authenticate_cached(key)
    assert KEY_STALE_S < 1.0  # SPEC: a revoked key stops working within one second
