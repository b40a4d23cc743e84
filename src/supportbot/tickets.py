"""The ticket service: the one place that creates and changes tickets.

It owns references, statuses and their transitions, due times (through the
business calendar), de-duplication per order, the audit trail, and the
messages a status change sends to the customer (written to the outbox in the
same transaction as the change).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from supportbot.calendar import BusinessCalendar
from supportbot.content import DueRule, Flow
from supportbot.messages import Button
from supportbot.outbox import message_row, queue
from supportbot.payloads import Kind, make
from supportbot.state import FileRecord
from supportbot.store import Attachment, Customer, Ticket, TicketEvent
from supportbot.texts import text


class TicketStatus(StrEnum):
    RECEIVED = "received"
    INFO_REQUESTED = "info_requested"
    SOLUTION_PROPOSED = "solution_proposed"
    CLOSED = "closed"


OPEN_STATUSES = (
    TicketStatus.RECEIVED,
    TicketStatus.INFO_REQUESTED,
    TicketStatus.SOLUTION_PROPOSED,
)

TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.RECEIVED: frozenset(
        {TicketStatus.INFO_REQUESTED, TicketStatus.SOLUTION_PROPOSED, TicketStatus.CLOSED}
    ),
    # A follow-up question, an amended proposal, a question about the proposal: the
    # agent keeps the conversation going without first going back to "received".
    TicketStatus.INFO_REQUESTED: frozenset(
        {
            TicketStatus.RECEIVED,
            TicketStatus.INFO_REQUESTED,
            TicketStatus.SOLUTION_PROPOSED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.SOLUTION_PROPOSED: frozenset(
        {
            TicketStatus.RECEIVED,
            TicketStatus.INFO_REQUESTED,
            TicketStatus.SOLUTION_PROPOSED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.CLOSED: frozenset({TicketStatus.RECEIVED}),
}


class EventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_MESSAGE = "agent_message"
    NOTE = "note"
    MERGED = "merged"
    RATING = "rating"
    JOB = "job"


CUSTOMER = "customer"
SYSTEM = "system"


class InvalidTransition(ValueError):
    def __init__(self, ticket: Ticket, target: TicketStatus) -> None:
        super().__init__(
            f"ticket {ticket.reference} cannot go from {ticket.status} to {target.value}; "
            f"allowed: {', '.join(sorted(TRANSITIONS[TicketStatus(ticket.status)]))}"
        )


class TicketNotFound(LookupError):
    pass


class CustomerErased(ValueError):
    """The customer erased their data (/forget): there is no one left to write to."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(
            f"the customer of {ticket.reference} erased their data: nothing can be sent to them"
        )


ERASED_PREFIX = "erased-"  # what an erased customer's external id starts with


def is_erased(customer: Customer) -> bool:
    """The customer erased their data (/forget): nothing can reach them any more."""
    return customer.external_id.startswith(ERASED_PREFIX)


_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
# A reference as customers quote it (any case): "SAV-" + year and month + 5 of the alphabet.
REFERENCE = re.compile(rf"\bSAV-\d{{4}}-[{_REF_ALPHABET}]{{5}}\b", re.IGNORECASE)


@dataclass(frozen=True)
class NewAttachment:
    """A customer's stored file, to attach under the step that asked for it (or "message")."""

    step: str
    file: FileRecord


@dataclass
class TicketService:
    calendar: BusinessCalendar
    clock: Callable[[], datetime]
    sla_hours: float = 48.0
    reopen_window: timedelta = timedelta(days=7)

    # -- reading -------------------------------------------------------------

    def get(self, session: Session, reference: str) -> Ticket:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference.upper()))
        if ticket is None:
            raise TicketNotFound(f"no ticket with reference {reference!r}")
        return ticket

    def for_customer(self, session: Session, customer: Customer) -> Sequence[Ticket]:
        query = select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id.desc())
        return session.scalars(query).all()

    def open_for_order(
        self, session: Session, customer: Customer, order_number: str
    ) -> Ticket | None:
        query = (
            select(Ticket)
            .where(
                Ticket.customer_id == customer.id,
                Ticket.order_number == order_number,
                Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(Ticket.id.desc())
        )
        return session.scalars(query).first()

    def search(
        self,
        session: Session,
        status: str | None = None,
        category: str | None = None,
        overdue: bool = False,
        limit: int | None = None,
    ) -> Sequence[Ticket]:
        """Tickets soonest due first (the status/due index serves the order and the limit)."""
        query = select(Ticket)
        if status:
            query = query.where(Ticket.status == TicketStatus(status).value)
        if category:
            query = query.where(Ticket.category == category)
        if overdue:
            query = query.where(
                Ticket.status.in_([TicketStatus.RECEIVED.value]),
                Ticket.due_at < self.clock(),
            )
        query = query.order_by(Ticket.due_at.asc().nulls_last(), Ticket.id)
        return session.scalars(query.limit(limit)).all()

    # -- writing -------------------------------------------------------------

    def due_time(self, flow: Flow, created: datetime) -> datetime:
        rule = flow.ticket.due if flow.ticket else DueRule.BUSINESS_HOURS
        if rule is DueRule.GDPR_MONTH:
            local: datetime = created.astimezone(self.calendar.tz) + relativedelta(months=1)
            return local
        return self.calendar.add(created, self.sla_hours)

    def create(
        self,
        session: Session,
        customer: Customer,
        flow: Flow,
        fields: dict[str, Any],
        attachments: Sequence[NewAttachment],
        subject: str,
        language: str,
    ) -> tuple[Ticket, bool]:
        """A new ticket, or the customer's open one on the same order (merged=True)."""
        order = fields.get("order_number")
        now = self.clock()
        if isinstance(order, str):
            existing = self.open_for_order(session, customer, order)
            if existing is not None:
                self._add_event(
                    existing, EventKind.MERGED, customer.name, subject, {"flow": flow.id, **fields}
                )
                existing.attachments.extend(self._attachments(attachments))
                existing.updated_at = now
                return existing, True
        spec = flow.ticket
        ticket = Ticket(
            customer=customer,
            flow_id=flow.id,
            category=spec.category if spec else flow.id,
            priority=spec.priority.value if spec else "normal",
            status=TicketStatus.RECEIVED.value,
            subject=subject[:300],
            order_number=order if isinstance(order, str) else None,
            fields=dict(fields),
            language=language,
            created_at=now,
            updated_at=now,
            due_at=self.due_time(flow, now),
        )
        ticket.attachments.extend(self._attachments(attachments))
        self._add_event(ticket, EventKind.CREATED, customer.name, subject, {"flow": flow.id})
        self._assign_reference(session, ticket)
        return ticket, False

    def _attachments(self, items: Sequence[NewAttachment]) -> list[Attachment]:
        return [
            Attachment(
                step=a.step,
                kind=a.file.kind,
                name=a.file.name,
                mime=a.file.mime,
                size=a.file.size,
                file_id=a.file.file_id,
                file_unique_id=a.file.file_unique_id,
                checksum=a.file.checksum,
                path=a.file.path,
                created_at=self.clock(),
            )
            for a in items
        ]

    def _assign_reference(self, session: Session, ticket: Ticket) -> None:
        stamp = self.clock().astimezone(self.calendar.tz).strftime("%y%m")
        for _ in range(10):
            suffix = "".join(secrets.choice(_REF_ALPHABET) for _ in range(5))
            ticket.reference = f"SAV-{stamp}-{suffix}"
            try:
                with session.begin_nested():
                    session.add(ticket)
                    session.flush()
                return
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free ticket reference")

    def _add_event(
        self,
        ticket: Ticket,
        kind: EventKind,
        author: str,
        body: str,
        data: dict[str, Any] | None = None,
    ) -> TicketEvent:
        event = TicketEvent(
            kind=kind.value, author=author, text=body, data=data or {}, at=self.clock()
        )
        ticket.events.append(event)
        return event

    def add_customer_message(
        self, ticket: Ticket, body: str, attachments: Sequence[NewAttachment] = ()
    ) -> None:
        self._add_event(ticket, EventKind.CUSTOMER_MESSAGE, ticket.customer.name, body)
        ticket.attachments.extend(self._attachments(attachments))
        ticket.updated_at = self.clock()

    def add_note(self, ticket: Ticket, author: str, body: str) -> None:
        self._add_event(ticket, EventKind.NOTE, author, body)

    def take(self, ticket: Ticket, agent: str) -> None:
        """``agent`` handles the ticket from now on; taking it over from a colleague says
        so in the history (their name stays there)."""
        before = ticket.assignee
        if before == agent:  # the data says which take it was, for a reader in any language
            self._add_event(
                ticket, EventKind.NOTE, agent, "taken (already theirs)", {"take": "again"}
            )
            return
        said = f"taken over from {before}" if before else "taken"
        took = {"take": "over", "from": before} if before else {"take": "taken"}
        self._add_event(ticket, EventKind.NOTE, agent, said, took)
        ticket.assignee = agent

    def reply(
        self, session: Session, ticket: Ticket, author: str, body: str, delivered: bool = False
    ) -> None:
        """An agent's message to the customer, delivered through the outbox.

        ``delivered`` records a message a channel already handed over itself
        (a Telegram copy of the agent's own message), so it is not sent twice.
        """
        if is_erased(ticket.customer):
            raise CustomerErased(ticket)
        self._add_event(ticket, EventKind.AGENT_MESSAGE, author, body)
        now = self.clock()
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        ticket.agent_wrote_at = ticket.updated_at = now
        self._send(session, ticket, f"[{ticket.reference}] {body}", delivered=delivered)

    def change_status(
        self,
        session: Session,
        ticket: Ticket,
        target: TicketStatus,
        author: str,
        message: str = "",
    ) -> None:
        """Move a ticket along its life cycle, audit it and tell the customer."""
        current = TicketStatus(ticket.status)
        if target not in TRANSITIONS[current]:
            raise InvalidTransition(ticket, target)
        waits_on_customer = target in (TicketStatus.INFO_REQUESTED, TicketStatus.SOLUTION_PROPOSED)
        if waits_on_customer and author not in (CUSTOMER, SYSTEM) and is_erased(ticket.customer):
            raise CustomerErased(ticket)  # a question or a proposal nobody can answer
        now = self.clock()
        if current is TicketStatus.CLOSED and not self.can_reopen(ticket):
            raise InvalidTransition(ticket, target)
        self._move_clock(ticket, current, target, now)
        ticket.status = target.value
        ticket.updated_at = now
        ticket.closed_at = now if target is TicketStatus.CLOSED else None
        if author not in (CUSTOMER, SYSTEM) and ticket.first_response_at is None:
            ticket.first_response_at = now
        if author not in (CUSTOMER, SYSTEM) and message:
            ticket.agent_wrote_at = now
        self._add_event(
            ticket, EventKind.STATUS, author, message, {"from": current.value, "to": target.value}
        )
        lang = ticket.language
        if author != CUSTOMER:  # the customer's own move is answered in the chat itself
            notice = text(
                lang,
                "status_changed",
                ref=ticket.reference,
                status=text(lang, f"status_{target.value}"),
            )
            body = f"{notice}\n{message}".strip()
            self._send(session, ticket, body, self._status_buttons(ticket, target))
        if target is TicketStatus.CLOSED:
            buttons = [
                {"label": "★" * n, "payload": make(Kind.RATE, ticket.reference, n)}
                for n in range(1, 6)
            ]
            self._send(
                session, ticket, text(lang, "rating_question", ref=ticket.reference), buttons
            )

    def can_reopen(self, ticket: Ticket) -> bool:
        closed = ticket.closed_at
        return closed is not None and self.clock() - closed <= self.reopen_window

    def _move_clock(
        self, ticket: Ticket, current: TicketStatus, target: TicketStatus, now: datetime
    ) -> None:
        """Pause the SLA clock while waiting on the customer; push the due time on resume."""
        if target is TicketStatus.INFO_REQUESTED:
            if current is not TicketStatus.INFO_REQUESTED:  # a follow-up keeps the pause
                ticket.paused_at = now
        elif current is TicketStatus.INFO_REQUESTED and ticket.paused_at is not None:
            if ticket.due_at is not None:
                waited = self.calendar.elapsed(ticket.paused_at, now)
                ticket.due_at = self.calendar.add(ticket.due_at, waited.total_seconds() / 3600)
            ticket.paused_at = None
        if current is TicketStatus.CLOSED and target is TicketStatus.RECEIVED:
            ticket.due_at = self.calendar.add(now, self.sla_hours)

    def _status_buttons(self, ticket: Ticket, target: TicketStatus) -> list[dict[str, str]]:
        if target is not TicketStatus.SOLUTION_PROPOSED:
            return []
        lang = ticket.language
        return [
            {
                "label": text(lang, "btn_solution_ok"),
                "payload": make(Kind.SOLUTION, "yes", ticket.reference),
            },
            {
                "label": text(lang, "btn_solution_ko"),
                "payload": make(Kind.SOLUTION, "no", ticket.reference),
            },
        ]

    def rate(self, ticket: Ticket, score: int) -> bool:
        """Record the customer's rating; False when the ticket was already rated (the
        first rating stands: an old star pressed again is not a second rating)."""
        if not 1 <= score <= 5:
            raise ValueError("a rating is between 1 and 5")
        if ticket.rating is not None:
            return False
        ticket.rating = score
        self._add_event(ticket, EventKind.RATING, CUSTOMER, str(score), {"rating": score})
        return True

    def mark_job(self, ticket: Ticket, job: str, key: str) -> bool:
        """Record that ``job`` ran for ``key``; False if it already had (idempotence)."""
        done = {
            (e.data.get("job"), e.data.get("key"))
            for e in ticket.events
            if e.kind == EventKind.JOB.value
        }
        if (job, key) in done:
            return False
        self._add_event(ticket, EventKind.JOB, SYSTEM, job, {"job": job, "key": key})
        return True

    def notify(
        self,
        session: Session,
        ticket: Ticket,
        body: str,
        buttons: list[dict[str, str]] | None = None,
    ) -> None:
        """A message to the customer about their ticket, queued in the outbox."""
        self._send(session, ticket, body, buttons)

    def _send(
        self,
        session: Session,
        ticket: Ticket,
        body: str,
        buttons: list[dict[str, str]] | None = None,
        delivered: bool = False,
    ) -> None:
        customer = ticket.customer
        if is_erased(customer):
            return  # no one to deliver to (a status change after erasure, a job)
        message = message_row(
            customer.channel,
            customer.external_id,
            body,
            self.clock(),
            [Button(b["label"], b["payload"]) for b in buttons or []],
            ticket_id=ticket.id,
            delivered=delivered,
        )
        queue(session, [message])
