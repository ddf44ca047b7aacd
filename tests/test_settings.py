"""Every setting is checked when it is read: kind and range, declared once (SPEC 7).

A bad value, from the environment or a flag, is one line on stderr naming the
setting and exit 1 from every command, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from linkgap.cli import main
from linkgap.settings import INTEGER, SETTINGS, Setting, SettingError, Settings
from tests.support.serving import linkgap_env

#: (variable, bad value): each is refused; the first three are the issue's reports.
BAD_ENV = [
    ("LINKGAP_RATE_LIMIT", "0"),
    ("LINKGAP_METRICS_COST", "-5"),
    ("LINKGAP_MAX_RUN_LIMIT", "5000000"),
    ("LINKGAP_MAX_RUN_LIMIT", "9"),
    ("LINKGAP_PORT", "eighty"),
    ("LINKGAP_PORT", "65536"),
    ("LINKGAP_PORT", "80.5"),
    ("LINKGAP_RUN_COST_DIVISOR", "0"),
    ("LINKGAP_WORKERS", "-1"),
    ("LINKGAP_BUILD_MEMORY_LIMIT", "lots"),
]


@pytest.mark.parametrize(("env", "value"), BAD_ENV)
def test_a_bad_environment_value_is_an_error_naming_the_variable(
        env: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingError) as caught:
        Settings(environ={"LINKGAP_HOME": str(tmp_path), env: value})
    message = caught.value.message
    assert message.startswith(f"{env}={value!r} is not valid: it must be ")
    assert "\n" not in message
    assert caught.value.param == env


@pytest.mark.parametrize(("env", "value", "expected"), [
    ("LINKGAP_RATE_LIMIT", "1", 1),
    ("LINKGAP_RATE_LIMIT", " 1_000 ", 1000),
    ("LINKGAP_METRICS_COST", "0", 0),
    ("LINKGAP_MAX_RUN_LIMIT", "1000000", 1_000_000),
    ("LINKGAP_MAX_RUN_LIMIT", "10", 10),
    ("LINKGAP_PORT", "0", 0),
    ("LINKGAP_BUILD_MEMORY_LIMIT", "1.5GiB", "1.5GiB"),
    ("LINKGAP_BUILD_MEMORY_LIMIT", "512MB", "512MB"),
])
def test_the_ends_of_each_range_are_accepted(env: str, value: str, expected: object) -> None:
    name = next(s.name for s in SETTINGS if s.env == env)
    assert getattr(Settings(environ={env: value}), name) == expected


def test_the_range_is_declared_once_and_drives_the_message() -> None:
    rate = next(s for s in SETTINGS if s.name == "rate_limit")
    assert (rate.kind, rate.minimum, rate.maximum) == (INTEGER, 1, 1_000_000)
    with pytest.raises(SettingError, match="from 1 to 1,000,000"):
        Settings(environ={"LINKGAP_RATE_LIMIT": "0"})


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_default_is_inside_its_own_range(setting: Setting, tmp_path: Path) -> None:
    values = Settings(environ={"LINKGAP_HOME": str(tmp_path)}).as_dict()
    value = values[setting.name]
    if value is not None:
        assert setting.check(value, "default") == value


@pytest.mark.parametrize(("name", "value", "source"), [
    ("port", 70000, "--port 70000"),
    ("metrics_cost", -5, "metrics_cost -5"),
    ("rate_limit", "600", "rate_limit '600'"),  # a string is not an integer
    ("rate_limit", True, "rate_limit True"),
    ("build_memory_limit", "lots", "--memory-limit 'lots'"),
    ("host", "  ", "--host '  '"),
])
def test_values_given_directly_are_checked_too(name: str, value: object, source: str) -> None:
    with pytest.raises(SettingError) as caught:
        Settings({name: value}, environ={})
    assert caught.value.message.startswith(f"{source} is not valid")


#: One invocation of every command that reads settings.
COMMANDS = [
    ["serve"],
    ["index", "build", "nothing.csv"],
    ["index", "info"],
    ["domain", "example.com"],
    ["gap", "mysite.com", "--competitor", "a.com"],
    ["accounts", "list"],
    ["accounts", "create", "acme"],
    ["accounts", "topup", "acme", "5"],
    ["keys", "list"],
    ["keys", "create", "--account", "acme"],
    ["keys", "revoke", "key_x"],
    ["demo", "--no-serve"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_stops_with_one_line_naming_the_setting(
        args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LINKGAP_HOME", str(tmp_path))
    monkeypatch.setenv("LINKGAP_METRICS_COST", "-5")
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal must not wrap the message
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: LINKGAP_METRICS_COST='-5' is not valid: it must be an integer from 0 to "
        "1,000,000\n")
    assert not (tmp_path / "state.db").exists(), "nothing is created before the check"


def test_serve_with_a_zero_rate_limit_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "linkgap", "serve", "--port", "0"],
                          env=linkgap_env(tmp_path, {"LINKGAP_RATE_LIMIT": "0"}),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: LINKGAP_RATE_LIMIT='0' is not valid: it must be an integer from 1 to 1,000,000"]


def test_a_flag_out_of_range_is_one_line_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "linkgap", "index", "build", "--memory-limit", "lots", "x.csv"],
        env=linkgap_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --memory-limit 'lots' is not valid: it must be a size such as 512MB or 4GB"]
