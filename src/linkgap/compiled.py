"""numba, imported on first use: the one place that knows whether compiled code can run.

numba compiles linkgap's hot loops (the gap kernel, PageRank). It is imported
here lazily, not when linkgap is, because the import alone costs about a
second that commands which never run those loops should not pay. When it
cannot be imported (a platform without wheels), callers fall back to their
NumPy/SciPy versions and the log says so once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Compiled", "numba_module"]

log = logging.getLogger("linkgap")

_LOCK = threading.Lock()
#: The module once imported; False once the import failed.
_numba: Any = None


def numba_module() -> Any:
    """The ``numba`` module, or None when it cannot be imported (logged once)."""
    global _numba
    with _LOCK:
        if _numba is None:
            try:
                import numba
            except ImportError as exc:
                log.warning("numba cannot be imported (%s): linkgap uses its NumPy engines "
                            "instead (same results, slower)", exc)
                _numba = False
            else:
                _numba = numba
        return _numba or None


class Compiled:
    """A numba dispatcher made on first use by ``build(numba)``; None without numba.

    Making a dispatcher compiles nothing yet: numba compiles per argument types
    on its first call, or loads that from its disk cache.
    """

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._dispatcher: Any = None

    def get(self) -> Any:
        """The dispatcher, or None when numba cannot be imported."""
        numba = numba_module()
        if numba is None:
            return None
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = self._build(numba)
            return self._dispatcher

    def available(self) -> bool:
        """True when the compiled code can run (numba imports; if not, the log says so)."""
        return self.get() is not None
