"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 07:51:54.109581
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("installed_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("uninstalled_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("access_token", sa.LargeBinary(), nullable=True),
        sa.Column("access_token_expires_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True),
        sa.Column("refresh_token_expires_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("token_expiring", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.String(length=1024), nullable=True),
        sa.Column("style_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reconciled_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["style_version_id"],
            ["style_versions.id"],
            name=op.f("fk_shops_style_version_id_style_versions"),
            ondelete="SET NULL",
            use_alter=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("domain", name=op.f("uq_shops_domain")),
    )
    op.create_table(
        "backfill_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("started_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", connector.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_backfill_runs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_runs")),
    )
    with op.batch_alter_table("backfill_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backfill_runs_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "plate_analyses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "analysis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_plate_analyses_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_analyses")),
        sa.UniqueConstraint("shop_id", "content_hash", name=op.f("uq_plate_analyses_shop_id")),
    )
    with op.batch_alter_table("plate_analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plate_analyses_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_gid", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=True),
        sa.Column("product_type", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=True),
        sa.Column("decision", sa.String(length=50), nullable=True),
        sa.Column("decision_detail", sa.Text(), nullable=True),
        sa.Column("source_fingerprint", sa.String(length=64), nullable=True),
        sa.Column(
            "source_media",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "stated_size",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("shopify_updated_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("deleted_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_products_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("shop_id", "product_gid", name=op.f("uq_products_shop_id")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "queue_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("receipt", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_queue_messages_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_messages")),
    )
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.create_index("ix_queue_messages_claim", ["queue", "state", "available_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_messages_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "style_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_style_versions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_style_versions")),
        sa.UniqueConstraint("shop_id", "content_hash", name=op.f("uq_style_versions_shop_id")),
    )
    with op.batch_alter_table("style_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_style_versions_shop_id"), ["shop_id"], unique=False)

    # SQLite renders the use_alter key inside CREATE TABLE shops; elsewhere it is added once both tables exist.
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            op.f("fk_shops_style_version_id_style_versions"),
            "shops",
            "style_versions",
            ["style_version_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("api_version", sa.String(length=20), nullable=True),
        sa.Column("triggered_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("received_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("product_gid", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_webhook_deliveries_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_webhook_deliveries_webhook_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_shop_received", ["shop_id", "received_at"], unique=False)

    op.create_table(
        "render_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("style_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("source_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column(
            "plates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("started_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("finished_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("updated_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_render_jobs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_render_jobs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["style_version_id"],
            ["style_versions.id"],
            name=op.f("fk_render_jobs_style_version_id_style_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_render_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_render_jobs_idempotency_key")),
    )
    with op.batch_alter_table("render_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_render_jobs_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_render_jobs_shop_state", ["shop_id", "state"], unique=False)

    op.create_table(
        "drafts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("style_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("plate_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("image_key", sa.String(length=512), nullable=True),
        sa.Column("thumb_key", sa.String(length=512), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", connector.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", connector.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["render_jobs.id"], name=op.f("fk_drafts_job_id_render_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_drafts_product_id_products"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_drafts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["style_version_id"],
            ["style_versions.id"],
            name=op.f("fk_drafts_style_version_id_style_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("job_id", "plate_id", name=op.f("uq_drafts_job_id")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_drafts_shop_state", ["shop_id", "state"], unique=False)

    op.create_table(
        "write_backs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("draft_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column(
            "staged_target",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("media_gid", sa.String(length=100), nullable=True),
        sa.Column("alt", sa.String(length=512), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", connector.models.UTCDateTime(), nullable=False),
        sa.Column("removed_at", connector.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_write_backs_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_write_backs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_write_backs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_backs")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_write_backs_draft_id")),
    )
    with op.batch_alter_table("write_backs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_write_backs_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_write_backs_shop_media", ["shop_id", "media_gid"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_shops_style_version_id_style_versions"), "shops", type_="foreignkey")
    with op.batch_alter_table("write_backs", schema=None) as batch_op:
        batch_op.drop_index("ix_write_backs_shop_media")
        batch_op.drop_index(batch_op.f("ix_write_backs_product_id"))

    op.drop_table("write_backs")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_drafts_shop_state")
        batch_op.drop_index(batch_op.f("ix_drafts_product_id"))

    op.drop_table("drafts")
    with op.batch_alter_table("render_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_render_jobs_shop_state")
        batch_op.drop_index(batch_op.f("ix_render_jobs_product_id"))

    op.drop_table("render_jobs")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_shop_received")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("style_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_style_versions_shop_id"))

    op.drop_table("style_versions")
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_messages_shop_id"))
        batch_op.drop_index("ix_queue_messages_claim")

    op.drop_table("queue_messages")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_shop_id"))

    op.drop_table("products")
    with op.batch_alter_table("plate_analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plate_analyses_shop_id"))

    op.drop_table("plate_analyses")
    with op.batch_alter_table("backfill_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backfill_runs_shop_id"))

    op.drop_table("backfill_runs")
    op.drop_table("shops")
