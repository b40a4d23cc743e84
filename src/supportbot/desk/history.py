"""A ticket's history as the desk shows it, in the agent's language: who did it (the
customer, the bot, an agent by name), what it was (a status by its word, the answers
of a request added under their questions' labels, a take in words), never the stored
keys. The ticket page and its live stream read every event through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportbot.content import Flow
from supportbot.desk.card import readable_answers
from supportbot.desk.texts import catalog_word, say
from supportbot.tickets import CUSTOMER, SYSTEM, EventKind

CUSTOMER_KINDS = frozenset({EventKind.CREATED, EventKind.CUSTOMER_MESSAGE, EventKind.MERGED})


@dataclass(frozen=True)
class StoredEvent:
    """One row of the audit trail, as stored."""

    at: datetime
    kind: str
    author: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class EventLine:
    """One line of the conversation and history, as an agent reads it."""

    at: datetime
    kind: str
    css: str  # "customer", "agent" or "internal"
    label: str
    text: str


def event_class(kind: str, author: str) -> str:
    """How an event looks in the conversation: the customer's, an agent's, bookkeeping."""
    if kind in CUSTOMER_KINDS:
        return "customer"
    if kind == EventKind.AGENT_MESSAGE or (
        kind == EventKind.STATUS and author not in (CUSTOMER, SYSTEM)
    ):
        return "agent"
    return "internal"


def actor(author: str, lang: str) -> str:
    """ "le client", "le bot", or the agent's name."""
    if author == CUSTOMER:
        return say(lang, "actor_customer")
    if author == SYSTEM:
        return say(lang, "actor_bot")
    return author or say(lang, "actor_customer")


def _status(data: dict[str, Any], text: str, lang: str) -> str:
    if "to" not in data:
        return text
    change = " → ".join(
        catalog_word(lang, "status", str(data.get(end, "?"))) for end in ("from", "to")
    )
    return f"{change} · {text}" if text else change


def _merged(data: dict[str, Any], text: str, flow: Flow | None, lang: str) -> str:
    answers = {k: v for k, v in data.items() if k not in ("flow", "request")}
    colon = ":" if lang == "en" else " :"
    lines = [f"{label}{colon} {value}" for label, value in readable_answers(flow, answers, lang)]
    return "\n".join([text, *lines])


def _note(data: dict[str, Any], text: str, lang: str) -> str:
    took = data.get("take")
    if took in ("taken", "again", "over"):
        return say(lang, f"took_{took}", name=data.get("from") or "?")
    return text


def event_line(event: StoredEvent, flow: Flow | None, lang: str) -> EventLine:
    kind, data = event.kind, event.data or {}
    if kind == EventKind.STATUS:
        text = _status(data, event.text, lang)
    elif kind == EventKind.MERGED:
        text = _merged(data, event.text, flow, lang)
    elif kind == EventKind.NOTE:
        text = _note(data, event.text, lang)
    elif kind == EventKind.JOB:
        text = catalog_word(lang, "job", event.text)
    else:
        text = event.text
    label = say(lang, f"event_{kind}", author=actor(event.author, lang))
    return EventLine(event.at, kind, event_class(kind, event.author), label, text)
