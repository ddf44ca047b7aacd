"""The read path without the database: cached key records, completed runs and results.

A completed run's record and result never change, so each process keeps them
(results bounded in bytes by ``LINKGAP_RESULT_CACHE_MB``, cold loads shared by
every concurrent reader). Key records are kept for ``KEY_TTL_S`` only: a key
revoked by another process (``linkgap keys revoke``) is refused everywhere
within a second. Reading a completed run therefore asks the database nothing,
and writes nothing, once its process has seen it.

``ReadPath`` sits above the :class:`~linkgap.service.store.Store` interface and
works with any store. The ``cached_*`` methods never do I/O: they answer from
memory or say they cannot (``None`` / ``MISSING``), so the HTTP layer can serve
hot reads on its event loop and send the rest to a thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from linkgap.errors import NotFound
from linkgap.service.cache import SingleFlightCache, TtlCache, result_nbytes
from linkgap.service.store import KeyRecord, RunRecord, Store

if TYPE_CHECKING:  # pragma: no cover
    from linkgap.gap import GapResult

__all__ = ["KEY_TTL_S", "MISSING", "ReadPath"]

#: How long a key record is trusted: revocations are seen within this (SPEC: 1 s).
KEY_TTL_S = 0.5
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

    # keys -------------------------------------------------------------------
    def key(self, key_id: str) -> KeyRecord | None:
        """The key's record (None when there is none), at most KEY_TTL_S old."""
        rec = self.keys.get(key_id)
        if rec is MISSING:
            rec = self.keys.put(key_id, self.store.key_by_id(key_id))
        return rec

    def cached_key(self, key_id: str) -> KeyRecord | None:
        """The key's record from memory, None when there is none, MISSING when unknown
        here or too old (then call :meth:`key`)."""
        return self.keys.get(key_id)

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
