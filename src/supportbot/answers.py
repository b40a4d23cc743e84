"""How a flow's stored answer reads to a person: a choice by its label, yes/no as words,
dates as a customer would write them, in French or English.

The ticket keeps the answers as the flow stored them (``"damaged"``, ``"2026-11-23"``);
whoever shows them to a person (the agent desk) reads them through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from supportbot.content import FieldType, Step
from supportbot.flows import shown_date
from supportbot.texts import text


def _moment(value: str, with_time: bool, lang: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # not a date after all: as it was written
    day = shown_date(moment.date(), lang)
    return f"{day} {moment:%H:%M}" if with_time else day


def shown_answer(step: Step | None, value: Any, lang: str) -> str:
    """``value`` (the answer ``step`` stored) as a person reads it, in ``lang``."""
    if value is None or value == "":
        return text(lang, "skipped")
    if isinstance(value, list | tuple):
        return ", ".join(shown_answer(step, item, lang) for item in value)
    if step is None:
        return str(value)
    if step.type is FieldType.CHOICE:
        chosen = next((c for c in step.choices if c.value == value), None)
        return chosen.label.get(lang) if chosen else str(value)
    if step.type is FieldType.YESNO:
        return text(lang, "btn_yes" if value in ("yes", True) else "btn_no")
    if step.type in (FieldType.DATE, FieldType.DATETIME) and isinstance(value, str):
        return _moment(value, step.type is FieldType.DATETIME, lang)
    return str(value)
