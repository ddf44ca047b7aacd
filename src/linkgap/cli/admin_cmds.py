"""``linkgap accounts …`` and ``linkgap keys …``: the operator's commands (SPEC 6 and 7).

Thin over :class:`linkgap.service.LinkgapService`. Every command takes
``--database URL`` (default: ``LINKGAP_DATABASE_URL``, else
``sqlite:///$LINKGAP_HOME/state.db``). Data goes to stdout, messages to stderr.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from linkgap.cli.output import OutputFormat, count, emit, say
from linkgap.service import AccountView, LinkgapService
from linkgap.settings import Settings

__all__ = ["register"]

ACCOUNT_COLUMNS = ("name", "id", "available", "monthly_quota", "monthly_used", "topup_balance",
                   "resets_at", "created_at")
KEY_COLUMNS = ("id", "account", "name", "prefix", "created_at", "revoked_at")

Database = Annotated[str | None, typer.Option(
    "--database", metavar="URL", show_default=False,
    help="State database URL (default: LINKGAP_DATABASE_URL, else "
         "sqlite:///$LINKGAP_HOME/state.db).")]
Format = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]

accounts_app = typer.Typer(help="Create accounts, list them, add credits, show their webhook "
                                "secrets.", no_args_is_help=True,
                           rich_markup_mode=None)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True,
                       rich_markup_mode=None)


def _service(database: str | None) -> LinkgapService:
    """The service over the state database the flag or the settings name."""
    return LinkgapService(Settings({"database_url": database}))


def _emit_accounts(views: list[AccountView], fmt: OutputFormat) -> None:
    emit([v.row() for v in views], fmt, ACCOUNT_COLUMNS, title="accounts",
         empty="no accounts (create one with: linkgap accounts create NAME)")


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Unique account name.")],
    credits: Annotated[int, typer.Option(
        "--credits", min=0, help="Top-up credits to start with (they never expire).")] = 0,
    monthly_credits: Annotated[int, typer.Option(
        "--monthly-credits", min=0, help="Monthly quota, reset on the 1st (UTC).")] = 0,
    database: Database = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Create an account."""
    with _service(database) as service:
        view = service.create_account(name, credits=credits, monthly_credits=monthly_credits)
    say(f"created account {view.name} ({count(view.credits.available, 'credit')} available)")
    _emit_accounts([view], fmt)


@accounts_app.command("list")
def accounts_list(database: Database = None, fmt: Format = OutputFormat.table) -> None:
    """List accounts and their credits."""
    with _service(database) as service:
        views = service.list_accounts()
    _emit_accounts(views, fmt)


@accounts_app.command("topup")
def accounts_topup(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Account name.")],
    amount: Annotated[int, typer.Argument(
        metavar="N", min=1, help="Credits to add (never expire).")],
    database: Database = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Add top-up credits to an account."""
    with _service(database) as service:
        view = service.topup(name, amount)
    say(f"added {count(amount, 'credit')} to {view.name} ({view.credits.available:,} available)")
    _emit_accounts([view], fmt)


@accounts_app.command("webhook-secret")
def accounts_webhook_secret(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Account name.")],
    rotate: Annotated[bool, typer.Option(
        "--rotate", help="Replace the secret: the old one stops signing at once.")] = False,
    database: Database = None,
) -> None:
    """Print the account's webhook signing secret alone on stdout (created on first use)."""
    with _service(database) as service:
        secret = service.webhook_secret(name, rotate=rotate)
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    if rotate:
        say(f"rotated the webhook secret of account {name}: deliveries from now on are "
            "signed with the new one only")
    else:
        say(f"webhook secret of account {name} (signs its runs' callbacks; see "
            "docs/webhooks.md)")


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(
        "--account", metavar="NAME", help="Account the key acts for.")],
    name: Annotated[str | None, typer.Option(
        "--name", metavar="LABEL", help="A label for the key.")] = None,
    database: Database = None,
) -> None:
    """Create an API key: the full key alone on stdout (shown once), its id on stderr."""
    with _service(database) as service:
        full, view = service.create_key(account, name=name)
    sys.stdout.write(full + "\n")
    sys.stdout.flush()
    say(f"key id {view.id} for account {view.account}; the key is shown only once")


@keys_app.command("list")
def keys_list(
    account: Annotated[str | None, typer.Option(
        "--account", metavar="NAME", help="Only this account's keys.")]
    = None,
    database: Database = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """List API keys (never their secrets)."""
    with _service(database) as service:
        views = service.list_keys(account)
    emit([v.as_dict() for v in views], fmt, KEY_COLUMNS, title="keys",
         empty="no keys (create one with: linkgap keys create --account NAME)")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(
        metavar="KEY_ID", help="The key's id (as shown by keys list).")],
    database: Database = None,
) -> None:
    """Revoke an API key; requests with it are refused from now on."""
    with _service(database) as service:
        view = service.revoke_key(key_id)
    say(f"revoked key {view.id} of account {view.account} at {view.revoked_at}")


def register(app: typer.Typer) -> None:
    """Add the ``accounts`` and ``keys`` groups to the linkgap command."""
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(keys_app, name="keys")
