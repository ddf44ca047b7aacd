"""docs/settings.md lists exactly the settings of linkgap.settings.SETTINGS, correctly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from linkgap.settings import SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _table() -> dict[str, dict[str, str]]:
    """The settings table: setting name -> {env, flag, default, range, meaning}."""
    rows: dict[str, dict[str, str]] = {}
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting |"))
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name, env, flag, default, kind_range, meaning = cells
        rows[name.strip("`")] = {"env": env.strip("`"), "flag": flag,
                                 "default": default.strip("`"), "range": kind_range,
                                 "meaning": meaning}
    return rows


def test_every_setting_is_documented_and_every_row_is_a_setting() -> None:
    table = _table()
    assert set(table) == {s.name for s in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_row_matches_the_declaration(setting: Any) -> None:
    row = _table()[setting.name]
    assert row["env"] == setting.env
    assert row["default"] == setting.default_text
    assert row["range"] == setting.range_text(), "the documented range is the enforced one"
    assert row["meaning"], "every setting says what it means"
    if setting.flag:
        assert setting.flag in row["flag"]
    else:
        assert row["flag"] == "—"


def test_every_documented_flag_exists_on_a_command(cli_commands: list[Any]) -> None:
    options = {o for c in cli_commands for o in c.options}
    for name, row in _table().items():
        for flag in re.findall(r"--[a-z][a-z-]*", row["flag"]):
            assert flag in options, f"{name}: {flag} is no option of any linkgap command"


def test_the_documented_env_vars_really_drive_the_settings(tmp_path: Path) -> None:
    from linkgap.settings import Settings

    environ = {"LINKGAP_HOME": str(tmp_path), "LINKGAP_PORT": "9123",
               "LINKGAP_RATE_LIMIT": "5"}
    settings = Settings(environ=environ)
    assert settings.home == tmp_path and settings.port == 9123 and settings.rate_limit == 5
    assert Path(settings.index) == tmp_path / "index"
    assert settings.database_url == f"sqlite:///{tmp_path / 'state.db'}"
