"""The desk's live updates: a stream of server-sent events for an open inbox or ticket page.

The cursor is the id of the tickets' audit trail (``ticket_events.id``, which only
grows): every event goes out with its id as the SSE event id, so a browser that
reconnects resumes after the last one it saw (``Last-Event-ID``), as the web chat's
widget does on the outbox's ids. One watcher per process reads the highest id while a
stream is open, whatever the number of streams, and wakes them: on PostgreSQL when the
store says events were committed (``supportbot.wakeups``), on SQLite four times a
second; each stream then reads the events above its own cursor (by primary key: cheap
on SQLite and PostgreSQL alike). A row committed late under a lower id
(PostgreSQL) is missed by the stream, not by the page: the inbox reloads its whole list
at the next event, and a ticket's version check still refuses a stale action.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from supportbot.desk.history import StoredEvent
from supportbot.desk.presence import Presence
from supportbot.store import Ticket, TicketEvent
from supportbot.wakeups import TICKETS_TOPIC, Alarm, wakeups_for

WATCH_SECONDS = 0.25  # how often the process looks for new ticket events, unwoken
HEARTBEAT_SECONDS = 15.0  # an idle stream says it lives and checks its session again
# A ticket's stream looks again at who is there: presence lapses, and another worker's
# agents say they are there without ringing this process's bell.
PRESENCE_TICK = 2.0
PAGE = 100
# What a customer did: the inbox says so with a notice.
NEWS = frozenset({"created", "customer_message", "merged"})


@dataclass(frozen=True)
class FeedEvent:
    """One event of a ticket's audit trail, with what the desk's pages show of its ticket."""

    id: int
    ticket_id: int
    reference: str
    subject: str
    flow: str
    event: StoredEvent


def latest_event_id(sessions: sessionmaker[Session]) -> int:
    """The cursor of a page rendered now: the highest ticket event id."""
    with sessions() as db:
        return int(db.scalar(select(func.max(TicketEvent.id))) or 0)


def ticket_id_of(sessions: sessionmaker[Session], reference: str) -> int | None:
    with sessions() as db:
        return db.scalar(select(Ticket.id).where(Ticket.reference == reference.upper()))


def events_after(
    sessions: sessionmaker[Session], cursor: int, ticket_id: int | None = None, limit: int = PAGE
) -> list[FeedEvent]:
    """The events above ``cursor`` (of one ticket, or all), oldest first."""
    query = (
        select(TicketEvent, Ticket.reference, Ticket.subject, Ticket.flow_id)
        .join(Ticket, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.id > cursor)
        .order_by(TicketEvent.id)
        .limit(limit)
    )
    if ticket_id is not None:
        query = query.where(TicketEvent.ticket_id == ticket_id)
    with sessions() as db:
        return [
            FeedEvent(
                e.id,
                e.ticket_id,
                ref,
                subject,
                flow,
                StoredEvent(e.at, e.kind, e.author, e.text, e.data),
            )
            for e, ref, subject, flow in db.execute(query).all()
        ]


@dataclass
class Feed:
    """Wakes the desk's open streams when a ticket event was written or presence changed."""

    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    presence: Presence = field(init=False)
    _bell: asyncio.Event | None = None
    _watcher: asyncio.Task[None] | None = None
    _streams: int = 0
    _loop: asyncio.AbstractEventLoop | None = None  # the one the bell and watcher live in

    def __post_init__(self) -> None:
        self.presence = Presence(self.sessions, self.clock)

    def bell(self) -> asyncio.Event:
        """Taken *before* a stream reads, waited on after: no ring between is lost."""
        if self._bell is None:
            self._bell = asyncio.Event()
        return self._bell

    def ring(self) -> None:
        bell, self._bell = self._bell, None
        if bell is not None:
            bell.set()

    @contextlib.asynccontextmanager
    async def streaming(self) -> AsyncIterator[None]:
        """While a stream is open: the watcher runs (started with the first stream)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # served by another event loop than before (tests)
            self._loop, self._bell, self._watcher, self._streams = loop, None, None, 0
        self._streams += 1
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
        try:
            yield
        finally:
            self._streams -= 1

    async def _watch(self) -> None:
        with wakeups_for(self.sessions).alarm([TICKETS_TOPIC]) as alarm:
            await self._watch_until_alone(alarm)

    async def _watch_until_alone(self, alarm: Alarm) -> None:
        top = await run_in_threadpool(latest_event_id, self.sessions)
        # An event written between a new stream's first read and this one would never
        # count as new: the streams open now read once more.
        self.ring()
        while self._streams > 0:
            await alarm.wait(WATCH_SECONDS)
            try:
                newest = await run_in_threadpool(latest_event_id, self.sessions)
            except Exception:  # the store busy or away: the streams' own reads still run
                continue
            if newest != top:
                top = newest
                self.ring()


async def rung(bell: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(bell.wait(), seconds)
    except TimeoutError:
        return False
    return True


def sse(event: str, data: dict[str, Any], ident: int | None = None) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
