"""Support figures from the store: deflection, gaps in the FAQ, flow drop-off, SLA, ratings."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supportbot.faq_tools import cluster
from supportbot.store import AnswerEvent, AnswerFeedback, FlowEvent, Ticket, UnansweredQuestion


def group_similar(texts: Sequence[str]) -> list[list[int]]:
    """Clusters of similar questions (indices into ``texts``), biggest first, ties by text."""
    groups = cluster(list(texts), [])
    return sorted(groups, key=lambda g: (-len(g), texts[g[0]]))


@dataclass
class Stats:
    since: datetime | None
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
        }

    def render(self) -> str:
        d = self.as_dict()
        lines = [
            f"Deflection: {self.deflection:.1%} ({self.answered} answered without a ticket, "
            f"{self.tickets_created} tickets)",
            f"SLA compliance: {self.sla_compliance:.1%} of {self.sla_due} tickets due",
            "Average rating: "
            + (f"{self.average_rating:.2f} ({len(self.ratings)})" if self.ratings else "-"),
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


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


def compute_stats(db: Session, now: datetime, since: datetime | None = None) -> Stats:
    stats = Stats(since)

    def after(column: Any) -> Any:
        return column >= since if since is not None else True

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
    return stats


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
