"""What a person sees of the CLI (issue 7, item 11), checked on the real commands.

``--version``; help at 80 columns with no type labels (``<bool>``) and no word cut
in two; the build's per-input report with whole paths; counts in the right number
("1 item", "2 items"); an empty result said in words on a table and valid empty
json/csv documents; errors as single lines; a busy port that suggests ``--port``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from linkgap import __version__
from linkgap.cli import app, main
from linkgap.index.build import build_from_links
from tests.support.serving import linkgap_env

WIDTH = 80


def _linkgap(home: Path, *args: str, cwd: Path | None = None,
             extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = linkgap_env(home, {"COLUMNS": str(WIDTH), **(extra or {})})
    return subprocess.run([sys.executable, "-m", "linkgap", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_version(tmp_path: Path) -> None:
    done = _linkgap(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout == f"linkgap {__version__}\n"


# ---------------------------------------------------------------- help

def _commands() -> list[tuple[list[str], Any]]:
    """(path, click command) for the root, every group and every command."""
    out: list[tuple[list[str], Any]] = []

    def visit(cmd: Any, path: list[str]) -> None:
        out.append((path, cmd))
        for name in sorted(getattr(cmd, "commands", {}) or {}):
            visit(cmd.commands[name], [*path, name])

    visit(typer.main.get_command(app), [])
    return out


COMMANDS = _commands()


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w]


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(p) or "linkgap" for p, _ in COMMANDS])
def test_help_at_80_columns_reads_cleanly(
        path: list[str], command: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    assert not re.search(r"<[a-z][^<>]*>", shown), f"a type label in:\n{shown}"
    assert "{" not in shown.splitlines()[0], "usage shows braces around arguments"
    too_long = [line for line in shown.splitlines() if len(line) > WIDTH]
    assert not too_long, too_long
    # Every word of every help text is shown whole: nothing cut at a hyphen or mid-word.
    tokens = set(_words(shown))
    texts = [command.help or ""] + [p.help or "" for p in command.params]
    for text in texts:
        for word in _words(text):
            assert word in tokens, f"{word!r} is cut in:\n{shown}"


# ---------------------------------------------------------------- messages

@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A links CSV at exports/links.csv with one bad row (one item skipped)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    rows = [("https://blog.example/post", "https://a.com/"),
            ("https://blog.example/post", "https://b.com/"),
            ("https://solo.example/", "https://a.com/"),
            ("https://me.com/", "https://a.com/"),
            ("not a url", "https://a.com/")]
    with open(folder / "links.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source_url", "target_url"])
        writer.writerows(rows)
    return tmp_path


def test_the_build_report_keeps_paths_whole_and_counts_in_the_right_number(
        exports: Path) -> None:
    done = _linkgap(exports / "home", "index", "build", "exports/links.csv", cwd=exports)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    report = [line for line in lines if line.startswith("input ")]
    assert len(report) == 1
    assert report[0].startswith("input exports/links.csv (links-csv): ")
    assert "1 item skipped" in done.stderr
    assert not re.search(r"\b1 [a-z ]*?(items|records|pages|links|domains|edges)\b",
                         done.stderr), done.stderr


@pytest.fixture
def small_index(tmp_path: Path) -> Path:
    index = tmp_path / "index"
    build_from_links(index, [("https://blog.example/p", "https://a.com/"),
                             ("https://other.example/", "https://b.com/")])
    return index


def test_one_prospect_is_one_prospect(small_index: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    assert main(["gap", "--index", str(small_index), "me.com", "-c", "a.com"]) == 0
    err = capsys.readouterr().err
    assert "1 prospect found, 1 kept" in err
    assert "1 prospects" not in err


@pytest.mark.parametrize(("fmt", "expected"), [
    ("table", "no prospects for me.com (none passes the filters)\n"),
    ("json", "[]\n"),
])
def test_an_empty_result_is_said_in_words_or_is_an_empty_document(
        small_index: Path, fmt: str, expected: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["gap", "--index", str(small_index), "me.com", "-c", "a.com", "--min-authority",
            "100", "--format", fmt]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out == expected
    if fmt == "json":
        assert json.loads(out) == []


def test_an_empty_csv_is_the_header_alone(small_index: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gap", "--index", str(small_index), "me.com", "-c", "a.com",
                 "--min-authority", "100", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["domain", "domain_rating", "backlinks", "referring_domains",
                     "competitor_overlap", "competitors", "dofollow", "spam_score", "score",
                     "rank"]]


@pytest.mark.parametrize(("args", "said"), [
    (["accounts", "list"], "no accounts"),
    (["keys", "list"], "no keys"),
])
def test_empty_lists_say_so(tmp_path: Path, args: list[str], said: str,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LINKGAP_HOME", str(tmp_path))
    assert main(args) == 0
    assert capsys.readouterr().out.startswith(said)
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_long_error_is_one_line_at_80_columns(small_index: Path) -> None:
    # Misspelt competitors: a message much longer than the terminal is wide.
    args = ["gap", "--index", str(small_index), "me.com"]
    for i in range(3):
        args += ["-c", f"competitor-number-{i}.example"]
    done = _linkgap(small_index.parent, *args)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) > WIDTH, done.stderr
    assert lines[0].startswith("error: ")


def test_a_busy_port_suggests_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _linkgap(tmp_path, "serve", "--port", str(port))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines == [f"error: cannot listen on http://127.0.0.1:{port}: port {port} is already "
                     "in use; choose another with --port N (or LINKGAP_PORT), or --port 0 for "
                     "any free port"]


@pytest.mark.parametrize("args", [
    ["-c", "missing.example", "--mode", "intersect"],
    ["-c", "missing.example", "--mode", "intersect", "--min-overlap", "2"],
    ["-c", "missing.example"],
])
def test_one_competitor_is_never_all_1_competitors(
        small_index: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gap", "--index", str(small_index), "me.com", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not re.search(r"\b1 competitors\b|\ball 1\b|one of the 1\b", err), err
