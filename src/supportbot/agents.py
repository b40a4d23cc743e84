"""What a human agent can do to a ticket, whatever the tool (Telegram topic or terminal).

Each action is one transaction through the ticket service, which records the
audit event and queues the customer's notification in the outbox.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from supportbot.store import Ticket, TicketEvent
from supportbot.tickets import OPEN_STATUSES, EventKind, TicketService, TicketStatus


class TicketChanged(ValueError):
    """The ticket moved on since the agent looked at it (a customer's message, a colleague's
    action): the action, meant for what they saw, is refused so they can read it first."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"ticket {reference} changed since it was opened: read it again")


class KeyInUse(ValueError):
    """An idempotence key that cannot be a retry: empty, or already used for another
    ticket or another action: a mistake in the caller, refused."""


@dataclass(frozen=True)
class TicketView:
    """A detached snapshot of a ticket, safe to print after the session closed."""

    reference: str
    status: str
    category: str
    priority: str
    subject: str
    customer: str
    order_number: str | None
    due_at: datetime | None
    assignee: str | None
    fields: dict[str, Any]
    events: tuple[tuple[datetime, str, str, str], ...]
    attachments: tuple[tuple[str, str, str | None], ...]
    repeated: bool = False  # the action's idempotence key had been applied: nothing done
    version: int = 0  # the id of its latest event: anything written to it raises it

    @classmethod
    def of(cls, ticket: Ticket) -> TicketView:
        return cls(
            reference=ticket.reference,
            status=ticket.status,
            category=ticket.category,
            priority=ticket.priority,
            subject=ticket.subject,
            customer=ticket.customer.name or ticket.customer.external_id,
            order_number=ticket.order_number,
            due_at=ticket.due_at,
            assignee=ticket.assignee,
            fields=dict(ticket.fields),
            events=tuple((e.at, e.kind, e.author, event_text(e)) for e in ticket.events),
            attachments=tuple((a.name, a.mime, a.path) for a in ticket.attachments),
            version=max((e.id or 0 for e in ticket.events), default=0),
        )


def event_text(event: TicketEvent) -> str:
    """A status change says from what to what, before its message if any; a request added
    to the ticket (same order) shows what the customer answered in it."""
    if event.kind == EventKind.MERGED.value:
        answers = [f"{k}: {v}" for k, v in event.data.items() if k != "flow"]
        return "\n".join([event.text, *answers])
    if event.kind != EventKind.STATUS.value or "to" not in event.data:
        return event.text
    change = f"{event.data.get('from', '?')} → {event.data['to']}"
    return f"{change} · {event.text}" if event.text else change


@dataclass
class AgentDesk:
    tickets: TicketService
    sessions: sessionmaker[Session]

    def open_tickets(self, limit: int = 200) -> list[TicketView]:
        """Open tickets, overdue first, then by due time."""
        with self.sessions() as db:
            rows = [
                t
                for status in OPEN_STATUSES
                for t in self.tickets.search(db, status=status.value, limit=limit)
            ]
            rows.sort(key=lambda t: (t.due_at is None, t.due_at))
            return [TicketView.of(t) for t in rows[:limit]]

    def show(self, reference: str) -> TicketView:
        with self.sessions() as db:
            return TicketView.of(self.tickets.get(db, reference))

    def _act(
        self,
        reference: str,
        action: Any,
        key: str | None = None,
        request: str = "",
        version: int | None = None,
    ) -> TicketView:
        """Apply ``action`` to the ticket in one transaction.

        With an idempotence ``key`` the action is applied once: the same key again
        (a script retrying after a timeout, two retries racing) changes nothing and
        returns the ticket as it is, marked ``repeated``. ``request`` (the action and
        its text) is kept with the key: the key given with another request, or for
        another ticket, is a mistake of the caller and refused (``KeyInUse``), never
        taken for a retry; an empty key is refused too. With the ``version`` the agent saw
        (``TicketView.version``), an action on a ticket that changed since is refused
        (``TicketChanged``); a retry of an applied key is still answered as ``repeated``.
        """
        if key is not None and not key.strip():
            raise KeyInUse("an idempotence key cannot be empty")
        fingerprint = hashlib.sha256(request.encode()).hexdigest()[:16]
        try:
            with self.sessions.begin() as db:
                ticket = self.tickets.get(db, reference)
                if key is not None and self._applied(db, ticket, key, fingerprint):
                    return replace(TicketView.of(ticket), repeated=True)
                if version is not None and TicketView.of(ticket).version != version:
                    raise TicketChanged(ticket.reference)
                before = len(ticket.events)
                action(db, ticket)
                if key is not None:  # on the action's first event (each writes at least one)
                    first = ticket.events[before]
                    first.key, first.data = key, {**first.data, "request": fingerprint}
                db.flush()
                return TicketView.of(ticket)
        except IntegrityError:
            if key is None:
                raise
            with self.sessions() as db:  # the same key, committed meanwhile by a racing retry
                ticket = self.tickets.get(db, reference)
                if self._applied(db, ticket, key, fingerprint):
                    return replace(TicketView.of(ticket), repeated=True)
            raise

    @staticmethod
    def _applied(db: Session, ticket: Ticket, key: str, fingerprint: str) -> bool:
        row = db.execute(
            select(TicketEvent.ticket_id, TicketEvent.data).where(TicketEvent.key == key)
        ).first()
        if row is None:
            return False
        if row.ticket_id != ticket.id:
            raise KeyInUse(f"the key {key!r} was already used for another ticket")
        if (row.data or {}).get("request", fingerprint) != fingerprint:
            raise KeyInUse(f"the key {key!r} was already used for another action or text")
        return True

    def take(
        self, reference: str, agent: str, key: str | None = None, version: int | None = None
    ) -> TicketView:
        return self._act(reference, lambda db, t: self.tickets.take(t, agent), key, "take", version)

    def reply(
        self,
        reference: str,
        agent: str,
        body: str,
        delivered: bool = False,
        key: str | None = None,
        version: int | None = None,
    ) -> TicketView:
        """Send ``body`` to the customer; ``delivered`` when the channel already did."""
        return self._act(
            reference,
            lambda db, t: self.tickets.reply(db, t, agent, body, delivered),
            key,
            f"reply\n{body}",
            version,
        )

    def note(
        self,
        reference: str,
        agent: str,
        body: str,
        key: str | None = None,
        version: int | None = None,
    ) -> TicketView:
        return self._act(
            reference,
            lambda db, t: self.tickets.add_note(t, agent, body),
            key,
            f"note\n{body}",
            version,
        )

    def ask(
        self,
        reference: str,
        agent: str,
        body: str,
        key: str | None = None,
        version: int | None = None,
    ) -> TicketView:
        return self._status(reference, agent, TicketStatus.INFO_REQUESTED, body, key, version)

    def propose(
        self,
        reference: str,
        agent: str,
        body: str,
        key: str | None = None,
        version: int | None = None,
    ) -> TicketView:
        return self._status(reference, agent, TicketStatus.SOLUTION_PROPOSED, body, key, version)

    def close(
        self,
        reference: str,
        agent: str,
        body: str = "",
        key: str | None = None,
        version: int | None = None,
    ) -> TicketView:
        return self._status(reference, agent, TicketStatus.CLOSED, body, key, version)

    def _status(
        self,
        reference: str,
        agent: str,
        target: TicketStatus,
        body: str,
        key: str | None,
        version: int | None = None,
    ) -> TicketView:
        return self._act(
            reference,
            lambda db, t: self.tickets.change_status(db, t, target, agent, body),
            key,
            f"{target.value}\n{body}",
            version,
        )
