"""webhook_deliveries.payload and a partial index on pending deliveries (WEBHOOK_PROCESSING=deferred)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("outcome = 'pending'")


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("payload", sa.Text(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("payload")
