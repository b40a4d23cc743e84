"""What the open streams of the web chat are told, with one read of the store for all of them.

A stream subscribes to its chat and is handed, in order, the events the process learnt
of: the bot's messages (with their outbox ids) and the visitor's own lines (no id).
They come from two places: the request that ran a turn publishes that turn's messages
at once (it read them in the same trip to the store), and one watcher per process
reads what every process queued for the channel since its cursor, in one query
whatever the number of streams: an agent's reply from the command line, another
worker. On PostgreSQL the watcher reads when the store says such rows were committed
(``supportbot.wakeups``), on SQLite a few times a second. An event may come twice
(from both); a stream keeps each id once. When the watcher cannot vouch that it saw
everything (at its start, after the outbox shrank, for a stream that fell behind or is
behind what a turn handed it) the streams concerned are marked stale and read their
chat themselves from their cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from supportbot.channels.contract import PAGE, Outgoing
from supportbot.channels.web.identity import Written
from supportbot.visitors import WEB_CHANNEL
from supportbot.wakeups import TRANSCRIPT_TOPIC, Wakeups, outbox_topic

WATCH_SECONDS = 0.25  # how often the process looks for what others queued, unwoken
# What wakes the watcher: the web's messages and the visitors' lines, from any process.
TOPICS = (outbox_topic(WEB_CHANNEL), TRANSCRIPT_TOPIC)
BACKLOG = 2 * PAGE  # events held for a stream that does not read: past that, it reads itself
log = logging.getLogger(__name__)
Event = dict[str, Any]
# Events handed to a stream, with the id above which they hold every message of the
# chat (None: above what the stream already has, the watcher's reads).
Handed = tuple[int | None, list[Event]]


@dataclass(frozen=True, slots=True)
class News:
    """What was queued for the web channel above the watcher's two cursors: the bot's
    messages and the visitors' lines, each with its chat, oldest first."""

    messages: list[tuple[str, Outgoing]]
    lines: list[tuple[int, str, Written]]  # (transcript id, chat, line)
    top: int  # the outbox's highest id, every channel included
    line_top: int  # the transcript's highest id


@dataclass(eq=False)
class Subscription:
    """An open stream's inbox: events to send, or word that it must read its chat itself."""

    chat_id: str
    handed: list[Handed] = field(default_factory=list)
    stale: bool = False
    bell: asyncio.Event = field(default_factory=asyncio.Event)
    _count: int = 0

    def hand(self, events: list[Event], after: int | None = None) -> None:
        self._count += len(events)
        if self._count > BACKLOG:
            self.handed.clear()  # it will read them from the store, from its own cursor
            self.stale = True
        else:
            self.handed.append((after, events))
        self.bell.set()

    def mark_stale(self) -> None:
        self.stale = True
        self.bell.set()

    def take(self) -> tuple[list[Handed], bool]:
        """The events waiting, and whether the stream must read its chat itself."""
        handed, stale = self.handed, self.stale
        self.handed, self.stale, self._count = [], False, 0
        self.bell.clear()
        return handed, stale


@dataclass
class Feed:
    read: Callable[[int, int], Awaitable[News]]
    # Turns an outbox row and a transcript line into what a stream sends.
    render: Callable[[list[Outgoing], list[Written]], list[Event]]
    wakeups: Wakeups = field(default_factory=Wakeups)  # none: it polls
    _subscribed: dict[str, set[Subscription]] = field(default_factory=dict)
    _cursor: int | None = None  # the highest web outbox id the watcher read
    _line_cursor: int = 0
    _published_lines: set[int] = field(default_factory=set)  # already handed by a turn

    @contextlib.contextmanager
    def subscribed(self, chat_id: str) -> Iterator[Subscription]:
        subscription = Subscription(chat_id, stale=True)  # first, it reads from its cursor
        self._subscribed.setdefault(chat_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            held = self._subscribed.get(chat_id)
            if held is not None:
                held.discard(subscription)
                if not held:
                    del self._subscribed[chat_id]

    def watched(self) -> bool:
        return bool(self._subscribed)

    def publish(
        self,
        chat_id: str,
        said: list[Outgoing],
        written: list[tuple[int, Written]],
        after: int,
    ) -> None:
        """What a turn of this process queued for the chat (every message above ``after``)
        and the line that caused it."""
        subscriptions = self._subscribed.get(chat_id)
        if not subscriptions:
            return
        self._published_lines.update(ident for ident, _ in written)
        events = self.render(said, [line for _, line in written])
        for subscription in subscriptions:
            subscription.hand(events, after)

    def mark_stale(self, chat_id: str | None = None) -> None:
        """The chat's streams (every stream with None) read their chat themselves."""
        chats = [chat_id] if chat_id is not None else list(self._subscribed)
        for chat in chats:
            for subscription in self._subscribed.get(chat, ()):
                subscription.mark_stale()

    async def watch(self) -> None:
        """The watcher: while streams are open, what is new, when the store says so (or
        every ``WATCH_SECONDS`` where it cannot)."""
        with self.wakeups.alarm(TOPICS) as alarm:
            while True:
                await alarm.wait(WATCH_SECONDS)
                while self.watched() or self._cursor is None:
                    if not await self._read_once():
                        break

    async def _read_once(self) -> bool:
        """One read; True when a full page came (read on at once)."""
        try:
            news = await self.read(self._cursor or 0, self._line_cursor)
        except Exception:  # the store busy or away: the cursor stays, the next read has it
            log.warning("web outbox watch failed", exc_info=True)
            return False
        if self._cursor is None or news.top < self._cursor:
            # At start nothing tells what the streams missed; a shrunk outbox (an erasure)
            # may hand out ids again below the cursor: every stream reads for itself.
            self._cursor, self._line_cursor = news.top, news.line_top
            self._published_lines.clear()
            self.mark_stale()
            return False
        self._dispatch(news)
        return len(news.messages) == PAGE or len(news.lines) == PAGE

    def _dispatch(self, news: News) -> None:
        said: dict[str, list[Outgoing]] = {}
        written: dict[str, list[Written]] = {}
        for chat_id, message in news.messages:
            said.setdefault(chat_id, []).append(message)
            self._cursor = message.id
        for ident, chat_id, line in news.lines:
            if ident not in self._published_lines:
                written.setdefault(chat_id, []).append(line)
            self._line_cursor = ident
        if news.line_top < self._line_cursor:
            self._line_cursor = news.line_top  # lines erased: ids may come again
        self._published_lines = {i for i in self._published_lines if i > self._line_cursor}
        for chat_id in said.keys() | written.keys():
            subscriptions = self._subscribed.get(chat_id)
            if subscriptions:
                events = self.render(said.get(chat_id, []), written.get(chat_id, []))
                for subscription in subscriptions:
                    subscription.hand(events)
