"""Decide what a product update means for Worn, record it, and queue at most one render for it.

The one decision path behind webhooks, reconciliation and backfill. Given a shop and a `ProductSnapshot`:

1. skip a shop that is not active, and a snapshot older than the newest one already processed (`stale`);
2. classify the product under the shop's current house style (`connector.jewelry.classify`);
3. fingerprint its *source* photos: its ready images minus every image Worn created (by the MediaImage
   GIDs recorded in `write_backs`, and the alt-text marker) — so Worn's own write-back changes nothing;
4. when the fingerprint or the product's kind changed, supersede the product's pending jobs and unapproved
   drafts, create one `RenderJob` keyed by shop, product, fingerprint, style version and kind, and send
   `{"render_job": id}` to the render queue right after the caller commits.

It reads and writes only the database, in the caller's session (no network, no image decoding): it runs
inside the webhook request. The caller commits; the queue message goes out after the commit (see
`connector.outbox`: with the database queue the message is written in the same transaction). A job left
`queued` with no message (SQS: a crash between commit and send) is found by
`state = 'queued' AND updated_at < now - N minutes` and sent again; consumers are idempotent by job id.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from connector.fingerprint import MediaItem, source_fingerprint, source_media
from connector.intake_sql import IntakeSQL, intake_sql
from connector.jewelry import Classification, classify
from connector.models import Product, Shop, StyleVersion, utcnow
from connector.outbox import send_on_commit
from connector.queue import RENDER
from connector.services import Services
from connector.shopstyle import assign_style, freeze
from connector.snapshot import ProductSnapshot
from connector.styles import HouseStyle, parse_style
from renderer.errors import InputError

log = logging.getLogger(__name__)

SOURCES = ("webhook", "reconcile", "backfill", "manual")
#: Every code `process_product` and `mark_deleted` answer with.
CODES = (
    "queued",  # a render job was created (or revived); its message goes with the commit
    "in_progress",  # the same render is already queued or running
    "unchanged",  # the source photos are the ones already rendered or queued
    "stale",  # older than what was already processed for this product
    "shop_inactive",  # the shop uninstalled Worn
    "archived",  # the product is archived
    "not_jewelry",
    "unsupported_kind",
    "unknown_kind",
    "kind_disabled",
    "no_plate",
    "no_photo",  # jewelry, but no ready image of its own yet
    "deleted",
)


@dataclass(frozen=True)
class IntakeResult:
    """What happened to one product snapshot: a stable code, the reason in words, and the rows involved."""

    code: str
    detail: str
    product_gid: str
    product_id: int | None = None
    kind: str | None = None
    fingerprint: str | None = None
    job_id: int | None = None
    superseded_jobs: int = 0
    superseded_drafts: int = 0


# --- the shop's style ------------------------------------------------------------------------------------

_STYLE_CACHE: dict[tuple[int, str], HouseStyle] = {}


def shop_style(services: Services, session: Session, shop: Shop) -> tuple[HouseStyle, StyleVersion]:
    """Return the shop's current style and version, giving a shop without one the default style first."""
    version = _style_version(session, shop)
    if version is None:
        # Two first deliveries of a new shop at once: the second waits here, then finds the first's style.
        lock_row(session, select(Shop).where(Shop.id == shop.id))
        version = _style_version(session, shop)
    if version is None:
        style = freeze(services.default_style, services.settings.STYLES_DIR, services.storage)
        version = assign_style(session, shop, style)
        log.info("shop %s starts with house style %r (version %s)", shop.domain, style.name, version.id)
    key = (version.id, version.content_hash)
    parsed = _STYLE_CACHE.get(key)
    if parsed is None:
        # Versions are immutable, so a parsed copy is good for as long as the process lives.
        parsed = parse_style(version.document, f"style version {version.id} of {shop.domain}")
        if len(_STYLE_CACHE) > 1024:
            _STYLE_CACHE.clear()
        _STYLE_CACHE[key] = parsed
    return parsed, version


def _style_version(session: Session, shop: Shop) -> StyleVersion | None:
    if not shop.style_version_id:
        return None
    # The document is read only when this process has not parsed that version yet (see shop_style).
    version = session.get(StyleVersion, shop.style_version_id, options=[defer(StyleVersion.document)])
    return version if version is not None and version.shop_id == shop.id else None


# --- rows ------------------------------------------------------------------------------------------------
# Plain SQL statements on the session's connection, not the ORM's unit of work: this runs inside every
# webhook request, and a handful of statements is all it needs.


@dataclass(frozen=True)
class _ProductState:
    id: int
    kind: str | None
    fingerprint: str | None
    updated_at: dt.datetime | None
    triggered_at: dt.datetime | None


def _sql(session: Session) -> IntakeSQL:
    return intake_sql(session.get_bind().dialect.name)


def lock_row(session: Session, query: Any) -> Any:
    """Re-read one ORM row from the database, locked until commit on PostgreSQL (FOR NO KEY UPDATE)."""
    query = query.execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return session.scalar(query)


def _lock_product(session: Session, shop_id: int, product_gid: str) -> tuple[_ProductState, bool]:
    """Return the product's state, its row created when missing and locked until commit, and whether it
    was created now. Two deliveries for one product at once are decided one after the other."""
    conn, sql = session.connection(), _sql(session)
    key = {"shop_id": shop_id, "product_gid": product_gid}
    row = conn.execute(sql.product_state, key).first()
    if row is not None:
        return _ProductState(*row), False
    created = conn.execute(sql.insert_product, {**key, "now": utcnow()}).scalar()
    if created is not None:
        return _ProductState(created, None, None, None, None), True
    # Inserted meanwhile by a delivery we waited for: read (and lock) what it left.
    return _ProductState(*conn.execute(sql.product_state, key).one()), False


def worn_media_gids(session: Session, shop_id: int, media: Iterable[MediaItem]) -> frozenset[str]:
    """Return which of `media` Worn wrote itself (by the MediaImage GIDs its write-backs recorded)."""
    gids = sorted({item.gid for item in media})
    if not gids:
        return frozenset()
    rows = session.connection().execute(_sql(session).worn_media, {"shop_id": shop_id, "gids": gids})
    return frozenset(gid for (gid,) in rows if gid)


def supersede_pending(
    session: Session, shop_id: int, product_id: int, *, keep: str | None = None
) -> tuple[int, int]:
    """Mark the product's pending jobs (but the one keyed `keep`) and unapproved drafts superseded."""
    conn, sql = session.connection(), _sql(session)
    ids = {"of_shop": shop_id, "of_product": product_id, "now": utcnow()}
    jobs = conn.execute(sql.supersede_jobs, {**ids, "keep": keep or ""}).rowcount
    drafts = conn.execute(sql.supersede_drafts, ids).rowcount
    return jobs, drafts


def _queue_render(
    session: Session, product_id: int, key: str, snapshot: ProductSnapshot, job: dict[str, Any]
) -> tuple[int, bool, str]:
    """Return (job id, whether a message is to be sent, how) for the render of this fingerprint and style."""
    conn, sql = session.connection(), _sql(session)
    job = {**job, "product_id": product_id, "now": utcnow()}
    job_id = conn.execute(sql.insert_job, {**job, "key": key}).scalar()
    if job_id is not None:
        return job_id, True, "new render job"
    existing = conn.execute(sql.job_by_key, {"key": key}).one()
    if existing.state in ("queued", "running"):
        return existing.id, False, f"render job {existing.id} is already {existing.state}"
    if existing.state in ("superseded", "cancelled", "failed"):
        # The photos went back to ones whose render never finished: that same job runs again.
        conn.execute(sql.requeue_job, {"job_id": existing.id, "now": utcnow()})
        return existing.id, True, f"render job {existing.id} ({existing.state}) queued again"
    # Done before, and its drafts superseded since: render again, keyed by this update so that the same
    # update processed twice still makes one job.
    rerender_key = f"{key}:{snapshot.updated_at:%Y%m%dT%H%M%S%f}"
    job_id = conn.execute(sql.insert_job, {**job, "key": rerender_key}).scalar()
    if job_id is not None:
        return job_id, True, f"new render job (job {existing.id} rendered these photos before)"
    again = conn.execute(sql.job_by_key, {"key": rerender_key}).one().id
    return again, False, f"render job {again} exists for this update"


def _save_product(session: Session, product_id: int, **values: Any) -> None:
    session.connection().execute(
        _sql(session).update_product, {"product_id": product_id, "updated_at": utcnow(), **values}
    )


# --- the decision ----------------------------------------------------------------------------------------


def process_product(
    services: Services,
    session: Session,
    shop: Shop,
    snapshot: ProductSnapshot,
    *,
    source: str,
    triggered_at: dt.datetime | None = None,
) -> IntakeResult:
    """Decide and record what `snapshot` means for `shop`; queue one render when its source photos (or its
    kind) changed.

    `source` is what brought the snapshot (webhook, reconcile, backfill, manual); it becomes the job's
    trigger. Staleness is judged by the product's own `updated_at`; `triggered_at` (a delivery's
    X-Shopify-Triggered-At; None for reads such as reconciliation) orders two snapshots of the same second.
    The caller commits `session`; the render message is sent after the commit.
    """
    if source not in SOURCES:
        raise InputError(f"source {source!r}: expected one of {', '.join(SOURCES)}")
    gid = snapshot.gid
    if not shop.active:
        return IntakeResult("shop_inactive", f"shop {shop.domain} is not active (uninstalled)", gid)

    product, created = _lock_product(session, shop.id, gid)
    stale = _staleness(product, snapshot.updated_at, triggered_at)
    if stale is not None:
        return IntakeResult("stale", stale, gid, product.id, product.kind)

    style, version = shop_style(services, session, shop)
    found = classify(snapshot, style)
    # A product row created just now has no write-backs yet.
    worn = frozenset() if created else worn_media_gids(session, shop.id, snapshot.media)
    fingerprint = source_fingerprint(snapshot.media, worn)
    seen = {
        "title": snapshot.title[:512],
        "product_type": snapshot.product_type[:255],
        "kind": found.kind,
        "shopify_updated_at": snapshot.updated_at,
        "shopify_triggered_at": triggered_at,
        "deleted_at": None,
        "source_media": [asdict(item) for item in source_media(snapshot.media, worn)],
    }

    skip = _skip_reason(snapshot, found, fingerprint)
    if skip is not None:
        code, detail = skip
        jobs, drafts = (0, 0) if created else supersede_pending(session, shop.id, product.id)
        # source_fingerprint None: nothing stands rendered for what the product is now.
        _save_product(
            session, product.id, **seen, decision=code, decision_detail=detail, source_fingerprint=None
        )
        if jobs or drafts:
            detail += f"; superseded {jobs} pending job(s) and {drafts} draft(s)"
        return IntakeResult(code, detail, gid, product.id, found.kind, fingerprint, None, jobs, drafts)

    assert fingerprint is not None and found.kind is not None
    # The render depends on the photos and on what the piece is: a product re-categorised (earrings that
    # were really a pendant) with the same photos is rendered again as what it is now.
    if fingerprint == product.fingerprint and found.kind == product.kind:
        _save_product(
            session,
            product.id,
            **seen,
            decision="jewelry",
            decision_detail=found.reason,
            source_fingerprint=fingerprint,
        )
        return IntakeResult(
            "unchanged",
            f"{found.kind}: source photos unchanged since their render was queued",
            gid,
            product.id,
            found.kind,
            fingerprint,
        )

    key = f"{shop.id}:{gid}:{fingerprint}:{version.id}:{found.kind}"
    jobs, drafts = (0, 0) if created else supersede_pending(session, shop.id, product.id, keep=key)
    job = {"shop_id": shop.id, "style_version_id": version.id, "fingerprint": fingerprint, "trigger": source}
    job_id, send, how = _queue_render(session, product.id, key, snapshot, job)
    _save_product(
        session,
        product.id,
        **seen,
        decision="jewelry",
        decision_detail=found.reason,
        source_fingerprint=fingerprint,
    )
    if send:
        send_on_commit(session, services.queue, RENDER, {"render_job": job_id}, shop_id=shop.id)
    detail = f"{found.kind} ({found.reason}): {how}"
    if jobs or drafts:
        detail += f"; superseded {jobs} pending job(s) and {drafts} draft(s)"
    log.debug("product %s: %s", gid, detail, extra={"job": job_id})
    code = "queued" if send else "in_progress"
    return IntakeResult(code, detail, gid, product.id, found.kind, fingerprint, job_id, jobs, drafts)


def _staleness(
    product: _ProductState, updated_at: dt.datetime, triggered_at: dt.datetime | None
) -> str | None:
    """Say why a snapshot is older than what was processed for the product, or None when it is not."""
    newest = product.updated_at
    if newest is None:
        return None
    if updated_at < newest:
        return f"updated_at {updated_at.isoformat()} is older than {newest.isoformat()}, already processed"
    seen = product.triggered_at
    if updated_at == newest and triggered_at is not None and seen is not None and triggered_at < seen:
        # Same second of updated_at: Shopify's trigger time tells which change came first.
        return (
            f"updated_at {updated_at.isoformat()} equals the one processed, and it was triggered at "
            f"{triggered_at.isoformat()}, before {seen.isoformat()}"
        )
    return None


def _skip_reason(
    snapshot: ProductSnapshot, found: Classification, fingerprint: str | None
) -> tuple[str, str] | None:
    if snapshot.status == "archived":
        return "archived", "the product is archived"
    if not found.renders:
        return found.code, found.reason
    if fingerprint is None:
        return "no_photo", f"{found.kind} ({found.reason}), but no ready image of its own yet"
    return None


def mark_deleted(session: Session, shop: Shop, product_gid: str, *, when: dt.datetime) -> IntakeResult:
    """Record that the product was deleted at `when`: its pending jobs and drafts are superseded.

    The row stays (with `deleted_at`) so that a create or update delivered late, older than the deletion,
    is recognised as stale rather than bringing the product back.
    """
    product, created = _lock_product(session, shop.id, product_gid)
    jobs, drafts = (0, 0) if created else supersede_pending(session, shop.id, product.id)
    newer = product.updated_at is None or product.updated_at < when
    session.connection().execute(
        update(Product)
        .where(Product.id == product.id)
        .values(
            deleted_at=when,
            decision="deleted",
            decision_detail=f"deleted in Shopify at {when.isoformat()}",
            source_fingerprint=None,
        )
        .values(
            {"shopify_updated_at": when, "shopify_triggered_at": when} if newer else {},
        )
    )
    detail = "product deleted"
    if jobs or drafts:
        detail += f"; superseded {jobs} pending job(s) and {drafts} draft(s)"
    return IntakeResult("deleted", detail, product_gid, product.id, product.kind, None, None, jobs, drafts)
