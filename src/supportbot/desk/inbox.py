"""The desk's inbox: tickets overdue first, then by due time, filtered and searched.

The marks are the console's (``is_overdue``, ``customer_wrote_last``, the
assignee); the filters and the search run in SQL through indexes, so a page reads
only its rows, even among 100,000 tickets (`benchmarks/desk.py`).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, case, select
from sqlalchemy.orm import Session

from supportbot.agent_console import customer_wrote_last, is_overdue
from supportbot.agents import AgentDesk, TicketView
from supportbot.desk.card import CustomerIdentity
from supportbot.desk.search import search_ids
from supportbot.store import Customer as CustomerRow
from supportbot.store import Ticket, TicketEvent
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
    customer: CustomerIdentity


def _filters(wanted: InboxFilter, agent: str) -> list[ColumnElement[bool]]:
    """The filters but the status."""
    found: list[ColumnElement[bool]] = []
    if wanted.mine:
        found.append(Ticket.assignee == agent)
    if wanted.unassigned:
        found.append(Ticket.assignee.is_(None))
    if wanted.flow:
        found.append(Ticket.flow_id == wanted.flow)
    return found


def _statuses(wanted: InboxFilter) -> list[str]:
    if wanted.status == "open":
        return [s.value for s in OPEN_STATUSES]
    if wanted.status in {s.value for s in TicketStatus}:
        return [wanted.status]
    return [s.value for s in TicketStatus]


# Where a ticket stands in the inbox: overdue first (0), then by due time, undated last.
Rank = tuple[int, int, datetime, int]
NEVER = datetime.min.replace(tzinfo=UTC)


def _ranked(db: Session, query: Select[int, datetime | None], overdue: bool) -> list[Rank]:
    return [
        (0 if overdue else 1, 0 if due is not None else 1, due or NEVER, ident)
        for ident, due in db.execute(query).all()
    ]


def _listed(db: Session, wanted: InboxFilter, agent: str, now: datetime, limit: int) -> list[int]:
    """The page's ticket ids in the inbox's order, with no search: per status, the
    (status, due time) index read in order, at most ``limit`` rows each, then merged."""
    ranks: list[Rank] = []
    for status in _statuses(wanted):
        base = select(Ticket.id, Ticket.due_at).where(
            Ticket.status == status, *_filters(wanted, agent)
        )
        by_due = base.order_by(Ticket.due_at, Ticket.id).limit(limit)
        if status == TicketStatus.RECEIVED.value:  # past due while the Support holds it
            ranks += _ranked(db, by_due.where(Ticket.due_at < now), overdue=True)
            ranks += _ranked(db, by_due.where(Ticket.due_at >= now), overdue=False)
        else:
            ranks += _ranked(db, by_due.where(Ticket.due_at.is_not(None)), overdue=False)
        undated = base.where(Ticket.due_at.is_(None)).order_by(Ticket.id).limit(limit)
        ranks += _ranked(db, undated, overdue=False)
    return [rank[3] for rank in sorted(ranks)[:limit]]


def _among(wanted: InboxFilter, agent: str, ids: list[int]) -> Select[int]:
    """The tickets of ``ids`` the filter keeps."""
    return select(Ticket.id).where(
        Ticket.id.in_(ids), Ticket.status.in_(_statuses(wanted)), *_filters(wanted, agent)
    )


def _searched(db: Session, wanted: InboxFilter, agent: str, now: datetime, limit: int) -> list[int]:
    """The page's ticket ids among those the search names (a few, found by index)."""
    found = search_ids(db, wanted.query)
    if not found:
        return []
    overdue = and_(Ticket.status == TicketStatus.RECEIVED.value, Ticket.due_at < now)
    query = (
        _among(wanted, agent, found)
        .order_by(case((overdue, 0), else_=1), Ticket.due_at.asc().nulls_last(), Ticket.id)
        .limit(limit)
    )
    return list(db.scalars(query))


def _rows(db: Session, ids: list[int]) -> list[tuple[TicketView, str, CustomerIdentity]]:
    """The tickets ``ids`` as their rows show them, in that order: a `TicketView` without
    the texts, answers or files a row never shows (read with plain columns, not loaded as
    objects: a page of 100 rows stays a few milliseconds)."""
    if not ids:
        return []
    tickets = db.execute(
        select(
            Ticket.id,
            Ticket.reference,
            Ticket.status,
            Ticket.category,
            Ticket.priority,
            Ticket.subject,
            CustomerRow.name,
            CustomerRow.external_id,
            CustomerRow.channel,
            Ticket.order_number,
            Ticket.due_at,
            Ticket.assignee,
            Ticket.flow_id,
        )
        .join(CustomerRow, Ticket.customer_id == CustomerRow.id)
        .where(Ticket.id.in_(ids))
    ).all()
    events: dict[int, list[tuple[int, datetime, str, str]]] = {i: [] for i in ids}
    trail = select(
        TicketEvent.ticket_id, TicketEvent.id, TicketEvent.at, TicketEvent.kind, TicketEvent.author
    ).where(TicketEvent.ticket_id.in_(ids))
    for ticket_id, ident, at, kind, author in db.execute(trail):
        events[ticket_id].append((ident, at, kind, author))
    views: dict[int, tuple[TicketView, str, CustomerIdentity]] = {}
    for row in tickets:
        said = sorted(events[row.id])
        view = TicketView(
            reference=row.reference,
            status=row.status,
            category=row.category,
            priority=row.priority,
            subject=row.subject,
            customer=row.name or row.external_id,
            order_number=row.order_number,
            due_at=row.due_at,
            assignee=row.assignee,
            fields={},
            events=tuple((at, kind, author, "") for _, at, kind, author in said),
            attachments=(),
            version=said[-1][0] if said else 0,
        )
        views[row.id] = (
            view,
            row.flow_id,
            CustomerIdentity(row.channel, row.name, row.external_id),
        )
    return [views[i] for i in ids if i in views]


def inbox(desk: AgentDesk, agent: str, wanted: InboxFilter, limit: int = PAGE) -> list[InboxRow]:
    """The tickets ``wanted`` for ``agent``: overdue ones first (past due while the Support
    holds them), then soonest due, then the undated ones."""
    now = desk.tickets.clock()
    pick = _searched if wanted.query.strip() else _listed
    with desk.sessions() as db:
        views = _rows(db, pick(db, wanted, agent, now, limit))
    return [
        InboxRow(view, flow, is_overdue(view, now), customer_wrote_last(view), customer)
        for view, flow, customer in views
    ]


def matching(desk: AgentDesk, agent: str, wanted: InboxFilter, ids: list[int]) -> set[int]:
    """Which of the tickets ``ids`` the inbox filtered by ``wanted`` lists now: a live
    notice of news is for those; the others only count as news outside the filter."""
    if not ids:
        return set()
    with desk.sessions() as db:
        if wanted.query.strip():
            ids = [i for i in search_ids(db, wanted.query) if i in set(ids)]
        return set(db.scalars(_among(wanted, agent, ids))) if ids else set()


def inbox_filter(params: Mapping[str, str], flows: Container[str]) -> InboxFilter:
    """The filter a page's query asks for; anything unknown is left out."""
    status = params.get("status", "open")
    return InboxFilter(
        status=status if status in STATUS_CHOICES else "open",
        mine=params.get("mine") == "1",
        unassigned=params.get("unassigned") == "1",
        flow=params.get("flow", "") if params.get("flow", "") in flows else "",
        query=params.get("q", "")[:200],
    )


def filter_query(wanted: InboxFilter) -> str:
    """``wanted`` as the query of a URL (the inbox's live stream)."""
    asked = {
        "status": wanted.status,
        "mine": "1" if wanted.mine else "",
        "unassigned": "1" if wanted.unassigned else "",
        "flow": wanted.flow,
        "q": wanted.query,
    }
    return urlencode({k: v for k, v in asked.items() if v})
