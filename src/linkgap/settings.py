"""Every linkgap setting, declared once: name, variable, kind, range, default, help.

``docs/settings.md`` is tested against ``SETTINGS`` so that no setting goes
undocumented and its documented range is the one enforced here. Values
resolve in this order: explicit argument (a CLI flag), then the environment
variable, then the default. Every value is checked when it is read, against
its kind and range: a bad one raises :class:`SettingError` (an
``InvalidInput``), whose message is one line naming the setting — the CLI
prints it and exits 1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from linkgap.errors import InvalidInput

__all__ = [
    "BOOLEAN", "INTEGER", "ORIGINS", "PATH", "SETTINGS", "SIZE", "TEXT", "Kind", "Setting",
    "SettingError", "Settings", "default_home", "normalize_origin",
]


def default_home() -> Path:
    """The user's data folder: ``$XDG_DATA_HOME/linkgap`` or ``~/.local/share/linkgap``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "linkgap"


class SettingError(InvalidInput):
    """A setting's value (from a flag or the environment) is not acceptable."""


@dataclass(frozen=True)
class Kind:
    """What a setting holds: how text from the environment is read, and how a value is checked.

    ``parse`` turns environment text into a value (ValueError when it cannot);
    ``accepts`` says whether a value given directly (a flag, a library caller)
    is of this kind; ``noun`` names the kind in messages and in the docs.
    """

    noun: str
    parse: Callable[[str], Any]
    accepts: Callable[[Any], bool]
    ordered: bool = False  # minimum/maximum apply
    examples: str = ""  # shown in messages: "a size such as 512MB or 4GB"


def _parse_int(text: str) -> int:
    cleaned = text.strip().replace("_", "")
    if not re.fullmatch(r"[+-]?\d+", cleaned):
        raise ValueError(f"{text!r} is not a whole number")
    return int(cleaned)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def _parse_text(text: str) -> str:
    return text.strip()


_SIZE_RE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)


def _parse_size(text: str) -> str:
    cleaned = text.strip()
    if not _SIZE_RE.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a size")
    return cleaned


def normalize_origin(text: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin`` (lowercase, default ports
    dropped); ValueError for anything that is not one http(s) origin (``*`` included)."""
    raw = text.strip()
    parts = urlsplit(raw)
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment
            or parts.username is not None or "*" in raw):
        raise ValueError(f"{text!r} is not an origin such as https://app.example.com")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _parse_origins(text: str) -> tuple[str, ...]:
    items = [t for t in re.split(r"[,\s]+", text) if t]
    if not items:
        raise ValueError("no origin given")
    return tuple(dict.fromkeys(normalize_origin(t) for t in items))


def _is_origins(value: Any) -> bool:
    if not isinstance(value, (list, tuple)) or not value:
        return False
    try:
        return all(isinstance(v, str) and normalize_origin(v) == v for v in value)
    except ValueError:
        return False


INTEGER = Kind("integer", _parse_int,
               lambda v: isinstance(v, int) and not isinstance(v, bool), ordered=True)
BOOLEAN = Kind("boolean", _parse_bool, lambda v: isinstance(v, bool))
TEXT = Kind("text", _parse_text, lambda v: isinstance(v, str) and bool(v.strip()))
PATH = Kind("path", lambda t: Path(t.strip()).expanduser(),
            lambda v: isinstance(v, (str, os.PathLike)) and bool(str(v).strip()))
SIZE = Kind("size", _parse_size,
            lambda v: isinstance(v, str) and _SIZE_RE.fullmatch(v.strip()) is not None,
            examples="512MB or 4GB")
ORIGINS = Kind("origin list", _parse_origins, _is_origins,
               examples="https://app.example.com,http://localhost:3000")


@dataclass(frozen=True)
class Setting:
    """One setting: attribute name, environment variable, default, kind, help, range, flag.

    ``default`` computes the default from the settings resolved before it (so
    ``index`` follows ``home``); ``default_text`` is how the docs show it. A
    default of ``None`` means "not set" and is never range-checked.
    """

    name: str
    env: str
    default: Callable[[Mapping[str, Any]], Any]
    kind: Kind
    help: str
    default_text: str
    minimum: int | None = None
    maximum: int | None = None
    flag: str | None = None  # the command-line flag that sets it, where one exists

    def range_text(self) -> str:
        """The kind and range as docs/settings.md shows them, e.g. ``integer, 1 to 1,000,000``."""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.kind.noun}, {self.minimum:,} to {self.maximum:,}"
        if self.minimum is not None:
            return f"{self.kind.noun}, at least {self.minimum:,}"
        if self.maximum is not None:
            return f"{self.kind.noun}, at most {self.maximum:,}"
        return self.kind.noun

    def expectation(self) -> str:
        """What a valid value is, in words: ``an integer from 1 to 1,000,000``."""
        noun = _a(self.kind.noun)
        if self.kind.examples:
            noun += f" such as {self.kind.examples}"
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {self.minimum:,} to {self.maximum:,}"
        if self.minimum is not None:
            return f"{noun} of at least {self.minimum:,}"
        if self.maximum is not None:
            return f"{noun} of at most {self.maximum:,}"
        return noun

    def check(self, value: Any, source: str) -> Any:
        """``value`` if it is of this setting's kind and range, else SettingError.

        ``source`` says where it came from, as the user wrote it
        (``LINKGAP_PORT='eighty'`` or ``--port 70000``), so the message names it.
        """
        in_range = self.kind.accepts(value) and not (self.kind.ordered and (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)))
        if not in_range:
            raise SettingError(f"{source} is not valid: it must be {self.expectation()}",
                               param=self.env)
        return value

    def from_text(self, text: str) -> Any:
        """Read and check this setting's value from environment text."""
        source = f"{self.env}={text!r}"
        try:
            value = self.kind.parse(text)
        except ValueError:
            raise SettingError(f"{source} is not valid: it must be {self.expectation()}",
                               param=self.env) from None
        return self.check(value, source)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


#: Upper bound of the credit-valued settings: large enough for any real price list.
MAX_CREDITS_SETTING = 1_000_000

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home", "LINKGAP_HOME", lambda s: default_home(), PATH,
        "Folder holding the default index and state database.", "~/.local/share/linkgap",
        flag="--home",
    ),
    Setting(
        "index", "LINKGAP_INDEX", lambda s: Path(s["home"]) / "index", PATH,
        "Backlink index directory.", "$LINKGAP_HOME/index", flag="--index",
    ),
    Setting(
        "database_url", "LINKGAP_DATABASE_URL",
        lambda s: f"sqlite:///{Path(s['home']) / 'state.db'}", TEXT,
        "State database (accounts, keys, credits, runs); SQLAlchemy URL convention.",
        "sqlite:///$LINKGAP_HOME/state.db", flag="--database",
    ),
    Setting(
        "data_dir", "LINKGAP_DATA_DIR", lambda s: Path(s["home"]) / "data", PATH,
        "Folder `linkgap data fetch` downloads Common Crawl files into.",
        "$LINKGAP_HOME/data", flag="--dest",
    ),
    Setting(
        "cc_base_url", "LINKGAP_CC_BASE_URL", lambda s: "https://data.commoncrawl.org/", TEXT,
        "Where `linkgap data fetch` downloads Common Crawl files from.",
        "https://data.commoncrawl.org/", flag="--base-url",
    ),
    Setting(
        "build_memory_limit", "LINKGAP_BUILD_MEMORY_LIMIT", lambda s: None, SIZE,
        "Memory an index build may use (its peak stays within this plus about 1 GB; the "
        "aggregation spills to disk beyond it), such as 512MB, 4GB or 2GiB.",
        "half of physical memory", flag="--memory-limit",
    ),
    Setting(
        "build_temp_dir", "LINKGAP_BUILD_TEMP_DIR", lambda s: None, PATH,
        "Folder for an index build's spill files.",
        "inside the build folder in the index directory", flag="--temp-dir",
    ),
    Setting(
        "build_evidence", "LINKGAP_BUILD_EVIDENCE", lambda s: 3, INTEGER,
        "Sample links an index build keeps per domain edge (0 keeps none).", "3",
        minimum=0, maximum=100, flag="--evidence",
    ),
    Setting(
        "spark_master", "LINKGAP_SPARK_MASTER", lambda s: None, TEXT,
        "Spark master of `index build --engine spark`: local[N], spark://host:7077, yarn, "
        "k8s://…", "spark-submit's master, else local[*]", flag="--spark-master",
    ),
    Setting(
        "host", "LINKGAP_HOST", lambda s: "127.0.0.1", TEXT,
        "Address `linkgap serve` listens on.", "127.0.0.1", flag="--host",
    ),
    Setting(
        "port", "LINKGAP_PORT", lambda s: 8000, INTEGER,
        "Port `linkgap serve` listens on (0 picks a free one).", "8000",
        minimum=0, maximum=65535, flag="--port",
    ),
    Setting(
        "max_run_limit", "LINKGAP_MAX_RUN_LIMIT", lambda s: 1000, INTEGER,
        "Largest `limit` a gap run may ask for.", "1000", minimum=10, maximum=1_000_000,
    ),
    Setting(
        "evidence_freeze_max", "LINKGAP_EVIDENCE_FREEZE_MAX", lambda s: 10_000, INTEGER,
        "A run freezes the links behind this many of its best prospects.", "10000",
        minimum=0, maximum=1_000_000,
    ),
    Setting(
        "run_cost_divisor", "LINKGAP_RUN_COST_DIVISOR", lambda s: 30, INTEGER,
        "D in the run cost max(1, ceil(k x limit / D)).", "30",
        minimum=1, maximum=MAX_CREDITS_SETTING,
    ),
    Setting(
        "metrics_cost", "LINKGAP_METRICS_COST", lambda s: 1, INTEGER,
        "Credits charged per domain found by POST /v1/domains/metrics (0: free).", "1",
        minimum=0, maximum=MAX_CREDITS_SETTING,
    ),
    Setting(
        "competitors_cost", "LINKGAP_COMPETITORS_COST", lambda s: 1, INTEGER,
        "Credits charged per GET /v1/domains/{domain}/competitors of an indexed domain "
        "(0: free).", "1",
        minimum=0, maximum=MAX_CREDITS_SETTING,
    ),
    Setting(
        "rate_limit", "LINKGAP_RATE_LIMIT", lambda s: 600, INTEGER,
        "Requests a minute allowed per API key.", "600", minimum=1, maximum=1_000_000,
    ),
    Setting(
        "cors_origins", "LINKGAP_CORS_ORIGINS", lambda s: None, ORIGINS,
        "Browser origins allowed to call the API (CORS); unset: CORS off.", "none (CORS off)",
    ),
    Setting(
        "header_timeout", "LINKGAP_HEADER_TIMEOUT", lambda s: 10, INTEGER,
        "Seconds a client has to send a whole request head.", "10",
        minimum=1, maximum=3600,
    ),
    Setting(
        "body_timeout", "LINKGAP_BODY_TIMEOUT", lambda s: 30, INTEGER,
        "Seconds a client has to send a whole request body.", "30",
        minimum=1, maximum=3600,
    ),
    Setting(
        "keepalive_timeout", "LINKGAP_KEEPALIVE_TIMEOUT", lambda s: 5, INTEGER,
        "Seconds an idle keep-alive connection stays open.", "5",
        minimum=1, maximum=3600,
    ),
    Setting(
        "max_connections", "LINKGAP_MAX_CONNECTIONS", lambda s: 1000, INTEGER,
        "Open client connections `linkgap serve` keeps at most.", "1000",
        minimum=2, maximum=1_000_000,
    ),
    Setting(
        "max_header_bytes", "LINKGAP_MAX_HEADER_BYTES", lambda s: 16384, INTEGER,
        "Largest request head (request line and headers) accepted, in bytes.", "16384",
        minimum=1024, maximum=1_048_576,
    ),
    Setting(
        "result_cache_mb", "LINKGAP_RESULT_CACHE_MB", lambda s: 256, INTEGER,
        "Memory for completed runs' results kept by each server process, in MB.", "256",
        minimum=0, maximum=1_048_576,
    ),
    Setting(
        "access_log", "LINKGAP_ACCESS_LOG", lambda s: True, BOOLEAN,
        "`linkgap serve` writes one line per request on stderr.", "true",
    ),
    Setting(
        "workers", "LINKGAP_WORKERS", lambda s: 1, INTEGER,
        "Gap-run worker threads in `linkgap serve` (0: none) and `linkgap worker`.", "1",
        minimum=0, maximum=64, flag="--workers",
    ),
    Setting(
        "run_lease_seconds", "LINKGAP_RUN_LEASE_SECONDS", lambda s: 30, INTEGER,
        "How long a worker's claim on a run lasts without renewal; a run whose worker died "
        "is taken over after this.", "30", minimum=1, maximum=3600,
    ),
    Setting(
        "run_retention_days", "LINKGAP_RUN_RETENTION_DAYS", lambda s: None, INTEGER,
        "Days a completed run keeps its prospects; then it is listed as expired.",
        "keep forever", minimum=1, maximum=36_500, flag="--retention-days",
    ),
    Setting(
        "webhook_allow_private", "LINKGAP_WEBHOOK_ALLOW_PRIVATE", lambda s: False, BOOLEAN,
        "Allow webhook deliveries to loopback, private and link-local addresses (a "
        "receiver on this machine or network).", "false",
    ),
    Setting(
        "webhook_allow_http", "LINKGAP_WEBHOOK_ALLOW_HTTP", lambda s: False, BOOLEAN,
        "Accept http:// callback URLs (unencrypted, unauthenticated receivers); false: "
        "https only.", "false",
    ),
    Setting(
        "webhook_timeout", "LINKGAP_WEBHOOK_TIMEOUT", lambda s: 10, INTEGER,
        "Seconds one webhook delivery attempt may take in all (connect, send, answer); "
        "a receiver that takes longer is cut off and the attempt fails.", "10",
        minimum=1, maximum=300,
    ),
    Setting(
        "webhook_retry_base", "LINKGAP_WEBHOOK_RETRY_BASE", lambda s: 30, INTEGER,
        "Seconds before the first retry of a failed webhook delivery; each further wait "
        "doubles, at most an hour, for up to 24 hours.", "30", minimum=1, maximum=3600,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


class Settings:
    """Resolved, checked settings; attribute names are the ``Setting.name`` values.

    ``overrides`` are values given directly (CLI flags, library callers);
    ``None`` means "not given". Raises :class:`SettingError` for a value of the
    wrong kind or out of range, wherever it came from.
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - set(_BY_NAME)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.name in given:
                value = given[setting.name]
                source = f"{setting.flag or setting.name} {value!r}"
                if setting.kind is PATH and isinstance(value, str):
                    value = Path(value).expanduser()
                values[setting.name] = setting.check(value, source)
            elif env.get(setting.env, "").strip():
                values[setting.name] = setting.from_text(env[setting.env])
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
