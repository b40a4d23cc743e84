"""`/desk/events` (the live stream of the inbox and of a ticket page) and
`/desk/tickets/REF/presence` (a ticket page saying its agent is there, or writing).

See `supportbot.desk.live` for the cursor, `supportbot.desk.presence` for the presence.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from supportbot.desk.accounts import Agent
from supportbot.desk.guard import Gate, form_of
from supportbot.desk.history import event_line
from supportbot.desk.inbox import InboxFilter, inbox_filter, matching
from supportbot.desk.live import (
    HEARTBEAT_SECONDS,
    NEWS,
    PAGE,
    PRESENCE_TICK,
    FeedEvent,
    events_after,
    rung,
    sse,
    ticket_id_of,
)
from supportbot.desk.texts import say
from supportbot.desk.web import Site, language
from supportbot.tickets import REFERENCE


@dataclass(frozen=True)
class StreamAsked:
    cursor: int
    reference: str  # "" for the inbox: every ticket
    ticket_id: int | None
    lang: str
    wanted: InboxFilter  # the inbox's filter: its notices are for the tickets it lists


def event_data(site: Site, event: FeedEvent, lang: str, listed: bool = True) -> dict[str, Any]:
    """What a page shows of an event: the conversation's line, and the inbox's notice
    (when the inbox's filter lists its ticket; ``outside`` when it does not)."""
    kind, news = event.event.kind, ""
    if kind in NEWS and listed:
        news = say(lang, f"news_{kind}", ref=event.reference, subject=event.subject[:80])
    line = event_line(event.event, site.content.flows.get(event.flow), lang)
    return {
        "ref": event.reference,
        "kind": kind,
        "class": line.css,
        "label": line.label,
        "text": line.text,
        "at": line.at.isoformat(),
        "time": line.at.astimezone(site.desk.tickets.calendar.tz).strftime("%d/%m %H:%M"),
        "notice": news,
        "outside": kind in NEWS and not listed,
    }


def presence_data(there: tuple[tuple[str, str], ...], lang: str) -> dict[str, Any]:
    return {
        "agents": [{"name": name, "state": state} for name, state in there],
        "text": " · ".join(say(lang, f"presence_{state}", name=name) for name, state in there),
    }


def _cursor(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


async def stream(request: Request, agent: Agent, site: Site, gate: Gate) -> Response:
    """Server-sent events: each ticket event with its id as event id, resumable."""
    cursor = _cursor(request)
    if cursor is None:
        return PlainTextResponse("bad cursor", 400)
    reference = request.query_params.get("ticket", "").upper()
    ticket_id = None
    if reference:
        ticket_id = await run_in_threadpool(ticket_id_of, site.desk.sessions, reference)
        if ticket_id is None:
            return PlainTextResponse("not found", 404)
    wanted = inbox_filter(request.query_params, site.flows)
    asked = StreamAsked(cursor, reference, ticket_id, language(request), wanted)
    return StreamingResponse(
        _events(request, agent, site, gate, asked),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, agent: Agent, site: Site, gate: Gate, asked: StreamAsked
) -> AsyncIterator[str]:
    feed, cursor = site.feed, asked.cursor
    shown: tuple[tuple[str, str], ...] | None = None
    checked = time.monotonic()
    async with feed.streaming():
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            bell = feed.bell()
            batch = await run_in_threadpool(
                events_after, site.desk.sessions, cursor, asked.ticket_id
            )
            listed = await _listed(site, agent, asked, batch)
            for event in batch:
                cursor = event.id
                data = event_data(site, event, asked.lang, event.ticket_id in listed)
                yield sse("ticket", data, event.id)
            if asked.reference:
                everyone = await run_in_threadpool(feed.presence.of, asked.reference)
                there = tuple(p for p in everyone if p[0] != agent.name)
                if there != shown:
                    shown = there
                    yield sse("presence", presence_data(there, asked.lang))
            if len(batch) == PAGE:
                continue  # more than a page waited: read on
            wait = PRESENCE_TICK if asked.reference else HEARTBEAT_SECONDS
            if await rung(bell, wait) or time.monotonic() - checked < HEARTBEAT_SECONDS:
                continue
            checked = time.monotonic()
            if await gate.agent(request) is None:
                return  # signed out (or the password changed) since the stream opened
            yield ": still here\n\n"  # keeps proxies from closing an idle stream


async def _listed(site: Site, agent: Agent, asked: StreamAsked, batch: list[FeedEvent]) -> set[int]:
    """The tickets of ``batch``'s news that the page lists (a ticket's page: its own)."""
    if asked.ticket_id is not None:
        return {asked.ticket_id}
    news = [e.ticket_id for e in batch if e.event.kind in NEWS]
    return await run_in_threadpool(matching, site.desk, agent.name, asked.wanted, news)


async def presence(request: Request, agent: Agent, site: Site) -> Response:
    """A ticket page says its agent is there ("viewing"), typing ("writing"), or left."""
    fields = await form_of(request, agent)
    reference = request.path_params["ref"].upper()
    state = (fields or {}).get("state", "")
    if fields is None or not REFERENCE.fullmatch(reference) or state not in PRESENCE_STATES:
        return PlainTextResponse("refused", 403 if fields is None else 400)
    if await run_in_threadpool(site.feed.presence.report, reference, agent.name, state):
        site.feed.ring()  # this worker's streams at once; the others' at their next look
    return Response(status_code=204)


PRESENCE_STATES = ("viewing", "writing", "gone")


def live_routes(site: Site, gate: Gate) -> list[Route]:
    return [
        Route("/events", gate.private(partial(stream, site=site, gate=gate))),
        Route(
            "/tickets/{ref}/presence",
            gate.private(partial(presence, site=site)),
            methods=["POST"],
        ),
    ]
