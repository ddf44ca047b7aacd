"""The webhook delivery loop of a process that runs workers (``linkgap serve``,
``linkgap worker``).

One dispatcher thread claims due deliveries from the store (under a lease, so
several processes on one database never send the same attempt twice while its
lease lives) and hands each to one of ``SENDERS`` sender threads; it claims only
while a sender is free, so a hanging receiver holds one sender for at most
``LINKGAP_WEBHOOK_TIMEOUT`` and the others go on. Idle, it sleeps until woken
(this process finished a run) or ``IDLE_POLL_S`` passes (another process did, or
a retry fell due). The loop only schedules; every rule is ``webhooks.Webhooks``'.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["IDLE_POLL_S", "SENDERS", "DeliveryLoop"]

log = logging.getLogger("linkgap.service")

#: Deliveries sent at once by one process.
SENDERS = 4
#: An idle dispatcher looks for due deliveries at least this often.
IDLE_POLL_S = 1.0

T = TypeVar("T")


class DeliveryLoop(Generic[T]):
    """``claim()`` takes a due delivery (None when none is due); ``send(claimed)`` makes
    the attempt and records it."""

    def __init__(self, claim: Callable[[], T | None], send: Callable[[T], object],
                 senders: int = SENDERS) -> None:
        self._claim = claim
        self._send = send
        self._senders = senders
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._free = threading.Semaphore(senders)
        self._work: queue.Queue[T | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        """True while the loop's threads run."""
        return bool(self._threads)

    def start(self) -> None:
        """Start the dispatcher and the senders."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self._dispatch, name="linkgap-webhooks",
                                          daemon=True)]
        self._threads += [threading.Thread(target=self._sender, daemon=True,
                                           name=f"linkgap-webhook-sender-{i}")
                          for i in range(self._senders)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; attempts under way finish first (each is bounded by the webhook
        timeout; one cut short is taken over by another sender when its lease expires)."""
        if not self._threads:
            return
        self._stop.set()
        self.wake.set()
        dispatcher, *senders = self._threads
        dispatcher.join(timeout)  # first, so that nothing it claimed is left unsent
        for _ in senders:
            self._work.put(None)
        for thread in senders:
            thread.join(timeout)
        self._threads = []

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            if not self._free.acquire(timeout=IDLE_POLL_S):
                continue  # every sender is busy
            try:
                claimed = self._claim()
            except Exception:  # a locked or unreachable store: wait and try again
                log.exception("could not claim a webhook delivery")
                claimed = None
            if claimed is None:
                self._free.release()
                self.wake.wait(IDLE_POLL_S)
                self.wake.clear()
                continue
            self._work.put(claimed)

    def _sender(self) -> None:
        while True:
            claimed = self._work.get()
            if claimed is None:
                return
            try:
                self._send(claimed)
            except Exception:  # recorded by nobody: the lease expires and it is retried
                log.exception("a webhook delivery attempt failed unexpectedly")
            finally:
                self._free.release()
