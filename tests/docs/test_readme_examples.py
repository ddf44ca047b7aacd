"""The README's examples work: its Python blocks run against a real server and index,
and every ``linkgap`` command line it shows names real commands and options."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.serving import running_server

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDER_URL = "http://127.0.0.1:8000"
PLACEHOLDER_KEY = "lgk_your_key_here"


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_the_first_lines_are_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# linkgap"
    assert lines[3].startswith("./run demo") and lines[4].startswith("./run test")


def test_the_readme_has_python_examples_and_the_screenshot_exists() -> None:
    assert len(_blocks("python")) >= 2
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text(encoding="utf-8"))
    assert images and all((README.parent / image).is_file() for image in images)


def test_linked_docs_exist() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)", README.read_text(encoding="utf-8")):
        assert (README.parent / target).is_file(), target


def _command_lines() -> list[list[str]]:
    lines: list[list[str]] = []
    for block in _blocks("sh"):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if "$(linkgap " in line:
                line = line.split("$(", 1)[1].rstrip(")")
            if line.startswith("linkgap "):
                lines.append(shlex.split(line.split(">", 1)[0]))
    return lines


def test_every_command_line_uses_real_commands_and_options(cli_commands: list[Any]) -> None:
    by_path = {c.path: c for c in cli_commands}
    lines = _command_lines()
    assert len(lines) >= 6
    for argv in lines:
        words = argv[1:]
        path = " ".join(words[:2]) if " ".join(words[:2]) in by_path else words[0]
        assert path in by_path, f"README: no command `linkgap {path}`"
        real = set(by_path[path].options) | {"-c", "-q"}
        for word in words:
            if word.startswith("-"):
                assert word in real, f"README: `linkgap {path}` has no option {word}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A real ``linkgap serve`` over a small generated demo index, and a demo key."""
    from linkgap.demo import build_demo_index, demo_settings, ensure_demo_key
    from linkgap.service import LinkgapService

    home = tmp_path_factory.mktemp("readme-home")
    settings = demo_settings(home)
    build_demo_index(settings, n_domains=2000)
    with LinkgapService(settings) as service:
        key = ensure_demo_key(service)
    with running_server(Path(settings.home)) as server:
        yield server.url, key, Path(settings.home)


@pytest.mark.slow
def test_python_examples_run(served: tuple[str, str, Path], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    url, key, home = served
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINKGAP_HOME", str(home))
    monkeypatch.delenv("LINKGAP_INDEX", raising=False)
    for number, block in enumerate(_blocks("python")):
        assert PLACEHOLDER_URL in block or "BacklinkIndex" in block
        code = block.replace(PLACEHOLDER_URL, url).replace(PLACEHOLDER_KEY, key)
        exec(compile(code, f"README.md python block {number + 1}", "exec"), {})
    out = capsys.readouterr().out
    assert "prospects found" in out
    assert "competitors[0]" in out
    assert re.search(r"^\d+ prospects$", out, flags=re.M)
    header = (tmp_path / "prospects.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("domain,domain_rating")


def test_every_doc_page_is_linked_from_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for page in sorted((README.parent / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in text, f"README does not link docs/{page.name}"
