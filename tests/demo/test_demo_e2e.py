"""``linkgap demo`` end to end: run it as a user would, follow its printed instructions.

The demo runs as a subprocess with a temporary LINKGAP_HOME on a port that is
already taken (so it must pick another and say so); the test parses the URL,
the key and the curl commands it prints, runs the printed curl command (with
the real ``curl`` when there is one), polls the run until it completes, and
checks the prospects against the index the demo built: each links to a
competitor and not to ``mysite.example``.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkgap.demo_web import DEMO_COMPETITORS, DEMO_LABEL, DEMO_TARGET
from linkgap.index.reader import BacklinkIndex

pytestmark = pytest.mark.slow

LINKGAP = [sys.executable, "-m", "linkgap"]


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _read_until(lines: queue.Queue[str | None], marker: str, timeout: float) -> list[str]:
    """Lines up to and including the first one containing ``marker``."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(
                f"no {marker!r} within {timeout} s; got:\n{''.join(seen)}") from None
        if line is None:
            raise AssertionError(f"demo exited before printing {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return seen


def _run_curl(command: str) -> dict[str, Any]:
    """Run a printed curl command (really, when curl exists) and parse its JSON answer."""
    argv = shlex.split(command)
    assert argv[0] == "curl"
    if shutil.which("curl"):
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
        return dict(json.loads(out.stdout))
    # The same request with httpx: -X METHOD, -H header, -d body, one URL.
    method, headers, body, url = "GET", {}, None, ""
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif arg.startswith("http"):
            url = arg
    response = httpx.request(method, url, headers=headers, content=body, timeout=60)
    return dict(response.json())


def _field(lines: list[str], label: str) -> str:
    return next(line.split(label, 1)[1].strip() for line in lines if label in line)


def test_demo_serves_and_its_printed_curl_finds_the_niche_prospects(tmp_path: Path) -> None:
    home = tmp_path / "home"
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    env = {**os.environ, "LINKGAP_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("LINKGAP_INDEX", None)
    proc = subprocess.Popen([*LINKGAP, "demo", "--port", str(taken)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_lines: queue.Queue[str | None] = queue.Queue()
    err_lines: queue.Queue[str | None] = queue.Queue()
    readers = [threading.Thread(target=_reader, args=(proc.stdout, out_lines), daemon=True),
               threading.Thread(target=_reader, args=(proc.stderr, err_lines), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        printed = _read_until(out_lines, "Ctrl-C", timeout=240)
        text = "".join(printed)
        assert DEMO_LABEL in text
        url = _field(printed, "page:").rstrip("/")
        key = _field(printed, "API key:")
        assert key.startswith("lgk_")
        port = int(url.rsplit(":", 1)[1])
        assert port != taken
        messages = []
        while not err_lines.empty():
            messages.append(err_lines.get() or "")
        assert f"port {taken} is taken; using port {port}" in "".join(messages)

        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()

        curls = [line.strip() for line in printed if line.strip().startswith("curl ")]
        create = next(c for c in curls if "-X POST" in c)
        created = _run_curl(create)
        run_id = created["data"]["id"]
        assert created["data"]["status"] == "queued"
        assert created["data"]["domain"] == DEMO_TARGET
        status_cmd = next(c for c in curls if c.endswith(f"Bearer {key}'")
                          and "/RUN_ID " in c + " " and "prospects" not in c)
        deadline = time.monotonic() + 120
        while True:
            run = _run_curl(status_cmd.replace("RUN_ID", run_id))["data"]
            if run["status"] in ("completed", "failed"):
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.3)
        assert run["status"] == "completed", run
        assert run["total_found"] > 0

        prospects_cmd = next(c for c in curls if "prospects?per_page" in c)
        answer = _run_curl(prospects_cmd.replace("RUN_ID", run_id))
        prospects = answer["data"]
        assert prospects and answer["meta"]["total"] == run["prospect_count"]

        python_line = next(line.strip() for line in printed if " -c " in line)
        ran = subprocess.run(shlex.split(python_line), capture_output=True, text=True,
                             timeout=120, check=True)
        printed_rows = ran.stdout.splitlines()
        assert printed_rows and all(row.split()[1] not in (DEMO_TARGET, *DEMO_COMPETITORS)
                                    for row in printed_rows)

        index = BacklinkIndex.open(home / "demo" / "index")  # the demo's own folder
        target_id = index.id_of(DEMO_TARGET)
        assert target_id is not None
        linking_to_target = set(index.in_src[index.in_links_of(target_id)].tolist())
        competitor_linkers = {
            c: set(index.in_src[index.in_links_of(index.id_of(c))].tolist())
            for c in DEMO_COMPETITORS
        }
        for row in prospects:
            pid = index.id_of(row["domain"])
            assert pid is not None
            assert row["domain"] not in (DEMO_TARGET, *DEMO_COMPETITORS)
            assert pid not in linking_to_target
            assert row["competitors"]
            for competitor in row["competitors"]:
                assert pid in competitor_linkers[competitor]
    finally:
        blocker.close()
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for reader in readers:
                reader.join(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    assert code == 0
