"""Fixtures for the web page tests: a real ``linkgap serve`` over a small real index, and Chromium.

The server runs as a subprocess on a free port with its own ``LINKGAP_HOME``;
the index is built from a list of links by the index builder, and the accounts
and keys are made with the ``linkgap accounts`` / ``linkgap keys`` commands, so
the page is tested against exactly what a user would run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web.webpage_data import Server, links_rows

from linkgap.index.build import build_from_links

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _linkgap(env: dict[str, str], *args: str) -> str:
    """Run the linkgap CLI; returns stdout, fails the test with stderr on a non-zero exit."""
    proc = subprocess.run([sys.executable, "-m", "linkgap", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"linkgap {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"linkgap serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("linkgap serve did not become healthy within 60 s")


def serve_env(home: Path) -> dict[str, str]:
    """The environment that points every linkgap command at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKGAP_")}
    env["LINKGAP_HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``linkgap serve`` over the test web, with two accounts and their keys."""
    home = tmp_path_factory.mktemp("linkgap-home")
    env = serve_env(home)
    # The index is built in-process (the same code `linkgap index build` runs).
    build_from_links(home / "index", [(r["source_url"], r["target_url"], r["rel"])
                                      for r in links_rows()])
    _linkgap(env, "accounts", "create", "web", "--credits", "1000")
    _linkgap(env, "accounts", "create", "poor", "--credits", "12")
    key = _linkgap(env, "keys", "create", "--account", "web").strip()
    poor_key = _linkgap(env, "keys", "create", "--account", "poor").strip()
    port = _free_port()
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkgap", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield Server(url=url, key=key, poor_key=poor_key, home=home)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
