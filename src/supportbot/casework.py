"""What a customer does with their own tickets in the chat.

Filing the ticket a flow collected, talking to the agent of a handed-off
ticket, answering a proposed solution, rating, listing. Every change goes
through the ticket service; a customer only ever reaches their own tickets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, or_, select
from sqlalchemy.orm import Session

from supportbot.content import AttachmentKind, DueRule, Flow
from supportbot.flows import FlowRunner, say_moment
from supportbot.lexicon import Act
from supportbot.masking import mask_card_numbers
from supportbot.messages import Action, Inbound, NotifyAgents, Reply
from supportbot.payloads import Kind, Payload
from supportbot.state import ConversationState, FlowState
from supportbot.store import Customer, Ticket
from supportbot.texts import text
from supportbot.tickets import CUSTOMER, REFERENCE, NewAttachment, TicketService, TicketStatus
from supportbot.understanding import Interpretation

TICKETS_PER_DAY = 5


def awaiting_ticket(
    customer_id: ColumnElement[int],
    since: ColumnElement[datetime],
    reopenable_since: ColumnElement[datetime],
) -> ScalarSelect[int]:
    """The id of the customer's ticket their next message answers, if any (latest first):
    one waiting for information, or one an agent wrote to since ``since`` (a reply, a
    question, a proposal: the customer answers it in the chat), open or closed after
    ``reopenable_since`` (the answer reopens it) and written to after its closing.

    Read with the conversation (see ``Engine``): every free message needs it.
    """
    return (
        select(Ticket.id)
        .where(
            Ticket.customer_id == customer_id,
            or_(
                Ticket.status == TicketStatus.INFO_REQUESTED.value,
                and_(
                    Ticket.agent_wrote_at >= since,
                    # open, or closed and written to by an agent since (they expect an answer)
                    or_(
                        Ticket.status != TicketStatus.CLOSED.value,
                        and_(
                            Ticket.agent_wrote_at > Ticket.closed_at,
                            Ticket.closed_at >= reopenable_since,
                        ),
                    ),
                ),
            ),
        )
        .order_by(Ticket.updated_at.desc())
        .limit(1)
        .scalar_subquery()
    )


# How long after an agent last wrote the customer's messages still go to that ticket.
AGENT_CONVERSATION = timedelta(days=7)


_AGREEING = frozenset({Act.CONFIRM, Act.ACKNOWLEDGE, Act.THANKS})


def _says_yes(meaning: Interpretation | None, message: str) -> bool:
    """A short, plain yes to a proposed solution ("oui ça me va", "c'est bon pour moi");
    not "oui mais je voudrais...", not "ok je vous envoie ça demain", not "c'est bon ?"."""
    if meaning is None or "?" in message or not meaning.whole <= _AGREEING:
        return False
    return bool(meaning.whole & {Act.CONFIRM, Act.ACKNOWLEDGE})


@dataclass
class CustomerCases:
    tickets: TicketService
    runner: FlowRunner
    db: Session
    customer_id: int
    load_customer: Callable[[], Customer]  # the ORM object, only for the turns that need it
    awaiting_id: int | None  # awaiting_ticket() when the turn began
    state: ConversationState
    lang: str
    now: datetime
    flows: dict[str, Flow]

    @property
    def customer(self) -> Customer:
        return self.load_customer()

    def t(self, key: str, **values: Any) -> str:
        return text(self.lang, key, **values)

    def _own(self, reference: str) -> Ticket | None:
        query = select(Ticket).where(
            Ticket.reference == reference, Ticket.customer_id == self.customer_id
        )
        return self.db.scalars(query).first()

    # -- filing -------------------------------------------------------------

    def daily_limit_reached(self) -> int:
        """The number of tickets opened in the last 24 h when it reached the limit, else 0."""
        count = self.db.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.customer_id == self.customer_id,
                Ticket.created_at >= self.now - timedelta(days=1),
            )
        )
        return int(count or 0) if (count or 0) >= TICKETS_PER_DAY else 0

    def submit(self, flow: Flow, flow_state: FlowState) -> list[Action]:
        """Create (or merge into) the ticket a completed flow collected."""
        answers: dict[str, Any] = dict(flow_state.answers)
        files = [NewAttachment(step, f) for step, items in flow_state.files.items() for f in items]
        summary = next(
            (str(answers[k]) for k in ("summary", "subject", "description") if k in answers), ""
        )
        subject = f"{flow.title.fr} — {summary}" if summary else flow.title.fr
        # "ma commande 123456789 est bloquée": the ticket knows its order (merging,
        # templates, the agent's card) even when no step asked for it
        if "order_number" not in answers and (order := self.runner.order_named_in(summary)):
            answers["order_number"] = order
        ticket, merged = self.tickets.create(
            self.db, self.customer, flow, answers, files, subject[:300], self.lang
        )
        card = "\n".join(self._card(ticket, flow, flow_state))
        if merged:
            merged_into: list[Action] = [
                Reply(self.t("ticket_merged", order=ticket.order_number, ref=ticket.reference)),
                NotifyAgents(ticket.reference, f"+\n{card}"),
            ]
            if flow.ticket and flow.ticket.handoff:  # a person asked for, on that ticket
                self.state.handoff = ticket.reference
                merged_into.append(Reply(self.t("handoff_started", ref=ticket.reference)))
            return merged_into
        due = ticket.due_at.astimezone(self.tickets.calendar.tz) if ticket.due_at else None
        rule = flow.ticket.due if flow.ticket else DueRule.BUSINESS_HOURS
        promise = self.t(
            f"promise_{rule.value}",
            hours=f"{self.tickets.sla_hours:g}",
            due=say_moment(due, self.lang) if due else "-",
        )
        actions: list[Action] = [
            Reply(self.t("ticket_created", ref=ticket.reference, promise=promise))
        ]
        if flow.done:
            actions.append(Reply(flow.done.get(self.lang)))
        if flow.ticket and flow.ticket.handoff:
            self.state.handoff = ticket.reference
            actions.append(Reply(self.t("handoff_started", ref=ticket.reference)))
        actions.append(NotifyAgents(ticket.reference, card))
        return actions

    def _card(self, ticket: Ticket, flow: Flow, flow_state: FlowState) -> list[str]:
        lines = [
            f"{ticket.reference} · {flow.title.fr} · {ticket.priority}",
            f"Client : {self.customer.name or self.customer.external_id}",
        ]
        for step_id in flow_state.history:
            step = flow.step(step_id)
            lines.append(f"{step.label.fr} : {self.runner.display(step, flow_state, 'fr')}")
        return lines

    # -- after filing -------------------------------------------------------

    def _addressed_ticket(self, message: str) -> Ticket | None:
        """The ticket a free message belongs to: one of theirs it names ("SAV-2611-ABCDE,
        du nouveau"), the handed-off one, or the one an agent is talking on."""
        quoted = REFERENCE.search(message)
        named = self._own(quoted.group().upper()) if quoted else None
        if named is not None:
            return named
        ref = self.state.handoff
        ticket = self._own(ref) if ref else None
        if ticket is not None and ticket.status != TicketStatus.CLOSED.value:
            return ticket
        self.state.handoff = None
        awaiting = None if self.awaiting_id is None else self.db.get(Ticket, self.awaiting_id)
        aside = self.state.aside_at
        if awaiting is not None and aside is not None:
            wrote = awaiting.agent_wrote_at
            if wrote is None or wrote <= aside:
                return None  # they went back to the menu since the agent last wrote
        return awaiting

    def talking_on(self, message: str) -> Ticket | None:
        """The ticket a free message would be passed on to (see ``relay``), if any."""
        return self._addressed_ticket(message)

    def step_aside(self) -> str | None:
        """Back to the menu: the next messages go to the assistant until an agent writes
        again or they name the ticket. The reference they were talking on, if any."""
        ref, self.state.handoff = self.state.handoff, None
        if ref is None and self.awaiting_id is not None:
            awaiting = self.db.get(Ticket, self.awaiting_id)
            ref = awaiting.reference if awaiting is not None else None
        if ref is not None:
            self.state.aside_at = self.tickets.clock()
        return ref

    def relay(
        self,
        inbound: Inbound,
        meaning: Interpretation | None,
        reopen: bool = True,
        answers: bool = True,
    ) -> list[Action] | None:
        """A message for the agent of a ticket goes onto it; None when no ticket is addressed.

        Without ``reopen`` (a bare "merci") nothing is addressed: thanks never reopen a
        request, answer a question or break the silence the auto-close waits for. A
        short yes ("oui ça me va") to a proposed solution accepts it, as its button does.
        Without ``answers`` (a question of theirs, answered by the help pages) the agent
        reads it, and the request still waits for what was asked.
        """
        ticket = self._addressed_ticket(inbound.text)
        if ticket is None:
            return None
        status = TicketStatus(ticket.status)
        waiting_on_them = status is TicketStatus.INFO_REQUESTED
        if waiting_on_them and meaning is not None and self._asks_where_it_stands(meaning):
            listing = self.listing()  # "où en est ma demande ?" is not the awaited answer
            return [listing] if listing is not None else None
        proposed = status is TicketStatus.SOLUTION_PROPOSED
        if proposed and not inbound.files and _says_yes(meaning, inbound.text):
            return self.answer_button(Payload(Kind.SOLUTION, ("yes", ticket.reference)))
        if not reopen and not inbound.files and status is not TicketStatus.RECEIVED:
            return None  # a bare "merci": a polite word in the chat; nothing moves
        closed = status is TicketStatus.CLOSED
        if closed and not self.tickets.can_reopen(ticket):
            return [Reply(self.t("cannot_reopen", ref=ticket.reference))]
        replies: list[Action] = []
        accepted: list[NewAttachment] = []
        for incoming in inbound.files:
            problem = self.runner.check_file(tuple(AttachmentKind), incoming, self.lang)
            if problem:
                replies.append(Reply(problem))
                continue
            record = self.runner.store_file(incoming)
            accepted.append(NewAttachment("message", record))
        names = ", ".join(a.file.name for a in accepted)
        typed, hidden = mask_card_numbers(inbound.text.strip())
        if hidden:
            replies.append(Reply(self.t("card_masked")))
        body = typed or names
        if not body:
            return replies
        if closed:  # the customer comes back on a closed request: reopened, within the window
            self.tickets.change_status(self.db, ticket, TicketStatus.RECEIVED, CUSTOMER)
        self.tickets.add_customer_message(ticket, body, accepted)
        # An answer to a question, or words about a proposed solution ("non, ça ne marche
        # pas"): back to the agent, and no auto-close for silence. Thanks leave it as is.
        answered = (TicketStatus.INFO_REQUESTED.value, TicketStatus.SOLUTION_PROPOSED.value)
        if ticket.status in answered and answers:
            self.tickets.change_status(self.db, ticket, TicketStatus.RECEIVED, CUSTOMER)
        ref = ticket.reference
        relayed = body if not names or body == names else f"{body}\n📎 {names}"
        return [*replies, Reply(self.t("handoff_relayed", ref=ref)), NotifyAgents(ref, relayed)]

    def rating_in_words(
        self, meaning: Interpretation | None, asked: Callable[[], bool]
    ) -> list[Action] | None:
        """ "4 sur 5, un peu long mais réglé" right after the rating question (``asked``:
        the last thing the bot asked) of a request closed in the last week and not rated
        yet: the rating, as its button gives it."""
        if meaning is None or meaning.rating is None or meaning.words > 20 or not asked():
            return None
        since = self.tickets.clock() - timedelta(days=7)
        ticket = self.db.scalars(
            select(Ticket)
            .where(
                Ticket.customer_id == self.customer_id,
                Ticket.status == TicketStatus.CLOSED.value,
                Ticket.rating.is_(None),
                Ticket.closed_at >= since,
            )
            .order_by(Ticket.closed_at.desc())
        ).first()
        if ticket is None:
            return None
        return self.answer_button(Payload(Kind.RATE, (ticket.reference, str(meaning.rating))))

    @staticmethod
    def _asks_where_it_stands(meaning: Interpretation) -> bool:
        return meaning.has(Act.STATUS) and meaning.words <= 12 and not meaning.has_values

    def answer_button(self, pressed: Payload) -> list[Action]:
        """The rating (reference, score) and solution (yes | no, reference) buttons of
        ticket notifications."""
        first, second = (*pressed.args, "", "")[:2]
        rating = pressed.kind is Kind.RATE
        ref, value = (first, second) if rating else (second, first)
        ticket = self._own(ref)
        if ticket is None:
            return [Reply(self.t("not_your_ticket"))]
        if rating:
            if not value.isdigit() or not 1 <= int(value) <= 5:
                return [Reply(self.t("stale_button"))]
            if not self.tickets.rate(ticket, int(value)):
                return [Reply(self.t("already_rated", score=ticket.rating))]
            return [Reply(self.t("rating_thanks"))]
        status = TicketStatus(ticket.status)
        if value == "yes" and status is TicketStatus.SOLUTION_PROPOSED:
            self.tickets.change_status(self.db, ticket, TicketStatus.CLOSED, CUSTOMER)
            return [Reply(self.t("solution_accepted", ref=ref))]
        if value == "no" and status in (TicketStatus.SOLUTION_PROPOSED, TicketStatus.CLOSED):
            if status is TicketStatus.CLOSED and not self.tickets.can_reopen(ticket):
                return [Reply(self.t("cannot_reopen", ref=ref))]
            self.tickets.change_status(self.db, ticket, TicketStatus.RECEIVED, CUSTOMER)
            self.state.handoff = ref
            return [Reply(self.t("solution_rejected", ref=ref))]
        return [Reply(self.t("stale_button"))]

    def listing(self) -> Reply | None:
        """The customer's tickets with their status, or None when there are none."""
        tickets = self.tickets.for_customer(self.db, self.customer)
        if not tickets:
            return None
        lines = [self.t("tickets_list")]
        for ticket in tickets:
            status = self.t(f"status_{ticket.status}")
            flow = self.flows.get(ticket.flow_id)
            title = flow.title.get(self.lang) if flow else ticket.subject.split(" — ")[0]
            lines.append(f"• {ticket.reference} · {title} · {status}")
        return Reply("\n".join(lines))
