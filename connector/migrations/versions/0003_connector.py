"""write-back lease: one worker at a time runs a write-back

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("write_backs", sa.Column("lease_until", connector.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("write_backs") as batch:
        batch.drop_column("lease_until")
