"""A key revoked with ``linkgap keys revoke`` is refused by every running server within a
second, although servers keep key records in memory (two real ``linkgap serve`` processes
on one SQLite state database)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from api.apitest_support import WAIT_S, build_index, run_cli
from support.serving import running_server

pytestmark = pytest.mark.slow


def test_a_revoked_key_is_refused_on_every_server_within_a_second(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    build_index(home / "index")
    run_cli(home, "accounts", "create", "acme", "--credits", "10")
    key = run_cli(home, "keys", "create", "--account", "acme").strip()
    key_id = key.split("_")[1]
    headers = {"Authorization": f"Bearer {key}"}
    with running_server(home, name="first") as first, \
            running_server(home, name="second") as second:
        for server in (first, second):
            for _ in range(3):  # the key record is now in each server's memory
                r = httpx.get(server.url + "/v1/account", headers=headers, timeout=WAIT_S)
                assert r.status_code == 200, r.text
        run_cli(home, "keys", "revoke", key_id)
        revoked_at = time.monotonic()
        time.sleep(1.0)
        for server in (first, second):
            r = httpx.get(server.url + "/v1/account", headers=headers, timeout=WAIT_S)
            assert r.status_code == 401, (server.url, time.monotonic() - revoked_at)
            assert r.json()["error"]["code"] == "unauthorized"
