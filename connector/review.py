"""What awaits one shop's merchant: counts by state, the review queue, a product's drafts, skipped products.

Every function takes the shop's id and reads only that shop's rows (`connector.shops.owned`): another
shop's product is simply not found. Lists are keyset-paginated, newest first. The decisions the merchant
makes on these live in `connector.decisions`, the render jobs in `connector.jobcontrol`. No Flask here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from connector.models import Draft, Product, RenderJob, Shop, StyleVersion, WriteBack
from connector.paging import Page, page_of
from connector.shops import get_owned, owned
from connector.shopstyle import current_style
from connector.styles import HouseStyle

#: Draft states the merchant sees on a product (superseded and expired drafts are history).
OPEN_DRAFT_STATES = ("awaiting_review", "approved", "written", "failed", "rejected")
ACTIVE_JOB_STATES = ("queued", "running")
#: Decisions about a product that need nothing from the merchant; the others say why a piece got no drafts.
QUIET_DECISIONS = ("jewelry", "not_jewelry", "deleted")


@dataclass(frozen=True)
class StateCounts:
    """How much of the shop's work is in each state (the home page's numbers)."""

    rendering: int
    awaiting_review: int
    approved: int
    written: int
    failed: int
    skipped: int
    not_jewelry: int


@dataclass(frozen=True)
class SourcePhoto:
    """The merchant's own product photo that the drafts were made from."""

    url: str | None
    width: int | None
    height: int | None
    alt: str | None


@dataclass(frozen=True)
class QueueItem:
    """A product with drafts awaiting review, and the first few of those drafts."""

    product_id: int
    title: str
    kind: str | None
    awaiting: int
    newest_draft_id: int
    newest_at: dt.datetime
    source: SourcePhoto
    drafts: tuple[tuple[int, str | None, str | None], ...]  # (draft id, thumbnail key, image key)


@dataclass(frozen=True)
class Quality:
    """The numbers a merchant judges a draft by, read from the renderer's report (`QualityReport`)."""

    ssim: float | None = None
    delta_e: float | None = None
    achieved_mm: float | None = None
    stated_mm: float | None = None
    quantity: str | None = None  # chain_length, drop_length, stud_diameter, ring_inner_diameter, ...
    size_source: str | None = None  # text | metafield | typical (assumed: nothing was stated)
    size_text: str | None = None  # the words the size was read from ("18 in")
    scale_error: float | None = None
    confidence: float | None = None
    passed: dict[str, bool] = field(default_factory=dict)  # fidelity / scale / confidence verdicts
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteBackView:
    """Where putting an approved draft on the product stands."""

    id: int
    state: str
    media_gid: str | None
    attempts: int
    last_error: str | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class DraftView:
    """One draft as the review page shows it."""

    id: int
    state: str
    plate_id: str
    model: str
    image_key: str | None
    thumb_key: str | None
    width: int | None
    height: int | None
    quality: Quality
    job_id: int
    style_version_id: int | None
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    error: str | None
    write_back: WriteBackView | None


@dataclass(frozen=True)
class ProductReview:
    """Everything the product review page shows: the product, its source photo and its drafts."""

    product_id: int
    product_gid: str
    title: str
    kind: str | None
    decision: str | None
    decision_detail: str | None
    stated_size: dict[str, Any] | None
    source: SourcePhoto
    drafts: Page[DraftView]
    counts: dict[str, int]
    rendering: tuple[int, ...]  # ids of this product's queued or running render jobs
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SkippedProduct:
    """A product Worn looked at and did not render, with the reason."""

    product_id: int
    title: str
    kind: str | None
    decision: str
    detail: str | None
    updated_at: dt.datetime


# --- helpers ---------------------------------------------------------------------------------------------


def source_photo(product: Product) -> SourcePhoto:
    """Return the first source image of the product (the one Worn renders from)."""
    for item in product.source_media or []:
        if isinstance(item, dict) and item.get("url"):
            return SourcePhoto(item.get("url"), item.get("width"), item.get("height"), item.get("alt"))
    return SourcePhoto(None, None, None, None)


def _number(report: dict[str, Any], *path: str) -> float | None:
    value: Any = report
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def quality_of(report: dict[str, Any] | None) -> Quality:
    """Read the numbers of a renderer report (`QualityReport.to_dict()`); missing ones stay None."""
    report = report if isinstance(report, dict) else {}
    stated: dict[str, Any] = report["stated"] if isinstance(report.get("stated"), dict) else {}
    passed: dict[str, Any] = report["passed"] if isinstance(report.get("passed"), dict) else {}
    notes = [n for key in ("notes", "size_notes") for n in (report.get(key) or []) if isinstance(n, str)]
    if _text(report.get("size_note")):
        notes.insert(0, report["size_note"])
    return Quality(
        ssim=_number(report, "ssim"),
        delta_e=_number(report, "delta_e"),
        achieved_mm=_number(report, "achieved_mm"),
        stated_mm=_number(stated, "mm"),
        quantity=_text(stated.get("quantity")),
        size_source=_text(stated.get("source")),
        size_text=_text(stated.get("text")),
        scale_error=_number(report, "scale_error"),
        confidence=_number(report, "anchor_confidence"),
        passed={str(k): bool(v) for k, v in passed.items() if isinstance(v, bool)},
        notes=tuple(dict.fromkeys(notes)),
    )


def style_of(session: Session, shop: Shop) -> HouseStyle | None:
    """Return the shop's current house style, or None before it has one."""
    found = current_style(session, shop)
    return found[0] if found else None


def _plate_models(session: Session, shop_id: int, version_ids: set[int | None]) -> dict[tuple[int, str], str]:
    names: dict[tuple[int, str], str] = {}
    ids = [v for v in version_ids if v is not None]
    if not ids:
        return names
    for version in session.scalars(owned(StyleVersion, shop_id).where(StyleVersion.id.in_(ids))):
        for plate in version.document.get("plates", []):
            names[(version.id, plate.get("id"))] = plate.get("model") or plate.get("id")
    return names


def write_back_view(wb: WriteBack | None) -> WriteBackView | None:
    """Return the page's view of a write-back (None stays None)."""
    if wb is None:
        return None
    return WriteBackView(wb.id, wb.state, wb.media_gid, wb.attempts, wb.last_error, wb.updated_at)


# --- reading ---------------------------------------------------------------------------------------------


def state_counts(session: Session, shop_id: int) -> StateCounts:
    """Count the shop's work by state: rendering, awaiting review, approved, written, failed, skipped."""
    jobs = dict(
        session.execute(
            select(RenderJob.state, func.count())
            .where(RenderJob.shop_id == shop_id)
            .group_by(RenderJob.state)
        ).all()
    )
    drafts = dict(
        session.execute(
            select(Draft.state, func.count()).where(Draft.shop_id == shop_id).group_by(Draft.state)
        ).all()
    )
    failed_write_backs = session.scalar(
        select(func.count()).where(WriteBack.shop_id == shop_id, WriteBack.state == "failed")
    )
    decisions = dict(
        session.execute(
            select(Product.decision, func.count())
            .where(Product.shop_id == shop_id, Product.deleted_at.is_(None))
            .group_by(Product.decision)
        ).all()
    )
    return StateCounts(
        rendering=sum(jobs.get(state, 0) for state in ACTIVE_JOB_STATES),
        awaiting_review=drafts.get("awaiting_review", 0),
        approved=drafts.get("approved", 0),
        written=drafts.get("written", 0),
        failed=jobs.get("failed", 0) + int(failed_write_backs or 0),
        skipped=sum(n for d, n in decisions.items() if d is not None and d not in QUIET_DECISIONS),
        not_jewelry=decisions.get("not_jewelry", 0),
    )


def review_queue(
    session: Session, shop_id: int, *, cursor: int | None = None, limit: int = 20
) -> Page[QueueItem]:
    """List products with drafts awaiting review, the product with the newest such draft first."""
    awaiting = and_(Draft.shop_id == shop_id, Draft.state == "awaiting_review")
    newest = func.max(Draft.id).label("newest")
    query = (
        select(Draft.product_id, newest, func.count().label("awaiting"), func.max(Draft.created_at))
        .where(awaiting)
        .group_by(Draft.product_id)
    )
    if cursor is not None:
        query = query.having(func.max(Draft.id) < cursor)
    groups = session.execute(query.order_by(newest.desc()).limit(limit + 1)).all()
    products = {
        p.id: p
        for p in session.scalars(owned(Product, shop_id).where(Product.id.in_([g[0] for g in groups])))
    }
    thumbs: dict[int, list[tuple[int, str | None, str | None]]] = {}
    if groups:
        for draft in session.scalars(
            select(Draft)
            .where(awaiting, Draft.product_id.in_([g[0] for g in groups]))
            .order_by(Draft.id.desc())
        ):
            shown = thumbs.setdefault(draft.product_id, [])
            if len(shown) < 4:
                shown.append((draft.id, draft.thumb_key, draft.image_key))
    items = [
        QueueItem(
            product_id=product_id,
            title=products[product_id].title or products[product_id].product_gid,
            kind=products[product_id].kind,
            awaiting=count,
            newest_draft_id=newest_id,
            newest_at=newest_at,
            source=source_photo(products[product_id]),
            drafts=tuple(thumbs.get(product_id, ())),
        )
        for product_id, newest_id, count, newest_at in groups
    ]
    return page_of(items, limit, lambda item: item.newest_draft_id)


def skipped_products(
    session: Session, shop_id: int, *, cursor: int | None = None, limit: int = 20, not_jewelry: bool = False
) -> Page[SkippedProduct]:
    """List products Worn did not render and why (products that are not jewelry only when asked)."""
    query = owned(Product, shop_id).where(Product.deleted_at.is_(None), Product.decision.is_not(None))
    if not_jewelry:
        query = query.where(Product.decision == "not_jewelry")
    else:
        query = query.where(Product.decision.not_in(QUIET_DECISIONS))
    if cursor is not None:
        query = query.where(Product.id < cursor)
    rows = [
        SkippedProduct(
            p.id, p.title or p.product_gid, p.kind, p.decision or "", p.decision_detail, p.updated_at
        )
        for p in session.scalars(query.order_by(Product.id.desc()).limit(limit + 1))
    ]
    return page_of(rows, limit, lambda row: row.product_id)


def product_review(
    session: Session,
    shop_id: int,
    product_id: int,
    *,
    cursor: int | None = None,
    limit: int = 24,
    states: tuple[str, ...] = OPEN_DRAFT_STATES,
) -> ProductReview | None:
    """Return the product's source photo and its drafts (newest first), or None when not the shop's."""
    product = get_owned(session, Product, shop_id, product_id)
    if product is None:
        return None
    query = owned(Draft, shop_id).where(Draft.product_id == product.id, Draft.state.in_(states))
    if cursor is not None:
        query = query.where(Draft.id < cursor)
    drafts = list(session.scalars(query.order_by(Draft.id.desc()).limit(limit + 1)))
    write_backs = {
        wb.draft_id: wb
        for wb in session.scalars(
            owned(WriteBack, shop_id).where(WriteBack.draft_id.in_([d.id for d in drafts]))
        )
    }
    models = _plate_models(session, shop_id, {d.style_version_id for d in drafts})
    views = [
        DraftView(
            id=d.id,
            state=d.state,
            plate_id=d.plate_id,
            model=models.get((d.style_version_id or 0, d.plate_id)) or d.plate_id,
            image_key=d.image_key,
            thumb_key=d.thumb_key,
            width=d.width,
            height=d.height,
            quality=quality_of(d.report),
            job_id=d.job_id,
            style_version_id=d.style_version_id,
            created_at=d.created_at,
            decided_by=d.decided_by,
            decided_at=d.decided_at,
            error=d.error,
            write_back=write_back_view(write_backs.get(d.id)),
        )
        for d in drafts
    ]
    counts = dict(
        session.execute(
            select(Draft.state, func.count())
            .where(Draft.shop_id == shop_id, Draft.product_id == product.id)
            .group_by(Draft.state)
        ).all()
    )
    rendering = tuple(
        session.scalars(
            select(RenderJob.id).where(
                RenderJob.shop_id == shop_id,
                RenderJob.product_id == product.id,
                RenderJob.state.in_(ACTIVE_JOB_STATES),
            )
        )
    )
    shop = session.get(Shop, shop_id)
    style = style_of(session, shop) if shop else None
    thresholds = (
        {
            "min_ssim": style.quality.min_ssim,
            "max_delta_e": style.quality.max_delta_e,
            "scale_tolerance": style.quality.scale_tolerance,
        }
        if style
        else {}
    )
    return ProductReview(
        product_id=product.id,
        product_gid=product.product_gid,
        title=product.title or product.product_gid,
        kind=product.kind,
        decision=product.decision,
        decision_detail=product.decision_detail,
        stated_size=product.stated_size,
        source=source_photo(product),
        drafts=page_of(views, limit, lambda view: view.id),
        counts=counts,
        rendering=rendering,
        thresholds=thresholds,
    )


def write_back_status(session: Session, shop_id: int, write_back_id: int) -> WriteBackView | None:
    """Return where a write-back stands, or None when it is not the shop's."""
    return write_back_view(get_owned(session, WriteBack, shop_id, write_back_id))


@dataclass(frozen=True)
class ProductRow:
    """A jewelry product with a photo (the house-style preview's choices)."""

    product_id: int
    title: str
    kind: str
    source: SourcePhoto


def jewelry_products(
    session: Session, shop_id: int, *, cursor: int | None = None, limit: int = 20
) -> Page[ProductRow]:
    """List the shop's jewelry products that have a photo, newest first."""
    query = owned(Product, shop_id).where(
        Product.deleted_at.is_(None), Product.kind.is_not(None), Product.source_fingerprint.is_not(None)
    )
    if cursor is not None:
        query = query.where(Product.id < cursor)
    rows = [
        ProductRow(p.id, p.title or p.product_gid, p.kind or "", source_photo(p))
        for p in session.scalars(query.order_by(Product.id.desc()).limit(limit + 1))
    ]
    return page_of(rows, limit, lambda row: row.product_id)
