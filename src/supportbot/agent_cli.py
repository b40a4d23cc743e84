"""`supportbot agent`: the interactive agent console, and one command per agent action for scripts.

Every action prints the ticket's new state (``--json`` for tools). An unknown
reference, template or a forbidden status change goes to stderr with exit code 1.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from supportbot.agent_console import (
    AGENT_ERRORS,
    AgentConsole,
    event_line,
    fill_template,
    send_template,
    ticket_card,
    ticket_dict,
    ticket_row,
)
from supportbot.agents import AgentDesk, TicketView
from supportbot.app import build_agent_desk, missing_database
from supportbot.config import Settings
from supportbot.content import ContentError
from supportbot.replies import ReplyBook, load_replies

agent_app = typer.Typer(
    help="The agent console (no command) and scriptable agent actions.",
    invoke_without_command=True,
)

Name = Annotated[
    str | None, typer.Option("--name", help="Agent name (default: $USER, else 'agent').")
]
Json = Annotated[bool, typer.Option("--json", help="Print the ticket as JSON.")]
Ref = Annotated[str, typer.Argument(metavar="REF", help="Ticket reference, e.g. SAV-2611-4ZVGA.")]
Text = Annotated[str, typer.Argument(metavar="TEXT", help="The message.")]
Key = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Idempotence key: the same command with the same key again changes nothing "
        "(safe to retry).",
    ),
]


@dataclass(frozen=True)
class _Options:
    name: str


@dataclass(frozen=True)
class _Desk:
    desk: AgentDesk
    book: ReplyBook


def _open_desk() -> _Desk:
    """The desk on the configured store, and the validated templates (exit 2 if broken)."""
    settings = Settings()
    book = _book(settings)
    no_store_or_exit(settings)
    return _Desk(build_agent_desk(settings), book)


def no_store_or_exit(settings: Settings) -> None:
    """Exit 1, saying where it looked, when the configured SQLite file does not exist."""
    missing = missing_database(settings)
    if missing is not None:
        typer.echo(
            f"error: no database at {missing}: nothing was ever stored there. Run this "
            "where the chat or the bot runs, or set SUPPORTBOT_DATABASE_URL.",
            err=True,
        )
        raise typer.Exit(1)


def _book(settings: Settings) -> ReplyBook:
    try:
        return load_replies(settings.content_dir / "replies")
    except ContentError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err


def _agent(ctx: typer.Context, name: str | None) -> str:
    options = ctx.obj if isinstance(ctx.obj, _Options) else None
    return (name or (options.name if options else "") or "agent").strip() or "agent"


@agent_app.callback(invoke_without_command=True)
def console(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", envvar="USER", show_envvar=False, help="Agent name (default: $USER)."
        ),
    ] = None,
) -> None:
    """Open the interactive agent console, or run one of the commands below."""
    ctx.obj = _Options(name or "agent")
    if ctx.invoked_subcommand is not None:
        return
    opened = _open_desk()
    interactive = sys.stdin.isatty()
    agent = _agent(ctx, None)
    screen = AgentConsole(opened.desk, opened.book, agent, sys.stdout, interactive=interactive)
    screen.run(_typed_lines(screen) if interactive else sys.stdin)


def _typed_lines(screen: AgentConsole) -> Iterator[str]:
    while True:
        try:
            yield input(screen.prompt())
        except (EOFError, KeyboardInterrupt):
            return


def _run(action: Callable[[_Desk], TicketView], as_json: bool, added: bool = True) -> None:
    opened = _open_desk()
    try:
        view = action(opened)
    except AGENT_ERRORS as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    tickets = opened.desk.tickets
    now = tickets.clock()
    if view.repeated:
        typer.echo("already done with this --key: nothing changed", err=True)
    if as_json:
        _print_json(ticket_dict(view, now) | ({"repeated": True} if view.repeated else {}))
    elif not added:
        typer.echo("\n".join(ticket_card(view, tickets.calendar.tz, now)))
    else:
        typer.echo(ticket_row(view, tickets.calendar.tz, now).strip())
        if view.events:
            typer.echo("  " + event_line(view.events[-1], tickets.calendar.tz))


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _needs_text(text: str) -> str:
    visible = re.sub(r"[\u200b\u2060\ufeff]", "", text).strip()  # zero-width
    if not visible:
        typer.echo("error: the text is empty", err=True)
        raise typer.Exit(1)
    return visible


@agent_app.command("list")
def list_open(as_json: Json = False) -> None:
    """Open tickets, overdue first, then by due time."""
    opened = _open_desk()
    views = opened.desk.open_tickets()
    tickets = opened.desk.tickets
    now = tickets.clock()
    if as_json:
        _print_json([ticket_dict(v, now, full=False) for v in views])
        return
    if not views:
        typer.echo("no open tickets")
    for view in views:
        typer.echo(ticket_row(view, tickets.calendar.tz, now))


@agent_app.command()
def show(ref: Ref, as_json: Json = False) -> None:
    """One ticket: card, fields, attachments, the whole conversation."""
    _run(lambda o: o.desk.show(ref), as_json, added=False)


@agent_app.command()
def take(
    ctx: typer.Context, ref: Ref, name: Name = None, key: Key = None, as_json: Json = False
) -> None:
    """Take a ticket (recorded in its history)."""
    _run(lambda o: o.desk.take(ref, _agent(ctx, name), key=key), as_json)


@agent_app.command()
def reply(
    ctx: typer.Context,
    ref: Ref,
    text: Text,
    name: Name = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """Send a message to the customer."""
    body = _needs_text(text)
    _run(lambda o: o.desk.reply(ref, _agent(ctx, name), body, key=key), as_json)


@agent_app.command()
def ask(
    ctx: typer.Context,
    ref: Ref,
    text: Text,
    name: Name = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """Ask the customer for information (status info_requested)."""
    body = _needs_text(text)
    _run(lambda o: o.desk.ask(ref, _agent(ctx, name), body, key=key), as_json)


@agent_app.command()
def propose(
    ctx: typer.Context,
    ref: Ref,
    text: Text,
    name: Name = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """Propose a solution (status solution_proposed)."""
    body = _needs_text(text)
    _run(lambda o: o.desk.propose(ref, _agent(ctx, name), body, key=key), as_json)


@agent_app.command()
def close(
    ctx: typer.Context,
    ref: Ref,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="An optional last message.")] = "",
    name: Name = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """Close a ticket, with an optional last message to the customer."""
    _run(lambda o: o.desk.close(ref, _agent(ctx, name), text.strip(), key=key), as_json)


@agent_app.command()
def note(
    ctx: typer.Context,
    ref: Ref,
    text: Text,
    name: Name = None,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """An internal note, never shown to the customer."""
    body = _needs_text(text)
    _run(lambda o: o.desk.note(ref, _agent(ctx, name), body, key=key), as_json)


@agent_app.command()
def template(
    ctx: typer.Context,
    ref: Ref,
    template_name: Annotated[str, typer.Argument(metavar="NAME", help="Template name.")],
    name: Name = None,
    preview: Annotated[bool, typer.Option("--preview", help="Print, do not send.")] = False,
    key: Key = None,
    as_json: Json = False,
) -> None:
    """Send a reply template, filled and in the customer's language."""
    agent = _agent(ctx, name)
    if preview:
        opened = _open_desk()
        try:
            typer.echo(fill_template(opened.desk, opened.book, ref, template_name, agent))
        except AGENT_ERRORS as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from err
        return

    def send(o: _Desk) -> TicketView:
        body = fill_template(o.desk, o.book, ref, template_name, agent)
        return send_template(o.desk, o.book.get(template_name), ref, agent, body, key=key)

    _run(send, as_json)


@agent_app.command("templates")
def list_templates(as_json: Json = False) -> None:
    """The reply templates (replies/*.yaml)."""
    book = _book(Settings())
    if as_json:
        _print_json(
            [{"name": t.name, "title": t.title.model_dump()} for t in book.templates.values()]
        )
        return
    for item in book.templates.values():
        typer.echo(f"{item.name:<26} {item.title.fr}")


if __name__ == "__main__":  # pragma: no cover
    agent_app(prog_name="supportbot agent")
