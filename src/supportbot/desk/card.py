"""What the desk shows of a ticket's customer and answers, in the agent's language: each
answer under its question's label (from the flow's YAML) with a readable value, and the
customer as a channel and a name (or a short id), never a stored key or an internal id."""

from __future__ import annotations

from typing import Any, NamedTuple

from supportbot.answers import shown_answer
from supportbot.content import Flow, Step
from supportbot.desk.texts import TEXTS, catalog_word, say
from supportbot.tickets import ERASED_PREFIX

SHORT_ID = 8  # characters of an opaque id (a web visitor's) shown to tell customers apart


def field_label(step: Step | None, key: str, lang: str) -> str:
    """The question's label; a field no step of the flow asked (the order number read in
    the description) by the desk's own word for it."""
    if step is not None:
        return step.label.get(lang)
    if f"field_{key}" in TEXTS:
        return say(lang, f"field_{key}")
    return key.replace("_", " ").capitalize()


def readable_answers(flow: Flow | None, fields: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """(label, value) of each answer, in the order the flow asks its questions."""
    steps = {step.id: step for step in flow.steps} if flow else {}
    keys = [k for k in steps if k in fields] + [k for k in fields if k not in steps]
    return [
        (field_label(steps.get(k), k, lang), shown_answer(steps.get(k), fields[k], lang))
        for k in keys
    ]


def customer_name(name: str, external_id: str, lang: str) -> str:
    """The name the customer gave; else a short id an agent can tell apart and say."""
    if external_id.startswith(ERASED_PREFIX):
        return say(lang, "customer_erased")
    if name.strip():
        return name.strip()
    if len(external_id) > SHORT_ID + 4:  # an opaque id (a web visitor's): its start is enough
        return say(lang, "customer_unnamed", id=external_id[:SHORT_ID])
    return say(lang, "customer_unnamed", id=external_id)


class CustomerIdentity(NamedTuple):
    """Who wrote, as the store knows them: the label an agent reads is ``label(lang)``."""

    channel: str
    name: str
    external_id: str

    def label(self, lang: str) -> str:
        """ "Chat du site · Visiteur 3f2a1b9c", "Telegram · Marie"."""
        who = customer_name(self.name, self.external_id, lang)
        return f"{catalog_word(lang, 'channel', self.channel)} · {who}"
