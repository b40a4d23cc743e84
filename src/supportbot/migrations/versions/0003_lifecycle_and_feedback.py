"""Lifecycle and feedback: SLA pause, first response, rating, answer feedback, flow events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 21:31:26.338370
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import supportbot.store

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_events")),
    )
    with op.batch_alter_table("answer_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_events_label"), ["label"], unique=False)

    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("faq_id", sa.String(length=60), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_feedback")),
    )
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_feedback_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_feedback_faq_id"), ["faq_id"], unique=False)

    op.create_table(
        "flow_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("at", supportbot.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_events")),
    )
    with op.batch_alter_table("flow_events", schema=None) as batch_op:
        batch_op.create_index("ix_flow_events_flow_at", ["flow_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_flow_events_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_at", supportbot.store.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "first_response_at", supportbot.store.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("rating")
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("paused_at")

    with op.batch_alter_table("flow_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_events_run_id"))
        batch_op.drop_index("ix_flow_events_flow_at")

    op.drop_table("flow_events")
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_feedback_faq_id"))
        batch_op.drop_index(batch_op.f("ix_answer_feedback_at"))

    op.drop_table("answer_feedback")
    with op.batch_alter_table("answer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_events_label"))
        batch_op.drop_index(batch_op.f("ix_answer_events_at"))

    op.drop_table("answer_events")
