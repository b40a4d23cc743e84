"""Web chat: visitors known by the hash of a server-issued token, and what they wrote.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_visitors",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_visitors")),
    )
    with op.batch_alter_table("web_visitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_visitors_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_web_visitors_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "visitor_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_messages")),
        sa.UniqueConstraint("chat_id", "client_id", name=op.f("uq_visitor_messages_chat_id")),
    )
    with op.batch_alter_table("visitor_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visitor_messages_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visitor_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitor_messages_at"))
    op.drop_table("visitor_messages")
    with op.batch_alter_table("web_visitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_visitors_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_visitors_chat_id"))
    op.drop_table("web_visitors")
