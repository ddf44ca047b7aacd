"""The read path without the database: cached key records, completed runs and results.

A completed run's record and result never change, so each process keeps them
(results bounded in bytes by ``LINKGAP_RESULT_CACHE_MB``, cold loads shared by
every concurrent reader). Key records are trusted for ``KEY_TTL_S``; for up to
``KEY_STALE_S`` after they were read, the event loop may still use one while a
single background refresh reads it again (so a busy key is not looked up by
every request in flight when its record ages), and after that never: a key
revoked by another process (``linkgap keys revoke``) is refused everywhere
within a second. Reading a completed run therefore asks the database nothing,
and writes nothing, once its process has seen it.

``ReadPath`` sits above the :class:`~linkgap.service.store.Store` interface and
works with any store. The ``cached_*`` methods never do I/O: they answer from
memory or say they cannot (``None`` / ``MISSING``), so the HTTP layer can serve
hot reads on its event loop and send the rest to a thread.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from linkgap.errors import NotFound
from linkgap.service.cache import SingleFlightCache, TtlCache, result_nbytes
from linkgap.service.store import KeyRecord, RunRecord, Store

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.gap import GapResult

__all__ = ["KEY_STALE_S", "KEY_TTL_S", "MISSING", "ReadPath"]

logger = logging.getLogger("linkgap.service")

#: How long a key record is trusted ...
KEY_TTL_S = 0.5
#: ... and the most it is ever used after it was read, while a refresh runs: revocations
#: are seen within this (SPEC: 1 s).
KEY_STALE_S = 0.9
#: Records of completed runs kept per process (a few hundred bytes each).
RUNS_KEPT = 100_000
#: Key records (and misses) kept per process.
KEYS_KEPT = 100_000

MISSING: Any = TtlCache.MISSING


class ReadPath:
    """Cached reads of key records, completed runs and their results, over ``store``."""

    def __init__(self, store: Store, result_cache_bytes: int) -> None:
        self.store = store
        self.keys: TtlCache[str, KeyRecord | None] = TtlCache(KEY_TTL_S, KEYS_KEPT)
        self.runs: TtlCache[str, RunRecord] = TtlCache(None, RUNS_KEPT)
        self.results: SingleFlightCache[str, GapResult] = SingleFlightCache(
            result_cache_bytes, result_nbytes)
        self._refresh_lock = threading.Lock()
        self._refreshing: set[str] = set()
        self._refresher: ThreadPoolExecutor | None = None  # started by the first refresh

    # keys -------------------------------------------------------------------
    def key(self, key_id: str) -> KeyRecord | None:
        """The key's record (None when there is none), at most KEY_TTL_S old."""
        rec = self.keys.get(key_id)
        if rec is MISSING:
            rec = self.keys.put(key_id, self.store.key_by_id(key_id))
        return rec

    def cached_key(self, key_id: str) -> KeyRecord | None:
        """The key's record from memory, None when there is none, MISSING when unknown
        here or too old (then call :meth:`key`). A record past KEY_TTL_S but within
        KEY_STALE_S is returned and refreshed in the background (one refresh per key)."""
        rec, fresh = self.keys.get_or_stale(key_id, KEY_STALE_S - KEY_TTL_S)
        if not fresh and rec is not MISSING:
            self._refresh_soon(key_id)
        return rec

    def _refresh_soon(self, key_id: str) -> None:
        with self._refresh_lock:
            if key_id in self._refreshing:
                return
            self._refreshing.add(key_id)
            if self._refresher is None:
                self._refresher = ThreadPoolExecutor(1, thread_name_prefix="linkgap-keys")
            refresher = self._refresher
        refresher.submit(self._refresh, key_id)

    def _refresh(self, key_id: str) -> None:
        try:
            self.keys.put(key_id, self.store.key_by_id(key_id))
        except Exception as exc:  # the record then ages out; requests look it up again
            logger.warning("could not refresh an API key's record: %s", exc)
        finally:
            with self._refresh_lock:
                self._refreshing.discard(key_id)

    def close(self) -> None:
        """Stop the background refresh (waits for one in progress)."""
        with self._refresh_lock:
            refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.shutdown(wait=True)

    def forget_key(self, key_id: str) -> None:
        self.keys.discard(key_id)

    # runs -------------------------------------------------------------------
    def run(self, run_id: str) -> RunRecord | None:
        """The run's record; completed runs are kept (they never change)."""
        rec = self.runs.get(run_id)
        if rec is not MISSING:
            return rec
        fresh = self.store.get_run(run_id)
        if fresh is not None and fresh.status == "completed":
            self.runs.put(run_id, fresh)
        return fresh

    def cached_run(self, run_id: str) -> RunRecord | None:
        """A completed run's record from memory, or None."""
        rec = self.runs.get(run_id)
        return None if rec is MISSING else rec

    # results ----------------------------------------------------------------
    def result(self, run_id: str) -> GapResult:
        """The decoded result of a completed run (one load for concurrent cold reads)."""
        return self.results.get(run_id, lambda: self._load(run_id))

    def cached_result(self, run_id: str) -> GapResult | None:
        return self.results.peek(run_id)

    def _load(self, run_id: str) -> GapResult:
        from linkgap.gap import GapResult

        data = self.store.run_result(run_id)
        if data is None:  # pragma: no cover - a completed run always has its result
            raise NotFound("run result not found")
        return GapResult.from_ipc(data)
