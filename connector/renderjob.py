"""Do one render job: fetch the product and its photo, render it on each suitable plate, record the drafts.

A job is idempotent: a draft is unique per (job, plate), its files are stored under keys derived from both,
and a re-delivered job renders only the plates that have no draft yet. The render itself is one function
(`RenderStep`), so a GPU worker plugs in its own without touching the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import products
from connector.admin import AdminClient
from connector.fingerprint import source_fingerprint, source_media
from connector.intake import lock_row, process_product
from connector.models import (
    Draft,
    PlateAnalysisCache,
    Product,
    RenderJob,
    Shop,
    StyleVersion,
    WriteBack,
    utcnow,
)
from connector.platecheck import analysis_key
from connector.services import Services
from connector.shopstyle import plate_image_bytes
from connector.snapshot import ProductSnapshot
from connector.styles import HouseStyle, PlateSpec, parse_style
from connector.writeback import approve_draft, enqueue
from renderer.errors import InputError, WornError

log = logging.getLogger(__name__)

SKIP_STATES = ("done", "superseded", "cancelled")


@dataclass(frozen=True)
class PlateInput:
    """One plate to render on: its spec, encoded image, content hash and cached analysis (or None)."""

    spec: PlateSpec
    image: bytes
    content_hash: str
    analysis: dict[str, Any] | None


@dataclass(frozen=True)
class RenderRequest:
    """Everything a render step needs, with no database or network in it."""

    photo: bytes
    kind: str
    size: Any  # renderer.StatedSize | None
    plates: tuple[PlateInput, ...]
    style: HouseStyle


@dataclass(frozen=True)
class RenderedImage:
    """One plate's result: the encoded image and thumbnail when offered, else the reason it was not."""

    plate_id: str
    offered: bool
    report: dict[str, Any]
    image: bytes | None = None
    thumbnail: bytes | None = None
    extension: str = "jpg"
    width: int | None = None
    height: int | None = None
    reason: str = ""
    analysis: dict[str, Any] | None = None  # a plate analysis computed on the way, to cache


RenderStep = Callable[[RenderRequest], list[RenderedImage]]


@dataclass(frozen=True)
class JobOutcome:
    """How a render job ended: code done|skipped|superseded|cancelled, and what it made."""

    code: str
    detail: str = ""
    drafts: tuple[int, ...] = ()
    write_backs: tuple[int, ...] = field(default=())


class JobCancelled(WornError):
    """The job should not run any more (product gone, no photo, no plate); recorded, never retried."""


def draft_key(shop_id: int, job_id: int, plate_id: str, suffix: str) -> str:
    """Return the storage key of a draft file: every file of a shop lives under shops/{shop_id}/."""
    return f"shops/{shop_id}/drafts/{job_id}/{plate_id}{suffix}"


def _finish(services: Services, job_id: int, state: str, detail: str = "") -> None:
    with services.db.session() as session:
        job = session.get(RenderJob, job_id)
        if job is not None:
            job.state, job.last_error, job.finished_at = state, detail or None, utcnow()


def run_render_job(services: Services, job_id: int, render_step: RenderStep) -> JobOutcome:
    """Run render job `job_id` to its end; raise on a failure the worker may retry."""
    with services.db.session() as session:
        job = session.get(RenderJob, job_id)
        if job is None:
            return JobOutcome("skipped", f"render job {job_id} no longer exists")
        if job.state in SKIP_STATES:
            return JobOutcome("skipped", f"render job {job_id} is {job.state}")
        shop = session.get(Shop, job.shop_id)
        product = session.get(Product, job.product_id)
        version = session.get(StyleVersion, job.style_version_id) if job.style_version_id else None
        if shop is None or not shop.active:
            job.state, job.last_error = "cancelled", "the shop uninstalled Worn"
            return JobOutcome("cancelled", job.last_error)
        if product is None or product.deleted_at is not None or version is None or product.kind is None:
            job.state, job.last_error = "cancelled", "the product or its style is gone"
            return JobOutcome("cancelled", job.last_error)
        job.state, job.attempts, job.started_at = "running", job.attempts + 1, utcnow()
        shop_id, shop_domain, kind, gid = shop.id, shop.domain, product.kind, product.product_gid
        fingerprint, wanted, product_id = job.source_fingerprint, job.plates, product.id
        style = parse_style(version.document, f"style version {version.id} of {shop.domain}")
        version_id = version.id
        worn_gids = {
            gid
            for gid in session.scalars(
                select(WriteBack.media_gid).where(
                    WriteBack.shop_id == shop_id, WriteBack.product_id == product_id
                )
            )
            if gid
        }
        client = AdminClient.for_shop(services, shop)

    try:
        snapshot = products.read_product(client, gid)
    except products.ProductNotFound as exc:
        _finish(services, job_id, "cancelled", str(exc))
        return JobOutcome("cancelled", str(exc))
    current = source_fingerprint(snapshot.media, worn_gids)
    if current != fingerprint:
        # The photos changed since the job was queued (and the webhook saying so may be lost): this job
        # stops, and the product goes through the intake again, which queues the render of what it is now.
        state = "superseded" if current is not None else "cancelled"
        detail = (
            "the product's photos changed since this job was queued"
            if current is not None
            else "the product has no source photo any more"
        )
        _finish(services, job_id, state, detail)
        _feed_intake(services, shop_id, snapshot)
        return JobOutcome(state, detail)

    plates = [p for p in style.active_plates(kind) if wanted is None or p.id in wanted]
    if not plates:
        detail = f"no approved plate of style {style.name!r} suits a {kind}"
        _finish(services, job_id, "cancelled", detail)
        return JobOutcome("cancelled", detail)
    with services.db.session() as session:
        done = {
            d.plate_id
            for d in session.scalars(select(Draft).where(Draft.shop_id == shop_id, Draft.job_id == job_id))
            if d.image_key is not None or d.state == "failed"
        }
    todo = [p for p in plates if p.id not in done]

    drafts: list[int] = []
    if todo:
        source = source_media(snapshot.media, worn_gids)[0]
        size = products.stated_size(snapshot, kind, style)
        if size.size is None:
            log.info("%s states no size; the renderer assumes a typical one", gid)
        for note in size.notes:
            log.info("%s: %s", gid, note)
        try:
            photo, _type = products.download_photo(
                services.settings, str(source.url), shop_domain=shop_domain, http=client.http
            )
            inputs = _plate_inputs(services, shop_id, todo)
            results = render_step(RenderRequest(photo, kind, size.size, tuple(inputs), style))
        except (products.SourcePhotoError, InputError) as exc:
            if getattr(exc, "retryable", False):
                raise
            # The photo itself is the problem (not an image, no clean cutout): the merchant reads why.
            detail = f"the product photo cannot be rendered: {exc}"
            _finish(services, job_id, "failed", detail)
            return JobOutcome("failed", detail)
        hashes = {plate.spec.id: plate.content_hash for plate in inputs}
        for result in results:
            if result.analysis is not None and result.plate_id in hashes:
                _cache_analysis(services, shop_id, hashes[result.plate_id], result.analysis)
        drafts, changed = _record(
            services, shop_id, (product_id, fingerprint, kind), job_id, version_id, results, size.notes
        )
        if changed is not None:
            # The product changed while this job rendered (the intake queued the render of what it is now):
            # its drafts are kept, superseded, and nothing of it is approved.
            _finish(services, job_id, "superseded", changed)
            return JobOutcome("superseded", changed, tuple(drafts))

    write_backs = _auto_approve(services, shop_id, job_id) if style.approval.auto_approve else []
    _finish(services, job_id, "done")
    return JobOutcome("done", f"{len(drafts)} draft(s)", tuple(drafts), tuple(write_backs))


def _feed_intake(services: Services, shop_id: int, snapshot: ProductSnapshot) -> None:
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is not None:
            result = process_product(services, session, shop, snapshot, source="reconcile")
            log.info(
                "product %s went through the intake again: %s (%s)", snapshot.gid, result.code, result.detail
            )


def _plate_inputs(services: Services, shop_id: int, plates: list[PlateSpec]) -> list[PlateInput]:
    inputs = []
    for plate in plates:
        data = plate_image_bytes(plate, services.settings.STYLES_DIR, services.storage)
        digest = analysis_key(data, plate.crop)  # of the cropped picture: the crop is part of the key
        with services.db.session() as session:
            cached = session.scalar(_cached(shop_id, digest))
            analysis = dict(cached.analysis) if cached is not None else None
        inputs.append(PlateInput(plate, data, digest, analysis))
    return inputs


def _cached(shop_id: int, digest: str) -> Select[Any]:
    return select(PlateAnalysisCache).where(
        PlateAnalysisCache.shop_id == shop_id, PlateAnalysisCache.content_hash == digest
    )


def _cache_analysis(services: Services, shop_id: int, digest: str, analysis: dict[str, Any]) -> None:
    try:
        with services.db.session() as session:
            exists = session.scalar(_cached(shop_id, digest))
            if exists is None:
                session.add(PlateAnalysisCache(shop_id=shop_id, content_hash=digest, analysis=analysis))
            else:  # the cached one was unusable (an older renderer's format) and was redone
                exists.analysis = analysis
    except IntegrityError:
        pass  # another worker cached the same plate first


def _changed_since(session: Session, product_id: int, fingerprint: str | None, kind: str) -> str | None:
    """Say how the product stopped being what a job renders (its photos, its kind, deleted), or None.

    The product's row is locked until commit (`lock_row`, as the intake locks it): a draft recorded as
    current commits before the intake's change (which then supersedes it), or sees that change.
    """
    product = lock_row(session, select(Product).where(Product.id == product_id))
    if product is None or product.deleted_at is not None:
        return "the product was deleted while this job rendered"
    if product.source_fingerprint != fingerprint:
        return "the product's photos changed (or it stopped being rendered) while this job rendered"
    if product.kind != kind:
        return f"the product became a {product.kind} while this job rendered it as a {kind}"
    return None


def _record(
    services: Services,
    shop_id: int,
    product: tuple[int, str | None, str],
    job_id: int,
    version_id: int,
    results: list[RenderedImage],
    notes: tuple[str, ...],
) -> tuple[list[int], str | None]:
    """Store each result's files, then its Draft row; a row another worker wrote first is kept.

    `product` is (id, source fingerprint, kind) as the job rendered it. Return the drafts' ids and, when
    the product has changed since (see `_changed_since`), how: the drafts are then recorded superseded.
    """
    product_id, fingerprint, kind = product
    ids: list[int] = []
    changed: str | None = None
    for result in results:
        image_key = thumb_key = None
        if result.offered and result.image is not None:
            image_key = draft_key(shop_id, job_id, result.plate_id, f".{result.extension}")
            services.storage.put(image_key, result.image)
            if result.thumbnail is not None:
                thumb_key = draft_key(shop_id, job_id, result.plate_id, "-thumb.jpg")
                services.storage.put(thumb_key, result.thumbnail)
        report = {**result.report, "size_notes": list(notes)} if notes else dict(result.report)
        try:
            with services.db.session() as session:
                changed = changed or _changed_since(session, product_id, fingerprint, kind)
                existing = session.scalar(
                    select(Draft).where(
                        Draft.shop_id == shop_id, Draft.job_id == job_id, Draft.plate_id == result.plate_id
                    )
                )
                draft = existing or Draft(
                    shop_id=shop_id,
                    product_id=product_id,
                    job_id=job_id,
                    plate_id=result.plate_id,
                    style_version_id=version_id,
                )
                draft.image_key, draft.thumb_key = image_key, thumb_key
                draft.width, draft.height, draft.report = result.width, result.height, report
                draft.state = "awaiting_review" if image_key else "failed"
                if changed is not None:
                    draft.state = "superseded"
                draft.error = None if image_key else (result.reason or "the render did not pass its checks")
                session.add(draft)
                session.flush()
                ids.append(draft.id)
        except IntegrityError:
            log.info("draft for job %s plate %s was recorded by another worker", job_id, result.plate_id)
    return ids, changed


def _auto_approve(services: Services, shop_id: int, job_id: int) -> list[int]:
    """Approve the job's offered drafts (the style says so) and queue their write-backs after commit."""
    with services.db.session() as session:
        rows = []
        for draft in session.scalars(
            select(Draft).where(
                Draft.shop_id == shop_id, Draft.job_id == job_id, Draft.state == "awaiting_review"
            )
        ):
            rows.append(approve_draft(session, draft, decided_by="auto"))
    for write_back in rows:
        enqueue(services, write_back)
    return [w.id for w in rows]
