"""Idempotence keys on ticket events: an agent action retried with its key is applied once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 23:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_ticket_events_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ticket_events_key"), type_="unique")
        batch_op.drop_column("key")
