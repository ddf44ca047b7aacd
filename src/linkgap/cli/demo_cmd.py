"""``linkgap demo``: build the generated demo index, make a key, serve the page (SPEC 7).

The demo's index and state database live in its own folder, ``demo`` inside
``--home`` (default ``LINKGAP_HOME``, else the user's data folder), apart from
the user's index and state. It prints the page URL, a
fresh API key and ready-to-paste curl commands on stdout once the server
listens; progress goes to stderr. Ctrl-C stops the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linkgap.cli.output import say as say_line

__all__ = ["register"]


def demo_command(
    home: Annotated[Path | None, typer.Option(
        "--home", metavar="DIR", show_default=False,
        help="Home folder; the demo keeps its index and state in DIR/demo, apart from "
             "yours (default: LINKGAP_HOME, else the user data folder).",
    )] = None,
    host: Annotated[str | None, typer.Option(
        "--host", metavar="H", show_default=False,
        help="Address to listen on (default: LINKGAP_HOST, else 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", metavar="P", min=0, max=65535, show_default=False,
        help="Port to listen on (default: LINKGAP_PORT, else 8000); when it is taken a free "
             "one is used and the demo says so.")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Rebuild the demo index even when one from the same data exists.",
    )] = False,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve",
        help="Serve the page and API (--no-serve: build and print the key only).")] = True,
    seed: Annotated[int | None, typer.Option(
        "--seed", metavar="N", show_default=False,
        help="Seed of the generated web (default: the demo's fixed seed).")] = None,
    domains: Annotated[int | None, typer.Option(
        "--domains", metavar="N", min=200, show_default=False,
        help="About how many domains to generate (default: 30000).")] = None,
) -> None:
    """Build the demo index from generated data, create a key, and serve the page."""
    from linkgap.demo import (
        base_url,
        build_demo_index,
        choose_port,
        demo_settings,
        ensure_demo_key,
        instructions,
        upgrade_demo_state,
    )
    from linkgap.demo_web import DEFAULT_DOMAINS, DEFAULT_SEED
    from linkgap.service import LinkgapService

    def say(message: str) -> None:
        say_line(f"linkgap demo: {message}")

    settings = demo_settings(home, host=host, port=port)
    say(f"demo folder {settings.home}")
    build_demo_index(settings, seed=DEFAULT_SEED if seed is None else seed,
                     n_domains=DEFAULT_DOMAINS if domains is None else domains,
                     rebuild=rebuild, progress=say)
    upgrade_demo_state(settings, progress=say)
    with LinkgapService(settings) as service:
        key = ensure_demo_key(service)

    if not serve:
        typer.echo(instructions(base_url(str(settings.host), int(settings.port)), key)
                   .replace("Press Ctrl-C to stop the server.",
                            "Start the server with: linkgap demo (or linkgap serve with "
                            f"LINKGAP_HOME={settings.home})"))
        return

    wanted = int(settings.port)
    chosen, is_wanted = choose_port(str(settings.host), wanted)
    if not is_wanted:
        say(f"port {wanted} is taken; using port {chosen} instead")
    from linkgap.cli.serve_cmd import serve as run_server

    def on_listen(url: str) -> None:
        # serve reports the bound address; show one a browser on this machine can open.
        bound_host, _, bound_port = url.removeprefix("http://").rpartition(":")
        typer.echo(instructions(base_url(bound_host.strip("[]"), int(bound_port)), key))

    # The same code path as `linkgap serve`, on the demo's home folder.
    run_server(demo_settings(home, host=settings.host, port=chosen),
               on_listen=on_listen, log_level="warning")
    say("stopped")


def register(app: typer.Typer) -> None:
    """Add ``linkgap demo`` to the linkgap command."""
    app.command("demo", short_help="Try linkgap on generated data: build, key, page.")(
        demo_command)
