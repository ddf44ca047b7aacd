"""``linkgap diff RUN_ID --against RUN_ID`` over the state database (SPEC 13)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from linkgap.cli import main
from linkgap.index.build import build_from_links
from linkgap.service import LinkgapService
from linkgap.settings import Settings


def links(version: int) -> list[tuple[str, str]]:
    """s0…s9 link to a.com; version 2 drops s0, adds new.org and s5 → b.com."""
    out = [(f"https://s{i}.com/", "https://a.com/") for i in range(10) if version == 1 or i]
    if version == 2:
        out += [("https://new.org/", "https://a.com/"), ("https://s5.com/", "https://b.com/")]
    return out + [("https://s9.com/", "https://me.com/")]


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, str, str, str]:
    """(database url, run on v2, run on v1, a queued run of another domain)."""
    db = f"sqlite:///{tmp_path / 'state.db'}"
    index = tmp_path / "index"
    build_from_links(index, links(1))
    with LinkgapService(Settings({"home": tmp_path, "index": index, "database_url": db},
                                 environ={})) as service:
        account = service.create_account("acme", credits=100)
        old, _ = service.create_run(account.id, domain="me.com", competitors=["a.com", "b.com"],
                                    limit=10)
        assert service.run_pending_once()
        build_from_links(index, links(2))
        new, _ = service.create_run(account.id, domain="me.com", competitors=["a.com", "b.com"],
                                    limit=10)
        assert service.run_pending_once()
        other, _ = service.create_run(account.id, domain="s1.com", competitors=["a.com"],
                                      limit=10)
    return db, new.id, old.id, other.id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_csv_and_table(capsys: pytest.CaptureFixture[str],
                            stored: tuple[str, str, str, str]) -> None:
    db, new, old, _ = stored
    code, out, err = run(capsys, "diff", new, "--against", old, "--database", db,
                         "--format", "json")
    assert code == 0, err
    assert "1 added, 1 removed" in err and old in err
    by = {e["domain"]: e for e in json.loads(out)}
    assert by["new.org"]["kind"] == "added" and by["s0.com"]["kind"] == "removed"
    assert by["s5.com"]["changes"]["competitors"] == {"old": ["a.com"],
                                                      "new": ["a.com", "b.com"]}
    code, out, _ = run(capsys, "diff", new, "--against", old, "--database", db,
                       "--kind", "changed", "-c", "B.com", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["kind"], r["domain"], r["old_competitors"]) for r in rows] == [
        ("changed", "s5.com", "a.com")]
    code, out, _ = run(capsys, "diff", new, "--against", old, "--database", db,
                       "--search", "new")
    assert code == 0 and "new.org" in out and "s0.com" not in out


def test_refusals_exit_1_with_the_reason(capsys: pytest.CaptureFixture[str],
                                         stored: tuple[str, str, str, str]) -> None:
    db, new, _, other = stored
    code, _, err = run(capsys, "diff", new, "--against", other, "--database", db)
    assert code == 1 and "same domain" in err
    code, _, err = run(capsys, "diff", new, "--against", "run_nothing", "--database", db)
    assert code == 1 and "not found" in err
    code, _, err = run(capsys, "diff", new, "--against", new, "--database", db,
                       "--competitor", "zzz.com")
    assert code == 1 and "zzz.com" in err
