"""The customer's GDPR rights over what the bot stores: export, erasure, retention.

Erasure rule: conversations, queued messages and stored files are deleted; a
ticket is kept (the marketplace must be able to account for a handled claim)
but anonymised: its reference, category, status, order number and dates stay,
every free-text field, message and attachment goes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from supportbot.outbox import AGENTS
from supportbot.state import ConversationState
from supportbot.store import (
    Attachment,
    Conversation,
    Customer,
    OutboxMessage,
    Ticket,
    UnansweredQuestion,
)
from supportbot.tickets import ERASED_PREFIX
from supportbot.visitors import expire_visitors, forget_transcript, transcript_of

ERASED = "[effacé / erased]"
KEPT_FIELDS = ("order_number", "problem_kind", "reason", "request_kind", "eligibility")


def export_customer(db: Session, customer: Customer) -> dict[str, Any]:
    """Everything stored about one customer, JSON-ready."""
    conversations = db.scalars(
        select(Conversation).where(Conversation.customer_id == customer.id)
    ).all()
    tickets = db.scalars(select(Ticket).where(Ticket.customer_id == customer.id)).all()
    return {
        "customer": {
            "channel": customer.channel,
            "id": customer.external_id,
            "name": customer.name,
            "language": customer.language,
            "created_at": customer.created_at.isoformat(),
        },
        "conversations": [
            {"chat": c.chat_id, "state": dict(c.state), "updated_at": c.updated_at.isoformat()}
            for c in conversations
        ],
        "tickets": [
            {
                "reference": t.reference,
                "status": t.status,
                "category": t.category,
                "created_at": t.created_at.isoformat(),
                "fields": dict(t.fields),
                "messages": [
                    {"at": e.at.isoformat(), "kind": e.kind, "text": e.text}
                    for e in t.events
                    if e.kind != "note"  # agents' internal notes are not customer data
                ],
                "attachments": [
                    {"name": a.name, "mime": a.mime, "size": a.size, "sha256": a.checksum}
                    for a in t.attachments
                ],
                "rating": t.rating,
                # where the ticket lives on the agent side (a Telegram forum topic)
                "agent_thread": t.agent_thread_id,
            }
            for t in tickets
        ],
        # What a web visitor typed (the bot's side is in the conversations and tickets).
        "web_messages": transcript_of(db, customer.channel, customer.external_id),
    }


def anonymise_ticket(ticket: Ticket) -> list[Path]:
    """Strip a ticket of personal data; returns the stored files to delete."""
    ticket.fields = {k: v for k, v in ticket.fields.items() if k in KEPT_FIELDS}
    ticket.subject = ticket.subject.split(" — ")[0]
    for event in ticket.events:
        event.text = ERASED if event.text else ""
        event.author = "" if event.author not in ("system",) else event.author
        event.data = {k: v for k, v in event.data.items() if k in ("from", "to", "job", "key")}
    files = [Path(a.path) for a in ticket.attachments if a.path]
    ticket.attachments.clear()
    return files


def agent_threads(db: Session, customer: Customer) -> tuple[int, ...]:
    """The agent-side threads (forum topics) of a customer's tickets."""
    query = select(Ticket.agent_thread_id).where(
        Ticket.customer_id == customer.id, Ticket.agent_thread_id.is_not(None)
    )
    return tuple(int(t) for t in db.scalars(query) if t is not None)


def forget_customer(db: Session, customer: Customer) -> list[Path]:
    """Erase a customer (see the module rule); returns the stored files to delete."""
    files: list[Path] = []
    references: list[str] = []
    for ticket in db.scalars(select(Ticket).where(Ticket.customer_id == customer.id)):
        files += anonymise_ticket(ticket)
        ticket.agent_thread_id = None
        references.append(ticket.reference)
    # Notices for the agents not delivered yet repeat what the customer wrote.
    db.execute(
        delete(OutboxMessage).where(
            OutboxMessage.channel == AGENTS, OutboxMessage.chat_id.in_(references)
        )
    )
    for conversation in db.scalars(
        select(Conversation).where(Conversation.customer_id == customer.id)
    ):
        files += files_in_state(conversation.state)  # a request in progress, files kept early
        db.delete(conversation)
    db.execute(
        delete(OutboxMessage).where(
            OutboxMessage.channel == customer.channel,
            OutboxMessage.chat_id == customer.external_id,
        )
    )
    forget_transcript(db, customer.channel, customer.external_id)
    customer.name = ""
    customer.external_id = f"{ERASED_PREFIX}{secrets.token_hex(8)}"
    return unshared(db, files)


def files_in_state(state: dict[str, Any]) -> list[Path]:
    """The stored files a conversation holds (its state as stored): those of its request
    in progress and those sent before any request was started."""
    records = ConversationState.from_json(state).stored_files()
    return [Path(r.path) for r in records if r.path]


def unshared(db: Session, paths: Sequence[Path]) -> list[Path]:
    """The files no one else still needs: the store keeps one copy per content, so the
    same photo sent by two customers is one file, kept while any ticket or flow in
    progress refers to it."""
    db.flush()  # the erased rows are gone from what the queries below see
    wanted = sorted({str(p) for p in paths})
    if not wanted:
        return []
    kept = set(db.scalars(select(Attachment.path).where(Attachment.path.in_(wanted))))
    loose = sorted(set(wanted) - kept)
    if loose:  # flows in progress: one pass over the states that mention any of them
        state_text = cast(Conversation.state, Text)
        mentions = or_(*(state_text.contains(path) for path in loose))
        for state in db.scalars(select(state_text).where(mentions)):
            kept.update(path for path in loose if path in state)
    return [Path(p) for p in wanted if p not in kept]


def delete_files(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def apply_retention(db: Session, now: datetime, days: int) -> list[Path]:
    """Anonymise tickets closed more than ``days`` ago; drop old unanswered questions, web
    transcript lines and expired visitor tokens."""
    limit = now - timedelta(days=days)
    files: list[Path] = []
    old = db.scalars(
        select(Ticket).where(Ticket.status == "closed", Ticket.closed_at < limit)
    ).all()
    for ticket in old:
        if ticket.fields.get("_anonymised"):
            continue
        files += anonymise_ticket(ticket)
        ticket.fields = {**ticket.fields, "_anonymised": True}
    db.execute(delete(UnansweredQuestion).where(UnansweredQuestion.at < limit))
    expire_visitors(db, now, transcript_before=limit)
    return unshared(db, files)
