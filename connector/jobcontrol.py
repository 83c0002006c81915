"""Ask for renders and re-sends, and list the shop's jobs: another plate, re-render, retry.

Jobs are created through their idempotency key (INSERT ... ON CONFLICT DO NOTHING), so a double click, or
two at once, finds the job the first one made. Messages go out after the commit (`connector.outbox`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connector.decisions import rows_changed, write_back_message
from connector.models import Draft, Product, RenderJob, Shop, StyleVersion, WriteBack, utcnow
from connector.outbox import send_on_commit
from connector.paging import Page, page_of
from connector.queue import RENDER, WRITEBACK, Queue
from connector.review import ACTIVE_JOB_STATES, source_photo, style_of
from connector.shops import get_owned, owned
from connector.styles import HouseStyle, parse_style

JOB_FILTERS = {
    "active": ACTIVE_JOB_STATES,
    "failed": ("failed",),
    "done": ("done", "superseded", "cancelled"),
    "all": None,
}
WRITE_BACK_FILTERS = {
    "active": ("queued", "staged", "uploaded", "attached", "ready"),
    "failed": ("failed",),
    "done": ("done", "removed"),
    "all": None,
}
#: A queued write-back with no progress for this long may have lost its message: it can be sent again.
STALE_QUEUED = dt.timedelta(minutes=5)


def render_message(job_id: int) -> dict[str, int]:
    """Return the RENDER queue message that asks a worker to run render job `job_id`."""
    return {"render_job": int(job_id)}


@dataclass(frozen=True)
class JobRequest:
    """What asking for a render (another plate, re-render, retry) did."""

    code: str  # queued | already_queued | no_plate_left | no_source | not_found | conflict
    job_id: int | None = None
    plates: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class JobRow:
    """A render job in the jobs list."""

    id: int
    product_id: int
    product_title: str
    state: str
    trigger: str
    plates: tuple[str, ...] | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    drafts: int


@dataclass(frozen=True)
class WriteBackRow:
    """A write-back in the jobs list."""

    id: int
    product_id: int
    product_title: str
    draft_id: int
    state: str
    media_gid: str | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _insert_job(session: Session, values: dict[str, Any]) -> tuple[RenderJob, bool]:
    """Insert a render job unless one with the same idempotency key exists; return it and whether it's new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(RenderJob)
        .values(state="queued", attempts=0, created_at=now, updated_at=now, **values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(RenderJob.id)
    )
    # RETURNING, not rowcount: an ORM session's insert reports no rowcount on PostgreSQL.
    created = session.execute(statement).first() is not None
    job = session.scalar(select(RenderJob).where(RenderJob.idempotency_key == values["idempotency_key"]))
    assert job is not None and job.shop_id == values["shop_id"], "idempotency keys start with the shop id"
    return job, created


def _plates_of_job(session: Session, job: RenderJob, kind: str | None) -> set[str]:
    if job.plates:
        return set(job.plates)
    if job.style_version_id is None:
        return set()
    version = get_owned(session, StyleVersion, job.shop_id, job.style_version_id)
    if version is None:
        return set()
    style = parse_style(version.document, f"style version {version.id}")
    return {plate.id for plate in style.active_plates(kind)}


def plates_used(session: Session, shop_id: int, product: Product) -> set[str]:
    """Return the plates already tried for the product's current photo (jobs not dropped, live drafts)."""
    jobs = session.scalars(
        owned(RenderJob, shop_id).where(
            RenderJob.product_id == product.id,
            RenderJob.source_fingerprint == (product.source_fingerprint or ""),
            RenderJob.state.not_in(("superseded", "cancelled")),
        )
    )
    used: set[str] = set()
    for job in jobs:
        used |= _plates_of_job(session, job, product.kind)
    used |= set(
        session.scalars(
            select(Draft.plate_id).where(
                Draft.shop_id == shop_id,
                Draft.product_id == product.id,
                Draft.state.not_in(("superseded", "expired")),
            )
        )
    )
    return used


def _renderable(
    session: Session, shop_id: int, product_id: int
) -> tuple[Product, Shop, HouseStyle] | JobRequest:
    product = get_owned(session, Product, shop_id, product_id)
    shop = session.get(Shop, shop_id)
    if product is None or shop is None or product.deleted_at is not None:
        return JobRequest("not_found")
    if not product.source_fingerprint or source_photo(product).url is None:
        return JobRequest("no_source", detail="the product has no photo Worn can render from")
    style = style_of(session, shop)
    if style is None:
        return JobRequest("conflict", detail="the shop has no house style yet; open House style once")
    return product, shop, style


def another_plate(session: Session, queue: Queue, shop_id: int, product_id: int) -> JobRequest:
    """Render the product on the next plate of the house style it has not been tried on yet.

    Idempotent: the job's key names the plate, so a second click while it renders finds the same job.
    """
    found = _renderable(session, shop_id, product_id)
    if isinstance(found, JobRequest):
        return found
    product, shop, style = found
    candidates = style.active_plates(product.kind)
    used = plates_used(session, shop_id, product)
    fresh = [plate for plate in candidates if plate.id not in used]
    if not fresh:
        queued = session.scalar(
            owned(RenderJob, shop_id)
            .where(
                RenderJob.product_id == product.id,
                RenderJob.state.in_(ACTIVE_JOB_STATES),
                RenderJob.trigger == "manual",
            )
            .order_by(RenderJob.id.desc())
        )
        if queued is not None and queued.plates:
            return JobRequest("already_queued", queued.id, tuple(queued.plates))
        return JobRequest(
            "no_plate_left",
            detail=f"every approved plate that can carry a {product.kind or 'piece'} was used "
            f"({len(candidates)}); add plates under House style",
        )
    plate = fresh[0]
    key = f"{shop_id}:{product.id}:{product.source_fingerprint}:{shop.style_version_id}:plate:{plate.id}"
    job, created = _insert_job(
        session,
        {
            "shop_id": shop_id,
            "product_id": product.id,
            "style_version_id": shop.style_version_id,
            "idempotency_key": key,
            "source_fingerprint": product.source_fingerprint,
            "trigger": "manual",
            "plates": [plate.id],
        },
    )
    if created:
        send_on_commit(session, queue, RENDER, render_message(job.id), shop_id=shop_id)
    return JobRequest("queued" if created else "already_queued", job.id, (plate.id,))


def rerender_product(session: Session, queue: Queue, shop_id: int, product_id: int) -> JobRequest:
    """Render the product again on every suitable plate; a second click while it runs finds that job."""
    found = _renderable(session, shop_id, product_id)
    if isinstance(found, JobRequest):
        return found
    product, shop, style = found
    plates = tuple(p.id for p in style.active_plates(product.kind))
    if not plates:
        return JobRequest("no_plate_left", detail=f"no approved plate can carry a {product.kind or 'piece'}")
    # A re-render is a manual job for every plate (no plate list); plates may be SQL NULL or JSON null.
    manual = [
        job
        for job in session.scalars(
            owned(RenderJob, shop_id).where(RenderJob.product_id == product.id, RenderJob.trigger == "manual")
        )
        if not job.plates
    ]
    running = next((job for job in manual if job.state in ACTIVE_JOB_STATES), None)
    if running is not None:
        return JobRequest("already_queued", running.id, plates)
    # Numbered, so two concurrent clicks compute the same key and the second insert is a no-op.
    number = len(manual)
    job, created = _insert_job(
        session,
        {
            "shop_id": shop_id,
            "product_id": product.id,
            "style_version_id": shop.style_version_id,
            "idempotency_key": f"{shop_id}:{product.id}:{product.source_fingerprint}:rerender:{number + 1}",
            "source_fingerprint": product.source_fingerprint,
            "trigger": "manual",
        },
    )
    if created:
        send_on_commit(session, queue, RENDER, render_message(job.id), shop_id=shop_id)
    return JobRequest("queued" if created else "already_queued", job.id, plates)


def retry_job(session: Session, queue: Queue, shop_id: int, job_id: int) -> JobRequest:
    """Queue a failed render job again (idempotent: a job already queued or running stays as it is)."""
    job = get_owned(session, RenderJob, shop_id, job_id)
    if job is None:
        return JobRequest("not_found")
    moved = rows_changed(
        session,
        update(RenderJob)
        .where(RenderJob.id == job.id, RenderJob.shop_id == shop_id, RenderJob.state == "failed")
        .values(state="queued", attempts=0, finished_at=None, updated_at=utcnow()),
    )
    session.refresh(job)
    if moved:
        send_on_commit(session, queue, RENDER, render_message(job.id), shop_id=shop_id)
        return JobRequest("queued", job.id, tuple(job.plates or ()))
    if job.state in ACTIVE_JOB_STATES:
        return JobRequest("already_queued", job.id, tuple(job.plates or ()))
    return JobRequest("conflict", job.id, detail=f"a {job.state} job is not retried; re-render the product")


def retry_write_back(session: Session, queue: Queue, shop_id: int, write_back_id: int) -> JobRequest:
    """Send a failed write-back (or one queued long ago whose message was lost) to the worker again."""
    wb = get_owned(session, WriteBack, shop_id, write_back_id)
    if wb is None:
        return JobRequest("not_found")
    stale = utcnow() - STALE_QUEUED
    moved = rows_changed(
        session,
        update(WriteBack)
        .where(
            WriteBack.id == wb.id,
            WriteBack.shop_id == shop_id,
            (WriteBack.state == "failed") | ((WriteBack.state == "queued") & (WriteBack.updated_at < stale)),
        )
        .values(state="queued", attempts=0, updated_at=utcnow()),
    )
    session.refresh(wb)
    if moved:
        session.execute(
            update(Draft)
            .where(Draft.id == wb.draft_id, Draft.shop_id == shop_id, Draft.state == "failed")
            .values(state="approved", updated_at=utcnow())
        )
        send_on_commit(session, queue, WRITEBACK, write_back_message(wb.id), shop_id=shop_id)
        return JobRequest("queued", wb.id)
    if wb.state not in ("done", "removed", "failed"):
        return JobRequest("already_queued", wb.id)
    return JobRequest("conflict", wb.id, detail=f"a {wb.state} write-back is not sent again")


def jobs(
    session: Session, shop_id: int, *, state: str = "all", cursor: int | None = None, limit: int = 20
) -> Page[JobRow]:
    """List the shop's render jobs, newest first, filtered by `state` (active, failed, done, all)."""
    query = (
        select(RenderJob, Product.title, Product.product_gid)
        .join(Product, Product.id == RenderJob.product_id)
        .where(RenderJob.shop_id == shop_id)
    )
    states = JOB_FILTERS[state]
    if states is not None:
        query = query.where(RenderJob.state.in_(states))
    if cursor is not None:
        query = query.where(RenderJob.id < cursor)
    rows = session.execute(query.order_by(RenderJob.id.desc()).limit(limit + 1)).all()
    draft_counts = dict(
        session.execute(
            select(Draft.job_id, func.count())
            .where(Draft.shop_id == shop_id, Draft.job_id.in_([r[0].id for r in rows]))
            .group_by(Draft.job_id)
        ).all()
    )
    items = [
        JobRow(
            id=job.id,
            product_id=job.product_id,
            product_title=title or gid,
            state=job.state,
            trigger=job.trigger,
            plates=tuple(job.plates) if job.plates else None,
            attempts=job.attempts,
            last_error=job.last_error,
            created_at=job.created_at,
            finished_at=job.finished_at,
            drafts=draft_counts.get(job.id, 0),
        )
        for job, title, gid in rows
    ]
    return page_of(items, limit, lambda row: row.id)


def write_backs(
    session: Session, shop_id: int, *, state: str = "all", cursor: int | None = None, limit: int = 20
) -> Page[WriteBackRow]:
    """List the shop's write-backs, newest first, filtered by `state` (active, failed, done, all)."""
    query = (
        select(WriteBack, Product.title, Product.product_gid)
        .join(Product, Product.id == WriteBack.product_id)
        .where(WriteBack.shop_id == shop_id)
    )
    states = WRITE_BACK_FILTERS[state]
    if states is not None:
        query = query.where(WriteBack.state.in_(states))
    if cursor is not None:
        query = query.where(WriteBack.id < cursor)
    rows = session.execute(query.order_by(WriteBack.id.desc()).limit(limit + 1)).all()
    items = [
        WriteBackRow(
            id=wb.id,
            product_id=wb.product_id,
            product_title=title or gid,
            draft_id=wb.draft_id,
            state=wb.state,
            media_gid=wb.media_gid,
            attempts=wb.attempts,
            last_error=wb.last_error,
            created_at=wb.created_at,
            updated_at=wb.updated_at,
        )
        for wb, title, gid in rows
    ]
    return page_of(items, limit, lambda row: row.id)
