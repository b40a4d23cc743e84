"""Agent accounts for the desk: names and password hashes, sessions, failed sign-ins.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_accounts_name")),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("expires_at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent_accounts.id"],
            name=op.f("fk_agent_sessions_agent_id_agent_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_sessions_token_hash")),
    )
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_sessions_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agent_sessions_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "agent_signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_signin_failures")),
    )
    with op.batch_alter_table("agent_signin_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_signin_failures_address"), ["address"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agent_signin_failures_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_signin_failures_name"), ["name"], unique=False)


def downgrade() -> None:
    op.drop_table("agent_signin_failures")
    op.drop_table("agent_sessions")
    op.drop_table("agent_accounts")
