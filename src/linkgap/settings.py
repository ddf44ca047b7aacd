"""Every linkgap setting, declared once: name, environment variable, default, help.

``docs/settings.md`` is tested against ``SETTINGS`` so that no setting goes
undocumented. Values resolve in this order: explicit argument (a CLI flag),
then the environment variable, then the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkgap.errors import InvalidInput

__all__ = ["SETTINGS", "Setting", "Settings", "default_home"]


def default_home() -> Path:
    """The user's data folder: ``$XDG_DATA_HOME/linkgap`` or ``~/.local/share/linkgap``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "linkgap"


@dataclass(frozen=True)
class Setting:
    """One setting: its attribute name, environment variable, default and help text."""

    name: str
    env: str
    default: Callable[[Mapping[str, Any]], Any]
    parse: Callable[[str], Any]
    help: str
    default_text: str


def _int(text: str) -> int:
    return int(text.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home", "LINKGAP_HOME", lambda s: default_home(), lambda t: Path(t).expanduser(),
        "Folder holding the default index and state database.", "~/.local/share/linkgap",
    ),
    Setting(
        "index", "LINKGAP_INDEX", lambda s: Path(s["home"]) / "index",
        lambda t: Path(t).expanduser(),
        "Backlink index directory (flag: --index).", "$LINKGAP_HOME/index",
    ),
    Setting(
        "database_url", "LINKGAP_DATABASE_URL",
        lambda s: f"sqlite:///{Path(s['home']) / 'state.db'}", str,
        "State database (accounts, keys, credits, runs); SQLAlchemy URL convention "
        "(flag: --database).", "sqlite:///$LINKGAP_HOME/state.db",
    ),
    Setting(
        "build_memory_limit", "LINKGAP_BUILD_MEMORY_LIMIT", lambda s: None, str,
        "Memory an index build may use (its peak stays within this plus about 1 GB; the "
        "aggregation spills to disk beyond it), in sizes such as 512MB, 4GB or 2GiB "
        "(flag: --memory-limit).", "half of physical memory",
    ),
    Setting(
        "build_temp_dir", "LINKGAP_BUILD_TEMP_DIR", lambda s: None,
        lambda t: Path(t).expanduser(),
        "Folder for an index build's spill files (flag: --temp-dir).",
        "inside the build folder in the index directory",
    ),
    Setting(
        "host", "LINKGAP_HOST", lambda s: "127.0.0.1", str,
        "Address `linkgap serve` listens on (flag: --host).", "127.0.0.1",
    ),
    Setting(
        "port", "LINKGAP_PORT", lambda s: 8000, _int,
        "Port `linkgap serve` listens on (flag: --port).", "8000",
    ),
    Setting(
        "max_run_limit", "LINKGAP_MAX_RUN_LIMIT", lambda s: 1000, _int,
        "Largest `limit` a gap run may ask for (at most 1,000,000).", "1000",
    ),
    Setting(
        "run_cost_divisor", "LINKGAP_RUN_COST_DIVISOR", lambda s: 30, _int,
        "D in the run cost max(1, ceil(k x limit / D)).", "30",
    ),
    Setting(
        "metrics_cost", "LINKGAP_METRICS_COST", lambda s: 1, _int,
        "Credits charged per domain found by POST /v1/domains/metrics.", "1",
    ),
    Setting(
        "rate_limit", "LINKGAP_RATE_LIMIT", lambda s: 600, _int,
        "Requests a minute allowed per API key.", "600",
    ),
    Setting(
        "workers", "LINKGAP_WORKERS", lambda s: 1, _int,
        "Gap-run worker threads inside `linkgap serve`.", "1",
    ),
)


class Settings:
    """Resolved settings; attribute names are the ``Setting.name`` values."""

    def __init__(self, overrides: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - {s.name for s in SETTINGS}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.name in given:
                values[setting.name] = given[setting.name]
            elif env.get(setting.env, "").strip():
                try:
                    values[setting.name] = setting.parse(env[setting.env])
                except ValueError as exc:
                    raise InvalidInput(
                        f"{setting.env}={env[setting.env]!r} is not valid: {exc}", param=setting.env
                    ) from None
            else:
                values[setting.name] = setting.default(values)
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        """All resolved values by setting name."""
        return dict(self._values)
