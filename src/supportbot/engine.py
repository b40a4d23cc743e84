"""The conversation engine: one inbound event in, a list of actions out.

It knows no channel. The state of each chat lives in the store (conversation
row), so a restart or another worker continues the same conversation; one
chat's events are applied one at a time (row lock on PostgreSQL, a process
lock per chat on SQLite, which has a single writer anyway).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, partial
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from supportbot.casework import AGENT_CONVERSATION, CustomerCases, awaiting_ticket
from supportbot.content import AttachmentKind, Content, FaqEntry, FieldType
from supportbot.fields import choice_named_in
from supportbot.flows import CONFIRM, FlowRunner
from supportbot.language import guess_language
from supportbot.lexicon import Act
from supportbot.masking import mask_card_numbers, mask_personal_data
from supportbot.matching import Resolution
from supportbot.messages import Action, Button, Document, ForgetAgentThreads, Inbound, Reply
from supportbot.normalise import normalise
from supportbot.outbox import Outbox, OutboxRow, TurnMessages, message_row, notice_rows, queue
from supportbot.payloads import Kind, Payload, make
from supportbot.privacy import agent_threads, delete_files, export_customer, forget_customer
from supportbot.routing import Router
from supportbot.state import ConversationState, FlowState, Offer
from supportbot.store import (
    AnswerEvent,
    AnswerFeedback,
    Conversation,
    Customer,
    FlowEvent,
    InboundEvent,
    OutboxMessage,
    StoreUnavailable,
    UnansweredQuestion,
)
from supportbot.texts import text
from supportbot.tickets import TicketService, TicketStatus
from supportbot.understanding import Interpretation, Understanding

MAX_TEXT = 4000
# An "ok" followed by more than this many words is the opening of their own sentence.
OK_WORDS = 4
HUMAN_FLOW = "human-agent"  # the catalog's flow that hands a conversation to a person
ORDER_FLOW = "order-problem"  # the catalog's flow for anything wrong with an order
# Statuses in which the agent waits for what the customer says next.
_AWAITS_THE_CUSTOMER = frozenset(
    {TicketStatus.INFO_REQUESTED.value, TicketStatus.SOLUTION_PROPOSED.value}
)
# Buttons of the menu and of answers, pressed while a request is under way.
_OUTSIDE_A_FLOW = frozenset(
    {Kind.FAQ, Kind.FLOW, Kind.THEME, Kind.MENU, Kind.REQUESTS, Kind.NOMATCH}
)
CHAT_LOCK_NAMESPACE = 0x5B01  # advisory-lock namespace of per-chat serialisation
log = logging.getLogger(__name__)
LANGS = ("fr", "en")
THEME_TITLES = {
    "orders": ("Commandes et livraison", "Orders and delivery"),
    "returns": ("Retours et remboursements", "Returns and refunds"),
    "disputes": ("Litiges et vendeurs", "Disputes and sellers"),
    "account": ("Compte et données", "Account and data"),
    "support": ("Fonctionnement du Support", "How Support works"),
}
MESSAGES_PER_MINUTE = 20
EARLY_FILES = 10  # files kept from before a request is started


# C0 controls but tab and newline, DEL and C1 controls: never meaningful in a chat, and
# PostgreSQL refuses NUL in text and JSON; invisible zero-width characters, which would
# make an empty message look written.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b\u200c\u200e\u200f\u202a-\u202e\u2060\u2800\ufeff]"
)


# Emoji say thanks too; they fold to nothing, so they are told apart here.
_THANKS_EMOJI = ("🙏", "👍", "👌")
_POLITE = frozenset({Act.THANKS, Act.ACKNOWLEDGE, Act.CONFIRM})
_POLITE_OPENINGS = frozenset({Act.THANKS, Act.ACKNOWLEDGE})
_HELLO = frozenset({Act.GREETING, Act.PRESENCE})
# A question typed while an agent handles a request is answered from the FAQ only when
# the matcher is this sure (twice the FAQ threshold): otherwise it goes to the agent.
ASIDE_SCORE = 26.0
_TO_THE_AGENT = frozenset({Act.STATUS, Act.HUMAN, Act.PRESENCE, Act.ABOUT_BOT})
# What a whole message may be to switch the language: the request, asked as a question,
# a want or neither ("hello, do you speak English?", "vous pouvez répondre en français ?"),
# and polite words.
_ASKING = frozenset({Act.GREETING, Act.THANKS, Act.CORRECT, Act.QUESTION, Act.PRESENCE, Act.WANT})
_ASKING_FRENCH = _ASKING | {Act.WANTS_FRENCH}
_ASKING_ENGLISH = _ASKING | {Act.WANTS_ENGLISH}


# A refused answer that clearly asks an FAQ question offers the request that entry offers
# only above this score (the entry is a step away from the request).
OFFERED_FLOW_SCORE = 45.0


def _is_gratitude(meaning: Interpretation | None, message: str) -> bool:
    """ "merci", "ok merci", "thanks", 🙏: thanks, and nothing else (not "oui", not "ok")."""
    if message.strip() in _THANKS_EMOJI[:2]:
        return True
    return meaning is not None and Act.THANKS in meaning.whole and meaning.whole <= _POLITE


def _own_plan(meaning: Interpretation | None) -> bool:
    """ "ok I'll give them a couple of days then": an acknowledgement opening a sentence
    of their own, with nothing to look up in it (no value, no negation)."""
    if meaning is None or not meaning.opening & _POLITE_OPENINGS:
        return False
    return not meaning.has_values and not meaning.negated


def _is_thanks(meaning: Interpretation | None, message: str) -> bool:
    """ "ok", "merci", "thanks", 👍, "ok found it thanks", "cheers, bye": a polite word,
    never a question."""
    if message.strip() in _THANKS_EMOJI:
        return True
    if meaning is None:
        return False
    if meaning.whole and meaning.whole <= _POLITE:
        return True
    said_thanks = meaning.has(Act.THANKS) and meaning.words <= 6 and "?" not in message
    return said_thanks and not meaning.has_values and not (meaning.acts - _POLITE)


def clean_inbound(inbound: Inbound) -> Inbound:
    """The same event without control characters in what the customer typed."""
    files = tuple(replace(f, name=_CONTROL.sub("", f.name)) for f in inbound.files)
    return replace(inbound, text=_CONTROL.sub("", inbound.text), files=files)


def pick_language(requested: str | None, default: str = "fr") -> str:
    """French unless the customer's language is another supported one."""
    if requested:
        code = requested.lower().split("-")[0]
        if code in LANGS:
            return code
    return default


@dataclass
class Engine:
    content: Content
    matcher: Router
    sessions: sessionmaker[Session]
    tickets: TicketService
    runner: FlowRunner
    clock: Callable[[], datetime]
    understanding: Understanding
    default_language: str = "fr"
    _chat_locks: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock), repr=False
    )

    @property
    def outbox(self) -> Outbox:
        """What waits for customers (agent replies, status notices), on the same store."""
        return Outbox(self.sessions, self.clock)

    # -- entry points --------------------------------------------------------

    def handle(self, inbound: Inbound) -> list[Action]:
        """Apply one customer event and return what to send back.

        If the database is unreachable the customer is asked to retry and nothing
        is half-stored (the transaction is rolled back as a whole).

        An event with a ``key`` (a channel that may deliver it again, Telegram) is
        applied once: its replies are queued in the outbox in the same transaction,
        not returned, and the channel delivers them from there; a second delivery of
        the key changes nothing and returns nothing. Such an event raises
        ``StoreUnavailable`` instead of the "try again" reply: nothing of it was kept,
        and the channel, which still holds it, runs it again later.
        """
        try:
            return self._handle(inbound)
        except OperationalError as err:
            log.warning("database unavailable while handling chat %s", inbound.chat_id)
            if inbound.key is not None:
                # The channel keeps keyed events: it tries again once the store is back,
                # rather than asking the customer to.
                raise StoreUnavailable(inbound.key) from err
            lang = pick_language(inbound.language, self.default_language)
            return [Reply(text(lang, "busy"))]

    def _handle(self, inbound: Inbound) -> list[Action]:
        inbound = clean_inbound(inbound)
        key = f"{inbound.channel}:{inbound.chat_id}"
        with self._chat_locks[key], self.sessions.begin() as db:
            chat = self._chat(db, inbound, key)
            if inbound.key is not None and not _first_delivery(db, inbound.key, self.clock()):
                log.info("event %s of chat %s already taken in", inbound.key, inbound.chat_id)
                return []  # its replies are in the outbox, sent or waiting
            turn = _Turn(self, db, chat, inbound)
            with TurnMessages.hold(db) as messages:
                actions = turn.run()
                if turn.erase:  # the erasure below empties the customer's outbox anyway
                    messages.drop()
                elif inbound.key is not None:
                    # The turn's replies first, then the messages it queued (a rating
                    # question after "Merci, je clôture").
                    actions = _queue_replies(messages.reply, inbound, actions, self.clock())
            if turn.erase:
                erased_files = forget_customer(db, turn.customer)
            else:
                erased_files = []
                db.execute(
                    _SAVE_STATE,
                    {
                        "conv_id": chat.conversation_id,
                        "state": turn.state.to_json(),
                        "now": self.clock(),
                    },
                )
            if inbound.key is not None and turn.erase:  # the erasure emptied the outbox first
                actions = _queue_replies(partial(queue, db), inbound, actions, self.clock())
        delete_files(erased_files)  # after the commit: the rows are gone for good
        return actions

    def _chat(self, db: Session, inbound: Inbound, key: str) -> _Chat:
        """This chat's conversation and customer, locked for the turn; created on first contact.

        One statement for every message: plain rows rather than ORM objects, and the
        customer object is loaded only by the turns that need it. On PostgreSQL the
        row lock (FOR UPDATE) orders one chat's events across workers; a chat's first
        event takes an advisory lock instead, as there is no row to lock yet.
        """
        params = {
            "channel": inbound.channel,
            "chat_id": inbound.chat_id,
            "since": self.clock() - AGENT_CONVERSATION,
            "reopenable_since": self.clock() - self.tickets.reopen_window,
        }
        row = db.execute(_LOAD_CHAT, params).first()
        if row is None and db.get_bind().dialect.name == "postgresql":
            db.execute(_CHAT_LOCK, {"ns": CHAT_LOCK_NAMESPACE, "key": key})
            row = db.execute(_LOAD_CHAT, params).first()  # another worker may have been first
        if row is not None:
            conv_id, customer_id, state, language, name, awaiting = row
            if inbound.user_name and name != inbound.user_name:
                db.execute(_RENAME, {"customer_id": customer_id, "name": inbound.user_name})
                name = inbound.user_name
            loaded = ConversationState.from_json(state)
            return _Chat(conv_id, customer_id, loaded, language, name, awaiting)
        customer = db.scalars(
            select(Customer).where(
                Customer.channel == inbound.channel, Customer.external_id == inbound.user_id
            )
        ).first()
        if customer is None:
            customer = Customer(
                channel=inbound.channel,
                external_id=inbound.user_id,
                name=inbound.user_name,
                language=pick_language(inbound.language, self.default_language),
                created_at=self.clock(),
            )
            db.add(customer)
        conv = Conversation(
            channel=inbound.channel, chat_id=inbound.chat_id, customer=customer, state={}
        )
        db.add(conv)
        db.flush()
        return _Chat(
            conv.id, customer.id, ConversationState(), customer.language, customer.name, None
        )


@dataclass(frozen=True, slots=True)
class _Chat:
    conversation_id: int
    customer_id: int
    state: ConversationState  # freshly read: the turn changes it, the engine saves it
    language: str
    name: str
    awaiting_id: int | None  # the customer's ticket waiting for their answer


_CHAT_LOCK = sql_text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))")
_conversations = cast(Table, Conversation.__table__)
_customers = cast(Table, Customer.__table__)
# Built once: composing a statement costs more than running it on SQLite.
_LOAD_CHAT = (
    select(
        _conversations.c.id,
        _conversations.c.customer_id,
        _conversations.c.state,
        _customers.c.language,
        _customers.c.name,
        awaiting_ticket(
            _conversations.c.customer_id, bindparam("since"), bindparam("reopenable_since")
        ),
    )
    .join(_customers, _customers.c.id == _conversations.c.customer_id)
    .where(
        _conversations.c.channel == bindparam("channel"),
        _conversations.c.chat_id == bindparam("chat_id"),
    )
    .with_for_update(of=_conversations)
)
_RENAME = (
    update(_customers)
    .where(_customers.c.id == bindparam("customer_id"))
    .values(name=bindparam("name"))
)
_SAVE_STATE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conv_id"))
    .values(state=bindparam("state"), updated_at=bindparam("now"))
)
_inbound_events = cast(Table, InboundEvent.__table__)
_SEEN = select(_inbound_events.c.key).where(_inbound_events.c.key == bindparam("key"))
_TAKEN_IN = insert(_inbound_events).values(key=bindparam("key"), at=bindparam("at"))
_ANSWERED = insert(cast(Table, AnswerEvent.__table__)).values(
    label=bindparam("label"), at=bindparam("at")
)


def _first_delivery(db: Session, key: str, now: datetime) -> bool:
    """Record an inbound event's key; False when it was already taken in.

    Runs under the chat's lock, so two deliveries of one event never both pass.
    """
    if db.execute(_SEEN, {"key": key}).first() is not None:
        return False
    db.execute(_TAKEN_IN, {"key": key, "at": now})
    return True


def _queue_replies(
    write: Callable[[list[OutboxRow]], None],
    inbound: Inbound,
    actions: list[Action],
    now: datetime,
) -> list[Action]:
    """The turn's replies and its notices for the agent side go to the outbox (``write``),
    in the turn's transaction; the rest (a data export) is returned."""
    rows = [
        message_row(inbound.channel, inbound.chat_id, action.text, now, action.buttons)
        for action in actions
        if isinstance(action, Reply)
    ]
    write(rows + notice_rows(actions, now, inbound.chat_id, inbound.message_ids))
    return [a for a in actions if isinstance(a, Document)]


@dataclass
class _Turn:
    """The handling of one inbound event; short-lived, holds the open session."""

    engine: Engine
    db: Session
    chat: _Chat
    inbound: Inbound

    erase: bool = False
    _customer: Customer | None = None
    offered: Offer | None = None
    wrote_before: datetime | None = None

    @property
    def state(self) -> ConversationState:
        return self.chat.state

    @property
    def customer(self) -> Customer:
        """The ORM object, loaded on first use: most turns only need the plain row."""
        if self._customer is None:
            self._customer = self.db.get_one(Customer, self.chat.customer_id)
        return self._customer

    @property
    def lang(self) -> str:
        return self.state.lang or self.chat.language or "fr"

    @cached_property
    def cases(self) -> CustomerCases:
        """The customer's tickets for this turn (built on first use, once)."""
        e = self.engine
        return CustomerCases(
            e.tickets,
            e.runner,
            self.db,
            self.chat.customer_id,
            lambda: self.customer,
            self.chat.awaiting_id,
            self.state,
            self.lang,
            e.clock(),
            e.content.flows,
        )

    def t(self, key: str, **values: Any) -> str:
        return text(self.lang, key, **values)

    @cached_property
    def meaning(self) -> Interpretation | None:
        """The one reading of what the customer typed this turn (None for a button or a
        file alone): every policy below acts on it."""
        typed = self.inbound.text.strip()
        if self.inbound.payload or not typed:
            return None
        return self.engine.understanding.read(typed[:MAX_TEXT], self.engine.clock())

    def run(self) -> list[Action]:
        inbound = self.inbound
        if self.state.lang is None:
            self.state.lang = self.chat.language
        message = inbound.text.strip()
        opening_chat = message.split(" ")[0].lower() in ("/start", "/resume")
        if not opening_chat and self._too_fast():  # a terminal reconnecting is no message
            return [Reply(self.t("rate_limited"))]
        # When the customer last did something (a channel reconnecting does not count):
        # what the bot asked since is what they answer now.
        self.wrote_before = self.state.wrote_at
        if not opening_chat:
            self.state.wrote_at = self.engine.clock()
        # "/forget" asks yes or no; the next message answers it, or it is no longer asked
        pending_forget, self.state.forget_pending = self.state.forget_pending, False
        # A request offered under an answer: "oui" in the very next message takes it up.
        self.offered, self.state.offered = self.state.offered, None
        if message.startswith("/"):
            return self._command(message)
        pressed = Payload.parse(inbound.payload)
        if pressed is not None and pressed.kind is Kind.FORGET:
            return self._forget(pressed.arg == "yes")
        in_flow = self.state.flow is not None
        if pending_forget and not inbound.payload and not in_flow:  # "oui" for the button
            answer = self.meaning.yes_or_no if self.meaning is not None else None
            if answer is not None:
                return self._forget(answer == "yes")
        if pressed is not None and pressed.kind is Kind.LANG:
            return self._set_language(pressed.arg)
        if pressed is not None and pressed.kind in (Kind.FEEDBACK, Kind.RATE, Kind.SOLUTION):
            return self._feedback_button(pressed)
        if self.state.flow is not None:
            return self._continue_flow(self.state.flow)
        if inbound.payload:
            return self._payload(pressed)
        rated = self.cases.rating_in_words(self.meaning, self._rating_asked)
        if rated is not None:
            return rated
        asked = self._question_for_the_pages()
        if asked is not None:
            return asked
        thanks = _is_gratitude(self.meaning, message)
        relayed = self.cases.relay(inbound, self.meaning, reopen=not thanks)
        if relayed is not None:
            return relayed
        if inbound.files:
            before = len(self.state.early_files)
            kept = self._keep_early_files()
            refused = kept and len(self.state.early_files) == before
            if not message and refused:  # said why, and nothing was kept
                return [*kept, Reply(self.t("menu"), self._menu_buttons())]
            if not message:
                return [*kept, Reply(self.t("attach_kept_no_request"), self._menu_buttons())]
            return [*kept, *self._free_text(message)]  # the caption says what it is about
        if not message:
            return [Reply(self.t("empty_message"))]
        return self._free_text(message)

    def _question_for_the_pages(self) -> list[Action] | None:
        """A general question the help pages answer clearly ("how long does a refund
        take?"), typed while an agent handles a request: answered at once rather than
        passed on, unless it is about where the request stands. While the agent waits for
        information, it is also passed on, and the request still waits: a question is not
        the information asked for (a question about a solution offered is their answer)."""
        meaning = self.meaning
        if meaning is None or meaning.intent != "ask" or self.inbound.files:
            return None
        if meaning.whole or meaning.acts & _TO_THE_AGENT:
            return None  # "vous êtes là ?", "any news?": for the agent, whatever matches
        ticket = self.cases.talking_on(self.inbound.text)
        if ticket is None or ticket.status == TicketStatus.SOLUTION_PROPOSED.value:
            return None  # a question about the solution offered is their answer to it
        result = self.engine.matcher.resolve(self.inbound.text.strip()[:MAX_TEXT])
        best = result.best
        if best is None or result.ambiguous or not best.label.startswith("faq:"):
            return None
        if best.score < ASIDE_SCORE:
            return None
        entry = self.engine.content.faq[best.label.removeprefix("faq:")]
        if ticket.status in _AWAITS_THE_CUSTOMER:  # asked for information
            passed = self.cases.relay(self.inbound, meaning, answers=False) or []
            return [self._answer(entry), *passed]
        still = Reply(self.t("agent_still_there", ref=ticket.reference))
        return [self._answer(entry), still]

    def _keep_early_files(self) -> list[Action]:
        """Files sent before any request: checked, stored and kept for the request that
        follows (its attachments question), rather than refused and sent again."""
        runner = self.engine.runner
        kept = self.state.early_files
        replies: list[Action] = []
        for incoming in self.inbound.files:
            problem = runner.check_file(tuple(AttachmentKind), incoming, self.lang)
            if problem:
                replies.append(Reply(problem))
            elif len(kept) < EARLY_FILES:
                record = runner.store_file(incoming)
                if not any(r.checksum == record.checksum for r in kept):
                    kept.append(record)
        return replies

    # -- commands and navigation --------------------------------------------

    def _command(self, message: str) -> list[Action]:
        command, _, rest = message.partition(" ")
        command = command.split("@")[0].lower()
        if command in ("/start", "/resume"):
            flow_state = self.state.flow
            if flow_state is not None:
                # A returning customer mid-flow picks up the same question.
                flow = self.engine.content.flows[flow_state.id]
                return [
                    Reply(self.t("flow_resume", title=flow.title.get(self.lang))),
                    self.engine.runner.prompt(flow, flow_state, self.lang),
                ]
            return [self._welcome()] if command == "/start" else []
        if command == "/menu":
            return self._back_to_menu()
        if command in ("/help", "/aide"):
            return [Reply(self.t("help"), self._menu_buttons())]
        if command == "/lang":
            if rest.strip().lower() in LANGS:
                return self._set_language(rest.strip().lower())
            buttons = (
                Button("Français", make(Kind.LANG, "fr")),
                Button("English", make(Kind.LANG, "en")),
            )
            return [Reply(self.t("lang_choose"), buttons)]
        if command in ("/cancel", "/annuler"):
            if self.state.flow is None:
                return [Reply(self.t("nothing_to_cancel"), self._menu_buttons())]
            self.state.flow = None
            return [Reply(self.t("flow_cancelled"), self._menu_buttons())]
        if command == "/agent":
            current = self.state.flow
            if current is not None and current.id != HUMAN_FLOW:
                return self._continue_flow(current)  # handed over with what was said
            return self._start_flow(HUMAN_FLOW)
        if command == "/tickets":
            return [self.cases.listing() or Reply(self.t("tickets_none"), self._menu_buttons())]
        if command in ("/mydata", "/mesdonnees"):
            data = json.dumps(export_customer(self.db, self.customer), ensure_ascii=False, indent=2)
            name = f"supportbot-data-{self.customer.id}.json"
            return [Document(name, data.encode("utf-8"), self.t("mydata_caption"))]
        if command in ("/forget", "/oublier"):
            buttons = (
                Button(self.t("btn_forget_yes"), make(Kind.FORGET, "yes")),
                Button(self.t("btn_forget_no"), make(Kind.FORGET, "no")),
            )
            self.state.forget_pending = True
            return [Reply(self.t("forget_confirm"), buttons)]
        return [Reply(self.t("unknown_command", command=command))]

    def _rating_asked(self) -> bool:
        """The bot's last question since the customer last wrote is a rating."""
        query = (
            select(OutboxMessage.buttons)
            .where(
                OutboxMessage.channel == self.inbound.channel,
                OutboxMessage.chat_id == self.inbound.chat_id,
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        if self.wrote_before is not None:
            query = query.where(OutboxMessage.created_at >= self.wrote_before)
        last = self.db.execute(query).scalar()
        first = last[0] if last else {}
        asked = Payload.parse(str(first.get("payload", "")))
        return asked is not None and asked.kind is Kind.RATE

    def _too_fast(self) -> bool:
        """Per-customer message rate limit, kept in the conversation state."""
        now = self.engine.clock().timestamp()
        recent = [t for t in self.state.recent if now - t < 60]
        if len(recent) >= MESSAGES_PER_MINUTE:
            self.state.recent = recent
            return True
        self.state.recent = [*recent, now]
        return False

    def _forget(self, confirmed: bool) -> list[Action]:
        if not confirmed:
            return [Reply(self.t("forget_cancelled"), self._menu_buttons())]
        self.erase = True  # carried out by the engine once this turn is over
        actions: list[Action] = [Reply(self.t("forget_done"))]
        threads = agent_threads(self.db, self.customer)
        if threads:
            actions.append(ForgetAgentThreads(threads))
        return actions

    def _set_language(self, lang: str) -> list[Action]:
        if lang not in LANGS:
            return [Reply(self.t("lang_choose"))]
        self.state.lang = self.customer.language = lang
        replies: list[Action] = [Reply(self.t("lang_set"))]
        flow_state = self.state.flow
        if flow_state is not None:
            flow = self.engine.content.flows[flow_state.id]
            replies.append(self.engine.runner.prompt(flow, flow_state, lang))
        return replies

    def _welcome(self) -> Reply:
        name = f" {self.chat.name}" if self.chat.name else ""
        return Reply(self.t("welcome", name=name), self._menu_buttons())

    def _back_to_menu(self) -> list[Action]:
        """The menu; a conversation with an agent steps aside (the next questions are for
        the assistant, as "Pour une autre question : /menu" promised)."""
        aside = self.cases.step_aside()
        note = [Reply(self.t("handoff_paused", ref=aside))] if aside else []
        return [*note, self._menu()]

    def _menu(self) -> Reply:
        return Reply(self.t("menu"), self._menu_buttons())

    def _menu_buttons(self) -> tuple[Button, ...]:
        idx = 1 if self.lang == "en" else 0
        themes = [
            Button(THEME_TITLES.get(theme, (theme, theme))[idx], make(Kind.THEME, theme))
            for theme in self.engine.content.themes
        ]
        return (
            *themes,
            Button(self.t("btn_ticket"), make(Kind.REQUESTS)),
            Button(self.t("btn_human"), make(Kind.FLOW, HUMAN_FLOW)),
        )

    def _payload(self, pressed: Payload | None) -> list[Action]:
        kind, value = (pressed.kind, pressed.arg) if pressed is not None else (None, "")
        content = self.engine.content
        if kind is Kind.FAQ and value in content.faq:
            return [self._answer(content.faq[value])]
        if kind is Kind.FLOW and value in content.flows:
            if self.offered is not None and self.offered.flow == value:
                return self._start_offered(value)  # with what was said when it was offered
            return self._start_flow(value)
        if kind is Kind.THEME and value in content.themes:
            idx = 1 if self.lang == "en" else 0
            title = THEME_TITLES.get(value, (value, value))[idx]
            buttons = [
                Button(content.faq[i].title.get(self.lang), make(Kind.FAQ, i))
                for i in content.themes[value]
            ]
            buttons.append(Button(self.t("btn_menu"), make(Kind.MENU)))
            return [Reply(self.t("theme_menu", theme=title), tuple(buttons))]
        if kind is Kind.MENU:
            return self._back_to_menu()
        if kind is Kind.REQUESTS:  # "Ouvrir une demande": which one
            buttons = [
                Button(flow.title.get(self.lang), make(Kind.FLOW, flow_id))
                for flow_id, flow in content.flows.items()
                if flow_id != "human-agent"  # it has its own button
            ]
            buttons.append(Button(self.t("btn_menu"), make(Kind.MENU)))
            return [Reply(self.t("requests_menu"), tuple(buttons))]
        if kind is Kind.NOMATCH:
            return [Reply(self.t("not_understood"), self._menu_buttons())]
        return [Reply(self.t("stale_button"), self._menu_buttons())]

    def _answer(self, entry: FaqEntry) -> Reply:
        content = self.engine.content
        buttons: list[Button] = []
        if entry.flow and entry.flow in content.flows:
            title = content.flows[entry.flow].title.get(self.lang)
            buttons.append(
                Button(self.t("btn_start_flow", title=title), make(Kind.FLOW, entry.flow))
            )
        buttons += [
            Button(content.faq[r].title.get(self.lang), make(Kind.FAQ, r)) for r in entry.related
        ]
        buttons.append(Button(self.t("btn_menu"), make(Kind.MENU)))
        buttons.append(Button(self.t("btn_helpful"), make(Kind.FEEDBACK, "up", entry.id)))
        buttons.append(Button(self.t("btn_not_helpful"), make(Kind.FEEDBACK, "down", entry.id)))
        return Reply(self._answer_text(entry), tuple(buttons))

    def _answer_text(self, entry: FaqEntry) -> str:
        """The entry's answer in the customer's language, counted for the statistics."""
        # A list of parameters: no RETURNING of the new id, which nobody needs.
        self.db.execute(_ANSWERED, [{"label": f"faq:{entry.id}", "at": self.engine.clock()}])
        return entry.answer.get(self.lang).strip()

    def _feedback_button(self, pressed: Payload) -> list[Action]:
        """👍/👎 under an FAQ answer; rating and solution buttons go to the customer's cases."""
        if pressed.kind is Kind.FEEDBACK:
            vote, faq_id = (*pressed.args, "", "")[:2]
            if faq_id not in self.engine.content.faq or vote not in ("up", "down"):
                return [Reply(self.t("stale_button"), self._menu_buttons())]
            question = self.state.last_question[:500]
            self.db.add(
                AnswerFeedback(
                    faq_id=faq_id,
                    helpful=vote == "up",
                    question=question,
                    language=self.lang,
                    at=self.engine.clock(),
                )
            )
            if vote == "up":
                return [Reply(self.t("feedback_thanks"))]
            return [Reply(self.t("feedback_sorry"), self._menu_buttons())]
        return self.cases.answer_button(pressed)

    def _label_button(self, label: str) -> Button:
        kind, _, ident = label.partition(":")
        content = self.engine.content
        if kind == "faq":
            return Button(content.faq[ident].title.get(self.lang), label)
        return Button(content.flows[ident].title.get(self.lang), label)

    def _free_text(self, message: str) -> list[Action]:
        folded = normalise(message)
        if self._language_asked():
            return [Reply(self.t("lang_set"), self._menu_buttons())]
        self._follow_language(message)
        meaning = self.meaning
        if meaning is not None and meaning.whole and meaning.whole <= _HELLO:
            return [self._welcome()]  # "bonjour", "allo ?", "il y a quelqu'un ?"
        asks_status = meaning is not None and meaning.has(Act.STATUS)
        if asks_status and (listing := self.cases.listing()) is not None:
            return [listing]  # "où en est ma demande ?": theirs, not the FAQ's steps
        # longer, it says more: the matcher reads it
        short = meaning is not None and meaning.words <= 8
        if meaning is not None and meaning.words <= 25 and meaning.has(Act.INSULT):
            human = Button(self.t("btn_human"), make(Kind.FLOW, HUMAN_FLOW))
            return [
                Reply(
                    self.t("displeased"),
                    (human, Button(self.t("btn_menu"), make(Kind.MENU))),
                )
            ]
        if short and meaning is not None and Act.ABOUT_BOT in meaning.opening:
            human = Button(self.t("btn_human"), make(Kind.FLOW, HUMAN_FLOW))  # honest, and a human
            return [
                Reply(
                    self.t("about_bot"),
                    (human, Button(self.t("btn_menu"), make(Kind.MENU))),
                )
            ]
        taken_up = self._offer_taken_up(message)  # "yes please" to the request offered
        if taken_up is not None:
            return taken_up
        if _is_thanks(meaning, message):
            # No menu: it would replace buttons still waiting (a rating) in the terminal.
            return [Reply(self.t("acknowledged"))]
        # "question précédente", "annuler" with nothing in progress
        navigates = meaning is not None and (meaning.only(Act.CANCEL) or meaning.only(Act.BACK))
        if navigates:
            return [Reply(self.t("nothing_in_progress"), self._menu_buttons())]
        replies: list[Action] = []
        if len(message) > MAX_TEXT:
            replies.append(Reply(self.t("too_long", length=len(message))))
            message = message[:MAX_TEXT]
        result = self.engine.matcher.resolve(message)
        previous = self.state.last_question
        self.state.last_question = mask_personal_data(message[:500])
        if (result.best is None or result.ambiguous) and previous:
            result = self._in_context(message, previous, result)
        if result.best is None and "?" not in message and _own_plan(meaning):
            return [*replies, Reply(self.t("noted"))]
        if result.best is None:
            if folded:
                self.db.add(
                    UnansweredQuestion(
                        text=mask_personal_data(message[:500]),
                        language=self.lang,
                        at=self.engine.clock(),
                    )
                )
            order = self.engine.runner.order_named_in(message)
            if order is not None and ORDER_FLOW in self.engine.content.flows:
                # "débité deux fois pour ma commande 128374650": about that order, surely;
                # offered, never started behind their back (it may be a question)
                self._offer(ORDER_FLOW, message)
                buttons = (
                    Button(
                        self.t(
                            "btn_start_flow",
                            title=self.engine.content.flows[ORDER_FLOW].title.get(self.lang),
                        ),
                        make(Kind.FLOW, ORDER_FLOW),
                    ),
                    *self._menu_buttons(),
                )
                return [*replies, Reply(self.t("order_named_offer", order=order), buttons)]
            why = "out_of_scope" if result.out_of_scope else "not_understood"
            offered = self.offered
            if offered is not None and offered.flow in self.engine.content.flows:
                # still telling the story of the request just offered: offered again, with
                # all they said ("it just hasn't turned up, I checked the delivery page")
                flow_id = offered.flow
                self._offer(flow_id, f"{offered.said} {message}")
                title = self.engine.content.flows[flow_id].title.get(self.lang)
                start = Button(self.t("btn_start_flow", title=title), make(Kind.FLOW, flow_id))
                return [*replies, Reply(self.t(why), (start, *self._menu_buttons()))]
            return [*replies, Reply(self.t(why), self._menu_buttons())]
        if result.ambiguous:
            options = [self._label_button(m.label) for m in result.candidates[:2]]
            options.append(Button(self.t("btn_none"), make(Kind.NOMATCH)))
            return [*replies, Reply(self.t("did_you_mean"), tuple(options))]
        kind, _, ident = result.best.label.partition(":")
        if kind == "flow":  # a request, or the facts of a case (routing.Cases)
            return [*replies, *self._start_flow(ident, said=message, meaning=self.meaning)]
        entry = self.engine.content.faq[ident]
        if entry.flow:
            self._offer(entry.flow, message)
        elif self.offered is not None and self.offered.flow == ORDER_FLOW:
            # a side question ("où je trouve la facture ?") while the problem with an order
            # they told is on offer: answered, and the request stays offered
            self.state.offered = self.offered
        return [*replies, self._answer(entry)]

    def _offer(self, flow_id: str, message: str) -> None:
        """A request offered under this reply: taken up by its button or a "oui" next, it
        starts with what the customer said (the order number kept, contacts masked)."""
        said, _ = mask_card_numbers(message[:500])  # kept like a flow's answers
        self.state.offered = Offer(flow_id, said)

    def _start_offered(self, flow_id: str, also: str = "") -> list[Action]:
        before = self.offered.said if self.offered is not None else ""
        said = f"{before} {also}".strip()
        meaning = self.engine.understanding.read(said[:MAX_TEXT], self.engine.clock())
        return self._start_flow(flow_id, said=said, meaning=meaning)

    def _in_context(self, message: str, previous: str, alone: Resolution) -> Resolution:
        """A short follow-up question ("is it free? and their address?", "et on envoie
        quoi dans ce dossier ?") read with the question before it, when alone it says
        nothing clear: the answer it follows up on, not another topic's."""
        meaning = self.meaning
        if meaning is None or meaning.words > 15 or meaning.intent != "ask":
            return alone
        together = self.engine.matcher.resolve(f"{previous} {message}")
        if together.best is None or together.ambiguous:
            return alone
        return together

    def _offer_taken_up(self, message: str) -> list[Action] | None:
        """ "oui je veux ouvrir un ticket, ..." right after an answer that offered one."""
        offered = self.offered
        meaning = self.meaning
        if offered is None or meaning is None:
            return None
        refuses = meaning.has(Act.DENY) or meaning.has(Act.CANCEL)
        # "oui ...", or "please file it" said as a request: a question that mentions filing
        # ("par où passer pour faire une réclamation ?") takes nothing up
        asks = meaning.intent == "ask"
        thanks = meaning.has(Act.THANKS)  # "ok merci c'est clair": a thank-you, not a yes
        # "ok I'll give them a couple of days then": an "ok" that opens a sentence of
        # their own acknowledges the answer; "ok", "ok allons-y", "oui ..." take it up
        noted = (
            Act.ACKNOWLEDGE in meaning.opening
            and meaning.words > OK_WORDS
            and not meaning.only(Act.CONFIRM)
            and not meaning.has(Act.WANT)
        )
        says_yes = (Act.CONFIRM in meaning.opening and not thanks and not noted) or (
            meaning.has(Act.FILE) and not asks
        )
        flow = self.engine.content.flows.get(offered.flow)
        if refuses or flow is None:
            return None
        if not says_yes and (asks or not self._answers_a_choice_of(flow, message)):
            return None
        return self._start_offered(flow.id, also=message)  # what they said before counts

    def _answers_a_choice_of(self, flow: Any, message: str) -> bool:
        """The message names one of the request's choices ("autre problème : ...", "it's
        broken"): it answers what the request offered would ask, so it takes it up."""
        return any(
            choice_named_in(message, step.choices, near=False) is not None
            for step in flow.steps
            if step.type is FieldType.CHOICE
        )

    # -- flows -----------------------------------------------------------------

    def _start_flow(
        self,
        flow_id: str,
        said: str = "",
        order: str | None = None,
        meaning: Interpretation | None = None,
    ) -> list[Action]:
        flow = self.engine.content.flows[flow_id]
        current = self.state.flow
        runner = self.engine.runner
        if current is not None:
            active = self.engine.content.flows[current.id]
            if current.id == flow_id:
                return [
                    Reply(self.t("flow_resume", title=flow.title.get(self.lang))),
                    runner.prompt(active, current, self.lang),
                ]
            return [
                Reply(
                    self.t("flow_busy", title=active.title.get(self.lang)),
                    (
                        Button(self.t("btn_resume"), make(Kind.RESUME)),
                        Button(self.t("btn_cancel"), make(Kind.CANCEL)),
                    ),
                )
            ]
        if not flow.steps:
            return [
                Reply(
                    self.t("flow_unavailable", title=flow.title.get(self.lang)),
                    self._menu_buttons(),
                )
            ]
        early, self.state.early_files = self.state.early_files, []
        flow_state, replies = runner.start(
            flow, self.lang, said, order=order, meaning=meaning, files=early
        )
        flow_state.run = uuid.uuid4().hex
        self.state.flow = flow_state
        self._flow_event(flow_state, "started")
        self._flow_event(flow_state, "step")
        return list(replies)

    def _continue_flow(self, flow_state: FlowState) -> list[Action]:
        flow = self.engine.content.flows.get(flow_state.id)
        if flow is None or (flow_state.step not in {s.id for s in flow.steps} | {CONFIRM}):
            # The flow changed under a paused conversation: start over rather than guess.
            self.state.flow = None
            return [Reply(self.t("stale_button"), self._menu_buttons())]
        runner = self.engine.runner
        pressed = Payload.parse(self.inbound.payload)
        if pressed is not None and pressed.kind is Kind.RESUME:
            return [runner.prompt(flow, flow_state, self.lang)]
        if flow.id != HUMAN_FLOW and self._wants_a_person():
            return self._hand_over(flow, flow_state)
        switch = pressed.arg if pressed is not None and pressed.kind is Kind.SWITCH else ""
        if switch in self.engine.content.flows and switch != flow.id:
            return self._switch_flow(flow_state, switch)
        if pressed is not None and pressed.kind in _OUTSIDE_A_FLOW:
            return [
                Reply(
                    self.t("flow_busy", title=flow.title.get(self.lang)),
                    (
                        Button(self.t("btn_resume"), make(Kind.RESUME)),
                        Button(self.t("btn_cancel"), make(Kind.CANCEL)),
                    ),
                )
            ]
        if self._language_asked():  # "sorry, I don't speak French": the same question, in English
            return [Reply(self.t("lang_set")), runner.prompt(flow, flow_state, self.lang)]
        if not self.inbound.payload:
            self._follow_language(self.inbound.text, short=False)
        step_before = flow_state.step
        if (entry := self._aside_question(flow, flow_state)) is not None:
            # "how do I get my invoice first?" at a description: a question of its own, not
            # the description; answered, and the same question asked again
            return self._answered_in_flow(entry, flow, flow_state)
        outcome = runner.handle(flow, flow_state, self.inbound, self.lang, self.meaning)
        if outcome.refused and (aside := self._small_talk_in_flow()) is not None:
            # "merci", "vous êtes un robot ?" at the order number: answered, not a miss
            return [aside, runner.prompt(flow, flow_state, self.lang)]
        if outcome.refused and (entry := self._question_in_flow()) is not None:
            # "c quoi le délai de rétractation ?" at the order number: answer, then go on
            return self._answered_in_flow(entry, flow, flow_state)
        if outcome.refused and (other := self._other_flow_wanted(flow)) is not None:
            # "en fait je veux plutôt faire un retour": offered, never done behind their back
            title = other.title.get(self.lang)
            buttons = (
                Button(self.t("btn_switch", title=title), make(Kind.SWITCH, other.id)),
                Button(self.t("btn_resume"), make(Kind.RESUME)),
            )
            kept = self.t("switch_keeps_order") if "order_number" in flow_state.answers else ""
            return [Reply(self.t("switch_offer", title=title, kept=kept), buttons)]
        misses = flow_state.misses + 1 if outcome.refused else 0
        flow_state.misses = misses
        at_summary = flow_state.step == CONFIRM  # "retour" fixes it there
        if misses >= 2 and outcome.replies and not outcome.finished and not at_summary:
            # Stuck on a question: a person can take over with what was already said.
            *before, prompt = outcome.replies
            human = Button(self.t("btn_human"), make(Kind.FLOW, HUMAN_FLOW))
            return [
                *before,
                Reply(f"{prompt.text}\n{self.t('stuck_offer')}", (*prompt.buttons, human)),
            ]
        if outcome.submit and (count := self.cases.daily_limit_reached()):
            return [Reply(self.t("ticket_limit", count=count))]  # the flow stays at its summary
        actions: list[Action] = list(outcome.replies)
        if outcome.finished:
            word = "completed" if outcome.submit else "ended"
            self._flow_event(flow_state, word)
        elif flow_state.step != step_before:
            self._flow_event(flow_state, "step")
        if outcome.finished:
            self.state.flow = None
        if outcome.submit:
            actions += self.cases.submit(flow, flow_state)
        elif outcome.finished:
            actions.append(Reply(self.t("menu"), self._menu_buttons()))
        return actions

    def _other_flow_wanted(self, flow: Any) -> Any | None:
        """Another request the refused answer clearly asks for, or None."""
        message = self.inbound.text.strip()
        if self.inbound.payload or not message:
            return None
        result = self.engine.matcher.resolve(message[:MAX_TEXT])
        best = result.best
        if best is None or result.ambiguous or best.score < 30:
            return None
        kind, _, ident = best.label.partition(":")
        if kind == "faq" and best.score >= OFFERED_FLOW_SCORE:
            # "mon colis a du retard" in a return: the request that answer offers
            ident = self.engine.content.faq[ident].flow or ""
            kind = "flow" if ident else kind
        if kind != "flow" or ident in (flow.id, HUMAN_FLOW):
            return None
        return self.engine.content.flows[ident]

    def _switch_flow(self, flow_state: FlowState, flow_id: str) -> list[Action]:
        """The request they meant instead; the order number already given goes along."""
        order = flow_state.answers.get("order_number")
        self._flow_event(flow_state, "ended")
        self.state.flow = None
        return self._start_flow(flow_id, order=order)

    def _wants_a_person(self) -> bool:
        """The human button, /agent, or "je veux parler à un humain" typed at any step."""
        if self.inbound.payload is not None:
            pressed = Payload.parse(self.inbound.payload)
            return pressed is not None and pressed.is_(Kind.FLOW, HUMAN_FLOW)
        message = self.inbound.text.strip()
        if message.lower().split("@")[0] == "/agent":
            return True
        meaning = self.meaning
        if meaning is not None and meaning.has(Act.HUMAN) and meaning.words <= 12:
            return not meaning.has_values  # "est-ce que je peux parler à quelqu'un ?"
        best = self.engine.matcher.resolve(message[:MAX_TEXT]).best
        return best is not None and best.label == f"flow:{HUMAN_FLOW}" and best.score >= 40

    def _hand_over(self, flow: Any, flow_state: FlowState) -> list[Action]:
        """A person asked for in the middle of a request: what they said so far becomes
        the summary for the agent, nothing is typed twice."""
        runner = self.engine.runner
        said = [flow.title.get(self.lang)]
        for step_id in flow_state.history:
            if step_id in flow_state.answers:
                step = flow.step(step_id)
                shown = runner.display(step, flow_state, self.lang)
                said.append(f"{step.label.get(self.lang)} : {shown}")
        self._flow_event(flow_state, "ended")
        self.state.flow = None
        self._start_flow(HUMAN_FLOW)
        handed = self.state.flow
        assert handed is not None, "the human flow has steps"  # checked with the content
        handed.files = dict(flow_state.files)  # photos go along
        human = self.engine.content.flows[HUMAN_FLOW]
        summary = " · ".join(said)[:2000]
        answer = replace(self.inbound, text=summary, payload=None, files=())
        outcome = runner.handle(human, handed, answer, self.lang)
        self._flow_event(handed, "step")
        return [Reply(self.t("handoff_from_flow")), *outcome.replies]

    def _language_asked(self) -> bool:
        """ "sorry, I don't speak French", "en français svp": switched, and said so."""
        if self.inbound.payload:
            return False
        meaning = self.meaning
        if meaning is None or not meaning.whole:
            return False  # asked for outright: "le site est en anglais" is no request
        asked = "fr" if meaning.whole <= _ASKING_FRENCH and meaning.has(Act.WANTS_FRENCH) else None
        if meaning.whole <= _ASKING_ENGLISH and meaning.has(Act.WANTS_ENGLISH):
            asked = "en"
        if asked is None:
            return False
        self._switch_language(asked)
        return True

    def _follow_language(self, message: str, short: bool = True) -> None:
        """Answer in the language the customer writes in, when the message tells it."""
        written_in = guess_language(message, short, self.engine.content.lexicon)
        if written_in is not None and written_in != self.lang:
            self._switch_language(written_in)

    def _switch_language(self, lang: str) -> None:
        """The conversation's language from now on, this turn's replies included."""
        self.state.lang = lang
        if "cases" in self.__dict__:  # built earlier in the turn: it speaks the new one
            self.cases.lang = lang

    def _small_talk_in_flow(self) -> Reply | None:
        """A polite word or a question about the bot typed where an answer was expected."""
        message = self.inbound.text.strip()
        if self.inbound.payload or not message:
            return None
        flow_state = self.state.flow
        flow = self.engine.content.flows.get(flow_state.id) if flow_state is not None else None
        if flow_state is None or flow is None or flow_state.step == CONFIRM:
            return None  # "d'accord" at the summary is not a sending: it says how to send
        if flow.step(flow_state.step).type is FieldType.ATTACHMENTS:
            return None  # "ok" there means "done": the step says what it still needs
        meaning = self.meaning
        if _is_gratitude(meaning, message):
            return Reply(self.t("acknowledged"))
        if meaning is not None and meaning.words <= 8 and Act.ABOUT_BOT in meaning.opening:
            return Reply(self.t("about_bot"))
        return None

    def _answered_in_flow(self, entry: FaqEntry, flow: Any, flow_state: FlowState) -> list[Action]:
        """The answer to a question asked mid-request, then the request's question again."""
        prompt = self.engine.runner.prompt(flow, flow_state, self.lang)
        return [Reply(self._answer_text(entry)), Reply(self.t("flow_continue")), prompt]

    def _aside_question(self, flow: Any, flow_state: FlowState) -> FaqEntry | None:
        """At a free-text question, a question about another topic than the request in
        progress: one asked ("?") that the FAQ answers clearly and that is not about this
        request (a description often ends "que dois-je faire ?": it matches the request)."""
        step = flow_state.step
        if step == CONFIRM or flow.step(step).type is not FieldType.TEXT:
            return None
        if self.inbound.files or "?" not in self.inbound.text:
            return None
        result = self.engine.matcher.resolve(self.inbound.text.strip()[:MAX_TEXT])
        entry = self._question_in_flow(result)
        if entry is None or entry.flow == flow.id:
            return None
        close = result.candidates[:2]
        return None if any(m.label == f"flow:{flow.id}" for m in close) else entry

    def _question_in_flow(self, result: Resolution | None = None) -> FaqEntry | None:
        """The FAQ entry a message typed in a flow asks for, when it is clearly a question."""
        message = self.inbound.text.strip()
        if self.meaning is None or self.meaning.intent != "ask":
            return None
        result = result or self.engine.matcher.resolve(message[:MAX_TEXT])
        best = result.best
        if best is None or result.ambiguous or not best.label.startswith("faq:"):
            return None
        return self.engine.content.faq[best.label.removeprefix("faq:")]

    def _flow_event(self, flow_state: FlowState, kind: str) -> None:
        self.db.add(
            FlowEvent(
                flow_id=flow_state.id,
                run_id=flow_state.run,
                kind=kind,
                step=flow_state.step if kind == "step" else "",
                at=self.engine.clock(),
            )
        )
