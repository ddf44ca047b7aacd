"""In-process caches of the read path: what a request would otherwise ask the database.

- :class:`SingleFlightCache`: values bounded in bytes (least recently used
  evicted first); concurrent loads of one key share one load, so 32 cold
  reads of a big run decode it once. Used for completed runs' results.
- :class:`TtlCache`: small records kept for a fixed time (or, with no time,
  until evicted), bounded in count. Used for API keys (a short time, so that a
  revocation made by another process is seen within a second) and for
  completed runs' records (immutable).

Both are thread-safe; neither does any I/O itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["SingleFlightCache", "TtlCache", "result_nbytes"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING: Any = object()


@dataclass
class _Flight:
    """One load in progress; waiters block on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class SingleFlightCache(Generic[K, V]):
    """A least-recently-used cache bounded in bytes, with single-flight loads.

    ``size_of(value)`` is the memory a value holds (counted once, when it is
    stored). A value larger than the whole bound is returned but not kept.
    """

    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._size_of = size_of
        self._lock = threading.Lock()
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._flights: dict[K, _Flight] = {}
        self.nbytes = 0
        self.loads = 0  # how many times a loader ran (for tests and benchmarks)

    def __len__(self) -> int:
        return len(self._items)

    def peek(self, key: K) -> V | None:
        """The cached value (marked recently used), or None; never loads or waits."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def get(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, else ``load()``'s, loading at most once however many threads
        ask at the same time (they wait for the first; its exception is theirs too)."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                return item[0]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            self.loads += 1
            value = load()
        except BaseException as exc:
            flight.error = exc
            with self._lock:
                del self._flights[key]
            flight.done.set()
            raise
        flight.value = value
        size = int(self._size_of(value))
        with self._lock:
            del self._flights[key]
            if size <= self.max_bytes:
                self._items[key] = (value, size)
                self.nbytes += size
                while self.nbytes > self.max_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self.nbytes -= dropped
        flight.done.set()
        return value

    def discard(self, key: K) -> None:
        """Forget ``key`` (a load in progress still completes for its waiters)."""
        with self._lock:
            item = self._items.pop(key, None)
            if item is not None:
                self.nbytes -= item[1]


class TtlCache(Generic[K, V]):
    """Records kept for ``ttl`` seconds (None: until evicted), at most ``max_entries``
    (least recently stored evicted first). ``None`` values are cached too (a miss)."""

    def __init__(self, ttl: float | None, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K) -> V:
        """The fresh cached value, or ``TtlCache.MISSING``."""
        item = self._items.get(key)  # a dict read is atomic; the lock guards the writes
        if item is None or (self.ttl is not None and self.clock() >= item[1]):
            return _MISSING
        return item[0]

    def get_or_stale(self, key: K, grace: float) -> tuple[V, bool]:
        """(value, True) while fresh; (value, False) for up to ``grace`` seconds after it
        expired; (``TtlCache.MISSING``, False) after that or when absent."""
        item = self._items.get(key)
        if item is None:
            return _MISSING, False
        if self.ttl is None:
            return item[0], True
        now = self.clock()
        if now < item[1]:
            return item[0], True
        return (item[0], False) if now < item[1] + grace else (_MISSING, False)

    def put(self, key: K, value: V) -> V:
        expires = self.clock() + self.ttl if self.ttl is not None else 0.0
        with self._lock:
            self._items[key] = (value, expires)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def discard(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    MISSING: Any = _MISSING


def result_nbytes(result: Any) -> int:
    """The memory a decoded gap result holds: its columns and names, plus the most
    :mod:`linkgap.prospects` keeps beside it (sort orders)."""
    from linkgap import prospects

    columns = sum(value.nbytes for value in vars(result).values()
                  if isinstance(value, np.ndarray))
    names = sum(buf.size for buf in result.names.buffers() if buf is not None)
    return int(columns + names + prospects.cache_allowance(len(result)))
