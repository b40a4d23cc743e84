"""What the Telegram channel keeps in the store: seen updates, album parts, long payloads.

What the channel reads and writes on shared rows goes through the contracts
(``contract.ChatCore`` for customers, ``agent_contract.AgentCore`` for tickets and
their topics); the two reachability reads here delegate to the one implementation.
Plain synchronous functions over a sessionmaker: the adapter runs them in a worker
thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from supportbot.channels import contract
from supportbot.messages import IncomingFile
from supportbot.outbox import Outbox, holder_gone
from supportbot.store import Base, InboundEvent, JSONType, UTCDateTime, utcnow

CHANNEL = "telegram"
CALLBACK_DATA_BYTES = 64
LONG_PAYLOAD_PREFIX = "~"
# How long a worker holds an update it handles; renewed while it works on it.
UPDATE_LEASE = timedelta(seconds=30)

Sessions = sessionmaker[Session]


class TelegramUpdate(Base):
    """An update as Telegram delivered it, kept from its arrival until every handler
    went through it; then only its id stays, so a second delivery is ignored.

    Telegram forgets an update once the next getUpdates (or the webhook's answer)
    confirmed it, which PTB does before handling it. While it is handled, the worker
    holds a lease on it (``leased_by`` until ``lease_until``, renewed as long as it
    works on it); an update whose lease lapsed (its worker was killed, or lost the
    database) is taken up by any worker's sweep, or by Telegram's next delivery of it.
    """

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class TelegramAlbumItem(Base):
    """One file of a media group waiting for the rest of its album."""

    __tablename__ = "telegram_album_items"
    __table_args__ = (Index("ix_telegram_album_items_group", "chat_id", "media_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    media_group_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    caption: Mapped[str] = mapped_column(Text, default="")
    file: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TelegramPayload(Base):
    """A button payload longer than Telegram's 64 bytes of callback data, by digest."""

    __tablename__ = "telegram_payloads"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)


# -- duplicate updates and leases ---------------------------------------------------


def keep_update(
    sessions: Sessions,
    update_id: int,
    data: dict[str, Any],
    now: datetime,
    holder: str = "",
    lease: timedelta = UPDATE_LEASE,
) -> bool:
    """Store an arriving update under ``holder``'s lease; whether it is theirs to handle.

    False for an update handled already, or kept by a worker whose lease still runs
    (it is being handled). A delivery of an update whose lease lapsed, or whose
    holder is a process of this machine that is gone, takes it over.
    """
    try:
        with sessions.begin() as db:
            db.add(
                TelegramUpdate(
                    update_id=update_id,
                    received_at=now,
                    data=data,
                    lease_until=now + lease,
                    leased_by=holder,
                )
            )
        return True
    except IntegrityError:
        return bool(_take_over(sessions, [update_id], now, holder, lease))


def _take_over(
    sessions: Sessions,
    update_ids: list[int],
    now: datetime,
    holder: str,
    lease: timedelta,
    everyone: bool = False,
) -> list[int]:
    """Of these updates, those still unhandled that nobody holds any more (the lease
    lapsed, or its holder is a process of this machine that is gone), or all of them
    (``everyone``), now leased to ``holder``."""
    taken: list[int] = []
    with sessions.begin() as db:
        rows = db.execute(
            select(TelegramUpdate.update_id, TelegramUpdate.lease_until, TelegramUpdate.leased_by)
            .where(TelegramUpdate.update_id.in_(update_ids), TelegramUpdate.handled_at.is_(None))
            .order_by(TelegramUpdate.update_id)
        ).all()
        for update_id, until, by in rows:
            lapsed = until is None or until < now
            if not (everyone or lapsed or holder_gone(by)):
                continue
            # Only if nobody took it meanwhile: the lease is still the one judged above.
            same = (
                TelegramUpdate.lease_until.is_(None)
                if until is None
                else TelegramUpdate.lease_until == until
            )
            result = db.execute(
                update(TelegramUpdate)
                .where(TelegramUpdate.update_id == update_id, TelegramUpdate.handled_at.is_(None))
                .where(same)
                .values(lease_until=now + lease, leased_by=holder)
            )
            if getattr(result, "rowcount", 0):
                taken.append(update_id)
    return taken


def take_lapsed_updates(
    sessions: Sessions,
    now: datetime,
    holder: str,
    lease: timedelta = UPDATE_LEASE,
    everyone: bool = False,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Unhandled updates nobody holds any more, oldest first, now leased to ``holder``.

    ``everyone``: also those other workers still hold, for the only poller at its
    start (a lease it does not hold was left by a process that is gone).
    """
    with sessions() as db:
        query = select(TelegramUpdate.update_id).where(
            TelegramUpdate.handled_at.is_(None),
            TelegramUpdate.data.is_not(None),
            TelegramUpdate.leased_by.is_distinct_from(holder),
        )
        ids = list(db.scalars(query.order_by(TelegramUpdate.update_id).limit(limit)))
        lapsed = db.scalars(
            select(TelegramUpdate.update_id).where(
                TelegramUpdate.handled_at.is_(None),
                TelegramUpdate.data.is_not(None),
                TelegramUpdate.leased_by == holder,
                or_(TelegramUpdate.lease_until.is_(None), TelegramUpdate.lease_until < now),
            )
        )
        ids = sorted({*ids, *lapsed})
    if not ids:
        return []
    taken = _take_over(sessions, ids, now, holder, lease, everyone)
    if not taken:
        return []
    with sessions() as db:
        rows = db.scalars(
            select(TelegramUpdate.data)
            .where(TelegramUpdate.update_id.in_(taken))
            .order_by(TelegramUpdate.update_id)
        )
        return [dict(data) for data in rows if data]


def renew_leases(
    sessions: Sessions,
    update_ids: list[int],
    now: datetime,
    holder: str,
    lease: timedelta = UPDATE_LEASE,
) -> None:
    """Keep holding the updates this worker still has queued or in hand."""
    if not update_ids:
        return
    with sessions.begin() as db:
        db.execute(
            update(TelegramUpdate)
            .where(
                TelegramUpdate.update_id.in_(update_ids),
                TelegramUpdate.handled_at.is_(None),
                TelegramUpdate.leased_by == holder,
            )
            .values(lease_until=now + lease)
        )


def lapse_lease(sessions: Sessions, update_id: int, holder: str) -> None:
    """Give up the lease of an update not handled: the next sweep takes it."""
    with sessions.begin() as db:
        db.execute(
            update(TelegramUpdate)
            .where(
                TelegramUpdate.update_id == update_id,
                TelegramUpdate.handled_at.is_(None),
                TelegramUpdate.leased_by == holder,
            )
            .values(lease_until=None)
        )


def was_handled(sessions: Sessions, update_id: int) -> bool:
    """Whether every handler already went through this update."""
    with sessions() as db:
        row = db.get(TelegramUpdate, update_id)
        return row is not None and row.handled_at is not None


def record_handled(sessions: Sessions, update_id: int, now: datetime) -> None:
    """Note an update as handled; what it said is dropped (the turn stored what counts)."""
    with sessions.begin() as db:
        row = db.get(TelegramUpdate, update_id)
        if row is None:
            db.add(TelegramUpdate(update_id=update_id, received_at=now, handled_at=now))
        else:
            row.handled_at, row.data, row.lease_until = now, None, None


def unhandled_updates(sessions: Sessions, before: datetime | None = None) -> list[dict[str, Any]]:
    """Updates not handled yet (received before ``before``, when given), oldest first."""
    with sessions() as db:
        query = select(TelegramUpdate.data).where(
            TelegramUpdate.handled_at.is_(None), TelegramUpdate.data.is_not(None)
        )
        if before is not None:
            query = query.where(TelegramUpdate.received_at < before)
        rows = db.scalars(query.order_by(TelegramUpdate.update_id))
        return [dict(data) for data in rows if data]


def forget_updates(sessions: Sessions, before: datetime) -> int:
    """Drop old update ids and the engine's keys of them: Telegram never redelivers
    after a day."""
    with sessions.begin() as db:
        result = db.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < before))
        db.execute(delete(InboundEvent).where(InboundEvent.at < before))
        return int(getattr(result, "rowcount", 0) or 0)


# -- albums -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlbumPart:
    message_id: int
    user_id: str
    user_name: str
    language: str | None
    caption: str
    file: IncomingFile


def _file_record(file: IncomingFile) -> dict[str, Any]:
    return {
        "name": file.name,
        "mime": file.mime,
        "size": file.size,
        "path": file.path,
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
    }


def keep_album_part(
    sessions: Sessions, chat_id: str, media_group_id: str, part: AlbumPart, now: datetime
) -> None:
    with sessions.begin() as db:
        db.add(
            TelegramAlbumItem(
                chat_id=chat_id,
                media_group_id=media_group_id,
                message_id=part.message_id,
                user_id=part.user_id,
                user_name=part.user_name,
                language=part.language,
                caption=part.caption,
                file=_file_record(part.file),
                received_at=now,
            )
        )


def album_parts(
    sessions: Sessions, chat_id: str, media_group_id: str
) -> tuple[list[AlbumPart], list[int]]:
    """The parts of one pending album, in arrival order, and their row ids: they stay in
    the buffer until ``drop_album_items`` (after the turn), so a crash loses none."""
    with sessions() as db:
        rows = db.scalars(
            select(TelegramAlbumItem)
            .where(
                TelegramAlbumItem.chat_id == chat_id,
                TelegramAlbumItem.media_group_id == media_group_id,
            )
            .order_by(TelegramAlbumItem.message_id, TelegramAlbumItem.id)
        ).all()
        parts = [
            AlbumPart(
                message_id=row.message_id,
                user_id=row.user_id,
                user_name=row.user_name,
                language=row.language,
                caption=row.caption,
                file=IncomingFile(**row.file),
            )
            for row in rows
        ]
        return parts, [row.id for row in rows]


def drop_album_items(sessions: Sessions, ids: list[int]) -> None:
    with sessions.begin() as db:
        db.execute(delete(TelegramAlbumItem).where(TelegramAlbumItem.id.in_(ids)))


def pending_albums(sessions: Sessions, chat_id: str | None = None) -> list[tuple[str, str]]:
    """(chat id, media group id) of the albums waiting, oldest first."""
    with sessions() as db:
        query = select(TelegramAlbumItem.chat_id, TelegramAlbumItem.media_group_id)
        if chat_id is not None:
            query = query.where(TelegramAlbumItem.chat_id == chat_id)
        rows = db.execute(query.order_by(TelegramAlbumItem.id)).all()
    seen: dict[tuple[str, str], None] = {}
    for chat, group in rows:
        seen.setdefault((chat, group), None)
    return list(seen)


# -- button payloads --------------------------------------------------------------


def needs_digest(payload: str) -> bool:
    """Too long for callback data (or looking like a digest itself)."""
    return len(payload.encode()) > CALLBACK_DATA_BYTES or payload.startswith(LONG_PAYLOAD_PREFIX)


def callback_data(sessions: Sessions, payload: str) -> str:
    """The payload itself when it fits in 64 bytes, else a stored digest of it."""
    if not needs_digest(payload):
        return payload
    digest = LONG_PAYLOAD_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:40]
    with sessions.begin() as db:
        if db.get(TelegramPayload, digest) is None:
            db.add(TelegramPayload(digest=digest, payload=payload))
    return digest


def payload_of(sessions: Sessions, data: str) -> str | None:
    """The payload behind callback data (None for an unknown digest)."""
    if not data.startswith(LONG_PAYLOAD_PREFIX):
        return data
    with sessions() as db:
        row = db.get(TelegramPayload, data)
        return row.payload if row else None


# -- customers ------------------------------------------------------------------


def set_reachable(sessions: Sessions, external_id: str, reachable: bool) -> bool:
    """Mark a Telegram customer (un)reachable; True when this changed something."""
    return contract.set_reachable(sessions, CHANNEL, external_id, reachable)


def chats_with_pending_outbox(sessions: Sessions) -> list[str]:
    """Telegram chats that have undelivered messages and a reachable customer."""
    return Outbox(sessions, utcnow).waiting_chats(CHANNEL)
