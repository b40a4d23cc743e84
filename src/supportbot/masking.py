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


_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(candidate: str) -> bool:
    """A payment card number: typed in groups of four (even mistyped), or 15 or 16 digits
    starting like the networks' numbers and passing the Luhn check (a 14-digit parcel
    number is not one)."""
    digits = re.sub(r"\D", "", candidate)
    if re.fullmatch(r"\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?", candidate):
        return True
    return len(digits) in (15, 16) and digits[0] in "3456" and _luhn(digits)


def mask_card_numbers(text: str) -> tuple[str, bool]:
    """``text`` with payment card numbers replaced (last four digits kept), and whether
    there was one: a ticket never stores a card number."""
    found = False

    def hide(match: re.Match[str]) -> str:
        nonlocal found
        if not _is_card(match.group()):
            return match.group()
        found = True
        return "•••• " + re.sub(r"\D", "", match.group())[-4:]

    return _CARD.sub(hide, text), found


def mask_contacts(text: str) -> str:
    """``text`` with e-mails, IBANs, tracking and phone numbers masked, long numbers kept
    (what remains may be an order number)."""
    for pattern, placeholder in _MASKS[:-2]:
        text = pattern.sub(placeholder, text)
    return text


def mask_personal_data(text: str) -> str:
    """``text`` with e-mails, IBANs, tracking, phone and order numbers replaced by placeholders."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text
