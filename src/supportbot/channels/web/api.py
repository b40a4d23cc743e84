"""The web chat's HTTP API, over the channel contract only.

A visitor asks for a token when they first write (nothing is stored before), then
sends each message with a client id of its own, which becomes the event's key: a
message sent twice (a retry after a timeout) is applied once. What the bot says
comes from the outbox, each message with its outbox id as event id: on a stream of
server-sent events resumed with ``Last-Event-ID``, or by long polling on the same
cursor. The widget acknowledges what it showed.

A visitor's message costs one trip to the store (its line, the turn, what the turn
left); the turn's replies go straight to the chat's open streams, and one watcher per
process finds what others queued (``feed``): an idle stream reads nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from supportbot.channels.contract import PAGE, ChatCore, Outgoing
from supportbot.channels.web.acks import Acknowledgements
from supportbot.channels.web.feed import Feed, News
from supportbot.channels.web.guard import Origins, RateLimit
from supportbot.channels.web.identity import Visitor, Visitors, Written
from supportbot.channels.web.signed import identified_chat
from supportbot.filetypes import sniff_mime
from supportbot.masking import mask_card_numbers
from supportbot.messages import Action, Document, Inbound, IncomingFile, Reply
from supportbot.tickets import REFERENCE
from supportbot.visitors import WEB_CHANNEL
from supportbot.wakeups import Wakeups

MAX_JSON_BYTES = 16 * 1024
MAX_TEXT = 4000
HEARTBEAT_SECONDS = 15.0  # an idle stream says it lives (and reads its chat where needed)
LONG_POLL_SECONDS = 25.0
KNOWN_SECONDS = 60.0  # a token found valid is trusted that long without reading the store
KNOWN_TOKENS = 10_000
log = logging.getLogger(__name__)
T = TypeVar("T")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# What the visitor reads when a request is refused: French first, then English.
REFUSALS: dict[str, tuple[int, str, str]] = {
    "origin": (
        403,
        "Ce site n'est pas autorisé à utiliser ce chat.",
        "This site may not use this chat.",
    ),
    "token": (
        401,
        "Votre session de chat a expiré : rechargez la page.",
        "Your chat session expired: reload the page.",
    ),
    "rate": (
        429,
        "Vous envoyez beaucoup de messages : patientez une minute avant d'écrire à nouveau.",
        "You are sending many messages: wait a minute before writing again.",
    ),
    "size": (
        413,
        f"Ce message est trop long : {MAX_TEXT:,} caractères maximum.".replace(",", "\u202f"),
        f"This message is too long: {MAX_TEXT:,} characters maximum.",
    ),
    "file_size": (
        413,
        "Ce fichier est trop volumineux : {mb} Mo maximum.",
        "This file is too large: {mb} MB maximum.",
    ),
    "identity": (
        403,
        "Votre identification a expiré : rechargez la page.",
        "Your sign-in expired: reload the page.",
    ),
    "invalid": (
        400,
        "Ce message n'a pas pu être lu : réessayez.",
        "This message could not be read: try again.",
    ),
}


class Refused(Exception):
    def __init__(self, reason: str, **values: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


def refusal(reason: str, **values: str) -> JSONResponse:
    status, fr, en = REFUSALS[reason]
    message = {"fr": fr.format(**values), "en": en.format(**values)}
    return JSONResponse({"error": reason, "message": message}, status_code=status)


async def rung(bell: asyncio.Event, seconds: float) -> bool:
    """Until the bell rings (True) or ``seconds`` pass (False)."""
    try:
        await asyncio.wait_for(bell.wait(), seconds)
    except TimeoutError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Turn:
    """What a visitor's message did: the turn's returned actions, what the chat now
    holds after the visitor's line (its messages, published to its streams), the line as
    kept (None: the visitor's data was erased) and the chat's language."""

    actions: list[Action]
    said: list[Outgoing]
    line: tuple[int, Written] | None
    language: str | None


# An agent's message reaches the customer as "[SAV-…] text" (TicketService.reply).
_AGENT_LINE = re.compile(rf"^\[(?:{REFERENCE.pattern})\] ", REFERENCE.flags)


def event_of(message: Outgoing) -> dict[str, Any]:
    reply = message.reply
    return {
        "id": message.id,
        "from": "agent" if _AGENT_LINE.match(reply.text) else "bot",
        "at": message.at.isoformat(),
        "text": reply.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in reply.buttons],
    }


@dataclass
class WebApi:
    core: ChatCore
    visitors: Visitors
    origins: Origins
    per_visitor: RateLimit
    per_address: RateLimit
    incoming_dir: Path
    max_file_bytes: int
    identity_secret: str | None = None
    # Store work runs on these threads (the engine is synchronous). SQLite has one writer
    # (every transaction takes it): one thread taking the turns in order is fairer and
    # faster than many threads retrying on a busy database.
    executor: Executor = field(default_factory=lambda: ThreadPoolExecutor(1, "web-store"))
    # Whether a row may be committed under an id lower than one already read (PostgreSQL:
    # sequences are not commits): then an idle stream reads its chat at each heartbeat.
    late_commits: bool = False
    # What tells the feed's watcher that other processes queued messages (none: it polls).
    wakeups: Wakeups = field(default_factory=Wakeups)
    # Tokens recently found in the store: a visitor's requests need not read it each time.
    _known: dict[str, tuple[Visitor, float]] = field(default_factory=dict)
    feed: Feed = field(init=False)
    acks: Acknowledgements = field(init=False)

    def __post_init__(self) -> None:
        write = partial(self.core.acknowledge_all, WEB_CHANNEL)
        self.acks = Acknowledgements(lambda acks: self.store(write, acks))
        self.feed = Feed(
            lambda after, lines: self.store(self._news, after, lines), _merged, self.wakeups
        )

    async def store(self, work: Callable[..., T], *args: Any) -> T:
        """Run store work on the store's threads, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, work, *args)

    def _news(self, after: int, lines_after: int) -> News:
        """What the watcher reads: the web's messages and the visitors' lines above its
        cursors (a page of each at most)."""
        said = self.core.news(WEB_CHANNEL, after)
        lines, line_top = self.visitors.lines_after(lines_after, PAGE)
        return News(said.messages, lines, said.top, line_top)

    def _file_mb(self) -> str:
        """The file limit as customers read it: "20" (Mo), "0,5"."""
        return f"{self.max_file_bytes / (1024 * 1024):.1f}".removesuffix(".0").replace(".", ",")

    # -- guards ------------------------------------------------------------------

    def check_origin(self, request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            return  # no browser page sent it: the token still decides
        own = f"{request.url.scheme}://{request.url.netloc}"  # built only when needed
        if not self.origins.permits(origin, own):
            raise Refused("origin")

    async def visitor(self, request: Request) -> Visitor:
        self.check_origin(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Refused("token")
        found = self._known.get(token)
        if found is None or found[1] < time.monotonic():
            visitor = await self.store(self.visitors.find, token.strip())
            if visitor is None:
                raise Refused("token")
            if len(self._known) > KNOWN_TOKENS:
                self._known.clear()
            found = (visitor, time.monotonic() + KNOWN_SECONDS)
            self._known[token] = found
        return found[0]

    def limit(self, request: Request, visitor: Visitor | None) -> None:
        address = request.client.host if request.client else "?"
        if not self.per_address.allow(address):
            raise Refused("rate")
        if visitor is not None and not self.per_visitor.allow(visitor.chat_id):
            raise Refused("rate")

    # -- endpoints -----------------------------------------------------------------

    async def new_visitor(self, request: Request) -> Response:
        self.check_origin(request)
        self.limit(request, None)
        chat_id = None
        if int(request.headers.get("content-length") or 0):
            identity = (await _json_body(request)).get("identity")
            if identity is not None:
                chat_id = self._identified(identity)
        token, visitor = await self.store(self.visitors.issue, chat_id)
        return JSONResponse({"token": token, "expires_at": visitor.expires_at.isoformat()})

    def _identified(self, identity: object) -> str:
        """The chat of a marketplace's signed customer identity, or a refusal."""
        if not isinstance(identity, str) or not self.identity_secret:
            raise Refused("identity")
        chat_id = identified_chat(identity, self.identity_secret, self.visitors.clock())
        if chat_id is None:
            raise Refused("identity")
        return chat_id

    async def history(self, request: Request) -> Response:
        visitor = await self.visitor(request)
        written = await self.store(self.visitors.written, visitor.chat_id)
        said = await self.store(self._all_outgoing, visitor.chat_id)
        cursor = said[-1].id if said else 0
        return JSONResponse({"messages": _merged(said, written), "cursor": cursor})

    def _all_outgoing(self, chat_id: str) -> list[Outgoing]:
        found: list[Outgoing] = []
        while batch := self.core.outgoing(WEB_CHANNEL, chat_id, found[-1].id if found else 0):
            found += batch
        return found

    async def send(self, request: Request) -> Response:
        visitor = await self.visitor(request)
        body = await _json_body(request)
        client_id = str(body.get("client_id", ""))
        text = body.get("text", "")
        payload = body.get("payload")
        if (
            not _CLIENT_ID.match(client_id)
            or not isinstance(text, str)
            or not (payload is None or isinstance(payload, str))
            or not (text.strip() or payload)
        ):
            raise Refused("invalid")
        if len(text) > MAX_TEXT:
            raise Refused("size")
        self.limit(request, visitor)
        inbound = self._inbound(visitor, client_id, body, text=text, payload=payload)
        turn = await self.store(self._take_in, inbound, client_id, text)
        self._tell_streams(visitor.chat_id, turn)
        returned = _returned(turn.actions)
        # After an erasure the conversation starts again from nothing: the widget clears
        # what it shows and reads the chat from its first message (ids may start lower).
        returned["erased"] = turn.line is None
        # What was kept (card numbers masked) replaces what the widget showed as typed.
        returned["text"] = mask_card_numbers(text)[0]
        # The language the bot now answers in: the widget's own labels follow it.
        returned["language"] = turn.language
        return JSONResponse(returned)

    def _take_in(self, inbound: Inbound, client_id: str, text: str) -> Turn:
        """One trip to the store for a visitor's message: the transcript line, the turn,
        and what the chat's streams are to be told."""
        chat_id = inbound.chat_id
        written = self.visitors.write(chat_id, client_id, text)
        if written is None:  # sent again: the line was kept by the first sending
            written = self.visitors.kept(chat_id, client_id)
        # The chat's messages above the line's place: what its streams may lack.
        taken = self.core.take_in(inbound, written[1].after_id if written else 0)
        kept = written if taken.said is not None else None  # else the data was erased
        return Turn(taken.actions, taken.said or [], kept, taken.language)

    def _tell_streams(self, chat_id: str, turn: Turn) -> None:
        if turn.line is None:  # erased: ids may be handed out again below the streams' cursors
            self.feed.mark_stale(chat_id)
            return
        # The chat's messages above the line's place: a stream behind that reads the store.
        self.feed.publish(chat_id, turn.said, [turn.line], after=turn.line[1].after_id)

    async def upload(self, request: Request) -> Response:
        visitor = await self.visitor(request)
        client_id = request.query_params.get("client_id", "")
        if not _CLIENT_ID.match(client_id):
            raise Refused("invalid")
        declared = int(request.headers.get("content-length") or 0)
        if declared > self.max_file_bytes:
            raise Refused("file_size", mb=self._file_mb())
        self.limit(request, visitor)
        name = _file_name(request.query_params.get("name", ""))
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        path = self.incoming_dir / f"{uuid.uuid4().hex}{Path(name).suffix[:10]}"
        try:
            size = await _save_body(request, path, self.max_file_bytes, self._file_mb())
            incoming = IncomingFile(name=name, mime=sniff_mime(path), size=size, path=str(path))
            inbound = self._inbound(
                visitor, client_id, dict(request.query_params), files=(incoming,)
            )
            turn = await self.store(self._take_in, inbound, client_id, f"📎 {name}")
        finally:
            path.unlink(missing_ok=True)  # the flow keeps its own copy of what it accepts
        self._tell_streams(visitor.chat_id, turn)
        return JSONResponse(_returned(turn.actions))

    async def acknowledge(self, request: Request) -> Response:
        visitor = await self.visitor(request)
        body = await _json_body(request)
        up_to = body.get("up_to")
        if not isinstance(up_to, int) or up_to < 0:
            raise Refused("invalid")
        marked = await self.acks.acknowledge(visitor.chat_id, up_to)
        return JSONResponse({"marked": marked})

    async def poll(self, request: Request) -> Response:
        """Long polling: the messages after the cursor, as soon as there are some."""
        visitor = await self.visitor(request)
        cursor = _cursor(request)
        deadline = time.monotonic() + LONG_POLL_SECONDS
        with self.feed.subscribed(visitor.chat_id) as inbox:
            while True:
                inbox.take()  # what it was handed, the read below holds
                batch, written = await self.store(self._since, visitor.chat_id, cursor)
                left = deadline - time.monotonic()
                if batch or left <= 0:
                    return JSONResponse({"messages": _merged(batch, written)})
                await rung(inbox.bell, min(left, HEARTBEAT_SECONDS))

    def _since(self, chat_id: str, cursor: int) -> tuple[list[Outgoing], list[Written]]:
        """The chat's messages after the cursor and, when there are some, what the visitor
        wrote among them (in another tab: it comes with the replies it got)."""
        batch = self.core.outgoing(WEB_CHANNEL, chat_id, cursor)
        return batch, self.visitors.written(chat_id, cursor) if batch else []

    async def events(self, request: Request) -> Response:
        """Server-sent events: each message with its outbox id as event id."""
        visitor = await self.visitor(request)
        cursor = _cursor(request)
        return StreamingResponse(
            self._stream(request, visitor.chat_id, cursor),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request, chat_id: str, cursor: int) -> AsyncIterator[str]:
        """What the feed hands the chat, each id once and in order; the chat read from the
        store at the start and whenever the feed cannot vouch for what came."""
        yield "retry: 2000\n\n"
        shown: set[str] = set()  # the visitor's own lines sent on this stream (no event id)
        with self.feed.subscribed(chat_id) as inbox:
            while not await request.is_disconnected():
                handed, stale = inbox.take()
                for after, events in handed:
                    if after is not None and after > cursor:
                        stale = True  # it holds the chat above ``after`` only: a gap below
                        break
                    frames, cursor = _frames(events, cursor, shown)
                    if frames:
                        yield "".join(frames)
                if stale:
                    batch, written = await self.store(self._since, chat_id, cursor)
                    if len(batch) == PAGE:
                        inbox.mark_stale()  # more than a page waited: read on
                    frames, cursor = _frames(_merged(batch, written), cursor, shown)
                    if frames:
                        yield "".join(frames)
                if not await rung(inbox.bell, HEARTBEAT_SECONDS):
                    yield ": still here\n\n"  # keeps proxies from closing an idle stream
                    if self.late_commits:
                        inbox.mark_stale()  # a row committed late below the cursor

    def _inbound(
        self,
        visitor: Visitor,
        client_id: str,
        given: dict[str, Any],
        text: str = "",
        payload: str | None = None,
        files: tuple[IncomingFile, ...] = (),
    ) -> Inbound:
        language = given.get("language")
        return Inbound(
            channel=WEB_CHANNEL,
            user_id=visitor.chat_id,
            chat_id=visitor.chat_id,
            text=text,
            payload=payload,
            language=language if language in ("fr", "en") else None,
            files=files,
            key=f"{WEB_CHANNEL}:{visitor.chat_id}:{client_id}",
        )


def _frames(events: list[dict[str, Any]], cursor: int, shown: set[str]) -> tuple[list[str], int]:
    """The server-sent events of ``events`` not sent yet, and the new cursor. The visitor's
    own lines carry no event id (the cursor counts the bot's messages only): each is sent
    once per stream by its client id (``shown``), though a read of the store that starts
    at the cursor may find it again."""
    frames = []
    for event in events:
        data = json.dumps(event, ensure_ascii=False)
        if event["from"] == "me":
            if event["client_id"] not in shown:
                shown.add(event["client_id"])
                frames.append(f"event: message\ndata: {data}\n\n")
        elif event["id"] > cursor:
            cursor = event["id"]
            frames.append(f"id: {cursor}\nevent: message\ndata: {data}\n\n")
    return frames, cursor


def _merged(said: list[Outgoing], written: list[Written]) -> list[dict[str, Any]]:
    """The bot's messages and the visitor's lines in order: each line of the visitor's
    after the bot's message it followed."""
    lines = [((w.after_id, 1, i), _mine(w)) for i, w in enumerate(written)]
    lines += [((m.id, 0, 0), event_of(m)) for m in said]
    lines.sort(key=lambda line: line[0])
    return [line[1] for line in lines]


def _mine(written: Written) -> dict[str, Any]:
    return {
        "from": "me",
        "client_id": written.client_id,
        "text": written.text,
        "at": written.at.isoformat(),
    }


def _returned(actions: list[Action]) -> dict[str, Any]:
    """What the turn returned rather than queued: files for the visitor (their data), and
    a reply said outside the outbox (the store was busy: try again)."""
    documents = [
        {
            "name": a.name,
            "caption": a.caption,
            "data": base64.b64encode(a.data).decode("ascii"),
        }
        for a in actions
        if isinstance(a, Document)
    ]
    notices = [a.text for a in actions if isinstance(a, Reply)]
    return {"documents": documents, "notices": notices}


def _cursor(request: Request) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise Refused("invalid")
    return int(raw)


async def _json_body(request: Request) -> dict[str, Any]:
    if int(request.headers.get("content-length") or 0) > MAX_JSON_BYTES:
        raise Refused("size")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise Refused("size")
    try:
        body = json.loads(raw)
    except ValueError as err:
        raise Refused("invalid") from err
    if not isinstance(body, dict):
        raise Refused("invalid")
    return body


async def _save_body(request: Request, path: Path, limit: int, mb: str) -> int:
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused("file_size", mb=mb)
            out.write(chunk)
    return size


def _file_name(raw: str) -> str:
    name = Path(raw.replace("\\", "/")).name.strip() or "fichier"
    return name[-100:]
