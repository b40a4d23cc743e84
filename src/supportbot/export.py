"""Writes a ticket's complete file: a Markdown summary and copies of its attachments.

This is the "dossier complet" the support page asks for in a dispute: order
number, message history, photos, tracking and every proof.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from supportbot.agents import event_text
from supportbot.store import Ticket
from supportbot.tickets import EventKind

# What the file tells: no internal notes (agents' own words), no job bookkeeping.
_LEFT_OUT = {EventKind.NOTE.value, EventKind.JOB.value}
_KINDS = {
    EventKind.CREATED.value: "demande créée",
    EventKind.STATUS.value: "statut",
    EventKind.CUSTOMER_MESSAGE.value: "message du client",
    EventKind.AGENT_MESSAGE.value: "message du Support",
    EventKind.MERGED.value: "demande ajoutée",
    EventKind.RATING.value: "note du client",
}


def export_ticket(ticket: Ticket, out: Path, tz: tzinfo = UTC) -> Path:
    """The ticket's file under ``out``; times in ``tz`` (the support's time zone)."""

    def when(moment: datetime | None) -> str:
        return f"{moment.astimezone(tz):%d/%m/%Y %H:%M}" if moment else "-"

    folder = out / ticket.reference
    files = folder / "attachments"
    files.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Dossier {ticket.reference}",
        "",
        f"- Catégorie : {ticket.category} · priorité {ticket.priority} · statut {ticket.status}",
        f"- Client : {ticket.customer.name or ticket.customer.external_id}",
        f"- Numéro de commande : {ticket.order_number or '-'}",
        f"- Créé le : {when(ticket.created_at)}",
        f"- Échéance : {when(ticket.due_at)}",
        "",
        "## Informations recueillies",
        "",
        *[f"- {key} : {value}" for key, value in ticket.fields.items()],
        "",
        "## Historique des échanges",
        "",
    ]
    for event in ticket.events:
        if event.kind in _LEFT_OUT:
            continue
        body = event_text(event).replace("\n", "\n  ")  # a message's lines stay in its item
        kind = _KINDS.get(event.kind, event.kind)
        lines.append(f"- {when(event.at)} · {kind} · {event.author or '?'} : {body}".rstrip(" :"))
    lines += ["", "## Pièces jointes", ""]
    for index, attachment in enumerate(ticket.attachments, 1):
        name = f"{index:02d}-{Path(attachment.name).name or 'fichier'}"
        source = Path(attachment.path) if attachment.path else None
        if source is not None and source.is_file():
            shutil.copyfile(source, files / name)
            where = f"attachments/{name}"
        else:
            where = f"(Telegram file id {attachment.file_id})" if attachment.file_id else "(absent)"
        lines.append(
            f"- {name} · {attachment.mime} · {attachment.size} octets · "
            f"sha256 {attachment.checksum or '-'} · {where}"
        )
    (folder / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
