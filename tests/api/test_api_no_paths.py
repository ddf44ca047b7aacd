"""Public answers never reveal server paths (SPEC 14); the operator's log has them.

``/healthz`` and every 503 say what is wrong (no index yet, an unreadable index)
without the index folder; a run that fails for such a reason stores the same
public message. The folder goes to the ``linkgap.api`` / ``linkgap.service`` log.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api.apitest_support import COMPETITORS, TARGET, Api, build_index, cli_env, make_api
from api.test_api_errors import assert_error

GAP = "/v1/backlinks/gap"


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Api]:
    """An Api whose index folder has nothing published."""
    yield from make_api(tmp_path / "home", tmp_path / "secret-folder" / "index")


def _no_path_in(text: str, api: Api) -> None:
    folder = Path(api.settings.index)
    for leak in (str(folder), str(folder.parent), "secret-folder", str(api.settings.home)):
        assert leak not in text, f"{leak!r} revealed in {text!r}"


def test_health_and_503s_say_what_is_wrong_without_the_path(
        bare: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="linkgap.api")
    answers = [
        bare.client.get("/healthz"),
        bare.post(GAP, {"domain": TARGET, "competitors": ["a.com"]}),
        bare.post("/v1/domains/metrics", {"domains": ["a.com"]}),
    ]
    for r in answers:
        err = assert_error(r, 503, "index_unavailable")
        assert "no backlink index is published yet" in err["message"]
        _no_path_in(r.text, bare)
    # The operator's log says where it looked.
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert str(bare.settings.index) in logged


def test_an_unreadable_index_is_503_without_the_path(tmp_path: Path) -> None:
    index = tmp_path / "secret-folder" / "index"
    version = build_index(index)
    shutil.rmtree(index / "versions" / version)  # CURRENT now names a missing version
    for api in make_api(tmp_path / "home", index):
        r = api.client.get("/healthz")
        assert r.status_code == 503, r.text
        assert json.loads(r.text)["error"]["code"] == "index_unavailable"
        _no_path_in(r.text, api)


def test_a_run_failed_by_a_vanished_index_stores_no_path(tmp_path: Path) -> None:
    index = tmp_path / "secret-folder" / "index"
    build_index(index)
    for api in make_api(tmp_path / "home", index):
        run = api.create_run(domain=TARGET, competitors=COMPETITORS)
        shutil.rmtree(index)
        assert api.service.run_pending_once()
        r = api.get(f"{GAP}/{run['id']}")
        body = r.json()["data"]
        assert body["status"] == "failed"
        assert body["error"]["code"] == "index_unavailable"
        _no_path_in(r.text, api)


def test_the_cli_still_tells_the_operator_where_it_looked(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "linkgap", "index", "info"],
                          env=cli_env(tmp_path), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1
    assert str(tmp_path / "index") in done.stderr
    assert done.stderr.count("\n") == 1
