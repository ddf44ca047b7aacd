"""Gap-run workers: threads that claim queued runs under a lease, compute and store them.

Any number of workers, in any number of processes (``linkgap serve --workers N``,
``linkgap worker``), share one state database:

- a worker claims the next run (round-robin across accounts, oldest first
  within one) with a lease of ``LINKGAP_RUN_LEASE_SECONDS``; a keeper thread
  renews the leases of this process's runs every third of that while they
  compute;
- a result is stored only while its worker still holds the lease, so no run is
  computed twice while its lease is alive, and one whose worker died is taken
  over once its lease has expired (after 3 expired leases it fails, refunded);
- idle workers sleep until woken: by this process when it queues a run, by
  the store when another process does (PostgreSQL ``LISTEN``, SQLite's
  ``data_version``), or after ``IDLE_POLL_S`` to look for expired leases;
- the keeper also applies retention and forgets old idempotency records and
  rate-limit hits every ``HOUSEKEEPING_S``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["HOUSEKEEPING_S", "IDLE_POLL_S", "WorkerPool", "worker_name"]

log = logging.getLogger("linkgap.service")

#: An idle worker looks for expired leases at least this often.
IDLE_POLL_S = 1.0
#: Retention and clean-up run this often in a process with workers.
HOUSEKEEPING_S = 600.0


def worker_name(thread: str | None = None) -> str:
    """A name unique to this worker thread: host, process, thread and a random part."""
    thread = thread or threading.current_thread().name
    return f"{socket.gethostname()}:{os.getpid()}:{thread}:{secrets.token_hex(3)}"


class WorkerPool:
    """Worker threads and the lease keeper of one process.

    ``run_once(worker)`` claims and executes one run (False when none was queued);
    ``renew(run_id, worker)`` extends a lease (False when lost); ``housekeeping()``
    runs retention; ``warm()`` (the first worker, before its first run) readies the
    gap engine. The pool only schedules: every rule is the service's."""

    def __init__(self, *, run_once: Callable[[str], bool],
                 renew: Callable[[str, str], bool], housekeeping: Callable[[], None],
                 lease_seconds: float, warm: Callable[[], object] | None = None) -> None:
        self._run_once = run_once
        self._renew = renew
        self._housekeeping = housekeeping
        self._warm = warm
        self.lease_seconds = lease_seconds
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._active: dict[str, str] = {}
        self._active_lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True while worker threads run."""
        return bool(self._threads)

    def track(self, run_id: str, worker: str) -> None:
        """A run this process computes: keep its lease alive."""
        with self._active_lock:
            self._active[run_id] = worker

    def untrack(self, run_id: str) -> None:
        """The run is finished (or lost): stop renewing it."""
        with self._active_lock:
            self._active.pop(run_id, None)

    def start(self, threads: int) -> None:
        """Start ``threads`` workers and the keeper."""
        if self._threads or threads < 1:
            return
        self._stop.clear()
        for i in range(threads):
            name = f"linkgap-worker-{i}"
            self._threads.append(threading.Thread(
                target=self._work, args=(worker_name(name), i == 0), name=name, daemon=True))
        self._threads.append(threading.Thread(target=self._keep, name="linkgap-lease-keeper",
                                              daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the threads; a run being computed finishes first (up to ``timeout``). One
        cut short keeps its lease until it expires, then another worker takes it over."""
        if not self._threads:
            return
        self._stop.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _work(self, worker: str, warm: bool = False) -> None:
        if warm and self._warm is not None:
            try:  # the first worker readies the gap engine before it takes a run
                self._warm()
            except Exception:  # never keep the worker from running: runs compile on demand
                log.exception("could not warm the gap kernel")
        while not self._stop.is_set():
            try:
                ran = self._run_once(worker)
            except Exception:  # a locked or unreachable store: wait and try again
                log.exception("worker could not process a run")
                ran = False
                self._stop.wait(1.0)
            if not ran:
                self.wake.wait(IDLE_POLL_S)
                self.wake.clear()

    def _keep(self) -> None:
        """Renew live leases every third of a lease; housekeeping now and then."""
        interval = max(0.05, self.lease_seconds / 3)
        next_housekeeping = time.monotonic()
        while not self._stop.wait(interval):
            with self._active_lock:
                active = list(self._active.items())
            for run_id, worker in active:
                try:
                    if not self._renew(run_id, worker):
                        log.warning("run %s: lease lost to another worker; its result will "
                                    "be dropped", run_id)
                        self.untrack(run_id)
                except Exception:
                    log.exception("could not renew the lease of run %s", run_id)
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + HOUSEKEEPING_S
                try:
                    self._housekeeping()
                except Exception:
                    log.exception("housekeeping failed")
