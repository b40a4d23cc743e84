"""Telegram channel: seen update ids, album parts waiting for their group, long payloads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import supportbot.store

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_updates_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "telegram_album_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("media_group_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column(
            "file",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_album_items")),
    )
    with op.batch_alter_table("telegram_album_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_telegram_album_items_group", ["chat_id", "media_group_id"], unique=False
        )

    op.create_table(
        "telegram_payloads",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_telegram_payloads")),
    )


def downgrade() -> None:
    op.drop_table("telegram_payloads")
    with op.batch_alter_table("telegram_album_items", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_album_items_group")
    op.drop_table("telegram_album_items")
    with op.batch_alter_table("telegram_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_updates_received_at"))
    op.drop_table("telegram_updates")
