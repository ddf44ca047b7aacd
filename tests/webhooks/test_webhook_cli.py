"""``linkgap accounts webhook-secret NAME [--rotate]``: the secret alone on stdout, created on
first use, replaced by --rotate, a one-line error for an unknown account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from linkgap.cli import main

SECRET = re.compile(r"whsec_[0-9a-f]{64}\n")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_webhook_secret_is_created_once_and_rotated(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'state.db'}"
    assert run(capsys, "accounts", "create", "acme", "--database", db)[0] == 0
    code, first, err = run(capsys, "accounts", "webhook-secret", "acme", "--database", db)
    assert code == 0 and SECRET.fullmatch(first) and "acme" in err
    code, again, _ = run(capsys, "accounts", "webhook-secret", "acme", "--database", db)
    assert code == 0 and again == first  # created on first use only
    code, rotated, err = run(capsys, "accounts", "webhook-secret", "acme", "--rotate",
                             "--database", db)
    assert code == 0 and SECRET.fullmatch(rotated) and rotated != first and "rotated" in err
    code, now, _ = run(capsys, "accounts", "webhook-secret", "acme", "--database", db)
    assert now == rotated


def test_webhook_secret_of_an_unknown_account_is_one_line(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'state.db'}"
    code, out, err = run(capsys, "accounts", "webhook-secret", "nobody", "--database", db)
    assert code != 0 and out == ""
    assert "nobody" in err and len(err.strip().splitlines()) == 1
