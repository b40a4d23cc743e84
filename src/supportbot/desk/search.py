"""The inbox's search, by reference, order number or e-mail, each through an index.

An e-mail is found in the answers of a flow (the steps of type ``email``, whose ids are
``EMAIL_FIELDS``) or as the customer's own identity, matched whole and regardless of
case: each place has an index on its lower-cased value (migration 0012), declared here
on the store's tables so that the models and the migrations stay equal.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Index, String, func, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from supportbot.store import Customer, Ticket

# The ids of the flows' e-mail steps (a test checks them against flows/).
EMAIL_FIELDS = ("email", "contact_email")
MAX_FOUND = 500


class JsonText(FunctionElement[str]):
    """The text of one top-level key of a JSON column, as an index can hold it. One class
    per key (``json_text``): the key is part of the SQL, hence of its cache key."""

    type = String()
    inherit_cache = True
    name = "json_text"
    key = ""


@compiles(JsonText)
def _json_text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f"json_extract({compiler.process(column, **kw)}, '$.{element.key}')"


@compiles(JsonText, "postgresql")
def _json_text_postgresql(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    # As PostgreSQL reads the index back, so that the models and migrations compare equal;
    # only ever used inside lower().
    (column,) = list(element.clauses)
    return f"{compiler.process(column, **kw)} ->> '{element.key}'::text"


_KEYS: dict[str, type[JsonText]] = {}


def json_text(column: Any, key: str) -> ColumnElement[str]:
    if not re.fullmatch(r"[a-z_]+", key):
        raise ValueError(f"not a plain JSON key: {key!r}")
    if key not in _KEYS:
        _KEYS[key] = type(f"JsonText_{key}", (JsonText,), {"key": key, "inherit_cache": True})
    return _KEYS[key](column)


def field_email(key: str) -> ColumnElement[str]:
    return func.lower(json_text(Ticket.fields, key))


def customer_email() -> ColumnElement[str]:
    return func.lower(Customer.external_id)


INDEXES = (
    Index("ix_tickets_order_number", Ticket.order_number),
    *(Index(f"ix_tickets_{key}_lower", field_email(key)) for key in EMAIL_FIELDS),
    Index("ix_customers_external_id_lower", customer_email()),
)


def search_ids(db: Session, query: str) -> list[int]:
    """The tickets ``query`` names: its reference, its order number ("#123 456 789" too),
    or an e-mail address given in a flow or as the customer's identity."""
    text = query.strip()
    number = re.sub(r"[\s#.]|^n°", "", text, flags=re.IGNORECASE)
    parts = [
        select(Ticket.id).where(Ticket.reference == text.upper()),
        select(Ticket.id).where(Ticket.order_number.in_({text, number})),
    ]
    if "@" in text:
        email = text.lower()
        parts += [select(Ticket.id).where(field_email(key) == email) for key in EMAIL_FIELDS]
        parts.append(
            select(Ticket.id)
            .join(Customer, Ticket.customer_id == Customer.id)
            .where(customer_email() == email)
        )
    return list(db.scalars(union(*parts).limit(MAX_FOUND)))
