"""Worn's state as SQLAlchemy 2 models: every row belongs to a shop and goes when the shop goes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Names for constraints so Alembic migrations are stable on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store datetimes as naive UTC and read them back aware, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER PRIMARY KEY


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Shop(Base):
    """An installed (or formerly installed) store, with its offline token encrypted at rest."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    access_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # False for a legacy non-expiring token that still has to be migrated.
    token_expiring: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on every token write, so two workers refreshing at once can tell who won.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    scopes: Mapped[str | None] = mapped_column(String(1024))
    style_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("style_versions.id", use_alter=True, ondelete="SET NULL")
    )
    # Reconciliation watermark: products updated after this are looked at again.
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    style_version: Mapped[StyleVersion | None] = relationship(
        foreign_keys=[style_version_id], post_update=True
    )

    def __repr__(self) -> str:  # never shows tokens
        return f"<Shop {self.id} {self.domain} active={self.active}>"


class StyleVersion(Base):
    """One immutable copy of a shop's house style; jobs and drafts point at the version that made them."""

    __tablename__ = "style_versions"
    __table_args__ = (UniqueConstraint("shop_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlateAnalysisCache(Base):
    """Landmarks and anchors of one plate image, computed once and keyed by the image's content hash."""

    __tablename__ = "plate_analyses"
    __table_args__ = (UniqueConstraint("shop_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The outcome of a delivery recorded but not decided yet (WEBHOOK_PROCESSING=deferred).
PENDING_DELIVERY = "pending"


class WebhookDelivery(Base):
    """One verified delivery, unique by X-Shopify-Webhook-Id, with what Worn decided about it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_shop_received", "shop_id", "received_at"),
        # The deliveries accepted but not yet processed (WEBHOOK_PROCESSING=deferred): a small partial index.
        Index(
            "ix_webhook_deliveries_pending",
            "id",
            postgresql_where=text(f"outcome = '{PENDING_DELIVERY}'"),
            sqlite_where=text(f"outcome = '{PENDING_DELIVERY}'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    topic: Mapped[str] = mapped_column(String(100))
    api_version: Mapped[str | None] = mapped_column(String(20))
    triggered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(20), default="https")  # https | eventbridge
    product_gid: Mapped[str | None] = mapped_column(String(100))
    # Stable outcome code (queued, duplicate, stale, unchanged, not_jewelry, ...) and its human detail.
    outcome: Mapped[str] = mapped_column(String(50), default="received")
    detail: Mapped[str | None] = mapped_column(Text)
    # The verified body of a delivery accepted for deferred processing (outcome "pending"); cleared once
    # processed, kept when processing failed so the failure can be looked at.
    payload: Mapped[str | None] = mapped_column(Text)


class Product(Base):
    """A product Worn has seen: its kind, whether and why it was skipped, and its source-photo fingerprint."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("shop_id", "product_gid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    product_gid: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(512))
    product_type: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str | None] = mapped_column(String(30))
    # Stable decision code (jewelry, not_jewelry, no_plate, no_photo, deleted, ...) and its detail.
    decision: Mapped[str | None] = mapped_column(String(50))
    decision_detail: Mapped[str | None] = mapped_column(Text)
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))
    source_media: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    stated_size: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # The newest Shopify updated_at already processed: older deliveries are stale.
    shopify_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # X-Shopify-Triggered-At of the delivery that brought it: updated_at has whole seconds only, so two
    # changes within one second are ordered by when Shopify triggered them.
    shopify_triggered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RenderJob(Base):
    """One render of one product's source photos with one style version; idempotent by its key."""

    __tablename__ = "render_jobs"
    __table_args__ = (Index("ix_render_jobs_shop_state", "shop_id", "state"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    style_version_id: Mapped[int | None] = mapped_column(ForeignKey("style_versions.id", ondelete="SET NULL"))
    # shop, product, source fingerprint, style version (and a nonce for a merchant's explicit re-render).
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    source_fingerprint: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(30), default="webhook")  # webhook|reconcile|backfill|manual
    plates: Mapped[list[str] | None] = mapped_column(Json)  # only these plates (e.g. "another plate")
    # queued | running | done | failed | superseded | cancelled
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Draft(Base):
    """One rendered image awaiting the merchant's decision, with its quality report."""

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("job_id", "plate_id"),
        Index("ix_drafts_shop_state", "shop_id", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("render_jobs.id", ondelete="CASCADE"))
    style_version_id: Mapped[int | None] = mapped_column(ForeignKey("style_versions.id", ondelete="SET NULL"))
    plate_id: Mapped[str] = mapped_column(String(100))
    # awaiting_review | approved | rejected | superseded | expired | written | failed
    state: Mapped[str] = mapped_column(String(20), default="awaiting_review")
    image_key: Mapped[str | None] = mapped_column(String(512))
    thumb_key: Mapped[str | None] = mapped_column(String(512))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WriteBack(Base):
    """Putting one approved draft on its product; each step is recorded so a retry resumes, never repeats."""

    __tablename__ = "write_backs"
    __table_args__ = (Index("ix_write_backs_shop_media", "shop_id", "media_gid"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), unique=True)
    # queued | staged | uploaded | attaching | attached | ready | done | failed | cancelled | removed
    state: Mapped[str] = mapped_column(String(20), default="queued")
    # The staged upload target, and (from `attaching` on) the product's media before Worn's was added.
    staged_target: Mapped[dict[str, Any] | None] = mapped_column(Json)
    media_gid: Mapped[str | None] = mapped_column(String(100))
    alt: Mapped[str | None] = mapped_column(String(512))
    position: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Held by the worker running it (renewed at every step): a second message waits instead of racing.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BackfillRun(Base):
    """A walk over a shop's catalog that can be interrupted and resumed from its cursor."""

    __tablename__ = "backfill_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    filters: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    cursor: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running | done | interrupted
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class QueueMessage(Base):
    """A message of the database queue backend (the embedded default; SQS replaces it in production)."""

    __tablename__ = "queue_messages"
    __table_args__ = (Index("ix_queue_messages_claim", "queue", "state", "available_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    queue: Mapped[str] = mapped_column(String(100))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    state: Mapped[str] = mapped_column(String(10), default="ready")  # ready | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    receipt: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


#: Every table that holds a shop's data, children before parents (the order a redaction deletes in).
SHOP_TABLES = (
    QueueMessage,
    BackfillRun,
    WriteBack,
    Draft,
    RenderJob,
    Product,
    WebhookDelivery,
    PlateAnalysisCache,
    StyleVersion,
)
