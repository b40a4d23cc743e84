"""Support figures from the store: deflection, gaps in the FAQ, flow drop-off, SLA, ratings,
first response and time to close in business hours, and the same per day or week.

A first response is an agent's word to the customer (a message, or a question, a
proposal or a closing with its text), never the bot's and never a bare status change.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from supportbot.calendar import BusinessCalendar
from supportbot.faq_tools import cluster
from supportbot.store import (
    AnswerEvent,
    AnswerFeedback,
    FlowEvent,
    Ticket,
    TicketEvent,
    UnansweredQuestion,
)
from supportbot.tickets import CUSTOMER, SYSTEM, EventKind


def group_similar(texts: Sequence[str]) -> list[list[int]]:
    """Clusters of similar questions (indices into ``texts``), biggest first, ties by text."""
    groups = cluster(list(texts), [])
    return sorted(groups, key=lambda g: (-len(g), texts[g[0]]))


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"


def period_start(moment: datetime, period: Period, calendar: BusinessCalendar) -> date:
    """The day, or the Monday of the week, ``moment`` falls in, in the business time zone."""
    day = moment.astimezone(calendar.tz).date()
    return day - timedelta(days=day.weekday()) if period is Period.WEEK else day


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile, nearest rank: the value 90 % of the others do not exceed."""
    if not values:
        return None
    ranked = sorted(values)
    return round(ranked[math.ceil(0.9 * len(ranked)) - 1], 2)


@dataclass
class Bucket:
    """The figures of one day or week."""

    start: date
    opened: int = 0
    closed: int = 0
    answered: int = 0
    first_response: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        total = self.answered + self.opened
        return {
            "start": self.start.isoformat(),
            "opened": self.opened,
            "closed": self.closed,
            "answered_without_ticket": self.answered,
            "deflection": round(self.answered / total, 4) if total else 0.0,
            "first_response_median_hours": median(self.first_response),
            "first_response_p90_hours": p90(self.first_response),
        }


@dataclass
class Stats:
    since: datetime | None
    until: datetime | None = None
    target_hours: float = 48.0
    answered: int = 0
    tickets_created: int = 0
    unanswered_groups: list[tuple[int, str]] = field(default_factory=list)
    thumbs_down: list[tuple[str, int, int]] = field(default_factory=list)
    drop_off: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    sla_met: int = 0
    sla_due: int = 0
    ratings: list[int] = field(default_factory=list)
    tickets_closed: int = 0
    # business hours to the first agent's word, per ticket opened in the period
    first_response: list[float] = field(default_factory=list)
    awaiting_first_response: int = 0
    # business hours from opening to closing, per ticket closed in the period
    time_to_close: list[float] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def deflection(self) -> float:
        total = self.answered + self.tickets_created
        return self.answered / total if total else 0.0

    @property
    def sla_compliance(self) -> float:
        return self.sla_met / self.sla_due if self.sla_due else 1.0

    @property
    def average_rating(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "answered_without_ticket": self.answered,
            "tickets_created": self.tickets_created,
            "deflection": round(self.deflection, 4),
            "top_unanswered": [{"count": c, "example": e} for c, e in self.unanswered_groups],
            "most_thumbs_down": [{"faq": f, "down": d, "up": u} for f, d, u in self.thumbs_down],
            "flow_drop_off": {k: dict(v) for k, v in self.drop_off.items()},
            "tickets_by_category": self.by_category,
            "tickets_by_status": self.by_status,
            "sla_compliance": round(self.sla_compliance, 4),
            "sla_tickets": self.sla_due,
            "average_rating": self.average_rating,
            "ratings": len(self.ratings),
            "until": self.until.isoformat() if self.until else None,
            "tickets_closed": self.tickets_closed,
            "first_response": {
                "answered": len(self.first_response),
                "awaiting": self.awaiting_first_response,
                "median_hours": median(self.first_response),
                "p90_hours": p90(self.first_response),
                "target_hours": self.target_hours,
                "within_target": self.within_target,
            },
            "time_to_close": {
                "closed": len(self.time_to_close),
                "median_hours": median(self.time_to_close),
                "p90_hours": p90(self.time_to_close),
            },
            "rating_distribution": {str(score): self.ratings.count(score) for score in range(1, 6)},
            "series": [bucket.as_dict() for bucket in self.buckets],
        }

    @property
    def within_target(self) -> float | None:
        """The share of first responses given within the target (48 business hours)."""
        if not self.first_response:
            return None
        kept = sum(hours <= self.target_hours for hours in self.first_response)
        return round(kept / len(self.first_response), 4)

    def render(self) -> str:
        d = self.as_dict()
        lines = [
            f"Deflection: {self.deflection:.1%} ({self.answered} answered without a ticket, "
            f"{self.tickets_created} tickets)",
            f"SLA compliance: {self.sla_compliance:.1%} of {self.sla_due} tickets due",
            "Average rating: "
            + (f"{self.average_rating:.2f} ({len(self.ratings)})" if self.ratings else "-"),
            f"Tickets closed: {self.tickets_closed}",
            "First response by an agent (business hours): "
            + _spread(d["first_response"])
            + f" ({len(self.first_response)} answered, {self.awaiting_first_response} waiting)",
            "Time to close (business hours): " + _spread(d["time_to_close"]),
            "Tickets by category: " + _pairs(self.by_category),
            "Tickets by status: " + _pairs(self.by_status),
            "Top unanswered questions:",
            *[f"  {g['count']:>4} × {g['example']}" for g in d["top_unanswered"]],
            "Answers with the most 👎:",
            *[f"  {f['faq']}: {f['down']} 👎 / {f['up']} 👍" for f in d["most_thumbs_down"]],
            "Flow drop-off (runs reaching each step):",
        ]
        for flow, steps in self.drop_off.items():
            lines.append(f"  {flow}: " + " → ".join(f"{s} {n}" for s, n in steps))
        return "\n".join(lines)


def _spread(figures: dict[str, Any]) -> str:
    if figures["median_hours"] is None:
        return "-"
    return f"median {figures['median_hours']:g} h, 90th percentile {figures['p90_hours']:g} h"


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


def compute_stats(
    db: Session,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    calendar: BusinessCalendar | None = None,
    by: Period | None = None,
    target_hours: float = 48.0,
) -> Stats:
    """The figures of what happened from ``since`` (included) to ``until`` (excluded);
    with ``by``, the same per day or week in ``buckets``."""
    calendar = calendar or BusinessCalendar()
    stats = Stats(since, until, target_hours)

    def after(column: Any) -> Any:
        start: Any = column >= since if since is not None else true()
        return start if until is None else and_(start, column < until)

    stats.answered = (
        db.scalar(select(func.count()).select_from(AnswerEvent).where(after(AnswerEvent.at))) or 0
    )
    tickets = db.scalars(select(Ticket).where(after(Ticket.created_at))).all()
    stats.tickets_created = len(tickets)
    stats.by_category = dict(Counter(t.category for t in tickets))
    stats.by_status = dict(Counter(t.status for t in tickets))
    for t in tickets:
        if t.due_at is None or (t.due_at > now and t.first_response_at is None):
            continue  # not yet decided
        stats.sla_due += 1
        answered = t.first_response_at or t.closed_at
        stats.sla_met += answered is not None and answered <= t.due_at
    stats.ratings = [t.rating for t in tickets if t.rating is not None]
    questions = db.scalars(
        select(UnansweredQuestion.text).where(after(UnansweredQuestion.at))
    ).all()
    stats.unanswered_groups = [
        (len(g), questions[g[0]]) for g in group_similar(list(questions))[:10]
    ]
    votes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for faq_id, helpful in db.execute(
        select(AnswerFeedback.faq_id, AnswerFeedback.helpful).where(after(AnswerFeedback.at))
    ):
        votes[faq_id][0 if not helpful else 1] += 1
    ranked = sorted(votes.items(), key=lambda kv: -kv[1][0])
    stats.thumbs_down = [(f, down, up) for f, (down, up) in ranked if down][:10]
    stats.drop_off = _drop_off(db, after(FlowEvent.at))
    _timings(db, stats, tickets, after, calendar)
    if by is not None:
        stats.buckets = _buckets(db, stats, tickets, after, calendar, by)
    return stats


def _first_words(db: Session, when: Any) -> dict[int, datetime]:
    """When an agent first wrote to the customer, per ticket opened in the period."""
    spoke = or_(
        TicketEvent.kind == EventKind.AGENT_MESSAGE.value,
        and_(
            TicketEvent.kind == EventKind.STATUS.value,
            TicketEvent.author.not_in([CUSTOMER, SYSTEM]),
            TicketEvent.text != "",
        ),
    )
    rows = db.execute(
        select(TicketEvent.ticket_id, func.min(TicketEvent.at))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(spoke, when)
        .group_by(TicketEvent.ticket_id)
    ).all()
    return {ticket_id: at for ticket_id, at in rows}


def _hours_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    return calendar.elapsed(start, end).total_seconds() / 3600


def _timings(
    db: Session, stats: Stats, tickets: Sequence[Ticket], after: Any, calendar: BusinessCalendar
) -> None:
    first = _first_words(db, after(Ticket.created_at))
    for ticket in tickets:
        at = first.get(ticket.id)
        if at is None:
            stats.awaiting_first_response += 1
        else:
            stats.first_response.append(_hours_between(calendar, ticket.created_at, at))
    closed = db.execute(
        select(Ticket.created_at, Ticket.closed_at).where(
            Ticket.closed_at.is_not(None), after(Ticket.closed_at)
        )
    ).all()
    stats.tickets_closed = len(closed)
    stats.time_to_close = [
        _hours_between(calendar, opened, shut) for opened, shut in closed if shut is not None
    ]


def _buckets(
    db: Session,
    stats: Stats,
    tickets: Sequence[Ticket],
    after: Any,
    calendar: BusinessCalendar,
    by: Period,
) -> list[Bucket]:
    buckets: dict[date, Bucket] = {}

    def bucket(moment: datetime) -> Bucket:
        start = period_start(moment, by, calendar)
        return buckets.setdefault(start, Bucket(start))

    first = _first_words(db, after(Ticket.created_at))
    for ticket in tickets:
        opened = bucket(ticket.created_at)
        opened.opened += 1
        if ticket.id in first:
            opened.first_response.append(
                _hours_between(calendar, ticket.created_at, first[ticket.id])
            )
    for (shut,) in db.execute(
        select(Ticket.closed_at).where(Ticket.closed_at.is_not(None), after(Ticket.closed_at))
    ):
        if shut is not None:
            bucket(shut).closed += 1
    for (at,) in db.execute(select(AnswerEvent.at).where(after(AnswerEvent.at))):
        bucket(at).answered += 1
    if not buckets and stats.since is None:
        return []
    # every day or week of the period, the empty ones too (a chart shows the quiet days)
    day = period_start(stats.since, by, calendar) if stats.since else min(buckets)
    last = max(buckets, default=day)
    if stats.until is not None:
        last = period_start(stats.until - timedelta(microseconds=1), by, calendar)
    step = timedelta(days=7 if by is Period.WEEK else 1)
    series: list[Bucket] = []
    while day <= last:
        series.append(buckets.get(day) or Bucket(day))
        day += step
    return series


def _drop_off(db: Session, when: Any) -> dict[str, list[tuple[str, int]]]:
    rows = db.execute(
        select(FlowEvent.flow_id, FlowEvent.kind, FlowEvent.step, FlowEvent.run_id).where(when)
    ).all()
    runs: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    order: dict[str, list[str]] = defaultdict(list)
    for flow_id, kind, step, run_id in rows:
        key = step if kind == "step" else kind
        key = "summary" if key == "__confirm__" else key  # the step's name, not the marker
        runs[flow_id][key].add(run_id)
        if key not in order[flow_id]:
            order[flow_id].append(key)
    result: dict[str, list[tuple[str, int]]] = {}
    for flow_id, keys in order.items():
        ranked = [k for k in keys if k not in ("completed", "ended")]
        ranked += [k for k in ("completed", "ended") if k in keys]
        result[flow_id] = [(k, len(runs[flow_id][k])) for k in ranked]
    return result
