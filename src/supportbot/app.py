"""Builds a ready engine from the settings: content, matcher, store, services."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from supportbot.agents import AgentDesk
from supportbot.config import Settings
from supportbot.migrate import upgrade
from supportbot.store import make_engine, make_sessionmaker
from supportbot.tickets import TicketService

if TYPE_CHECKING:  # imported where used: agent commands start without the matcher's numpy
    from supportbot.content import Content
    from supportbot.engine import Engine
    from supportbot.routing import Router


def system_clock() -> datetime:
    return datetime.now(UTC)


def build_matcher(content: Content, settings: Settings) -> Router:
    """The matcher over the content's phrasings, with the content-aware routing on top."""
    from supportbot.matching import FAQ_THRESHOLD, Matcher, MatcherParams
    from supportbot.routing import Cases, Router

    threshold = settings.match_threshold
    params = replace(MatcherParams(), threshold=FAQ_THRESHOLD if threshold is None else threshold)
    links = {f"faq:{e.id}": f"flow:{e.flow}" for e in content.faq.values() if e.flow}
    gives = frozenset(f"faq:{e.id}" for e in content.faq.values() if e.gives)
    kinds = {
        f"flow:{flow.id}": tuple(step.choices for step in flow.steps if step.choices)
        for flow in content.flows.values()
    }
    cases = Cases(kinds, settings.order_number_pattern)
    matcher = Matcher.from_pairs(content.pairs(), params, content.synonyms)
    return Router(matcher, links, gives, cases, content.lexicon)


def build_engine(
    settings: Settings,
    clock: Callable[[], datetime] = system_clock,
    content: Content | None = None,
    matcher: Router | None = None,
) -> Engine:
    """Validate content (ContentError if broken), migrate the store, wire the services."""
    from supportbot.content import load_content
    from supportbot.engine import Engine
    from supportbot.fields import DateParser
    from supportbot.flows import FileStore, FlowRunner
    from supportbot.understanding import Understanding

    content = content or load_content(settings.content_dir)
    matcher = matcher or build_matcher(content, settings)
    dates = DateParser(
        timezone=settings.timezone,
        month_parts=content.lexicon.month_parts,
        number_words=content.lexicon.number_words,
    )
    dates.warm_up()
    understanding = Understanding(content.lexicon, dates, settings.order_number_pattern)
    tickets = build_tickets(settings, clock)
    runner = FlowRunner(
        calendar=tickets.calendar,  # one business calendar for the flows and the tickets
        dates=dates,
        files=FileStore(settings.files_dir),
        clock=clock,
        order_pattern=settings.order_number_pattern,
        max_file_bytes=settings.max_attachment_bytes,
        cue_words=content.lexicon.date_cues,
        negation_words=frozenset(w for p in content.lexicon.negations for w in p),
    )
    engine = Engine(
        content=content,
        matcher=matcher,
        sessions=build_store(settings),
        tickets=tickets,
        runner=runner,
        clock=clock,
        understanding=understanding,
        default_language=settings.default_language,
    )
    # The content, matcher and lemma tables are built once and live as long as the process:
    # out of the garbage collector's sight, they cost no pause to every later collection.
    gc.freeze()
    return engine


def build_store(settings: Settings) -> sessionmaker[Session]:
    """Sessions on the configured database, migrated to the latest schema."""
    db_engine = make_engine(settings.database_url)
    upgrade(db_engine)
    return make_sessionmaker(db_engine)


def build_tickets(
    settings: Settings, clock: Callable[[], datetime] = system_clock
) -> TicketService:
    return TicketService(
        calendar=settings.calendar(),
        clock=clock,
        sla_hours=settings.sla_hours,
        reopen_window=timedelta(days=settings.reopen_days),
    )


def missing_database(settings: Settings) -> Path | None:
    """The SQLite file the settings name, when it does not exist: commands that only read
    or act on what is stored say so rather than create an empty store and find nothing."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path.resolve()


def build_agent_desk(settings: Settings, clock: Callable[[], datetime] = system_clock) -> AgentDesk:
    """The agent actions alone: no content, matcher or date parser to load (quick commands)."""
    return AgentDesk(tickets=build_tickets(settings, clock), sessions=build_store(settings))


def build_desk(engine: Engine) -> AgentDesk:
    """The agent actions over the same store and ticket service as the engine."""
    return AgentDesk(tickets=engine.tickets, sessions=engine.sessions)
