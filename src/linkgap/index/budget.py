"""The build's memory budget (``--memory-limit``) and how it is shared out.

The promise (SPEC section 10): a build's peak resident memory stays within
the limit plus about 1 GB (the interpreter, its libraries, batches in
flight), whatever the size of the inputs. Two kinds of memory share the
limit:

- DuckDB's buffer manager, which aggregates and sorts and spills to the
  build's temp folder beyond its share;
- NumPy arrays the build holds itself: per-vertex maps of cc-graph inputs,
  per-domain accumulators while the CSR is written, PageRank's vectors.

The build *reserves* what it is about to hold and DuckDB's share is set to
the rest (never below a quarter of the limit, so a tiny limit still runs).
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from typing import Protocol

from linkgap.errors import InvalidInput

__all__ = [
    "MemoryBudget",
    "default_memory_limit",
    "format_size",
    "parse_size",
    "return_freed_memory_promptly",
]

_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*\Z")
#: The smallest budget a build accepts: DuckDB needs a few MB to run at all.
MIN_BYTES = 16 * 1024**2


def parse_size(text: str, param: str = "memory_limit") -> int:
    """``"2GB"`` → 2_000_000_000, ``"512MiB"`` → 536_870_912 (KB/MB/GB decimal, KiB/MiB/GiB binary).

    Raises InvalidInput (naming ``param``) for anything else or for less than 16 MiB.
    """
    match = _SIZE.match(text or "")
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise InvalidInput(f"memory limit {text!r} is not a size such as 512MB or 4GB",
                           param=param)
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < MIN_BYTES:
        raise InvalidInput(f"memory limit {text!r} is below the 16MiB a build needs",
                           param=param)
    return size


def format_size(size: int) -> str:
    """Bytes as a short human size (``1.9 GiB``)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None when the platform will not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def default_memory_limit() -> int:
    """Half of physical memory (2 GB when it cannot be read)."""
    total = physical_memory()
    return max(MIN_BYTES, total // 2) if total else 2 * 1000**3


#: glibc's ``mallopt`` parameter for the size from which allocations are mmap-ed.
_M_MMAP_THRESHOLD = -3
#: Allocations from this size on are mapped on their own and unmapped when freed.
_MMAP_FROM = 1 << 20
_ALLOCATOR_SET = False


def return_freed_memory_promptly() -> None:
    """Make glibc give freed blocks of 1 MiB and more back to the system at once.

    glibc raises its mmap threshold each time a mapped block is freed (up to
    32 MiB), after which a build's per-block temporaries (arrays of a few MB,
    thousands of times) come from the heap, where freed space stays resident
    and fragments: measured on the 8M/160M build, 0.5 GB above what the build
    holds by the end of reading. Setting the threshold fixes it at 1 MiB (and
    stops the raising). It is process-wide and harmless elsewhere; a no-op
    off glibc.
    """
    global _ALLOCATOR_SET
    if _ALLOCATOR_SET or not sys.platform.startswith("linux"):
        return
    _ALLOCATOR_SET = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)


class _Settable(Protocol):
    def execute(self, query: str) -> object: ...


class MemoryBudget:
    """The limit, what the build holds itself, and DuckDB's share of the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.reserved: dict[str, int] = {}
        self._duckdb: _Settable | None = None

    @classmethod
    def from_text(cls, text: str | None) -> MemoryBudget:
        """A budget from a ``--memory-limit`` value; None = half of physical memory."""
        return cls(parse_size(text) if text else default_memory_limit())

    @property
    def duckdb_share(self) -> int:
        """Bytes DuckDB may use now: the limit less the reservations, at least a quarter."""
        return max(self.limit // 4, self.limit - sum(self.reserved.values()))

    def available(self) -> int:
        """Bytes the build may still take for itself once DuckDB is gone."""
        return max(0, self.limit - sum(self.reserved.values()))

    def attach(self, con: _Settable | None) -> None:
        """Keep DuckDB's ``memory_limit`` equal to ``duckdb_share`` from now on (None: detach)."""
        self._duckdb = con
        self._apply()

    def reserve(self, name: str, size: int) -> None:
        """Note that the build is about to hold ``size`` bytes under ``name`` (replacing it)."""
        self.reserved[name] = max(0, int(size))
        self._apply()

    def release(self, name: str) -> None:
        """Forget a reservation."""
        self.reserved.pop(name, None)
        self._apply()

    def _apply(self) -> None:
        if self._duckdb is not None:
            self._duckdb.execute(f"SET memory_limit = '{self.duckdb_share // 1024}KiB'")
