"""Run a coroutine to completion on its own thread's event loop.

``asyncio.run`` refuses to start while another loop runs in the calling thread,
and one does whenever a browser test of the same pytest worker has opened
Playwright's session-wide sync API (it keeps a loop running on the main
thread). A fresh thread has no loop, whatever ran before.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any


def run_coroutine(make: Any) -> Any:
    """``asyncio.run(make())`` on a new thread; its result, or its exception re-raised here.

    ``make`` is a zero-argument callable returning the coroutine, so the coroutine is
    created on the thread that runs it (no "never awaited" warning if it cannot start).
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            coroutine: Coroutine[Any, Any, Any] = make()
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-event-loop")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
