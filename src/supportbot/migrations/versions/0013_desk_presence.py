"""Presence on the desk's tickets in the store ("Lea is viewing / writing"), so that every
worker sees every agent (see supportbot.desk.presence).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_presence",
        sa.Column("ticket", sa.String(length=40), nullable=False),
        sa.Column("agent", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("expires_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket", "agent", name=op.f("pk_desk_presence")),
    )
    with op.batch_alter_table("desk_presence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_presence_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("desk_presence")
