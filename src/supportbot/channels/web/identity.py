"""Web visitors: opaque tokens issued by the server, stored hashed, expiring; and the
visitor's side of the transcript, written once per client id."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from supportbot.masking import mask_card_numbers
from supportbot.store import OutboxMessage
from supportbot.visitors import WEB_CHANNEL, VisitorMessage, WebVisitor

# A line and its place (the chat's last message from the bot), in one statement built once.
_WRITE = (
    insert(VisitorMessage)
    .values(
        chat_id=bindparam("chat"),
        after_id=select(func.coalesce(func.max(OutboxMessage.id), 0))
        .where(OutboxMessage.channel == WEB_CHANNEL, OutboxMessage.chat_id == bindparam("chat"))
        .scalar_subquery(),
    )
    .returning(VisitorMessage.id, VisitorMessage.after_id)
)
_LINE_TOP = select(func.max(VisitorMessage.id))
_LINES_AFTER = (
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
    .limit(bindparam("page"))
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Visitor:
    chat_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Written:
    """A line of the visitor's side of the transcript."""

    client_id: str
    text: str
    after_id: int  # the last message from the bot it came after
    at: datetime


@dataclass
class Visitors:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    lifetime: timedelta

    def issue(self, chat_id: str | None = None) -> tuple[str, Visitor]:
        """A new token (returned once, never stored) and the chat it opens: a new one, or
        the given one (a signed identity's)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        visitor = Visitor(chat_id=chat_id or uuid.uuid4().hex, expires_at=now + self.lifetime)
        with self.sessions.begin() as db:
            db.add(
                WebVisitor(
                    token_hash=token_hash(token),
                    chat_id=visitor.chat_id,
                    created_at=now,
                    expires_at=visitor.expires_at,
                )
            )
        return token, visitor

    def find(self, token: str) -> Visitor | None:
        """The visitor holding ``token``, its expiry pushed back; None if unknown or expired."""
        if not token or len(token) > 100:
            return None
        now = self.clock()
        with self.sessions.begin() as db:
            row = db.get(WebVisitor, token_hash(token))
            if row is None or row.expires_at < now:
                return None
            if row.expires_at - now < self.lifetime / 2:  # written at most once in a while
                row.expires_at = now + self.lifetime
            return Visitor(row.chat_id, row.expires_at)

    def write(self, chat_id: str, client_id: str, text: str) -> tuple[int, Written] | None:
        """Keep what the visitor wrote, card numbers masked as the engine masks them (the
        transcript never holds one), after the chat's last message from the bot: the line
        with its id, or None when this client id was already kept. One statement on a
        plain connection (it runs for every message)."""
        text, _ = mask_card_numbers(text)
        now = self.clock()
        values = {"chat": chat_id, "client_id": client_id, "text": text, "at": now}
        try:
            with self.sessions.kw["bind"].begin() as db:
                ident, after_id = db.execute(_WRITE, values).one()
        except IntegrityError:
            return None
        return int(ident), Written(client_id, text, int(after_id), now)

    def kept(self, chat_id: str, client_id: str) -> tuple[int, Written] | None:
        """This line as kept, with its id in the transcript; None once the visitor had
        their data erased."""
        with self.sessions() as db:
            row = db.scalars(
                select(VisitorMessage).where(
                    VisitorMessage.chat_id == chat_id, VisitorMessage.client_id == client_id
                )
            ).first()
            if row is None:
                return None
            return row.id, Written(row.client_id, row.text, row.after_id, row.at)

    def lines_after(self, after: int, page: int) -> tuple[list[tuple[int, str, Written]], int]:
        """Every chat's lines above the transcript id ``after``, oldest first (``page`` at
        most), each as (id, chat, line); and the transcript's highest id."""
        with self.sessions.kw["bind"].connect() as db:
            top = db.scalar(_LINE_TOP) or 0
            rows = db.execute(_LINES_AFTER, {"after": after, "page": page})
            lines = [
                (row.id, row.chat_id, Written(row.client_id, row.text, row.after_id, row.at))
                for row in rows
            ]
        return lines, top

    def written(self, chat_id: str, since: int = 0) -> list[Written]:
        """The visitor's lines, those written after the bot's message ``since`` or later."""
        with self.sessions() as db:
            rows = db.scalars(
                select(VisitorMessage)
                .where(VisitorMessage.chat_id == chat_id, VisitorMessage.after_id >= since)
                .order_by(VisitorMessage.id)
            )
            return [Written(r.client_id, r.text, r.after_id, r.at) for r in rows]
