"""The `supportbot` command line: chat, matching, evaluation, content checks, tickets."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from supportbot.agent_cli import agent_app, no_store_or_exit
from supportbot.app import build_engine, build_matcher, system_clock
from supportbot.config import Settings
from supportbot.content import ContentError, load_content
from supportbot.desk.accounts_cli import accounts_app
from supportbot.faq_cli import add_variant, check_drafts_or_exit, draft, gaps, iso_moment
from supportbot.stats import Period
from supportbot.store import Ticket
from supportbot.tickets import TicketStatus

app = typer.Typer(help="supportbot: the 3DWorksPrints support assistant.", no_args_is_help=True)
faq_app = typer.Typer(help="FAQ content tools.", no_args_is_help=True)
tickets_app = typer.Typer(help="Look at tickets.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(faq_app, name="faq")
app.add_typer(tickets_app, name="tickets")
app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
app.add_typer(accounts_app, name="agents")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        problems = "; ".join(
            f"SUPPORTBOT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in err.errors()
        )
        typer.echo(f"invalid settings: {problems}", err=True)
        raise typer.Exit(2) from err


def _content_or_exit(settings: Settings) -> Any:
    try:
        return load_content(settings.content_dir)
    except ContentError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err


@app.command()
def chat(
    user: Annotated[str, typer.Option(help="Customer name / id in this terminal.")] = "",
    lang: Annotated[str | None, typer.Option(help="fr or en.")] = None,
) -> None:
    """Talk to the bot in the terminal (type /quit to leave)."""
    from supportbot.channels.contract import EngineCore
    from supportbot.channels.terminal.chat import TerminalChat, prompt

    settings = _settings()
    content = _content_or_exit(settings)
    engine = build_engine(settings, content=content)
    interactive = sys.stdin.isatty()
    # Without --user the customer is "client" and the bot does not call them by it.
    terminal = TerminalChat(
        EngineCore.of(engine), user or "client", lang, interactive=interactive, display_name=user
    )
    terminal.run(_read_lines(interactive, prompt(lang)))


def _read_lines(interactive: bool, prompt: str) -> Any:
    while True:
        try:
            line = input(prompt if interactive else "")
        except (EOFError, KeyboardInterrupt):
            return
        yield line


@app.command()
def match(
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="One question a line in, JSON out.")
    ] = False,
) -> None:
    """Match questions read on stdin; one JSON object a line with --jsonl."""
    settings = _settings()
    matcher = build_matcher(_content_or_exit(settings), settings)
    for raw in sys.stdin:
        query = raw.rstrip("\n")
        if not query.strip():
            continue
        result = matcher.resolve(query)
        best = result.best
        record = {
            "query": query,
            "match": best.label if best else None,
            "score": best.score
            if best
            else (result.candidates[0].score if result.candidates else 0),
            "ambiguous": result.ambiguous,
            "alternatives": [{"label": m.label, "score": m.score} for m in result.alternatives],
        }
        if jsonl:
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            typer.echo(f"{record['match'] or 'none'}\t{record['score']}\t{query}")


@app.command("eval")
def evaluate(
    target: Annotated[
        str, typer.Argument(help="CASES.yaml ({text, expect: [labels]}), or 'conversations'.")
    ],
    folder: Annotated[
        Path | None, typer.Argument(help="With 'conversations': the folder of scripted cases.")
    ] = None,
    which: Annotated[
        str, typer.Option("--half", help="dev (even positions), test (odd positions) or all.")
    ] = "all",
    transcripts: Annotated[
        bool, typer.Option("--transcripts", help="Print the transcript of each failure.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the matcher on single questions, or the whole bot on scripted conversations."""
    from supportbot.conversation_eval import half

    if which not in ("dev", "test", "all"):
        typer.echo("--half is dev, test or all", err=True)
        raise typer.Exit(2)
    settings = _settings()
    content = _content_or_exit(settings)
    if target == "conversations":
        _evaluate_conversations(settings, content, folder, which, transcripts, as_json)
        return
    from supportbot.evaluation import evaluate_cases, load_cases

    try:
        cases = half(load_cases(Path(target)), which)
    except (OSError, ValueError, yaml.YAMLError) as err:
        typer.echo(f"cannot read {target}: {err}", err=True)
        raise typer.Exit(2) from err
    report = evaluate_cases(build_matcher(content, settings), cases)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.render())


def _evaluate_conversations(
    settings: Settings,
    content: Any,
    folder: Path | None,
    which: str,
    transcripts: bool,
    as_json: bool,
) -> None:
    from supportbot.conversation_eval import half, load_conversations, run_conversations

    if folder is None:
        typer.echo("usage: supportbot eval conversations DIR", err=True)
        raise typer.Exit(2)
    try:
        cases = half(load_conversations(folder), which)
    except (OSError, ValueError, yaml.YAMLError) as err:
        typer.echo(f"cannot read {folder}: {err}", err=True)
        raise typer.Exit(2) from err
    report = run_conversations(cases, settings.content_dir, content)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.render(transcripts))


@faq_app.command("check")
def faq_check() -> None:
    """Validate faq/ and flows/; list every problem with file, entry and field."""
    from supportbot.replies import load_replies

    settings = _settings()
    content = _content_or_exit(settings)
    drafts = check_drafts_or_exit(settings.content_dir, content)  # prints problems, exit 2
    try:
        book = load_replies(settings.content_dir / "replies")
    except ContentError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err
    from supportbot.evaluation import eval_leaks

    leaks = eval_leaks(settings.content_dir, content)
    if leaks:
        typer.echo(str(ContentError(leaks)), err=True)
        raise typer.Exit(2)
    variants = len(content.pairs())
    typer.echo(
        f"OK: {len(content.faq)} FAQ entries, {len(content.flows)} flows, {variants} phrasings, "
        f"{len(book.templates)} reply templates, {drafts} draft(s) in faq/drafts/ (not served)."
    )


faq_app.command("gaps")(gaps)
faq_app.command("draft")(draft)
faq_app.command("add-variant")(add_variant)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to SUPPORTBOT_DATABASE_URL."""
    from supportbot.migrate import upgrade
    from supportbot.store import make_engine

    upgrade(make_engine(_settings().database_url))
    typer.echo("database is up to date")


@app.command()
def sla(
    start: Annotated[str, typer.Option("--from", help="ISO 8601 start, e.g. 2026-12-24T10:00")],
    hours: Annotated[float, typer.Option("--hours", min=0.01)] = 48.0,
) -> None:
    """Print the deadline `hours` business hours after `start` (ISO 8601 with offset)."""
    settings = _settings()
    moment = iso_moment(start, settings, "--from")
    typer.echo(settings.calendar().add(moment, hours).isoformat())


def _ticket_dict(ticket: Ticket, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reference": ticket.reference,
        "status": ticket.status,
        "category": ticket.category,
        "priority": ticket.priority,
        "flow": ticket.flow_id,
        "subject": ticket.subject,
        "order_number": ticket.order_number,
        "customer": ticket.customer.name or ticket.customer.external_id,
        "channel": ticket.customer.channel,
        "created_at": ticket.created_at.isoformat(),
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
    }
    if full:
        data["fields"] = dict(ticket.fields)
        data["attachments"] = [
            {
                "step": a.step,
                "kind": a.kind,
                "name": a.name,
                "mime": a.mime,
                "size": a.size,
                "checksum": a.checksum,
                "path": a.path,
                "file_id": a.file_id,
            }
            for a in ticket.attachments
        ]
        data["events"] = [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "author": e.author,
                "text": e.text,
                "data": dict(e.data),
            }
            for e in ticket.events
        ]
    return data


@tickets_app.command("list")
def tickets_list(
    status: Annotated[TicketStatus | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[bool, typer.Option("--overdue")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 500,
) -> None:
    """List tickets (soonest due first)."""
    settings = _settings()
    no_store_or_exit(settings)
    engine = build_engine(settings, content=_content_or_exit(settings))
    with engine.sessions() as db:
        rows = engine.tickets.search(
            db, status=status, category=category, overdue=overdue, limit=limit
        )
        data = [_ticket_dict(t) for t in rows]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not data:
        typer.echo("no tickets")
    tz = engine.tickets.calendar.tz
    for t in data:
        due = datetime.fromisoformat(t["due_at"]).astimezone(tz) if t["due_at"] else None
        typer.echo(
            f"{t['reference']}  {t['status']:<17} {t['category']:<9} "
            f"due {f'{due:%d/%m %H:%M}' if due else '-':<11}  {t['customer']}  "
            f"{t['subject'][:60]}"
        )


@tickets_app.command("show")
def tickets_show(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Everything about one ticket: fields, attachments, the whole conversation."""
    from supportbot.tickets import TicketNotFound

    settings = _settings()
    no_store_or_exit(settings)
    engine = build_engine(settings, content=_content_or_exit(settings))
    with engine.sessions() as db:
        try:
            data = _ticket_dict(engine.tickets.get(db, reference), full=True)
        except TicketNotFound as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from err
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@tickets_app.command("set")
def tickets_set(
    reference: str,
    status: Annotated[
        str, typer.Argument(help="received, info_requested, solution_proposed, closed")
    ],
    message: Annotated[str, typer.Option("--message", "-m")] = "",
    agent: Annotated[str, typer.Option("--agent")] = "agent",
) -> None:
    """Change a ticket's status; the customer is told in their language."""
    from supportbot.tickets import TicketNotFound, TicketStatus

    if status not in {s.value for s in TicketStatus}:
        valid = ", ".join(s.value for s in TicketStatus)
        typer.echo(f"unknown status {status!r}: one of {valid}", err=True)
        raise typer.Exit(1)
    target = TicketStatus(status)
    if target in (TicketStatus.INFO_REQUESTED, TicketStatus.SOLUTION_PROPOSED) and not message:
        what = "question" if target is TicketStatus.INFO_REQUESTED else "proposed solution"
        typer.echo(f"{status} needs the {what} for the customer: --message TEXT", err=True)
        raise typer.Exit(1)
    settings = _settings()
    no_store_or_exit(settings)
    engine = build_engine(settings, content=_content_or_exit(settings))
    try:
        with engine.sessions.begin() as db:
            ticket = engine.tickets.get(db, reference)
            engine.tickets.change_status(db, ticket, target, agent, message)
            typer.echo(f"{ticket.reference}: {ticket.status}")
    except (ValueError, TicketNotFound) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from err


@tickets_app.command("export")
def tickets_export(
    reference: str,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("exports"),
) -> None:
    """Write the complete file of a ticket (summary.md + attachments), e.g. for a dispute."""
    from supportbot.export import export_ticket
    from supportbot.tickets import TicketNotFound

    settings = _settings()
    no_store_or_exit(settings)
    engine = build_engine(settings, content=_content_or_exit(settings))
    with engine.sessions() as db:
        try:
            ticket = engine.tickets.get(db, reference)
            folder = export_ticket(ticket, out, engine.tickets.calendar.tz)
        except TicketNotFound as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from err
        except OSError as err:
            typer.echo(f"cannot write the export into {out}: {err.strerror or err}", err=True)
            raise typer.Exit(1) from err
    typer.echo(str(folder))


@app.command()
def run(
    webhook_url: Annotated[str | None, typer.Option(help="Public HTTPS URL: webhook mode.")] = None,
    port: Annotated[int, typer.Option(help="Webhook port.")] = 8443,
    secret_token: Annotated[str | None, typer.Option(help="Webhook secret header.")] = None,
    listen: Annotated[str, typer.Option(help="Webhook listen address.")] = "0.0.0.0",
) -> None:
    """Serve customers and agents on Telegram (polling, or a webhook with --webhook-url)."""
    from supportbot.channels.telegram.app import InvalidTelegramToken, TelegramStartError
    from supportbot.channels.telegram.app import run as run_telegram

    settings = _settings()
    _content_or_exit(settings)
    try:
        run_telegram(settings, webhook_url, port, secret_token, listen)
    except (InvalidTelegramToken, ContentError) as err:  # the configuration is wrong
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err
    except TelegramStartError as err:  # Telegram out of reach: starting again later may do
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from err


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web chat (the demo support page with the widget, and its API) and the
    agent desk; at the first start, an agent account is created and its password shown."""
    import uvicorn

    from supportbot.desk.accounts import Accounts
    from supportbot.desk.accounts_cli import first_run_notice
    from supportbot.server import build_server, uvicorn_parts

    settings = _settings()
    engine = build_engine(settings, content=_content_or_exit(settings))
    server = build_server(engine, settings)
    typer.echo(f"support page with the chat widget: http://{host}:{port}/")
    typer.echo(f"widget script (the one tag):       http://{host}:{port}/widget/widget.js")
    typer.echo(f"chat API:                          http://{host}:{port}/api/")
    desk = f"http://{host}:{port}/desk/"
    notice = first_run_notice(Accounts(engine.sessions, engine.clock), desk)
    typer.echo(notice or f"agent desk:                        {desk}")
    parts = uvicorn_parts()
    typer.echo(f"served by uvicorn on {parts.loop} and {parts.http}")
    # No websockets served: ws="none" keeps uvicorn from loading a library for them.
    uvicorn.run(
        server,
        host=host,
        port=port,
        log_level="warning",
        loop=parts.loop,
        http=parts.http,
        ws="none",
    )


@app.command()
def tick() -> None:
    """One pass of the timed jobs (interim messages, reminders, auto-close); cron-friendly."""
    from supportbot.jobs import Jobs

    settings = _settings()
    engine = build_engine(settings, content=_content_or_exit(settings))
    jobs = Jobs(engine.tickets, engine.sessions, settings.job_settings())
    for alert in jobs.tick():
        typer.echo(alert.text)


@app.command()
def stats(
    since: Annotated[str | None, typer.Option(help="ISO date, e.g. 2026-11-01")] = None,
    until: Annotated[
        str | None, typer.Option(help="ISO date, excluded, e.g. 2026-12-01 (default: now)")
    ] = None,
    by: Annotated[Period | None, typer.Option(help="Also per day or week (in the series).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Deflection, unanswered questions, thumbs down, flow drop-off, SLA, ratings, first
    response and time to close in business hours."""
    from supportbot.stats import compute_stats

    settings = _settings()
    start = iso_moment(since, settings) if since else None
    end = iso_moment(until, settings, "--until") if until else None
    no_store_or_exit(settings)
    engine = build_engine(settings, content=_content_or_exit(settings))
    with engine.sessions() as db:
        result = compute_stats(
            db,
            system_clock(),
            start,
            end,
            calendar=engine.tickets.calendar,
            by=by,
            target_hours=settings.sla_hours,
        )
    typer.echo(
        json.dumps(result.as_dict(), ensure_ascii=False, indent=2) if as_json else result.render()
    )


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
