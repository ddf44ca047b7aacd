"""Webhooks end to end with real processes: ``linkgap serve`` delivering to a receiver on a
loopback port (allowed by LINKGAP_WEBHOOK_ALLOW_PRIVATE), killed with SIGKILL between two
attempts and started again; ``linkgap worker`` delivering to the receiver of
docs/webhooks.md, whose verification snippet checks every signature, across a secret
rotation made with ``linkgap accounts webhook-secret --rotate``."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from service.servicetest_support import LINKS_V1, make_settings
from support.indexes import build_test_index
from support.receiver import receiver
from support.serving import WAIT_S, linkgap_env, run_linkgap, start_server

from linkgap.service import LinkgapService

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
GAP = "/v1/backlinks/gap"
RETRY_BASE_S = 2
ENV = {"LINKGAP_WEBHOOK_ALLOW_PRIVATE": "true", "LINKGAP_WEBHOOK_ALLOW_HTTP": "true",
       "LINKGAP_WEBHOOK_RETRY_BASE": str(RETRY_BASE_S), "LINKGAP_WEBHOOK_TIMEOUT": "5"}


def docs_snippets() -> dict[str, Any]:
    """The Python blocks of docs/webhooks.md, run in one namespace (as a reader would)."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"),
                        flags=re.S | re.M)
    assert len(blocks) == 2, "docs/webhooks.md: the verification snippet and the receiver"
    namespace: dict[str, Any] = {"__name__": "webhooks_doc"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/webhooks.md python block {number + 1}", "exec"), namespace)
    return namespace


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    build_test_index(path / "index", LINKS_V1)
    return path


@pytest.fixture
def key(home: Path) -> str:
    with LinkgapService(make_settings(home, home / "index",
                                      database_url=f"sqlite:///{home / 'state.db'}")) as s:
        s.create_account("acme", credits=1000)
        return s.create_key("acme")[0]


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _start_run(client: httpx.Client, callback_url: str) -> str:
    r = client.post(GAP, json={"domain": "mysite.com", "competitors": ["a.com", "b.com"],
                               "callback_url": callback_url})
    assert r.status_code == 202, r.text
    return str(r.json()["data"]["id"])


def _wait_webhook(client: httpx.Client, run_id: str,
                  done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        hook = client.get(f"{GAP}/{run_id}").json()["data"]["webhook"]
        if done(hook):
            return dict(hook)
        assert time.monotonic() < deadline, f"webhook stuck at {hook}"
        time.sleep(0.05)


def _secret(home: Path, *args: str) -> str:
    out = run_linkgap(home, "accounts", "webhook-secret", "acme", *args)
    assert re.fullmatch(r"whsec_[0-9a-f]{64}\n", out), out  # the secret alone on stdout
    return out.strip()


def test_a_server_restart_between_attempts_does_not_lose_the_delivery(
        home: Path, key: str) -> None:
    verify = docs_snippets()["verify_linkgap_signature"]
    with receiver([500, 200]) as r:
        first = start_server(home, "serve-1", ENV)
        try:
            with _client(first.url, key) as client:
                run_id = _start_run(client, r.url)
                hook = _wait_webhook(client, run_id, lambda h: h["attempts"] >= 1
                                     and h["last_error"] is not None)
            assert hook["status"] == "pending" and "answered 500" in hook["last_error"]
        finally:
            first.stop(signal.SIGKILL)  # no goodbye: the retry lives in the database only
        assert len(r.received) == 1
        second = start_server(home, "serve-2", ENV)
        try:
            got = r.wait_for(2)
            with _client(second.url, key) as client:
                hook = _wait_webhook(client, run_id, lambda h: h["status"] != "pending")
        finally:
            second.stop()
    assert hook == {"status": "delivered", "attempts": 2, "last_error": None,
                    "next_attempt_at": None}
    assert [g.headers["Linkgap-Attempt"] for g in got] == ["1", "2"]
    secret = _secret(home)
    for delivery in got:  # both signed with the account's secret, checked as the docs do
        assert verify(secret, delivery.headers["Linkgap-Signature"], delivery.body)
        assert not verify(secret, delivery.headers["Linkgap-Signature"], delivery.body + b" ")


def test_a_worker_delivers_to_the_docs_receiver_across_a_rotation(
        home: Path, key: str, capsys: pytest.CaptureFixture[str]) -> None:
    docs = docs_snippets()
    docs["SECRET"] = _secret(home)
    hook_server = HTTPServer(("127.0.0.1", 0), docs["LinkgapHook"])
    hook_url = f"http://127.0.0.1:{hook_server.server_address[1]}/linkgap"
    threading.Thread(target=hook_server.serve_forever, daemon=True).start()
    server = start_server(home, "serve", {**ENV, "LINKGAP_WORKERS": "0"})
    with open(home / "worker.stderr", "w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "linkgap", "worker"],
                                  env=linkgap_env(home, ENV), stdout=subprocess.DEVNULL,
                                  stderr=log)
    try:
        with _client(server.url, key) as client:
            first = _start_run(client, hook_url)
            hook = _wait_webhook(client, first, lambda h: h["status"] != "pending")
            assert hook["status"] == "delivered" and hook["attempts"] == 1
            assert re.search(rf"^{first} completed \d+$", capsys.readouterr().out, re.M)

            rotated = _secret(home, "--rotate")  # the receiver still has the old one
            assert rotated != docs["SECRET"]
            second = _start_run(client, hook_url)
            hook = _wait_webhook(client, second, lambda h: h["attempts"] >= 1
                                 and h["last_error"] is not None)
            assert hook["last_error"] == "the receiver answered 401"
            docs["SECRET"] = rotated  # the receiver learns the new secret
            hook = _wait_webhook(client, second, lambda h: h["status"] != "pending")
            assert hook == {"status": "delivered", "attempts": 2, "last_error": None,
                            "next_attempt_at": None}
    finally:
        server.stop()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        hook_server.shutdown()
        hook_server.server_close()
