"""Writes a ticket's complete file: a Markdown summary and copies of its attachments.

This is the "dossier complet" the support page asks for in a dispute: order
number, message history, photos, tracking and every proof.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from supportbot.store import Ticket


def export_ticket(ticket: Ticket, out: Path) -> Path:
    folder = out / ticket.reference
    files = folder / "attachments"
    files.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Dossier {ticket.reference}",
        "",
        f"- Catégorie : {ticket.category} · priorité {ticket.priority} · statut {ticket.status}",
        f"- Client : {ticket.customer.name or ticket.customer.external_id}",
        f"- Numéro de commande : {ticket.order_number or '-'}",
        f"- Créé le : {ticket.created_at.isoformat()}",
        f"- Échéance : {ticket.due_at.isoformat() if ticket.due_at else '-'}",
        "",
        "## Informations recueillies",
        "",
        *[f"- {key} : {value}" for key, value in ticket.fields.items()],
        "",
        "## Historique des échanges",
        "",
    ]
    for event in ticket.events:
        lines.append(f"- {event.at.isoformat()} · {event.kind} · {event.author}: {event.text}")
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
