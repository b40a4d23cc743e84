"""When an agent last wrote to the customer: their next messages go to that ticket.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("agent_wrote_at", supportbot.store.UTCDateTime(timezone=True), nullable=True)
        )
    # Tickets an agent already wrote to: their last agent message or status change with text.
    op.execute(
        """
        UPDATE tickets SET agent_wrote_at = (
            SELECT max(e.at) FROM ticket_events e
            WHERE e.ticket_id = tickets.id
              AND (e.kind = 'agent_message' OR (e.kind = 'status' AND e.text <> ''))
              AND e.author NOT IN ('customer', 'system')
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("agent_wrote_at")
