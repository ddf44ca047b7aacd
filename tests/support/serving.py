"""A real ``linkgap serve`` for end-to-end tests: its own LINKGAP_HOME, a free port.

One implementation for every suite (API, client, docs, web page): the server
is started with ``--port 0`` and the test waits for the ``serving on URL``
line it prints on stderr (kept in a log file for failure messages).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WAIT_S", "Server", "linkgap_env", "run_linkgap", "running_server", "start_server"]

URL_LINE = re.compile(r"serving on (http://\S+)")
WAIT_S = 60.0  # an upper bound on waiting for the server, not a speed assertion


def linkgap_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a linkgap process with its own LINKGAP_HOME (no other LINKGAP_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKGAP_")}
    env["LINKGAP_HOME"] = str(home)
    env.update(extra or {})
    return env


def run_linkgap(home: Path, *args: str, extra_env: Mapping[str, str] | None = None) -> str:
    """Run ``linkgap ARGS`` with LINKGAP_HOME=home; its stdout (asserted exit 0)."""
    done = subprocess.run([sys.executable, "-m", "linkgap", *args],
                          env=linkgap_env(home, extra_env), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"linkgap {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    """A running ``linkgap serve`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the process with ``sig``; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_server(home: Path, name: str = "serve",
                 extra_env: Mapping[str, str] | None = None,
                 open_files: int | None = None) -> Server:
    """Start ``linkgap serve --port 0`` and wait for the URL it prints on stderr
    (``open_files``: the server's hard and soft limit of open file descriptors)."""
    log = home / f"{name}.stderr"
    command = [sys.executable, "-m", "linkgap", "serve", "--port", "0", "--host", "127.0.0.1"]
    if open_files is not None:
        command = ["prlimit", f"--nofile={open_files}:{open_files}", *command]
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            command, env=linkgap_env(home, extra_env), stdout=subprocess.DEVNULL, stderr=err,
        )
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        match = URL_LINE.search(log.read_text(errors="replace"))
        if match:
            return Server(proc, match.group(1), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError(f"linkgap serve did not start:\n{log.read_text(errors='replace')}")


@contextmanager
def running_server(home: Path, extra_env: Mapping[str, str] | None = None,
                   name: str = "serve", open_files: int | None = None) -> Iterator[Server]:
    """A started server, stopped when the block ends (even when a test fails)."""
    server = start_server(home, name, extra_env, open_files)
    try:
        yield server
    finally:
        server.stop()
