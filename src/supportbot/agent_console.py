"""The agent console: open tickets, one ticket's card, and every agent action, on stdin/stdout.

It works on the same store and ticket service as the Telegram agent group
(through ``AgentDesk``), prints plain text so it can be piped, and polls the
store in the background to show the customer's new messages as they arrive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from supportbot.agents import AgentDesk, KeyInUse, TicketView
from supportbot.replies import ReplyBook, ReplyTemplate, TemplateValues, UnknownTemplate
from supportbot.tickets import (
    CUSTOMER,
    SYSTEM,
    CustomerErased,
    EventKind,
    InvalidTransition,
    TicketNotFound,
    TicketStatus,
)

log = logging.getLogger(__name__)

AGENT_ERRORS = (TicketNotFound, InvalidTransition, UnknownTemplate, KeyInUse, CustomerErased)
_EVENT_LABELS = {
    "created": "request",
    "customer_message": "customer",
    "merged": "request added",
    "agent_message": "agent {author}",
    "note": "note by {author}",
    "status": "status change by {author}",
    "rating": "rating",
}
HELP = """\
list                 open tickets (overdue first, then by due time)
open REF|N           show a ticket (N: its number in the last list) and follow it
show                 the open ticket's card again
take                 take the open ticket
reply TEXT           send TEXT to the customer
ask TEXT             ask the customer for information (status: info_requested)
propose TEXT         propose a solution (status: solution_proposed)
close [TEXT]         close the ticket, with an optional last message
note TEXT            internal note, never shown to the customer
templates            the reply templates
template NAME        preview a template in the customer's language, then confirm
help                 this help
quit                 leave"""


# Not words to the customer: notes, jobs, ratings (status changes: see _spoken).
_BOOKKEEPING = {EventKind.NOTE.value, EventKind.JOB.value, EventKind.RATING.value}


def _spoken(event: tuple[datetime, str, str, str]) -> bool:
    """Words exchanged with the customer: messages, and an agent's status change (a
    question, a proposal); not the status a customer's message moved."""
    _, kind, author, _ = event
    if kind == EventKind.STATUS.value:
        return author not in (CUSTOMER, SYSTEM)
    return kind not in _BOOKKEEPING


def is_overdue(view: TicketView, now: datetime) -> bool:
    """Past its due time while the Support has it: not while waiting on the customer
    (the clock is paused) or on their verdict on a proposed solution."""
    received = view.status == TicketStatus.RECEIVED.value
    return received and view.due_at is not None and view.due_at < now


def customer_wrote_last(view: TicketView) -> bool:
    """The customer's message is the latest word: they wait for the Support."""
    said = [e for e in view.events if _spoken(e)]
    theirs = (EventKind.CUSTOMER_MESSAGE, EventKind.CREATED, EventKind.MERGED)  # a request
    return bool(said) and said[-1][1] in {kind.value for kind in theirs}


def ticket_row(view: TicketView, tz: tzinfo, now: datetime) -> str:
    due = f"{view.due_at.astimezone(tz):%d/%m %H:%M}" if view.due_at else "-"
    flag = "!" if is_overdue(view, now) else " "
    flag += "*" if customer_wrote_last(view) else " "
    taken = f"[{view.assignee}]  " if view.assignee else ""
    return (
        f"{flag} {view.reference}  {view.status:<17} due {due}  {taken}{view.customer}  "
        f"{view.subject[:60]}"
    )


def event_line(event: tuple[datetime, str, str, str], tz: tzinfo) -> str:
    at, kind, author, text = event
    label = _EVENT_LABELS.get(kind, kind + " ({author})").format(author=author or "?")
    body = text.replace("\n", "\n    ")
    return f"[{at.astimezone(tz):%d/%m %H:%M}] {label}: {body}".rstrip(": ")


def ticket_card(view: TicketView, tz: tzinfo, now: datetime) -> list[str]:
    """Everything an agent needs on one ticket, conversation included."""
    due = "-"
    if view.due_at is not None:
        due = f"{view.due_at.astimezone(tz):%Y-%m-%d %H:%M}"
        due += " (overdue)" if is_overdue(view, now) else ""
    lines = [
        f"{view.reference} · {view.status} · {view.category} · {view.priority}",
        f"customer: {view.customer}",
        f"subject:  {view.subject}",
        f"order:    {view.order_number or '-'}",
        f"due:      {due}",
        f"taken by: {view.assignee or 'nobody yet'}",
    ]
    if view.fields:
        lines.append("fields:")
        lines += [f"  {key}: {value}" for key, value in view.fields.items()]
    if view.attachments:
        lines.append("attachments:")
        lines += [f"  {name} ({mime}) {path or '-'}" for name, mime, path in view.attachments]
    lines.append("conversation:")
    lines += ["  " + event_line(event, tz) for event in view.events]
    return lines


def ticket_dict(view: TicketView, now: datetime, full: bool = True) -> dict[str, Any]:
    """The ticket as JSON: what `agent show --json` and the scripted actions print."""
    data: dict[str, Any] = {
        "reference": view.reference,
        "status": view.status,
        "category": view.category,
        "priority": view.priority,
        "subject": view.subject,
        "customer": view.customer,
        "order_number": view.order_number,
        "assignee": view.assignee,
        "due_at": view.due_at.isoformat() if view.due_at else None,
        "overdue": is_overdue(view, now),
    }
    if not full:
        return data
    return data | {
        "fields": view.fields,
        "attachments": [
            {"name": name, "mime": mime, "path": path} for name, mime, path in view.attachments
        ],
        "events": [
            {"at": at.isoformat(), "kind": kind, "author": author, "text": text}
            for at, kind, author, text in view.events
        ],
    }


def send_template(
    desk: AgentDesk,
    template: ReplyTemplate,
    reference: str,
    agent: str,
    body: str,
    key: str | None = None,
    version: int | None = None,
) -> TicketView:
    """Send a filled template; one that closes (``closes: true``) closes the ticket with it."""
    if template.closes:
        return desk.close(reference, agent, body, key=key, version=version)
    return desk.reply(reference, agent, body, key=key, version=version)


def fill_template(desk: AgentDesk, book: ReplyBook, reference: str, name: str, agent: str) -> str:
    """The template ``name`` filled for this ticket, in the customer's language."""
    template = book.get(name)
    with desk.sessions() as db:
        ticket = desk.tickets.get(db, reference)
        due = ticket.due_at.astimezone(desk.tickets.calendar.tz) if ticket.due_at else None
        values = TemplateValues(
            customer_name=ticket.customer.name,  # never an id: no name, no name said
            ticket_ref=ticket.reference,
            order_number=ticket.order_number,
            due=due,
            agent_name=agent,
        )
        return template.render(ticket.language, values)


@dataclass
class AgentConsole:
    """One agent at the terminal; ``run`` reads commands until quit or end of input."""

    desk: AgentDesk
    book: ReplyBook
    agent: str
    out: TextIO
    interactive: bool = False
    poll_seconds: float = 1.0
    current: str | None = field(default=None, init=False)
    confirming: bool = field(default=False, init=False)
    _question: str = field(default="", init=False)
    # Events of the open ticket already shown, references already listed or announced.
    _seen: int = field(default=0, init=False)
    _listed: list[str] = field(default_factory=list, init=False)
    _known: set[str] = field(default_factory=set, init=False)
    # events already seen on each listed ticket: a customer's new message is announced
    _counts: dict[str, int] = field(default_factory=dict, init=False)
    _lines: Iterator[str] = field(default_factory=lambda: iter(()), init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    @property
    def tz(self) -> tzinfo:
        return self.desk.tickets.calendar.tz

    def now(self) -> datetime:
        return self.desk.tickets.clock()

    def prompt(self) -> str:
        if self.confirming:
            return f"{self._question} "
        return f"{self.current or 'agent'}> "

    def say(self, *lines: str) -> None:
        with self._lock:
            for line in lines:
                print(line, file=self.out)
            self.out.flush()

    # -- the loop ------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.say(f"supportbot agent console, signed in as {self.agent}. Type help for commands.")
        self.command("list")
        poller = threading.Thread(target=self._poll_loop, name="agent-poll", daemon=True)
        poller.start()
        try:
            for raw in self._lines:
                if not self.command(raw):
                    break
        finally:
            self._stop.set()
            poller.join()

    def command(self, raw: str) -> bool:
        """Apply one typed line; False when the agent wants to leave."""
        word, _, rest = raw.strip().partition(" ")
        word, rest = word.lower(), rest.strip()
        if word in ("quit", "exit", "q"):
            return False
        if not word:
            return True
        handler = self._handlers().get(word)
        if handler is None:
            self.say(f"unknown command {word!r}; type help")
            return True
        try:
            handler(rest)
        except AGENT_ERRORS as err:
            self.say(f"error: {err}")
        except SQLAlchemyError as err:
            log.warning("store error in the agent console: %s", type(err).__name__)
            self.say("error: the store did not answer; try again")
        return True

    def _handlers(self) -> dict[str, Callable[[str], None]]:
        return {
            "help": lambda _: self.say(HELP),
            "list": self._list,
            "ls": self._list,
            "open": self._open,
            "show": lambda _: self._show(self._ticket()),
            "take": self._take,
            "reply": lambda text: self._send(self.desk.reply, text),
            "ask": lambda text: self._send(self.desk.ask, text),
            "propose": lambda text: self._send(self.desk.propose, text),
            "note": lambda text: self._send(self.desk.note, text),
            "close": self._close,
            "templates": self._templates,
            "template": self._template,
        }

    # -- commands ------------------------------------------------------------

    def _list(self, _: str = "") -> None:
        views = self.desk.open_tickets()
        now = self.now()
        self._listed = [v.reference for v in views]
        self._known |= set(self._listed)
        self._counts.update({v.reference: len(v.events) for v in views})
        if not views:
            self.say("no open tickets")
            return
        self.say(
            f"{len(views)} open ticket(s), overdue (!) first; * the customer wrote last:",
            *(f"{i:>3} {ticket_row(v, self.tz, now)}" for i, v in enumerate(views, 1)),
        )

    def _open(self, ref: str) -> None:
        if ref.isdigit() and 1 <= int(ref) <= len(self._listed):
            ref = self._listed[int(ref) - 1]
        if not ref:
            self.say("open what? open REF (or its number in the list)")
            return
        view = self.desk.show(ref)
        with self._lock:
            self.current, self._seen = view.reference, len(view.events)
        self._show(view)

    def _show(self, ref_or_view: str | TicketView) -> None:
        view = self.desk.show(ref_or_view) if isinstance(ref_or_view, str) else ref_or_view
        self.say(*ticket_card(view, self.tz, self.now()))

    def _ticket(self) -> str:
        if self.current is None:
            raise TicketNotFound("no ticket is open; open REF first")
        return self.current

    def _take(self, _: str) -> None:
        ref = self._ticket()
        self._act(lambda: self.desk.take(ref, self.agent))

    def _close(self, text: str) -> None:
        ref = self._ticket()
        self._act(lambda: self.desk.close(ref, self.agent, text))

    def _send(self, action: Callable[[str, str, str], TicketView], text: str) -> None:
        ref = self._ticket()
        if not text:
            self.say("error: this command needs a text")
            return
        self._act(lambda: action(ref, self.agent, text))

    def _act(self, action: Callable[[], TicketView]) -> None:
        """Run an action, show what others wrote meanwhile, then the ticket's new state.

        The poller waits meanwhile, so it never announces the agent's own event.
        """
        with self._lock:
            view = action()
            fresh = view.events[self._seen :]
            self._seen = max(self._seen, len(view.events))
            others = [e for e in fresh[:-1] if e[2] != self.agent]
            self.say(*(event_line(e, self.tz) for e in others))
            done = event_line(view.events[-1], self.tz) if view.events else ""
            self.say(f"{view.reference} is {view.status}; {done}")

    def _templates(self, _: str = "") -> None:
        if not self.book.templates:
            self.say("no reply templates (replies/*.yaml)")
            return
        self.say(*(f"{t.name:<26} {t.title.get('fr')}" for t in self.book.templates.values()))

    def _template(self, name: str) -> None:
        if not name:
            self._templates()
            return
        ref = self._ticket()
        text = fill_template(self.desk, self.book, ref, name, self.agent)
        template = self.book.get(name)
        question = "send it and close the ticket? (y/N)" if template.closes else "send it? (y/N)"
        # Asked once: by the prompt when someone types, on its own line for a script.
        self.say(
            "--- preview ---", text, "---------------", *([] if self.interactive else [question])
        )
        with self._lock:
            self._question, self.confirming = question, True
        try:
            answer = next(self._lines, "").strip().lower()
        finally:
            self.confirming = False
        if answer not in ("y", "yes", "o", "oui"):
            self.say("not sent")
            return
        self._act(lambda: send_template(self.desk, template, ref, self.agent, text))

    # -- following the store ---------------------------------------------------

    def _poll_loop(self) -> None:
        ticks = 0
        while not self._stop.wait(self.poll_seconds):
            ticks += 1
            try:
                self._poll_ticket()
                if ticks % 5 == 0:
                    self._poll_new_tickets()
            except (SQLAlchemyError, TicketNotFound) as err:
                log.warning("agent console poll failed: %s", type(err).__name__)

    def _poll_ticket(self) -> None:
        ref = self.current
        if ref is None:
            return
        view = self.desk.show(ref)
        with self._lock:
            if self.current != ref or len(view.events) <= self._seen:
                return
            fresh = view.events[self._seen :]
            self._seen = len(view.events)
            self._announce([f"{ref} " + event_line(e, self.tz) for e in fresh])

    def _poll_new_tickets(self) -> None:
        """New tickets, and customers' messages on tickets other than the one open."""
        views = self.desk.open_tickets()
        now = self.now()
        lines = [
            "new ticket: " + ticket_row(v, self.tz, now).strip()
            for v in views
            if v.reference not in self._known
        ]
        for view in views:
            before = self._counts.get(view.reference, len(view.events))
            if view.reference in self._known and view.reference != self.current:
                lines += [
                    f"{view.reference} {event_line(e, self.tz)}"
                    for e in view.events[before:]
                    if e[1] == EventKind.CUSTOMER_MESSAGE.value
                ]
            self._counts[view.reference] = len(view.events)
        self._known |= {v.reference for v in views}
        if lines:
            self._announce(lines)

    def _announce(self, lines: list[str]) -> None:
        """Print while the agent may be typing: clear the prompt's line, then show it again."""
        with self._lock:
            if self.interactive:
                self.out.write("\r\x1b[K")
            self.say(*lines)
            if self.interactive:
                self.out.write(self.prompt())
                self.out.flush()
