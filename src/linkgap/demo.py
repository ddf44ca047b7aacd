"""``linkgap demo``: a generated web, indexed, with an account and a key, ready to serve.

The demo lives in its own folder, ``$LINKGAP_HOME/demo`` (SPEC 7): it writes
the generated inputs of :mod:`linkgap.demo_web` under ``demo/demo-inputs``,
builds them with the real ``index build`` path into ``demo/index``, keeps its
own state database ``demo/state.db`` with the ``demo`` account and its keys,
and serves the page with the same code as ``linkgap serve``. So the user's
index (``$LINKGAP_HOME/index``) and state (``$LINKGAP_HOME/state.db``) are
never touched by the demo, and building or serving them never touches it.

A published index in the demo folder that was not built from the demo inputs
is never replaced either: the demo refuses and asks for another ``--home``.
"""

from __future__ import annotations

import json
import shlex
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkgap.demo_web import (
    DEFAULT_DOMAINS,
    DEFAULT_SEED,
    DEMO_COMPETITORS,
    DEMO_LABEL,
    DEMO_TARGET,
    generate_web,
    write_demo_inputs,
)
from linkgap.errors import LinkgapError
from linkgap.settings import Settings

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_CREDITS",
    "DEMO_FOLDER",
    "DemoNotSafe",
    "DemoSetup",
    "base_url",
    "build_demo_index",
    "choose_port",
    "demo_settings",
    "ensure_demo_key",
    "instructions",
    "python_example",
]

DEMO_ACCOUNT = "demo"
#: Credits the demo account is topped up to when it runs low: plenty of runs.
DEMO_CREDITS = 10_000
INPUTS_FOLDER = "demo-inputs"
#: The demo's own folder inside the home folder: its index, inputs and state database.
DEMO_FOLDER = "demo"

Progress = Callable[[str], None]


class DemoNotSafe(LinkgapError):
    """The demo would replace an index that was not built from demo data."""

    code = "demo_not_safe"


@dataclass(frozen=True)
class DemoSetup:
    """What ``prepare`` did: the index version, whether it was built now, and how long it took."""

    index_version: str
    built: bool
    seconds: float
    counts: dict[str, int]
    generated: dict[str, Any]


def demo_settings(home: Path | None = None, **overrides: Any) -> Settings:
    """Settings for the demo: everything in ``<home>/demo`` (home: ``LINKGAP_HOME``).

    The returned settings' ``home`` is the demo folder itself, with the index
    and the state database inside it, so ``LINKGAP_HOME=<home>/demo linkgap
    serve`` serves the demo. ``LINKGAP_INDEX`` and ``LINKGAP_DATABASE_URL`` are
    deliberately not read: they name the user's index and state, which the demo
    never touches.
    """
    base = Settings({"home": home} if home is not None else None)
    root = Path(base.home).expanduser().resolve() / DEMO_FOLDER
    return Settings({
        **overrides,
        "home": root,
        "index": root / "index",
        "database_url": f"sqlite:///{root / 'state.db'}",
    })


def _generated_summary(seed: int, n_domains: int) -> dict[str, Any]:
    return {"label": DEMO_LABEL, "seed": seed, "domains": n_domains,
            "target": DEMO_TARGET, "competitors": list(DEMO_COMPETITORS)}


def _current_manifest(index_dir: Path) -> Any | None:
    from linkgap.index.reader import BacklinkIndex

    if BacklinkIndex.current_version(index_dir) is None:
        return None
    return BacklinkIndex.open(index_dir).manifest


def _built_from(manifest: Any, inputs_dir: Path) -> bool:
    """True when every input of the manifest is a file of the demo inputs folder."""
    labels = [str(item.get("input", "")) for item in manifest.inputs]
    return bool(labels) and all(
        Path(part.strip()).parent == inputs_dir for label in labels for part in label.split(" + ")
    )


def build_demo_index(
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    n_domains: int = DEFAULT_DOMAINS,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> DemoSetup:
    """Generate the demo inputs and build them into ``settings.index`` (unless already built).

    An index built earlier from the same generated inputs is reused unless
    ``rebuild``; an index built from anything else raises :class:`DemoNotSafe`.
    """
    from linkgap.index.build import build_index

    say = progress or (lambda message: None)
    home = Path(settings.home)
    index_dir = Path(settings.index)
    inputs_dir = home / INPUTS_FOLDER
    wanted = _generated_summary(seed, n_domains)
    manifest = _current_manifest(index_dir)
    if manifest is not None and not _built_from(manifest, inputs_dir):
        raise DemoNotSafe(
            f"{index_dir} holds an index that was not built from demo data; the demo will not "
            "replace it. Run `linkgap demo --home DIR` with another folder.")
    if manifest is not None and not rebuild:
        try:
            recorded = json.loads((inputs_dir / "inputs.json").read_text("utf-8"))
        except (OSError, ValueError):
            recorded = {}
        if all(recorded.get(k) == v for k, v in wanted.items()):
            say(f"reusing the demo index {manifest.version} in {index_dir}")
            return DemoSetup(manifest.version, False, 0.0, dict(manifest.counts), recorded)

    started = time.monotonic()
    say(f"writing {DEMO_LABEL}: {n_domains:,} domains (seed {seed})")
    web = generate_web(seed, n_domains)
    paths = write_demo_inputs(inputs_dir, web)
    say(f"building the index from {', '.join(p.name for p in paths)} into {index_dir}")
    report = build_index(index_dir, [str(p) for p in paths])
    seconds = time.monotonic() - started
    counts = dict(report.manifest.counts)
    say(f"built index version {report.version} in {seconds:.1f} s: "
        f"{counts.get('domains', 0):,} domains, {counts.get('edges', 0):,} domain edges, "
        f"{counts.get('links', 0):,} links")
    return DemoSetup(report.version, True, seconds, counts, web.summary())


def ensure_demo_key(service: Any, *, account: str = DEMO_ACCOUNT,
                    credits: int = DEMO_CREDITS) -> str:
    """Make sure the demo account exists with credits; return a fresh API key for it."""
    view = next((a for a in service.list_accounts() if a.name == account), None)
    if view is None:
        service.create_account(account, credits=credits)
    elif view.credits.available < credits // 10:
        service.topup(account, credits - view.credits.available)
    key, _ = service.create_key(account, name=f"demo {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return str(key)


def upgrade_demo_state(settings: Settings, progress: Progress | None = None) -> None:
    """Bring the demo's own state database to this linkgap's schema.

    It is the demo's alone (its account and keys), so a demo folder made by an
    older linkgap is upgraded in place rather than refused, as the user's own
    database would be until ``linkgap db upgrade``. A database written by a newer
    linkgap is still refused.
    """
    from linkgap.service.db import upgrade_database

    report = upgrade_database(str(settings.database_url))
    before = report.before or 0  # 0: a new database
    if 0 < before < (report.version or 0) and progress is not None:
        progress(f"upgraded the demo's state database from schema {before} "
                 f"to {report.version}")


def choose_port(host: str, preferred: int) -> tuple[int, bool]:
    """``(port, is_preferred)``: ``preferred`` when it can be bound on ``host``, else a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, preferred))
            return preferred, True
        except OSError:
            pass
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1]), False


def base_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses to reach ``host:port``."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def instructions(url: str, key: str, *, limit: int = 100) -> str:
    """The text the demo prints: page URL, key, and curl commands for a gap run."""
    body = json.dumps({"domain": DEMO_TARGET, "competitors": list(DEMO_COMPETITORS),
                       "limit": limit})
    auth = shlex.quote(f"Authorization: Bearer {key}")
    create = (f"curl -s -X POST {url}/v1/backlinks/gap -H {auth} "
              f"-H 'Content-Type: application/json' -d {shlex.quote(body)}")
    status = f"curl -s {url}/v1/backlinks/gap/RUN_ID -H {auth}"
    prospects = (f"curl -s {shlex.quote(url + '/v1/backlinks/gap/RUN_ID/prospects?per_page=20')}"
                 f" -H {auth}")
    export = (f"curl -s {shlex.quote(url + '/v1/backlinks/gap/RUN_ID/prospects?format=csv')}"
              f" -H {auth} -o prospects.csv")
    return "\n".join([
        f"linkgap demo — {DEMO_LABEL}",
        "",
        f"  page:     {url}/",
        f"  API key:  {key}",
        f"  API docs: {url}/docs",
        "",
        "Paste the key into the page, or start a gap run for the demo niche "
        f"({DEMO_TARGET} against {', '.join(DEMO_COMPETITORS)}) with curl:",
        "",
        f"  {create}",
        "",
        "It answers 202 with the run's id (data.id). Replace RUN_ID below with it; "
        "the run completes in a moment:",
        "",
        f"  {status}",
        f"  {prospects}",
        f"  {export}",
        "",
        "Or from Python (linkgap.Client waits for the run and pages through every prospect):",
        "",
        f"  {python_example(url, key)}",
        "",
        "Press Ctrl-C to stop the server.",
    ])


def python_example(url: str, key: str) -> str:
    """A one-line ``python -c`` command that runs the demo gap with the client and prints it."""
    # Double-quoted literals (JSON is valid Python here), so the shell quoting stays plain.
    code = (
        f"from linkgap import Client; c = Client({json.dumps(url)}, {json.dumps(key)}); "
        f"r = c.run_gap({json.dumps(DEMO_TARGET)}, {json.dumps(list(DEMO_COMPETITORS))}, "
        'limit=100); [print(p["score"], p["domain"], p["domain_rating"], p["competitors"]) '
        'for p in c.prospects(r["id"], max_spam=30)]'
    )
    # The interpreter running linkgap now is one that can import it.
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
