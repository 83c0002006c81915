"""The statements of the intake path, built once per database dialect and run with parameters.

They run in every webhook request; building an SQLAlchemy statement (and its cache key) costs more than
running it on a local database, so each is built once and reused with bind parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connector.models import Draft, Product, RenderJob, WriteBack

PENDING_JOB_STATES = ("queued", "failed")

#: The columns `update_product` sets, every time (bind parameters of the same names).
PRODUCT_FIELDS = (
    "title",
    "product_type",
    "kind",
    "shopify_updated_at",
    "shopify_triggered_at",
    "deleted_at",
    "source_media",
    "decision",
    "decision_detail",
    "source_fingerprint",
    "updated_at",
)


@dataclass(frozen=True)
class IntakeSQL:
    """Named statements; parameters are named after the columns they set or compare."""

    product_state: Any  # shop_id, product_gid -> id, kind, source_fingerprint, shopify_updated_at, ...
    insert_product: Any  # shop_id, product_gid, now -> id (nothing when it exists)
    update_product: Any  # id, PRODUCT_FIELDS
    worn_media: Any  # shop_id, gids (a list) -> media_gid
    # (an UPDATE's parameters may not be named after its table's columns: of_shop, of_product)
    supersede_jobs: Any  # of_shop, of_product, keep, now -> rowcount
    supersede_drafts: Any  # of_shop, of_product, now -> rowcount
    insert_job: Any  # shop_id, product_id, style_version_id, key, fingerprint, trigger, now -> id
    job_by_key: Any  # key -> id, state
    requeue_job: Any  # id, now


@cache
def intake_sql(dialect: str) -> IntakeSQL:
    """Return the statements for `dialect` ("sqlite" or "postgresql")."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    state = select(
        Product.id,
        Product.kind,
        Product.source_fingerprint,
        Product.shopify_updated_at,
        Product.shopify_triggered_at,
    ).where(Product.shop_id == bindparam("shop_id"), Product.product_gid == bindparam("product_gid"))
    if dialect == "postgresql":
        # Two deliveries of one product are decided one after the other. NO KEY UPDATE, not UPDATE: rows
        # inserted meanwhile that reference the product hold KEY SHARE locks, and FOR UPDATE waits on them.
        state = state.with_for_update(key_share=True)
    return IntakeSQL(
        product_state=state,
        insert_product=insert(Product)
        .values(
            shop_id=bindparam("shop_id"),
            product_gid=bindparam("product_gid"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "product_gid"])
        .returning(Product.id),
        update_product=update(Product)
        .where(Product.id == bindparam("product_id"))
        .values({name: bindparam(name) for name in PRODUCT_FIELDS}),
        worn_media=select(WriteBack.media_gid).where(
            WriteBack.shop_id == bindparam("shop_id"),
            WriteBack.media_gid.in_(bindparam("gids", expanding=True)),
        ),
        supersede_jobs=update(RenderJob)
        .where(
            RenderJob.shop_id == bindparam("of_shop"),
            RenderJob.product_id == bindparam("of_product"),
            RenderJob.state.in_(PENDING_JOB_STATES),
            RenderJob.idempotency_key != bindparam("keep"),
        )
        .values(state="superseded", updated_at=bindparam("now")),
        supersede_drafts=update(Draft)
        .where(
            Draft.shop_id == bindparam("of_shop"),
            Draft.product_id == bindparam("of_product"),
            Draft.state == "awaiting_review",
        )
        .values(state="superseded", updated_at=bindparam("now")),
        insert_job=insert(RenderJob)
        .values(
            shop_id=bindparam("shop_id"),
            product_id=bindparam("product_id"),
            style_version_id=bindparam("style_version_id"),
            idempotency_key=bindparam("key"),
            source_fingerprint=bindparam("fingerprint"),
            trigger=bindparam("trigger"),
            state="queued",
            attempts=0,
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(RenderJob.id),
        job_by_key=select(RenderJob.id, RenderJob.state).where(RenderJob.idempotency_key == bindparam("key")),
        requeue_job=update(RenderJob)
        .where(RenderJob.id == bindparam("job_id"))
        .values(
            state="queued",
            attempts=0,
            last_error=None,
            started_at=None,
            finished_at=None,
            updated_at=bindparam("now"),
        ),
    )
