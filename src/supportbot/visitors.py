"""Web chat visitors and what they wrote: the tables behind the web channel's identity and
transcript, kept here (not in the channel) so that erasure and retention reach them.

A visitor is known by an opaque token the server issued; only its SHA-256 is stored,
with an expiry. The transcript keeps what the visitor wrote (the bot's side is the
outbox), one row per client id, so that a message sent twice is written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from supportbot.masking import mask_card_numbers
from supportbot.store import Base, UTCDateTime


class WebVisitor(Base):
    """A token handed to a browser, by its hash, and the chat it opens."""

    __tablename__ = "web_visitors"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class VisitorMessage(Base):
    """One message a web visitor wrote, for the conversation shown again on reload."""

    __tablename__ = "visitor_messages"
    __table_args__ = (UniqueConstraint("chat_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The chat's last outbox id when it was written: its place among the bot's messages.
    after_id: Mapped[int] = mapped_column(Integer, default=0)


WEB_CHANNEL = "web"


def transcript_of(db: Session, channel: str, chat_id: str) -> list[dict[str, Any]]:
    """What a web visitor wrote, for their data export (card numbers masked, even in
    lines kept before the transcript masked them)."""
    if channel != WEB_CHANNEL:
        return []
    rows = db.scalars(
        select(VisitorMessage).where(VisitorMessage.chat_id == chat_id).order_by(VisitorMessage.id)
    )
    return [{"at": r.at.isoformat(), "text": mask_card_numbers(r.text)[0]} for r in rows]


def forget_transcript(db: Session, channel: str, chat_id: str) -> None:
    """The visitor's own words go with the rest of their conversation."""
    if channel == WEB_CHANNEL:
        db.execute(delete(VisitorMessage).where(VisitorMessage.chat_id == chat_id))


def expire_visitors(db: Session, now: datetime, transcript_before: datetime) -> None:
    """Tokens past their expiry, and transcript lines past the retention limit, go."""
    db.execute(delete(WebVisitor).where(WebVisitor.expires_at < now))
    db.execute(delete(VisitorMessage).where(VisitorMessage.at < transcript_before))
