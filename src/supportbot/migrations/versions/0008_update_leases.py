"""Update leases: a kept Telegram update records who handles it and until when.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lease_until", supportbot.store.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("leased_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.drop_column("leased_by")
        batch_op.drop_column("lease_until")
