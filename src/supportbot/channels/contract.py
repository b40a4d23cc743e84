"""What a channel needs from the core, and nothing more: hand in an event, read a chat's
outgoing messages after a cursor, acknowledge those it showed (a channel that pulls,
the web), or have them pushed one at a time (a channel that sends, the terminal).

A channel that may deliver an event twice gives it a key (``Inbound.key``): the core
applies it once and queues its replies in the outbox, where the channel reads them
by id. Ids only grow within a chat, so "everything after the last id I showed" is a
cursor that survives reconnects, restarts and a second worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from supportbot.engine import Engine
from supportbot.messages import Action, Inbound, Reply
from supportbot.outbox import (
    Outbox,
    _reply,  # one reading of an outbox row, the outbox's own
)
from supportbot.store import Conversation, Customer, OutboxMessage

PAGE = 100  # messages read at most in one go


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for the customer of a chat, with its outbox id (the channel's cursor)."""

    id: int
    reply: Reply
    at: datetime


class ChatCore(Protocol):
    """The core as channels see it."""

    def handle(self, inbound: Inbound) -> list[Action]:
        """Apply one event; with a key, its replies wait in the outbox, else they are returned."""
        ...

    def outgoing(self, channel: str, chat_id: str, after: int = 0) -> list[Outgoing]:
        """The chat's messages with an id above ``after``, oldest first (delivered or not)."""
        ...

    def acknowledge(self, channel: str, chat_id: str, up_to: int) -> int:
        """The chat's messages up to ``up_to`` were shown; how many were newly marked."""
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


@dataclass
class EngineCore:
    """The contract over the engine and its store."""

    handler: Callable[[Inbound], list[Action]]
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    @classmethod
    def of(cls, engine: Engine) -> EngineCore:
        return cls(engine.handle, engine.sessions, engine.clock)

    def deliver(self, channel: str, chat_id: str, send: Callable[[Reply], object]) -> int:
        return Outbox(self.sessions, self.clock).deliver(channel, chat_id, send)

    def waiting_choice(self, channel: str, chat_id: str) -> Reply | None:
        return Outbox(self.sessions, self.clock).waiting_choice(channel, chat_id)

    def handle(self, inbound: Inbound) -> list[Action]:
        return self.handler(inbound)

    def outgoing(self, channel: str, chat_id: str, after: int = 0) -> list[Outgoing]:
        with self.sessions() as db:
            rows = db.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.id > after,
                )
                .order_by(OutboxMessage.id)
                .limit(PAGE)
            )
            return [Outgoing(row.id, _reply(row), row.created_at) for row in rows]

    def acknowledge(self, channel: str, chat_id: str, up_to: int) -> int:
        with self.sessions.begin() as db:
            result = db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.id <= up_to,
                    OutboxMessage.delivered_at.is_(None),
                )
                .values(delivered_at=self.clock(), claimed_until=None, claimed_by=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def newer(self, channel: str, after: int) -> tuple[int, set[str]]:
        with self.sessions() as db:
            rows = db.execute(
                select(OutboxMessage.chat_id, func.max(OutboxMessage.id))
                .where(OutboxMessage.channel == channel, OutboxMessage.id > after)
                .group_by(OutboxMessage.chat_id)
            ).all()
        highest = max((int(top) for _, top in rows), default=max(after, 0))
        return highest, {chat_id for chat_id, _ in rows}

    def language(self, channel: str, chat_id: str) -> str | None:
        with self.sessions() as db:
            found = db.execute(
                select(Conversation.state, Customer.language)
                .join(Customer, Conversation.customer_id == Customer.id)
                .where(Conversation.channel == channel, Conversation.chat_id == chat_id)
            ).first()
        if found is None:
            return None
        state, language = found
        return str((state or {}).get("lang") or language or "") or None
