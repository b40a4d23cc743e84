"""Masks personal data (e-mails, phone, order and tracking numbers, IBANs) in free text.

Used wherever the bot keeps or prints what customers typed outside a ticket:
unanswered questions, feedback, FAQ gap reports and drafts.
"""

from __future__ import annotations

import re

# Order matters: e-mails and tracking numbers contain digits the later rules would take.
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"), "<iban>"),
    (re.compile(r"\b1Z[0-9A-Z]{16}\b", re.I), "<suivi>"),  # UPS
    (re.compile(r"\b[A-Z]{2}\d{9}[A-Z]{2}\b", re.I), "<suivi>"),  # UPU S10: La Poste, Chronopost
    (re.compile(r"\b(?=(?:[A-Z]*\d){6})(?=\d*[A-Z])[A-Z0-9]{10,30}\b", re.I), "<suivi>"),
    (
        re.compile(
            r"(?<![\w+])(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?|0)[1-9](?:[ .-]?\d{2}){4}(?!\d)"
        ),
        "<téléphone>",
    ),
    (re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\d){6,12}(?!\d)"), "<téléphone>"),
    (re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){3}(?!\d)"), "<numéro>"),  # card-like groups
    (re.compile(r"(?<!\d)\d{6,}(?!\d)"), "<numéro>"),  # order numbers and other long ids
)


def mask_personal_data(text: str) -> str:
    """``text`` with e-mails, IBANs, tracking, phone and order numbers replaced by placeholders."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text
