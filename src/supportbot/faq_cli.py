"""`supportbot faq gaps | draft | add-variant`: turn what customers asked into FAQ content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from supportbot.config import Settings
from supportbot.content import Content, ContentError, load_content
from supportbot.migrate import upgrade
from supportbot.store import make_engine, make_sessionmaker

Since = Annotated[
    str | None,
    typer.Option(help="Only questions since this ISO date, e.g. 2026-11-01 (draft: as for gaps)."),
]


def _content(settings: Settings) -> Content:
    try:
        return load_content(settings.content_dir)
    except ContentError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from err


def iso_moment(value: str, settings: Settings, option: str = "--since") -> datetime:
    """An ISO 8601 date or moment typed by an operator, in the support's time zone when
    it has no offset; a clear usage error otherwise."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        example = "2026-11-01 or 2026-11-01T09:30"
        raise typer.BadParameter(
            f"{value!r} is not an ISO date (e.g. {example})", param_hint=option
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(settings.timezone))


def _since(value: str | None, settings: Settings) -> datetime | None:
    return iso_moment(value, settings) if value else None


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as db:
            yield db
    finally:
        engine.dispose()


def _fail(err: Exception) -> typer.Exit:
    typer.echo(str(err), err=True)
    return typer.Exit(1)


def gaps(
    since: Since = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the groups as JSON.")] = False,
) -> None:
    """Group unanswered and 👎 questions by similarity: size, examples, nearest FAQ entry."""
    from supportbot.faq_tools import find_gaps  # numpy and scipy: only for these commands
    from supportbot.matching import Matcher

    settings = Settings()
    content = _content(settings)
    matcher = Matcher.from_pairs(content.pairs(), synonyms=content.synonyms)
    start = _since(since, settings)
    with _session(settings) as db:
        found = find_gaps(db, matcher, content, start)
    if as_json:
        groups = [gap.as_dict() for gap in found]
        data = {"since": start.isoformat() if start else None, "groups": groups}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    after = f" since {since}" if since else ""
    if not found:
        typer.echo(f"no unanswered or 👎 questions{after}")
        return
    total = sum(len(gap.questions) for gap in found)
    typer.echo(f"{total} question(s){after} in {len(found)} group(s); `faq draft N` drafts one.")
    for gap in found:
        typer.echo(_render(gap.as_dict()))


def _render(group: dict[str, Any]) -> str:
    langs = ", ".join(f"{k} {v}" for k, v in group["languages"].items())
    nearest = group["nearest"]
    near = f"{nearest['id']} ({nearest['score']})" if nearest else "-"
    lines = [
        f"#{group['group']}  {group['size']} question(s): {group['unanswered']} unanswered, "
        f"{group['thumbs_down']} 👎  [{langs}]  nearest: {near}",
        *[f"    - {example}" for example in group["examples"]],
    ]
    if group["thumbs_down_on"]:
        lines.append(
            "    👎 on: " + ", ".join(f"{k} ×{v}" for k, v in group["thumbs_down_on"].items())
        )
    return "\n".join(lines)


def draft(
    group: Annotated[int, typer.Argument(metavar="GROUP", help="Group number from `faq gaps`.")],
    since: Since = None,
    from_ticket: Annotated[
        str | None,
        typer.Option("--from-ticket", metavar="REF", help="Answer from its last agent message."),
    ] = None,
    new_id: Annotated[str | None, typer.Option("--id", help="Id of the new entry.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing draft.")] = False,
) -> None:
    """Write faq/drafts/<id>.yaml from a group of `faq gaps` (never served until moved)."""
    from supportbot.faq_tools import (
        FaqToolError,
        find_gaps,
        pick_gap,
        render_draft,
        suggest_id,
        ticket_answer,
        write_draft,
    )
    from supportbot.matching import Matcher

    settings = Settings()
    content = _content(settings)
    matcher = Matcher.from_pairs(content.pairs(), synonyms=content.synonyms)
    start = _since(since, settings)
    try:
        with _session(settings) as db:
            gap = pick_gap(find_gaps(db, matcher, content, start), group)
            answer = ticket_answer(db, from_ticket) if from_ticket else None
        entry_id = new_id or suggest_id(gap, content)
        text = render_draft(gap, content, entry_id, answer)
        path = write_draft(settings.content_dir, entry_id, text, force)
    except FaqToolError as err:
        raise _fail(err) from err
    source = f"from ticket {from_ticket.upper()}" if from_ticket else "left for a person"
    size = len(gap.questions)
    typer.echo(f"wrote {path} (entry {entry_id}, {size} question(s); answer {source})")


def add_variant(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="FAQ entry id, e.g. invoice.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The new phrasing.")],
    lang: Annotated[
        str | None, typer.Option("--lang", help="fr or en (guessed from TEXT if omitted).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Add it even if another entry answers it today.")
    ] = False,
) -> None:
    """Add a phrasing to an FAQ entry, in place in its YAML file (refuses duplicates, and
    a phrasing another entry clearly answers today unless --force)."""
    if lang is not None and lang not in ("fr", "en"):
        raise typer.BadParameter("must be fr or en", param_hint="--lang")
    from supportbot import faq_tools
    from supportbot.matching import Matcher

    settings = Settings()
    content = _content(settings)
    ranker = Matcher.from_pairs(content.pairs(), synonyms=content.synonyms)
    try:
        added = faq_tools.add_variant(
            settings.content_dir, entry_id, text, lang, matcher=ranker, force=force
        )
    except faq_tools.FaqToolError as err:
        raise _fail(err) from err
    typer.echo(f"{added.path.name}: {added.entry_id} +{added.language} {added.text!r}")


def check_drafts_or_exit(root: Path, content: Content) -> int:
    """For `faq check`: print every problem of faq/drafts/ and exit 2, else the drafts count."""
    from supportbot.faq_tools import DRAFTS, check_drafts

    problems = check_drafts(root, content)
    if problems:
        typer.echo(str(ContentError(problems)), err=True)
        raise typer.Exit(2)
    return len(list((root / DRAFTS).glob("*.yaml")))
