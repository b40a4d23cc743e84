"""What a channel's agent side needs from the core, and nothing more: the desk's actions on
a ticket, the ticket as agents see it, and where it lives on that side (a forum topic, a
thread) with who its customer is and where they write from.

The customer side has its own contract (``contract.ChatCore``); a channel serving both
sides, Telegram, gets one of each. Every rule stays with the agent desk and the ticket
service behind it: this only says which of their calls a channel may make.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from sqlalchemy import select, update

from supportbot.agent_console import fill_template, send_template
from supportbot.agents import AgentDesk, TicketView
from supportbot.replies import ReplyBook, ReplyTemplate
from supportbot.store import Attachment, Ticket

__all__ = ["AgentCore", "DeskCore", "TicketContact"]


@dataclass(frozen=True)
class TicketContact:
    """Who a ticket's messages go to, and where it lives on the agent side."""

    reference: str
    thread_id: int | None
    customer_channel: str
    customer_chat: str
    customer_unreachable: bool
    language: str = "fr"


class AgentCore(Protocol):
    """The core as a channel's agent side sees it."""

    def timezone(self) -> tzinfo:
        """The business calendar's zone: the one times shown to agents are said in."""
        ...

    def show(self, reference: str) -> TicketView:
        """The ticket as agents see it (TicketNotFound for an unknown reference)."""
        ...

    # -- the desk's actions: each one transaction, applied once per ``key`` ---------------

    def take(self, reference: str, agent: str, key: str | None = None) -> TicketView: ...

    def ask(self, reference: str, agent: str, body: str, key: str | None = None) -> TicketView: ...

    def propose(
        self, reference: str, agent: str, body: str, key: str | None = None
    ) -> TicketView: ...

    def close(
        self, reference: str, agent: str, body: str = "", key: str | None = None
    ) -> TicketView: ...

    def note(self, reference: str, agent: str, body: str, key: str | None = None) -> TicketView: ...

    def reply(self, reference: str, agent: str, body: str, delivered: bool = False) -> TicketView:
        """An agent's message to the customer; ``delivered`` when the channel already
        brought it to them (copied from a topic), so the outbox does not send it again."""
        ...

    def fill_template(self, book: ReplyBook, reference: str, name: str, agent: str) -> str:
        """The template ``name`` filled for this ticket, in the customer's language."""
        ...

    def send_template(
        self, template: ReplyTemplate, reference: str, agent: str, body: str
    ) -> TicketView:
        """Send a filled template; one that closes (``closes: true``) closes the ticket."""
        ...

    # -- where a ticket lives on the agent side ------------------------------------------

    def contact(self, reference: str) -> TicketContact | None:
        """The ticket's thread and customer; None for an unknown reference."""
        ...

    def contact_in_thread(self, thread_id: int) -> TicketContact | None:
        """The ticket a thread of the agent side belongs to (the latest, if several)."""
        ...

    def claim_thread(self, reference: str, thread_id: int, replacing: int | None) -> int:
        """Record a new thread for the ticket unless another worker already did (or
        replaced ``replacing`` first); the thread in force."""
        ...

    def files(self, reference: str) -> list[tuple[str, str, str]]:
        """(kind, the channel's file id, name) of the ticket's files the channel holds."""
        ...


@dataclass
class DeskCore:
    """The agent contract over the agent desk and its store.

    The thread is the ticket's ``agent_thread_id`` column, Telegram's forum topic: moving
    it to a table of the channel's own needs a migration, not done yet.
    """

    desk: AgentDesk

    def timezone(self) -> tzinfo:
        return self.desk.tickets.calendar.tz

    def show(self, reference: str) -> TicketView:
        return self.desk.show(reference)

    def take(self, reference: str, agent: str, key: str | None = None) -> TicketView:
        return self.desk.take(reference, agent, key=key)

    def ask(self, reference: str, agent: str, body: str, key: str | None = None) -> TicketView:
        return self.desk.ask(reference, agent, body, key=key)

    def propose(self, reference: str, agent: str, body: str, key: str | None = None) -> TicketView:
        return self.desk.propose(reference, agent, body, key=key)

    def close(
        self, reference: str, agent: str, body: str = "", key: str | None = None
    ) -> TicketView:
        return self.desk.close(reference, agent, body, key=key)

    def note(self, reference: str, agent: str, body: str, key: str | None = None) -> TicketView:
        return self.desk.note(reference, agent, body, key=key)

    def reply(self, reference: str, agent: str, body: str, delivered: bool = False) -> TicketView:
        return self.desk.reply(reference, agent, body, delivered)

    def fill_template(self, book: ReplyBook, reference: str, name: str, agent: str) -> str:
        return fill_template(self.desk, book, reference, name, agent)

    def send_template(
        self, template: ReplyTemplate, reference: str, agent: str, body: str
    ) -> TicketView:
        return send_template(self.desk, template, reference, agent, body)

    def contact(self, reference: str) -> TicketContact | None:
        with self.desk.sessions() as db:
            ticket = db.scalar(select(Ticket).where(Ticket.reference == reference))
            return _contact(ticket) if ticket else None

    def contact_in_thread(self, thread_id: int) -> TicketContact | None:
        with self.desk.sessions() as db:
            ticket = db.scalar(
                select(Ticket).where(Ticket.agent_thread_id == thread_id).order_by(Ticket.id.desc())
            )
            return _contact(ticket) if ticket else None

    def claim_thread(self, reference: str, thread_id: int, replacing: int | None) -> int:
        with self.desk.sessions.begin() as db:
            current = (
                Ticket.agent_thread_id.is_(None)
                if replacing is None
                else Ticket.agent_thread_id == replacing
            )
            db.execute(
                update(Ticket)
                .where(Ticket.reference == reference, current)
                .values(agent_thread_id=thread_id)
            )
            winner = db.scalar(select(Ticket.agent_thread_id).where(Ticket.reference == reference))
        return int(winner) if winner is not None else thread_id

    def files(self, reference: str) -> list[tuple[str, str, str]]:
        with self.desk.sessions() as db:
            rows = db.execute(
                select(Attachment.kind, Attachment.file_id, Attachment.name)
                .join(Ticket, Attachment.ticket_id == Ticket.id)
                .where(Ticket.reference == reference, Attachment.file_id.is_not(None))
                .order_by(Attachment.id)
            ).all()
        return [(kind, str(file_id), name) for kind, file_id, name in rows]


def _contact(ticket: Ticket) -> TicketContact:
    return TicketContact(
        reference=ticket.reference,
        thread_id=ticket.agent_thread_id,
        customer_channel=ticket.customer.channel,
        customer_chat=ticket.customer.external_id,
        customer_unreachable=ticket.customer.unreachable,
        language=ticket.language,
    )
