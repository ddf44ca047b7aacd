"""The demo lives in its own folder, ``$LINKGAP_HOME/demo`` (SPEC 7, issue 7 item 4).

The README tour runs ``linkgap demo`` and then ``linkgap index build`` with the
same ``LINKGAP_HOME``: the user's build must not replace the demo's index, the
demo must not touch the user's index or state database, and running the demo
again afterwards still works.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from linkgap.index.reader import BacklinkIndex
from linkgap.service.migrations import SCHEMA_VERSION
from tests.support.serving import linkgap_env
from tests.support.state_db import sqlite_at_schema

DOMAINS = "300"  # a small generated web: this test is about folders, not the generator


def _linkgap(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linkgap", *args], env=linkgap_env(home),
                          cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def _write_links(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source_url", "target_url"])
        writer.writerow(["https://blog.example/post", "https://rival.example/"])
        writer.writerow(["https://news.example/", "https://rival.example/"])


def test_the_tour_build_and_the_demo_keep_to_their_own_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _linkgap(home, "demo", "--no-serve", "--domains", DOMAINS, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    demo = home / "demo"
    demo_version = BacklinkIndex.current_version(demo / "index")
    assert demo_version is not None and (demo / "state.db").is_file()
    assert "LINKGAP_HOME=" + str(demo) in first.stdout  # how to serve it with linkgap serve
    # Nothing of the user's: no index, no state database.
    assert not (home / "index").exists() and not (home / "state.db").exists()

    # The tour's step 2: the user's own index, in $LINKGAP_HOME/index.
    _write_links(tmp_path / "links.csv")
    built = _linkgap(home, "index", "build", "links.csv", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    user_version = BacklinkIndex.current_version(home / "index")
    assert user_version is not None
    assert BacklinkIndex.current_version(demo / "index") == demo_version
    accounts = _linkgap(home, "accounts", "list", "--format", "json", cwd=tmp_path)
    assert accounts.stdout.strip() == "[]", "the demo account is not in the user's state"

    # ./run demo again: it still runs, reusing its index, and leaves the user's alone.
    again = _linkgap(home, "demo", "--no-serve", "--domains", DOMAINS, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "reusing the demo index" in again.stderr
    assert BacklinkIndex.current_version(demo / "index") == demo_version
    assert BacklinkIndex.current_version(home / "index") == user_version
    info = _linkgap(home, "index", "info", "--format", "json", cwd=tmp_path)
    assert '"links.csv"' in info.stdout or "links.csv" in info.stdout


def test_a_demo_folder_from_an_older_linkgap_is_upgraded_not_refused(tmp_path: Path) -> None:
    # The demo's state database is its own: an older schema is upgraded in place (the
    # user's own database would be refused until `linkgap db upgrade`).
    home = tmp_path / "home"
    conn = sqlite_at_schema(home / "demo" / "state.db", 4)
    conn.execute("INSERT INTO accounts (id, name, created_at, monthly_quota, monthly_used, "
                 "quota_period, topup_balance) VALUES ('acct_old', 'demo', "
                 "'2026-01-01T00:00:00.000Z', 0, 0, '2026-01', 5)")
    conn.commit()
    conn.close()
    run = _linkgap(home, "demo", "--no-serve", "--domains", DOMAINS, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"upgraded the demo's state database from schema 4 to {SCHEMA_VERSION}" in run.stderr
    assert "lgk_" in run.stdout
    accounts = _linkgap(home / "demo", "accounts", "list", "--format", "json", cwd=tmp_path)
    assert '"acct_old"' in accounts.stdout  # the same account, now with the new key
