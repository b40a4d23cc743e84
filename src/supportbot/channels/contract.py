"""What a channel needs from the core, and nothing more: hand in an event, read a chat's
outgoing messages after a cursor, acknowledge those it showed (a channel that pulls,
the web), or have them pushed one at a time (a channel that sends, the terminal).

A channel that may deliver an event twice gives it a key (``Inbound.key``): the core
applies it once and queues its replies in the outbox, where the channel reads them
by id. Ids only grow within a chat, so "everything after the last id I showed" is a
cursor that survives reconnects, restarts and a second worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from supportbot.engine import Engine
from supportbot.messages import Action, Inbound, Reply
from supportbot.outbox import PAGE, News, Notice, Outbox, Outgoing, Round, Sent, read_outgoing
from supportbot.state import ConversationState
from supportbot.store import Conversation, Customer

__all__ = ["PAGE", "ChatCore", "EngineCore", "News", "Outgoing", "Taken"]


@dataclass(frozen=True, slots=True)
class Taken:
    """What a keyed event did: the actions the turn returned rather than queued, the
    chat's messages above the cursor given (the turn's replies among them) and the
    language the chat is held in now; ``said`` is None when the chat's conversation is
    gone (the event erased the customer's data: ids may start again lower)."""

    actions: list[Action]
    said: list[Outgoing] | None
    language: str | None


class ChatCore(Protocol):
    """The core as channels see it."""

    def handle(self, inbound: Inbound) -> list[Action]:
        """Apply one event; with a key, its replies wait in the outbox, else they are returned."""
        ...

    def outgoing(self, channel: str, chat_id: str, after: int = 0) -> list[Outgoing]:
        """The chat's messages with an id above ``after``, oldest first (delivered or not)."""
        ...

    def take_in(self, inbound: Inbound, after: int) -> Taken:
        """``handle`` a keyed event, then read what the chat holds above ``after`` and its
        language, in one trip to the store: what a channel showing the replies at once
        (the web) needs after each message."""
        ...

    def acknowledge(self, channel: str, chat_id: str, up_to: int) -> int:
        """The chat's messages up to ``up_to`` were shown; how many were newly marked."""
        ...

    def acknowledge_all(self, channel: str, shown: list[tuple[str, int]]) -> list[int]:
        """``acknowledge`` for several chats (chat, up to) at once; how many each marked."""
        ...

    def news(self, channel: str, after: int) -> News:
        """The channel's messages above ``after``, every chat's, oldest first (a page at
        most), and the outbox's highest id: what a process with many open chats reads."""
        ...

    def newer(self, channel: str, after: int) -> tuple[int, set[str]]:
        """The channel's highest message id (at least ``after``), and the chats with
        messages above ``after``: what a channel with many open chats watches."""
        ...

    def deliver(self, channel: str, chat_id: str, send: Callable[[Reply], object]) -> int:
        """Hand the chat's waiting messages to ``send``, in order, each marked delivered
        once it returned; how many went (see ``Outbox.deliver``)."""
        ...

    def waiting_choice(self, channel: str, chat_id: str) -> Reply | None:
        """The last message delivered with buttons the customer has not answered yet."""
        ...

    def language(self, channel: str, chat_id: str) -> str | None:
        """The language the chat is held in now (the customer wrote or chose it), if any."""
        ...

    # -- what a channel that pushes from an event loop needs (Telegram) -------------------

    def now(self) -> datetime:
        """The core's clock: the time the channel's own records (leases) are kept in."""
        ...

    async def deliver_async(
        self, channel: str, chat_id: str, send: Callable[[Reply], Awaitable[Sent]]
    ) -> Round:
        """``deliver`` for a channel on an event loop: ``send`` awaited, store steps in a
        worker thread that wait out a store away for seconds (see ``Outbox.delivery``)."""
        ...

    def waiting_chats(self, channel: str) -> list[str]:
        """The channel's chats with messages waiting, whose customer can be reached."""
        ...

    def set_reachable(self, channel: str, user_id: str, reachable: bool) -> bool:
        """Whether messages can reach this customer (False: they blocked the bot; what
        waits for them stays); True if that changed."""
        ...

    def release_orphans(self, channel: str) -> int:
        """For the channel's only sender, at its start: give back the claims of senders
        gone (see ``Outbox.release_orphans``); how many."""
        ...

    def notice_chats(self) -> list[str]:
        """The agent side's streams (ticket references) with notices waiting, oldest first."""
        ...

    async def deliver_notices(self, chat: str, show: Callable[[Notice], Awaitable[Sent]]) -> Round:
        """``deliver_async`` for one stream of the agent side's notices."""
        ...


@dataclass
class EngineCore:
    """The contract over the engine and its store."""

    handler: Callable[[Inbound], list[Action]]
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    @classmethod
    def of(cls, engine: Engine) -> EngineCore:
        return cls(engine.handle, engine.sessions, engine.clock)

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.sessions, self.clock)

    def deliver(self, channel: str, chat_id: str, send: Callable[[Reply], object]) -> int:
        return self.outbox.deliver(channel, chat_id, send)

    def waiting_choice(self, channel: str, chat_id: str) -> Reply | None:
        return self.outbox.waiting_choice(channel, chat_id)

    def handle(self, inbound: Inbound) -> list[Action]:
        return self.handler(inbound)

    def outgoing(self, channel: str, chat_id: str, after: int = 0) -> list[Outgoing]:
        return self.outbox.outgoing(channel, chat_id, after)

    def take_in(self, inbound: Inbound, after: int) -> Taken:
        actions = self.handler(inbound)
        with self.sessions.kw["bind"].connect() as db:
            found = _chat_language(db, inbound.channel, inbound.chat_id)
            if found is None:
                return Taken(actions, None, None)
            said = read_outgoing(db, inbound.channel, inbound.chat_id, after)
        return Taken(actions, said, found[0])

    def acknowledge(self, channel: str, chat_id: str, up_to: int) -> int:
        return self.outbox.acknowledge(channel, chat_id, up_to)

    def acknowledge_all(self, channel: str, shown: list[tuple[str, int]]) -> list[int]:
        return self.outbox.acknowledge_all(channel, shown)

    def news(self, channel: str, after: int) -> News:
        return self.outbox.news(channel, after)

    def newer(self, channel: str, after: int) -> tuple[int, set[str]]:
        return self.outbox.newer(channel, after)

    def now(self) -> datetime:
        return self.clock()

    async def deliver_async(
        self, channel: str, chat_id: str, send: Callable[[Reply], Awaitable[Sent]]
    ) -> Round:
        outbox = self.outbox
        return await outbox.deliver_async(partial(outbox.claim_next, channel, chat_id), send)

    def waiting_chats(self, channel: str) -> list[str]:
        return self.outbox.waiting_chats(channel)

    def set_reachable(self, channel: str, user_id: str, reachable: bool) -> bool:
        return set_reachable(self.sessions, channel, user_id, reachable)

    def release_orphans(self, channel: str) -> int:
        return self.outbox.release_orphans(channel)

    def notice_chats(self) -> list[str]:
        return self.outbox.notice_chats()

    async def deliver_notices(self, chat: str, show: Callable[[Notice], Awaitable[Sent]]) -> Round:
        outbox = self.outbox
        return await outbox.deliver_async(partial(outbox.claim_notice, chat), show)

    def language(self, channel: str, chat_id: str) -> str | None:
        with self.sessions.kw["bind"].connect() as db:
            found = _chat_language(db, channel, chat_id)
        return None if found is None else found[0]


# Built once: a statement composed for each call costs more than running it.
_LANGUAGE = (
    select(Conversation.state, Customer.language)
    .join(Customer, Conversation.customer_id == Customer.id)
    .where(Conversation.channel == bindparam("channel"), Conversation.chat_id == bindparam("chat"))
)


def _chat_language(db: Connection, channel: str, chat_id: str) -> tuple[str | None] | None:
    """The language the chat is held in (the one chosen, else the customer's), in a
    tuple; None when the chat has no conversation."""
    found = db.execute(_LANGUAGE, {"channel": channel, "chat": chat_id}).first()
    if found is None:
        return None
    state, language = found
    return (ConversationState.from_json(state).lang or language or None,)


def set_reachable(
    sessions: sessionmaker[Session], channel: str, user_id: str, reachable: bool
) -> bool:
    """Mark a customer of ``channel`` reachable or not; True if that changed."""
    with sessions.begin() as db:
        result = db.execute(
            update(Customer)
            .where(
                Customer.channel == channel,
                Customer.external_id == user_id,
                Customer.unreachable == reachable,
            )
            .values(unreachable=not reachable)
        )
        return bool(getattr(result, "rowcount", 0))
