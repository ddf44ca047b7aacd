"""Named points inside the store's transactions, for crash tests.

The store calls :func:`reach` at each point (a no-op unless a hook is
installed). Tests install a hook in a child process that kills the process at
one point, then check what the database kept: a transaction cut anywhere
leaves all of its writes or none.

Points, in the order a gap-run request passes them (one transaction from
``begin`` to ``committed``): ``run.begin``, ``run.idempotency_recorded``,
``run.charged``, ``run.inserted``, ``run.committed``; and for workers
``claim.committed`` (a run was claimed and its lease taken) and
``run.computing`` (the worker computes it, its lease renewed meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["POINTS", "install", "reach"]

POINTS = ("run.begin", "run.idempotency_recorded", "run.charged", "run.inserted",
          "run.committed", "claim.committed", "run.computing")

_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(point)`` at every point from now on (None removes it)."""
    global _hook
    _hook = hook


def reach(point: str) -> None:
    """Mark that execution reached ``point``."""
    if _hook is not None:
        _hook(point)
