"""The desk's inbox: tickets overdue first, then by due time, filtered and searched.

The marks are the console's (``is_overdue``, ``customer_wrote_last``, the
assignee); the filters and the search run in SQL, so a page reads only its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import selectinload

from supportbot.agent_console import customer_wrote_last, is_overdue
from supportbot.agents import AgentDesk, TicketView
from supportbot.store import Customer, Ticket
from supportbot.tickets import OPEN_STATUSES, TicketStatus

PAGE = 100
STATUS_CHOICES = ("open", "all", *(s.value for s in TicketStatus))


@dataclass(frozen=True)
class InboxFilter:
    status: str = "open"  # "open", "all" or a ticket status
    mine: bool = False
    unassigned: bool = False
    flow: str = ""
    query: str = ""  # a reference, an order number or an e-mail address


@dataclass(frozen=True)
class InboxRow:
    view: TicketView
    flow: str
    overdue: bool
    customer_last: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(wanted: InboxFilter, agent: str) -> list[object]:
    found: list[object] = []
    if wanted.status == "open":
        found.append(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
    elif wanted.status in {s.value for s in TicketStatus}:
        found.append(Ticket.status == wanted.status)
    if wanted.mine:
        found.append(Ticket.assignee == agent)
    if wanted.unassigned:
        found.append(Ticket.assignee.is_(None))
    if wanted.flow:
        found.append(Ticket.flow_id == wanted.flow)
    query = wanted.query.strip()
    if query:
        matches = [Ticket.reference == query.upper(), Ticket.order_number == query]
        if "@" in query:  # an e-mail a flow asked for, or the customer's own identity
            pattern = _like(query.lower())
            matches.append(func.lower(cast(Ticket.fields, String)).like(pattern, escape="\\"))
            matches.append(func.lower(Customer.external_id).like(pattern, escape="\\"))
        found.append(or_(*matches))
    return found


def inbox(desk: AgentDesk, agent: str, wanted: InboxFilter, limit: int = PAGE) -> list[InboxRow]:
    """The tickets ``wanted`` for ``agent``: overdue ones first (past due while the Support
    holds them), then soonest due, then the undated ones."""
    now = desk.tickets.clock()
    overdue = and_(Ticket.status == TicketStatus.RECEIVED.value, Ticket.due_at < now)
    query = (
        select(Ticket)
        .join(Customer, Ticket.customer_id == Customer.id)
        .where(*_conditions(wanted, agent))  # type: ignore[arg-type]
        .order_by(case((overdue, 0), else_=1), Ticket.due_at.asc().nulls_last(), Ticket.id)
        .limit(limit)
        .options(
            selectinload(Ticket.events),
            selectinload(Ticket.attachments),
            selectinload(Ticket.customer),
        )
    )
    with desk.sessions() as db:
        tickets = db.scalars(query).all()
        views = [(TicketView.of(t), t.flow_id) for t in tickets]
    return [
        InboxRow(view, flow, is_overdue(view, now), customer_wrote_last(view))
        for view, flow in views
    ]
