"""The web channel's own reads of the store, on a plain connection with statements built
once (an ORM session and a statement built per call cost more than the query): what
the watcher reads for every chat at once, and what a visitor's turn left in its chat.

The contract's ``ChatCore.outgoing`` and ``ChatCore.language`` read one chat at a time,
each through its own session; these read the same rows the same way (ids above a
cursor, oldest first, a page at most; the language the customer chose, else the one
they write in) in one trip, as the web path needs for every message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from supportbot.channels.contract import PAGE, Outgoing
from supportbot.channels.web.identity import Written
from supportbot.messages import Button, Reply
from supportbot.store import Conversation, Customer, OutboxMessage
from supportbot.visitors import WEB_CHANNEL, VisitorMessage

# Built once: a statement made for each call costs more than running it.
_MESSAGE = (
    OutboxMessage.id,
    OutboxMessage.chat_id,
    OutboxMessage.text,
    OutboxMessage.buttons,
    OutboxMessage.created_at,
)
_TOP = select(func.max(OutboxMessage.id))
_LINE_TOP = select(func.max(VisitorMessage.id))
_NEWS = (
    select(*_MESSAGE)
    .where(OutboxMessage.channel == WEB_CHANNEL, OutboxMessage.id > bindparam("after"))
    .order_by(OutboxMessage.id)
    .limit(PAGE)
)
_NEW_LINES = (
    select(
        VisitorMessage.id,
        VisitorMessage.chat_id,
        VisitorMessage.client_id,
        VisitorMessage.text,
        VisitorMessage.after_id,
        VisitorMessage.at,
    )
    .where(VisitorMessage.id > bindparam("after"))
    .order_by(VisitorMessage.id)
    .limit(PAGE)
)
_LINE_KEPT = select(VisitorMessage.id).where(VisitorMessage.id == bindparam("line"))
# ChatCore.language's read, here on the same connection as the rest of a turn's reads.
_LANGUAGE = (
    select(Conversation.state, Customer.language)
    .join(Customer, Conversation.customer_id == Customer.id)
    .where(Conversation.channel == WEB_CHANNEL, Conversation.chat_id == bindparam("chat"))
)
_CHAT_AFTER = (
    select(*_MESSAGE)
    .where(
        OutboxMessage.channel == WEB_CHANNEL,
        OutboxMessage.chat_id == bindparam("chat"),
        OutboxMessage.id > bindparam("after"),
    )
    .order_by(OutboxMessage.id)
    .limit(PAGE)
)


@dataclass(frozen=True, slots=True)
class News:
    """What was queued for the web channel above two cursors: the bot's messages and the
    visitors' lines, each with its chat, oldest first."""

    messages: list[tuple[str, Outgoing]]
    lines: list[tuple[int, str, Written]]  # (transcript id, chat, line)
    top: int  # the outbox's highest id, every channel included
    line_top: int  # the transcript's highest id


@dataclass(frozen=True, slots=True)
class AfterTurn:
    """The chat's messages above the visitor's line (None: the line was erased, and the
    conversation with it), and the language the chat is held in now."""

    said: list[Outgoing] | None
    language: str | None


@dataclass
class WebReads:
    engine: Engine

    @classmethod
    def of(cls, sessions: sessionmaker[Session]) -> WebReads:
        return cls(sessions.kw["bind"])

    def news(self, after: int, lines_after: int) -> News:
        """Every chat's messages above ``after`` and lines above ``lines_after``."""
        with self.engine.connect() as db:
            top = db.scalar(_TOP) or 0
            line_top = db.scalar(_LINE_TOP) or 0
            rows = db.execute(_NEWS, {"after": after})
            messages = [(row.chat_id, _outgoing(row)) for row in rows]
            kept = db.execute(_NEW_LINES, {"after": lines_after})
            lines = [(row.id, row.chat_id, _written(row)) for row in kept]
        return News(messages, lines, top, line_top)

    def after_turn(self, chat_id: str, line: int | None, after: int) -> AfterTurn:
        """What a turn left: the chat's messages above ``after`` (the place of the
        visitor's line ``line``), unless that line is gone, and the chat's language."""
        with self.engine.connect() as db:
            said = None
            if line is not None and db.scalar(_LINE_KEPT, {"line": line}) is not None:
                rows = db.execute(_CHAT_AFTER, {"chat": chat_id, "after": after})
                said = [_outgoing(row) for row in rows]
            found = db.execute(_LANGUAGE, {"chat": chat_id}).first()
        language = None
        if found is not None:
            state, chosen = found
            language = str((state or {}).get("lang") or chosen or "") or None
        return AfterTurn(said, language)


def _outgoing(row: Any) -> Outgoing:
    buttons = tuple(Button(b["label"], b["payload"]) for b in row.buttons)
    return Outgoing(row.id, Reply(row.text, buttons), row.created_at)


def _written(row: Any) -> Written:
    return Written(row.client_id, row.text, row.after_id, row.at)
