"""The desk's inbox search through indexes: order numbers, and e-mails (lower-cased) in
the flows' answers and as the customers' identity (see supportbot.desk.search).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_FIELDS = ("email", "contact_email")


def _json_text(key: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"fields ->> '{key}'::text"
    return f"json_extract(fields, '$.{key}')"


def upgrade() -> None:
    op.create_index("ix_tickets_order_number", "tickets", ["order_number"])
    for key in EMAIL_FIELDS:
        op.create_index(f"ix_tickets_{key}_lower", "tickets", [sa.text(f"lower({_json_text(key)})")])
    op.create_index("ix_customers_external_id_lower", "customers", [sa.text("lower(external_id)")])


def downgrade() -> None:
    op.drop_index("ix_customers_external_id_lower", table_name="customers")
    for key in EMAIL_FIELDS:
        op.drop_index(f"ix_tickets_{key}_lower", table_name="tickets")
    op.drop_index("ix_tickets_order_number", table_name="tickets")
