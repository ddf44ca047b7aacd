"""``linkgap accounts …`` and ``linkgap keys …``: outputs, formats, exit codes, defaults."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from linkgap.cli import main
from linkgap.service import LinkgapService
from linkgap.settings import Settings


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli' / 'state.db'}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_accounts_create_list_topup(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = run(capsys, "accounts", "create", "acme", "--credits", "5",
                         "--monthly-credits", "10", "--database", db, "--format", "json")
    assert code == 0 and "created account acme" in err
    (row,) = json.loads(out)
    assert row["name"] == "acme" and row["available"] == 15 and row["topup_balance"] == 5
    assert run(capsys, "accounts", "create", "globex", "--database", db)[0] == 0
    code, out, _ = run(capsys, "accounts", "topup", "globex", "7", "--database", db,
                       "--format", "json")
    assert code == 0 and json.loads(out)[0]["topup_balance"] == 7
    code, out, err = run(capsys, "accounts", "list", "--database", db, "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["name"], r["available"]) for r in rows] == [("acme", "15"), ("globex", "7")]
    assert list(rows[0]) == ["name", "id", "available", "monthly_quota", "monthly_used",
                             "topup_balance", "resets_at", "created_at"]
    code, out, _ = run(capsys, "accounts", "list", "--database", db)
    assert code == 0 and "acme" in out and "globex" in out


def test_account_errors_and_usage(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert run(capsys, "accounts", "create", "acme", "--database", db)[0] == 0
    code, out, err = run(capsys, "accounts", "create", "acme", "--database", db)
    assert code == 1 and out == "" and "already exists" in err
    code, out, err = run(capsys, "accounts", "create", "bad name!", "--database", db)
    assert code == 1 and "account name" in err
    code, _, err = run(capsys, "accounts", "topup", "nobody", "5", "--database", db)
    assert code == 1 and "no account named 'nobody'" in err
    assert run(capsys, "accounts", "topup", "acme", "0", "--database", db)[0] == 2
    assert run(capsys, "accounts", "topup", "acme", "many", "--database", db)[0] == 2
    assert run(capsys, "accounts", "create", "x", "--credits", "-1", "--database", db)[0] == 2
    assert run(capsys, "accounts", "list", "--format", "xml", "--database", db)[0] == 2


def test_keys_create_list_revoke(capsys: pytest.CaptureFixture[str], db: str,
                                 tmp_path: Path) -> None:
    run(capsys, "accounts", "create", "acme", "--database", db)
    code, out, err = run(capsys, "keys", "create", "--account", "acme", "--name", "ci",
                         "--database", db)
    assert code == 0
    key = out.strip()
    assert out == key + "\n" and key.startswith("lgk_")  # the key alone on stdout
    key_id = key.split("_")[1]
    assert key_id in err and key not in err
    service = LinkgapService(Settings({"database_url": db, "index": tmp_path}, environ={}))
    assert service.authenticate(key).key_id == key_id
    code, out, _ = run(capsys, "keys", "list", "--account", "acme", "--database", db,
                       "--format", "json")
    (row,) = json.loads(out)
    assert row == {"id": key_id, "account": "acme", "name": "ci", "prefix": f"lgk_{key_id}",
                   "created_at": row["created_at"], "revoked_at": None}
    assert key.split("_")[2] not in out
    code, out, err = run(capsys, "keys", "revoke", key_id, "--database", db)
    assert code == 0 and out == "" and "revoked" in err
    code, out, _ = run(capsys, "keys", "list", "--database", db, "--format", "json")
    assert json.loads(out)[0]["revoked_at"] is not None
    from linkgap.errors import Unauthorized
    from linkgap.service.reads import KEY_TTL_S

    # This service read the key before another (the CLI's) revoked it: it trusts what it
    # read for KEY_TTL_S at most, so the revocation holds everywhere within a second.
    time.sleep(KEY_TTL_S)
    with pytest.raises(Unauthorized):
        service.authenticate(key)
    service.close()
    code, _, err = run(capsys, "keys", "revoke", "0123456789ab", "--database", db)
    assert code == 1 and "no key" in err
    assert run(capsys, "keys", "create", "--account", "nobody", "--database", db)[0] == 1
    assert run(capsys, "keys", "list", "--account", "nobody", "--database", db)[0] == 1
    assert run(capsys, "keys", "create", "--database", db)[0] == 2


def test_database_defaults_to_linkgap_home(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKGAP_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINKGAP_HOME", str(tmp_path / "home"))
    assert run(capsys, "accounts", "create", "acme")[0] == 0
    assert (tmp_path / "home" / "state.db").is_file()
    other = tmp_path / "other.db"
    monkeypatch.setenv("LINKGAP_DATABASE_URL", f"sqlite:///{other}")
    assert run(capsys, "accounts", "create", "globex")[0] == 0
    code, out, _ = run(capsys, "accounts", "list", "--format", "json")
    assert [r["name"] for r in json.loads(out)] == ["globex"]
    assert other.is_file()


def test_unreachable_postgresql_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "accounts", "list", "--database",
                         "postgresql://u:pw@127.0.0.1:1/db")
    assert code == 1 and out == ""
    assert "cannot connect to the state database postgresql://u:***@127.0.0.1:1/db" in " ".join(
        err.split())
    assert "Traceback" not in err and "pw" not in err.replace("postgresql", "")
