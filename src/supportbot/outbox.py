"""The outbox: what is sent to customers and to agents, kept until it is delivered.

Agent replies and status notices (see ``TicketService``), and the engine's
replies to a keyed event (a Telegram update), are written to the store in the
same transaction as the change that caused them; senders (the Telegram channel,
the terminal chat) take them from here one at a time, in order, and mark each
one delivered once the channel took it. That loop is written once
(``Outbox.delivery``) and run either at once (``deliver``) or on an event loop
with the store's patience (``deliver_async``, Telegram's customers and agent
notices), the channel saying through ``Sent`` what became of each message.
A sender that dies holds back only the
message in flight, until its claim lapses or the sender that replaces it takes
it back (``release_orphans``): nothing is lost, and only that one message can
arrive twice (channels offer no idempotence key).

What the agent side must see (a new ticket's card, a customer's message during a
handoff, a deadline alert, topics to delete after an erasure) goes the same way:
rows of the channel ``AGENTS``, one ordered stream per ticket (its reference as
the chat), written with the change that caused them (``notice_rows``) and taken
with ``claim_notice``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Generic, TypedDict, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    event,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from supportbot.messages import Action, Button, ForgetAgentThreads, NotifyAgents, Reply
from supportbot.patience import PATIENCE, within
from supportbot.store import Conversation, Customer, OutboxMessage

log = logging.getLogger(__name__)
M = TypeVar("M")  # a message the loop delivers: a customer's Reply, an agents' Notice

AGENTS = "agents"  # the agent side's stream; its chats are ticket references
ERASURES = "erasures"  # the AGENTS chat of topics to delete (they outlive their tickets)
PAGE = 100  # messages read at most in one go (``Outbox.outgoing``)
LEASE = timedelta(minutes=1)  # one message's sending, retries and 429 waits included
# Who holds a claim: this process, as long as it lives.
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_gone(holder: str | None) -> bool:
    """Whether a claim's holder (a ``PROCESS``) is a process of this machine that no
    longer runs: its claims need not wait for their lease (a supervisor restarting a
    killed worker in seconds). Another machine's holder is never judged: its lease is."""
    if not holder or holder == PROCESS:
        return False
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # a former process with our pid (pid 1 in a container): not us
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, another user's
    return False


@dataclass
class Outbox:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    def deliver(self, channel: str, chat_id: str, send: Callable[[Reply], object]) -> int:
        """Hand the messages waiting for this chat to ``send``, in order; how many went.

        The delivery loop (``delivery``) run here and now: one message at a time,
        claimed, sent, marked delivered. A sender killed in between leaves only that
        message claimed; it goes again when the claim lapses (``LEASE``), before
        anything queued after it, so nothing is lost and the order holds. One that
        raises gives the message back at once. ``send`` may return a ``Sent`` to say
        the message was refused or could not go now; anything else means it went.
        """
        steps = self.delivery(lambda: self.claim_next(channel, chat_id))
        return _run(steps, send).delivered

    async def deliver_async(
        self,
        claim: Callable[[], tuple[int, M] | None],
        send: Callable[[M], Awaitable[Sent]],
    ) -> Round:
        """The delivery loop for an async channel: each store step in a worker thread,
        tried again while the store is away (``patience``), ``send`` awaited."""
        return await _run_async(self.delivery(claim), send)

    def delivery(self, claim: Callable[[], tuple[int, M] | None]) -> Delivery[M]:
        """The one delivery loop, as steps a runner carries out (``deliver`` at once,
        ``deliver_async`` on an event loop): what to claim, send, mark or give back.

        The guarantees live here. Order: the chat's oldest undelivered message first,
        and nothing after it while it is claimed. At least once: a message is marked
        delivered only after the channel took it, and that mark waits for the store as
        long as the claim runs (given up sooner, the message would go twice). A send
        that raises gives the message back and the error goes up; one the channel
        refuses as it is (``Sent.REFUSED``) is dropped, as trying again changes nothing
        and it would hold back the chat's later messages; one that cannot go now
        (``Sent.LATER``) is given back and the round stops.
        """
        delivered = 0
        while (claimed := (yield _StoreStep(claim))) is not None:
            ident, message = claimed
            try:
                outcome = yield _SendStep(message)
            except Exception:
                yield _StoreStep(self.release, (ident,))
                raise
            if outcome is Sent.LATER:
                yield _StoreStep(self.release, (ident,))
                return Round(delivered, stopped=True)
            if outcome is Sent.REFUSED:
                log.error("outbox message %s refused by the channel: dropped", ident)
            yield _StoreStep(self.mark_delivered, ([ident],), LEASE.total_seconds())
            delivered += 1
        return Round(delivered, stopped=False)

    def claim_next(
        self, channel: str, chat_id: str, lease: timedelta = LEASE
    ) -> tuple[int, Reply] | None:
        """The chat's oldest undelivered message, now ours for ``lease``; None if there is
        none, or if it is another sender's (its claim still runs): order comes first."""
        row = self._claim(channel, chat_id, lease)
        return None if row is None else (row.id, _reply(row))

    def claim_notice(self, chat: str, lease: timedelta = LEASE) -> tuple[int, Notice] | None:
        """The oldest undelivered notice of this ticket (or of ``ERASURES``), as
        ``claim_next``."""
        row = self._claim(AGENTS, chat, lease)
        return None if row is None else (row.id, _notice(row))

    def notice_chats(self) -> list[str]:
        """The tickets (and ``ERASURES``) with notices waiting, oldest first."""
        with self.sessions() as db:
            rows = db.execute(
                select(OutboxMessage.chat_id, func.min(OutboxMessage.id))
                .where(OutboxMessage.channel == AGENTS, OutboxMessage.delivered_at.is_(None))
                .group_by(OutboxMessage.chat_id)
                .order_by(func.min(OutboxMessage.id))
            ).all()
        return [chat for chat, _ in rows]

    def waiting_chats(self, channel: str) -> list[str]:
        """The channel's chats with undelivered messages whose customer can be reached
        (one who blocked the bot keeps theirs waiting)."""
        blocked = exists().where(
            Customer.channel == channel,
            Customer.external_id == OutboxMessage.chat_id,
            Customer.unreachable.is_(True),
        )
        with self.sessions() as db:
            rows = db.scalars(
                select(OutboxMessage.chat_id)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.delivered_at.is_(None),
                    ~blocked,
                )
                .distinct()
            ).all()
        return list(rows)

    def _claim(self, channel: str, chat_id: str, lease: timedelta) -> OutboxMessage | None:
        now = self.clock()
        with self.sessions.begin() as db:
            row = db.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.delivered_at.is_(None),
                )
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update()
            ).first()
            if row is None:
                return None
            held = row.claimed_until is not None and row.claimed_until >= now
            if held and not holder_gone(row.claimed_by):
                return None
            row.claimed_until = now + lease
            row.claimed_by = PROCESS
            db.flush()
            db.expunge(row)
            return row

    def release_orphans(self, channel: str) -> int:
        """Give back the claims of senders of ``channel`` that are gone; how many.

        For a process that knows it is the channel's only sender (Telegram allows a
        single poller): a claim it does not hold was left by a process stopped in
        the middle of a sending. Whether that message went out is unknown (the
        channel has no idempotence key); sending it again now beats holding the
        chat's next messages back until the claim lapses, and beats losing it.
        """
        with self.sessions.begin() as db:
            result = db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.claimed_until.is_not(None),
                    OutboxMessage.claimed_by.is_distinct_from(PROCESS),
                )
                .values(claimed_until=None, claimed_by=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def release(self, ident: int) -> None:
        """Give a claimed message back (its sending failed): the next round sends it."""
        with self.sessions.begin() as db:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == ident, OutboxMessage.delivered_at.is_(None))
                .values(claimed_until=None, claimed_by=None)
            )

    def waiting_choice(self, channel: str, chat_id: str) -> Reply | None:
        """The last message delivered with buttons since the customer last did anything
        (a proposed solution, a rating), or None: a channel that forgets the buttons it
        showed (a terminal session that ended) offers them again."""
        with self.sessions() as db:
            rows = db.scalars(
                select(OutboxMessage)
                .join(
                    Conversation,
                    (Conversation.channel == OutboxMessage.channel)
                    & (Conversation.chat_id == OutboxMessage.chat_id),
                )
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.delivered_at > Conversation.updated_at,
                )
                .order_by(OutboxMessage.id.desc())
                .limit(5)
            )
            return next((_reply(row) for row in rows if row.buttons), None)

    def take(self, channel: str, chat_id: str) -> list[Reply]:
        """The messages waiting for this chat, as delivered to the caller."""
        taken: list[Reply] = []
        self.deliver(channel, chat_id, taken.append)
        return taken

    def outgoing(self, channel: str, chat_id: str, after: int = 0) -> list[Outgoing]:
        """The chat's messages with an id above ``after``, oldest first, delivered or not
        (at most ``PAGE``): what a channel that pulls by cursor reads."""
        with self._bind().connect() as db:
            return read_outgoing(db, channel, chat_id, after)

    def news(self, channel: str, after: int) -> News:
        """The channel's messages above ``after``, every chat's, oldest first (at most
        ``PAGE``): what a process with many open chats reads in one go."""
        with self._bind().connect() as db:
            return read_news(db, channel, after)

    def acknowledge(self, channel: str, chat_id: str, up_to: int) -> int:
        """The chat's messages up to ``up_to`` were shown: marked delivered (their claims
        given back); how many were newly marked."""
        return self.acknowledge_all(channel, [(chat_id, up_to)])[0]

    def acknowledge_all(self, channel: str, shown: Sequence[tuple[str, int]]) -> list[int]:
        """``acknowledge`` for several chats (chat, up to) in one transaction: how many
        each marked."""
        now = self.clock()
        with self._bind().begin() as db:
            return [
                int(
                    db.execute(
                        _ACKNOWLEDGE,
                        {"of_channel": channel, "chat": chat, "up_to": up_to, "now": now},
                    ).rowcount
                )
                for chat, up_to in shown
            ]

    def _bind(self) -> Engine:
        """The store's engine: the statements built once below run on plain connections
        (an ORM session costs more than these queries)."""
        return cast(Engine, self.sessions.kw["bind"])

    def newer(self, channel: str, after: int) -> tuple[int, set[str]]:
        """The channel's highest message id (at least ``after``), and the chats with
        messages above ``after``."""
        with self.sessions() as db:
            rows = db.execute(
                select(OutboxMessage.chat_id, func.max(OutboxMessage.id))
                .where(OutboxMessage.channel == channel, OutboxMessage.id > after)
                .group_by(OutboxMessage.chat_id)
            ).all()
        highest = max((int(top) for _, top in rows), default=max(after, 0))
        return highest, {chat_id for chat_id, _ in rows}

    def mark_delivered(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.sessions.begin() as db:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.delivered_at.is_(None))
                .values(delivered_at=self.clock())
            )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for the customer of a chat, with its outbox id (the channel's cursor)."""

    id: int
    reply: Reply
    at: datetime


def _reply(row: Any) -> Reply:
    return Reply(row.text, tuple(Button(b["label"], b["payload"]) for b in row.buttons))


@dataclass(frozen=True, slots=True)
class News:
    """A channel's messages above a cursor, each with its chat, oldest first, and the
    outbox's highest id (every channel's: lower than a cursor, the outbox shrank)."""

    messages: list[tuple[str, Outgoing]]
    top: int


# Built once: a statement composed for each call costs more than running it.
_MESSAGE = (
    OutboxMessage.id,
    OutboxMessage.chat_id,
    OutboxMessage.text,
    OutboxMessage.buttons,
    OutboxMessage.created_at,
)
_OUTGOING = (
    select(*_MESSAGE)
    .where(
        OutboxMessage.channel == bindparam("channel"),
        OutboxMessage.chat_id == bindparam("chat"),
        OutboxMessage.id > bindparam("after"),
    )
    .order_by(OutboxMessage.id)
    .limit(PAGE)
)
_NEWS = (
    select(*_MESSAGE)
    .where(OutboxMessage.channel == bindparam("channel"), OutboxMessage.id > bindparam("after"))
    .order_by(OutboxMessage.id)
    .limit(PAGE)
)
_TOP = select(func.max(OutboxMessage.id))
_ACKNOWLEDGE = (
    update(OutboxMessage)
    .where(
        OutboxMessage.channel == bindparam("of_channel"),
        OutboxMessage.chat_id == bindparam("chat"),
        OutboxMessage.id <= bindparam("up_to"),
        OutboxMessage.delivered_at.is_(None),
    )
    .values(delivered_at=bindparam("now"), claimed_until=None, claimed_by=None)
)


def read_outgoing(db: Connection, channel: str, chat_id: str, after: int) -> list[Outgoing]:
    """``Outbox.outgoing`` on a connection the caller holds (with its other reads)."""
    rows = db.execute(_OUTGOING, {"channel": channel, "chat": chat_id, "after": after})
    return [_outgoing(row) for row in rows]


def read_news(db: Connection, channel: str, after: int) -> News:
    """``Outbox.news`` on a connection the caller holds."""
    top = db.scalar(_TOP) or 0
    rows = db.execute(_NEWS, {"channel": channel, "after": after})
    return News([(row.chat_id, _outgoing(row)) for row in rows], top)


def _outgoing(row: Any) -> Outgoing:
    return Outgoing(row.id, _reply(row), row.created_at)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice for the agent side, and the customer's messages it shows (their chat and
    the channel's ids of those messages, copied into the ticket's topic)."""

    action: NotifyAgents | ForgetAgentThreads
    source_chat: str | None = None
    source_messages: tuple[int, ...] = ()


def notice_rows(
    actions: list[Action],
    now: datetime,
    source_chat: str | None = None,
    source_messages: tuple[int, ...] = (),
) -> list[OutboxRow]:
    """The outbox rows (``AGENTS``) of a change's notices for the agent side."""
    rows: list[OutboxRow] = []
    for action in actions:
        if isinstance(action, NotifyAgents):
            data: dict[str, Any] = {"kind": "notify", "files": list(action.files)}
            if source_messages:
                data["source"] = {"chat": source_chat, "messages": list(source_messages)}
            chat, body = action.ticket_reference, action.text
        elif isinstance(action, ForgetAgentThreads):
            data = {"kind": "forget", "threads": list(action.thread_ids)}
            chat, body = ERASURES, ""
        else:
            continue
        rows.append(message_row(AGENTS, chat, body, now, data=data))
    return rows


# -- the one writer ------------------------------------------------------------------


class OutboxRow(TypedDict):
    """One outbox row as ``queue`` writes it."""

    channel: str
    chat_id: str
    text: str
    buttons: list[dict[str, str]]
    data: dict[str, Any] | None
    ticket_id: int | None
    created_at: datetime
    delivered_at: datetime | None


def message_row(
    channel: str,
    chat_id: str,
    text: str,
    now: datetime,
    buttons: Sequence[Button] = (),
    *,
    data: dict[str, Any] | None = None,
    ticket_id: int | None = None,
    delivered: bool = False,
) -> OutboxRow:
    """A message for ``queue``; ``delivered`` for one the channel already handed over
    itself (kept for the history and the chat's choices, never sent)."""
    return {
        "channel": channel,
        "chat_id": chat_id,
        "text": text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in buttons],
        "data": data,
        "ticket_id": ticket_id,
        "created_at": now,
        "delivered_at": now if delivered else None,
    }


def queue(db: Session, rows: Sequence[OutboxRow]) -> None:
    """Write messages to the outbox in ``db``'s transaction: the outbox's one writer
    (the engine's turns, the ticket service, the ticket jobs).

    Order: a chat's messages are delivered in id order, and ids follow the order in
    which rows are written: a transaction's messages go out in the order of its
    ``queue`` calls (and of the rows within a call), after everything the chat had
    when it committed. Inside a turn (``TurnMessages.hold``) what is queued waits for
    the end of the turn and comes after the turn's own replies ("Merci, je clôture"
    before the rating question the closing queued).
    """
    held = db.info.get(_HELD)
    if isinstance(held, TurnMessages):
        held.queued.extend(rows)
        return
    if not rows:
        return
    db.execute(_INSERT, list(rows))
    if any(row["channel"] == AGENTS for row in rows):
        event.listen(db, "after_commit", _notices_committed, once=True)


class _NoticeCount:
    """How many transactions of this process committed agent notices: a hint that lets
    a sender skip looking for notices when none came since its last complete round."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def bump(self) -> None:
        with self._lock:
            self._count += 1

    def now(self) -> int:
        return self._count


_NOTICES = _NoticeCount()


def _notices_committed(_: Session) -> None:
    _NOTICES.bump()


def notices_committed() -> int:
    """How many transactions of this process committed agent notices so far. A sender
    that saw the same number when it started its last complete round has nothing of
    this process to look for; what other processes queue comes with its periodic sweep."""
    return _NOTICES.now()


@dataclass
class TurnMessages:
    """The messages of a turn, written in one go when it ends: its replies first
    (``reply``), then what was queued while it ran (the ticket service's messages)."""

    replies: list[OutboxRow] = field(default_factory=list)
    queued: list[OutboxRow] = field(default_factory=list)

    @classmethod
    @contextmanager
    def hold(cls, db: Session) -> Iterator[TurnMessages]:
        """Hold what ``db``'s transaction queues until the block ends, then write it;
        nothing is written when the block raises (its transaction is rolled back)."""
        held = cls()
        db.info[_HELD] = held
        try:
            yield held
        finally:
            del db.info[_HELD]
        queue(db, held.replies + held.queued)

    def reply(self, rows: Sequence[OutboxRow]) -> None:
        """The turn's own replies: written before what the turn queued otherwise."""
        self.replies.extend(rows)

    def drop(self) -> None:
        """Forget what was queued so far (the turn erases the customer, outbox included)."""
        self.replies.clear()
        self.queued.clear()


_HELD = "supportbot.outbox.turn"  # the session's TurnMessages while a turn runs
_INSERT = insert(cast(Table, OutboxMessage.__table__)).values(
    {
        name: bindparam(name)
        for name in (
            "channel",
            "chat_id",
            "text",
            "buttons",
            "data",
            "ticket_id",
            "created_at",
            "delivered_at",
        )
    }
)


def _notice(row: OutboxMessage) -> Notice:
    data = row.data or {}
    if data.get("kind") == "forget":
        return Notice(ForgetAgentThreads(tuple(int(t) for t in data.get("threads", []))))
    source = data.get("source") or {}
    return Notice(
        NotifyAgents(row.chat_id, row.text, tuple(data.get("files", []))),
        source.get("chat"),
        tuple(int(m) for m in source.get("messages", [])),
    )


class Sent(Enum):
    """What became of a message handed to a channel."""

    TAKEN = "taken"  # the channel took it: marked delivered
    REFUSED = "refused"  # refused as it is: dropped (marked delivered), the chat goes on
    LATER = "later"  # could not go now (a blocked bot, the network): given back


@dataclass(frozen=True, slots=True)
class Round:
    """How a delivery round went: messages delivered (refused ones included), and
    whether it stopped at one given back (``Sent.LATER``) rather than at the end."""

    delivered: int
    stopped: bool


@dataclass(frozen=True, slots=True)
class _StoreStep:
    """A store call of the loop, and how long an async runner waits for the store."""

    call: Callable[..., Any]
    args: tuple[Any, ...] = ()
    patience: float = PATIENCE


@dataclass(frozen=True, slots=True)
class _SendStep(Generic[M]):
    message: M


Delivery = Generator["_StoreStep | _SendStep[M]", Any, Round]


def _run(steps: Delivery[M], send: Callable[[M], object]) -> Round:
    """Carry out a delivery loop's steps at once, in this thread."""
    result: Any = None
    error: Exception | None = None
    while True:
        try:
            step = steps.send(result) if error is None else steps.throw(error)
        except StopIteration as done:
            return cast(Round, done.value)
        result, error = None, None
        try:
            if isinstance(step, _StoreStep):
                result = step.call(*step.args)
            else:
                result = send(step.message)
                result = result if isinstance(result, Sent) else Sent.TAKEN
        except Exception as err:  # handed to the loop, which gives the message back
            error = err


async def _run_async(steps: Delivery[M], send: Callable[[M], Awaitable[Sent]]) -> Round:
    """Carry out a delivery loop's steps on an event loop: store calls in a worker
    thread, patiently (the store away for seconds is waited out), sends awaited."""
    result: Any = None
    error: Exception | None = None
    while True:
        try:
            step = steps.send(result) if error is None else steps.throw(error)
        except StopIteration as done:
            return cast(Round, done.value)
        result, error = None, None
        try:
            if isinstance(step, _StoreStep):
                result = await within(step.patience, step.call, *step.args)
            else:
                result = await send(step.message)
        except Exception as err:
            error = err
