"""The ``linkgap`` command: a thin layer over the library.

Each command group lives in its own module with a ``register(app)`` function;
``COMMAND_MODULES`` lists them. Exit codes: 0 ok, 1 error (message on stderr),
2 usage.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from linkgap import __version__
from linkgap.cli import helpfmt
from linkgap.cli.output import say
from linkgap.errors import LinkgapError

__all__ = ["app", "main"]

#: Modules under linkgap.cli that add commands to the app, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "index_cmds",
    "admin_cmds",
    "serve_cmd",
    "db_cmds",
    "gap_cmd",
    "diff_cmd",
    "competitors_cmd",
    "demo_cmd",
    "data_cmds",
)

helpfmt.apply()

app = typer.Typer(
    name="linkgap",
    help="Find link prospects: domains that link to your competitors but not to you.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help (click's formatter): wraps at word boundaries at any width, and shows no
    # type labels such as <bool> beside flags. Every group sets the same.
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"linkgap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Show the linkgap version and exit.")] = False,
) -> None:
    """Find link prospects: domains that link to your competitors but not to you."""

for _module in COMMAND_MODULES:
    importlib.import_module(f"linkgap.cli.{_module}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 error, 2 usage)."""
    try:
        app(args=argv, prog_name="linkgap", standalone_mode=False)
    except LinkgapError as exc:
        say(exc.operator_message, label="error", style="red")
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        say("aborted")
        return 1
    except Exception as exc:  # click usage errors
        import click

        # typer >= 0.2x ships its own click copy (typer._click) whose exceptions are not
        # click's; both mean a usage error.
        from typer._click.exceptions import ClickException as TyperClickException

        usage_errors = (click.ClickException, TyperClickException)
        if isinstance(exc, usage_errors):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
