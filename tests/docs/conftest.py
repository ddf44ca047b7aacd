"""Shared fixtures for the documentation checks: the repository paths and the real CLI tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@dataclass
class CommandDoc:
    """One command of the real CLI: its path (``index build``) and its option names."""

    path: str
    options: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    help: str = ""


def walk_cli() -> list[CommandDoc]:
    """Every command and group of ``linkgap``, depth first, with its options."""
    from linkgap.cli import app

    root = typer.main.get_command(app)
    out: list[CommandDoc] = []

    # typer bundles its own click, so the tree is read by duck typing, not isinstance.
    def visit(cmd: Any, path: list[str]) -> None:
        doc = CommandDoc(" ".join(path), help=(cmd.help or "").strip())
        for param in cmd.params:
            if param.param_type_name == "option":
                doc.options.extend(o for o in [*param.opts, *param.secondary_opts]
                                   if o.startswith("--") and o != "--help")
            elif param.param_type_name == "argument":
                # The name users see: the metavar when the command sets one.
                doc.arguments.append((param.metavar or param.name or "").upper())
        if path:
            out.append(doc)
        for name in sorted(getattr(cmd, "commands", {}) or {}):
            visit(cmd.commands[name], [*path, name])

    visit(root, [])
    return out


@pytest.fixture(scope="session")
def cli_commands() -> list[CommandDoc]:
    """The real ``linkgap`` command tree."""
    return walk_cli()
