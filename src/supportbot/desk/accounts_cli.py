"""`supportbot agents add|passwd|list|remove`: the accounts that sign in to the desk."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from supportbot.app import build_store, missing_database, system_clock
from supportbot.config import Settings
from supportbot.desk.accounts import AccountError, Accounts

accounts_app = typer.Typer(help="Agent accounts of the desk (sign-in).", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The agent's name, e.g. lea.")]
FromStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
]


def first_run_notice(accounts: Accounts, desk_url: str) -> str | None:
    """What the server prints at a start with no agent account: the desk's address and the
    first agent's one-time password (as Jupyter prints its token); None once agents exist."""
    created = accounts.ensure_first_agent()
    if created is None:
        return None
    name, password = created
    return (
        f"agent desk: {desk_url}\n"
        f"  first agent: {name}, one-time password: {password}\n"
        f"  (change it: supportbot agents passwd {name}; "
        "add colleagues: supportbot agents add NAME)"
    )


def _accounts(create: bool = False) -> Accounts:
    settings = Settings()
    missing = None if create else missing_database(settings)
    if missing is not None:
        typer.echo(f"no database at {missing}: nothing to do", err=True)
        raise typer.Exit(1)
    return Accounts(build_store(settings), system_clock)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _apply(change: str, action: Callable[[], object]) -> None:
    try:
        action()
    except AccountError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(change)


@accounts_app.command()
def add(
    name: Name,
    admin: Annotated[bool, typer.Option("--admin", help="May manage the desk.")] = False,
    from_stdin: FromStdin = False,
) -> None:
    """Create an agent account (the password is asked twice, hidden)."""
    accounts = _accounts(create=True)
    password = _password(from_stdin)
    role = " (admin)" if admin else ""
    _apply(f"agent {name} added{role}", lambda: accounts.add(name, password, admin))


@accounts_app.command()
def passwd(name: Name, from_stdin: FromStdin = False) -> None:
    """Change an agent's password; their open sessions end."""
    accounts = _accounts()
    password = _password(from_stdin)
    _apply(f"password of {name} changed", lambda: accounts.set_password(name, password))


@accounts_app.command("list")
def list_accounts() -> None:
    """The agent accounts, by name."""
    agents = _accounts().all()
    if not agents:
        typer.echo("no agent accounts")
    for agent in agents:
        typer.echo(f"{agent.name}{'  admin' if agent.admin else ''}")


@accounts_app.command()
def remove(name: Name) -> None:
    """Delete an agent account (their name stays in the tickets' history)."""
    accounts = _accounts()
    _apply(f"agent {name} removed", lambda: accounts.remove(name))
