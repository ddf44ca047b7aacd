"""Helpers shared by the service-core tests (import as ``service.servicetest_support``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from linkgap.settings import Settings

#: A small web: blog.com and news.org link to the competitors, news.org also to mysite.com.
LINKS_V1: list[tuple[str, ...]] = [
    ("https://blog.com/a", "https://a.com/"),
    ("https://blog.com/a", "https://b.com/x"),
    ("https://news.org/x", "https://a.com/"),
    ("https://news.org/x", "https://mysite.com/"),
    ("https://forum.net/t/1", "https://b.com/", "nofollow"),
    ("https://a.com/", "https://b.com/"),
]
#: A rebuild: blog.com now links to mysite.com too, and a new prospect appears.
LINKS_V2: list[tuple[str, ...]] = [
    *LINKS_V1,
    ("https://blog.com/b", "https://mysite.com/"),
    ("https://fresh.io/p", "https://a.com/"),
]


class FakeClock:
    """A settable UTC clock for monthly resets and timestamps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

    def set(self, moment: datetime) -> None:
        self.now = moment


def make_settings(tmp_path: Path, index_dir: Path, **overrides: object) -> Settings:
    """Settings isolated from the environment: a state file under tmp_path."""
    values: dict[str, object] = {
        "home": tmp_path, "index": index_dir,
        "database_url": f"sqlite:///{tmp_path / 'state' / 'state.db'}",
    }
    values.update(overrides)
    return Settings(values, environ={})


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll until ``predicate()`` holds (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
