"""docs/cli.md documents every command and option of the real ``linkgap`` tree, and no others."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _sections() -> dict[str, str]:
    """``### `linkgap X``` heading -> the text of that section."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `linkgap ([a-z -]+)`\s*$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _leaf_commands(cli_commands: list[Any]) -> list[Any]:
    prefixes = {c.path.rsplit(" ", 1)[0] for c in cli_commands if " " in c.path}
    return [c for c in cli_commands if c.path not in prefixes]


def test_every_command_has_a_section(cli_commands: list[Any]) -> None:
    sections = _sections()
    leaves = {c.path for c in _leaf_commands(cli_commands)}
    assert leaves - set(sections) == set(), "commands missing from docs/cli.md"
    assert set(sections) - leaves == set(), "docs/cli.md documents commands that do not exist"


def test_every_option_is_documented_in_its_section(cli_commands: list[Any]) -> None:
    sections = _sections()
    for command in _leaf_commands(cli_commands):
        section = sections[command.path]
        for option in command.options:
            assert re.search(rf"`{re.escape(option)}[` ]", section), (
                f"linkgap {command.path}: {option} is not documented")
        for argument in command.arguments:
            assert argument.rstrip(".") in section, (
                f"linkgap {command.path}: argument {argument} is not documented")


def test_every_documented_option_exists(cli_commands: list[Any]) -> None:
    sections = _sections()
    by_path = {c.path: c for c in cli_commands}
    for path, section in sections.items():
        real = set(by_path[path].options)
        table_rows = [line for line in section.splitlines() if line.startswith("| `")]
        for row in table_rows:
            first_cell = row.split("|")[1]
            for option in re.findall(r"`(--[a-z][a-z-]*)", first_cell):
                assert option in real, f"linkgap {path}: {option} is documented but not real"


def test_the_command_table_lists_every_command(cli_commands: list[Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    for command in _leaf_commands(cli_commands):
        assert f"[`linkgap {command.path}`](#linkgap-{command.path.replace(' ', '-')})" in text
