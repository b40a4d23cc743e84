"""Timed follow-ups on tickets, computed from the store at each pass (cron, JobQueue or tests).

Each job marks the ticket with what it did and for which deadline, so running a
pass twice, or on two workers one after the other, sends nothing twice, and a
restart loses nothing: what is due is recomputed from the tickets themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from supportbot.flows import say_moment
from supportbot.messages import NotifyAgents
from supportbot.outbox import AGENTS, notice_rows, queue
from supportbot.privacy import apply_retention, delete_files
from supportbot.store import OutboxMessage, Ticket
from supportbot.texts import text
from supportbot.tickets import SYSTEM, EventKind, TicketService, TicketStatus


@dataclass(frozen=True)
class JobSettings:
    interim_before_hours: float = 8.0  # business hours before the due time
    info_reminder_hours: float = 72.0  # 3 business days of silence after a request for info
    auto_close_after: timedelta = field(default=timedelta(days=7))
    retention_days: int | None = None  # anonymise closed tickets after this many days


DELIVERED_KEPT = timedelta(days=30)


@dataclass
class Jobs:
    tickets: TicketService
    sessions: sessionmaker[Session]
    settings: JobSettings = field(default_factory=JobSettings)

    def tick(self) -> list[NotifyAgents]:
        """One pass over open tickets; returns the alerts for the agents (queued for
        them in the outbox with the pass)."""
        alerts: list[NotifyAgents] = []
        with self.sessions.begin() as db:
            open_tickets = db.scalars(
                select(Ticket)
                .where(Ticket.status.in_([s.value for s in TicketStatus if s.value != "closed"]))
                .order_by(Ticket.id)
                .with_for_update(skip_locked=True)
            ).all()
            for ticket in open_tickets:
                status = TicketStatus(ticket.status)
                if status is TicketStatus.RECEIVED:
                    alerts += self._deadline(db, ticket)
                elif status is TicketStatus.INFO_REQUESTED:
                    self._info_reminder(db, ticket)
                elif status is TicketStatus.SOLUTION_PROPOSED:
                    self._auto_close(db, ticket)
            # The agents' alerts are delivered from the outbox, like everything they see.
            queue(db, notice_rows(list(alerts), self.tickets.clock()))
            # Delivered messages are kept a while (a chat offers a choice again), not forever:
            # they repeat what customers typed (summaries), which retention must not outlive.
            kept = DELIVERED_KEPT
            if self.settings.retention_days is not None:  # never longer than retention
                kept = min(kept, timedelta(days=self.settings.retention_days))
            delivered_before = self.tickets.clock() - kept
            db.execute(delete(OutboxMessage).where(OutboxMessage.delivered_at < delivered_before))
            # Notices no agent group took (none configured, the web desk alone) go as well.
            db.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.channel == AGENTS, OutboxMessage.created_at < delivered_before
                )
            )
            files = []
            if self.settings.retention_days is not None:
                files = apply_retention(db, self.tickets.clock(), self.settings.retention_days)
        delete_files(files)
        return alerts

    def _deadline(self, db: Session, ticket: Ticket) -> list[NotifyAgents]:
        if ticket.due_at is None:
            return []
        service, now, cal = self.tickets, self.tickets.clock(), self.tickets.calendar
        key = ticket.due_at.isoformat()
        left = cal.elapsed(now, ticket.due_at) if now < ticket.due_at else timedelta(0)
        alerts: list[NotifyAgents] = []
        near = left <= timedelta(hours=self.settings.interim_before_hours)
        if near and service.mark_job(ticket, "interim", key):
            due = say_moment(ticket.due_at.astimezone(cal.tz), ticket.language)
            service.notify(
                db, ticket, text(ticket.language, "interim", ref=ticket.reference, due=due)
            )
            # For the agents, in French (the agent side's language), whatever the customer's.
            when = say_moment(ticket.due_at.astimezone(cal.tz), "fr")
            silent = ", aucune réponse encore" if ticket.first_response_at is None else ""
            alerts.append(
                NotifyAgents(
                    ticket.reference, f"⏰ {ticket.reference} : échéance proche ({when}){silent}."
                )
            )
        if now >= ticket.due_at and service.mark_job(ticket, "overdue", key):
            alerts.append(
                NotifyAgents(ticket.reference, f"🚨 {ticket.reference} : échéance dépassée.")
            )
        return alerts

    def _info_reminder(self, db: Session, ticket: Ticket) -> None:
        since = ticket.paused_at  # the clock's pause started with the first question...
        if since is None:
            return
        if ticket.agent_wrote_at is not None and ticket.agent_wrote_at > since:
            since = ticket.agent_wrote_at  # ...a reminder counts from the latest one
        waited = self.tickets.calendar.elapsed(since, self.tickets.clock())
        if waited < timedelta(hours=self.settings.info_reminder_hours):
            return
        if self.tickets.mark_job(ticket, "info_reminder", since.isoformat()):
            body = text(ticket.language, "info_reminder", ref=ticket.reference)
            self.tickets.notify(db, ticket, body)

    def _auto_close(self, db: Session, ticket: Ticket) -> None:
        proposed = next(
            (e.at for e in reversed(ticket.events) if e.kind == EventKind.STATUS.value), None
        )
        if proposed is None:
            return
        # A message from the customer after the proposal breaks the silence.
        last = max(
            [proposed] + [e.at for e in ticket.events if e.kind == EventKind.CUSTOMER_MESSAGE.value]
        )
        if self.tickets.clock() - last < self.settings.auto_close_after:
            return
        if self.tickets.mark_job(ticket, "auto_close", proposed.isoformat()):
            message = text(ticket.language, "auto_closed", ref=ticket.reference)
            self.tickets.change_status(db, ticket, TicketStatus.CLOSED, SYSTEM, message)
