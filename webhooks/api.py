"""The review and jobs JSON API the admin pages call under /api (the house style's: `webhooks/style_api.py`).

Every read or write goes through the connector's shop-scoped functions, so another shop's draft is a 404
like a missing one. Decisions are idempotent: a double click answers 200 with `already_...` codes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector import decisions, jobcontrol, review, styleedit
from connector.inputs import parse_choice, parse_cursor, parse_limit, parse_text
from webhooks import jsonapi as j
from webhooks.session import services

bp = j.protect(Blueprint("api", __name__, url_prefix="/api"))


# --- serializers -----------------------------------------------------------------------------------------


def _queue_item(item: review.QueueItem) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "title": item.title,
        "kind": item.kind,
        "awaiting": item.awaiting,
        "newest_at": j.iso(item.newest_at),
        "source": j.source(item.source, 240),
        "drafts": [
            {"id": draft_id, "thumb_url": j.thumb_url(thumb, image)} for draft_id, thumb, image in item.drafts
        ],
    }


def _write_back(view: review.WriteBackView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {
        "id": view.id,
        "state": view.state,
        "media_gid": view.media_gid,
        "attempts": view.attempts,
        "last_error": view.last_error,
        "updated_at": j.iso(view.updated_at),
    }


def _draft(view: review.DraftView) -> dict[str, Any]:
    q = view.quality
    return {
        "id": view.id,
        "state": view.state,
        "plate_id": view.plate_id,
        "model": view.model,
        "thumb_url": j.thumb_url(view.thumb_key, view.image_key),
        "image_url": j.url(view.image_key),
        "width": view.width,
        "height": view.height,
        "quality": j.quality(q),
        "job_id": view.job_id,
        "style_version_id": view.style_version_id,
        "created_at": j.iso(view.created_at),
        "decided_by": view.decided_by,
        "decided_at": j.iso(view.decided_at),
        "error": view.error,
        "write_back": _write_back(view.write_back),
    }


def _job(row: jobcontrol.JobRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "product_id": row.product_id,
        "product_title": row.product_title,
        "state": row.state,
        "trigger": row.trigger,
        "plates": list(row.plates) if row.plates else None,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "drafts": row.drafts,
        "created_at": j.iso(row.created_at),
        "finished_at": j.iso(row.finished_at),
    }


def _write_back_row(row: jobcontrol.WriteBackRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "product_id": row.product_id,
        "product_title": row.product_title,
        "draft_id": row.draft_id,
        "state": row.state,
        "media_gid": row.media_gid,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": j.iso(row.created_at),
        "updated_at": j.iso(row.updated_at),
    }


def _skipped(row: review.SkippedProduct) -> dict[str, Any]:
    return {
        "product_id": row.product_id,
        "title": row.title,
        "kind": row.kind,
        "decision": row.decision,
        "detail": row.detail,
        "updated_at": j.iso(row.updated_at),
    }


# --- home ------------------------------------------------------------------------------------------------


@bp.get("/overview")
def overview() -> Response:
    """Return the counts per state and a summary of the house style."""
    svc = services()
    with svc.db.session() as session:
        counts = review.state_counts(session, j.me().shop_id)
        style, version = styleedit.shop_style(session, svc, j.shop(session))
    return jsonify(
        {
            "shop": j.me().domain,
            "counts": vars(counts),
            "style": {
                "name": style.name,
                "version_id": version.id,
                "auto_approve": style.approval.auto_approve,
                "plates": len(style.active_plates()),
                "pending_plates": sum(1 for p in style.plates if p.status == "pending"),
            },
        }
    )


@bp.get("/review-queue")
def review_queue() -> Response:
    """List the products with drafts awaiting review, newest first."""
    cursor, limit = j.list_args()
    with services().db.session() as session:
        page = review.review_queue(session, j.me().shop_id, cursor=cursor, limit=limit)
        return jsonify(j.page(page, _queue_item))


@bp.get("/products")
def product_list() -> Response:
    """List the jewelry products with a photo, newest first (the preview's choices)."""
    cursor, limit = j.list_args()
    with services().db.session() as session:
        page = review.jewelry_products(session, j.me().shop_id, cursor=cursor, limit=limit)
    return jsonify(
        j.page(
            page,
            lambda row: {
                "product_id": row.product_id,
                "title": row.title,
                "kind": row.kind,
                "source": j.source(row.source, 120),
            },
        )
    )


@bp.get("/products/skipped")
def skipped() -> Response:
    """List the products Worn skipped and why (`not_jewelry=1` for those that are not jewelry)."""
    cursor, limit = j.list_args()
    not_jewelry = parse_choice(request.args.get("not_jewelry"), ("0", "1"), "not_jewelry", "0") == "1"
    with services().db.session() as session:
        page = review.skipped_products(
            session, j.me().shop_id, cursor=cursor, limit=limit, not_jewelry=not_jewelry
        )
    return jsonify(j.page(page, _skipped))


# --- product review --------------------------------------------------------------------------------------


@bp.get("/products/<int:product_id>")
def product(product_id: int) -> Response | tuple[Response, int]:
    """Return the product, its source photo and its drafts (newest first, paginated)."""
    cursor = parse_cursor(request.args.get("cursor"))
    limit = parse_limit(request.args.get("limit"), default=24)
    state = parse_choice(request.args.get("state"), ("open", *review.OPEN_DRAFT_STATES), "state", "open")
    states = review.OPEN_DRAFT_STATES if state == "open" else (state,)
    with services().db.session() as session:
        found = review.product_review(
            session, j.me().shop_id, product_id, cursor=cursor, limit=limit, states=states
        )
    if found is None:
        return jsonify({"error": {"code": "not_found", "message": f"no product {product_id}"}}), 404
    numeric = found.product_gid.rsplit("/", 1)[-1]
    return jsonify(
        {
            "product": {
                "id": found.product_id,
                "gid": found.product_gid,
                "title": found.title,
                "kind": found.kind,
                "decision": found.decision,
                "decision_detail": found.decision_detail,
                "stated_size": found.stated_size,
                "admin_url": f"https://{j.me().domain}/admin/products/{numeric}",
            },
            "source": j.source(found.source, 960),
            "drafts": j.page(found.drafts, _draft),
            "counts": found.counts,
            "rendering": list(found.rendering),
            "thresholds": found.thresholds,
        }
    )


@bp.post("/drafts/<int:draft_id>/approve")
def approve(draft_id: int) -> tuple[Response, int]:
    """Approve a draft and queue its write-back (a second click finds it approved)."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        result = decisions.approve(session, svc.queue, j.me().shop_id, draft_id, j.me().user)
    return j.result(result)


@bp.post("/drafts/<int:draft_id>/reject")
def reject(draft_id: int) -> tuple[Response, int]:
    """Reject a draft awaiting review, with an optional reason."""
    body = j.body()
    j.only(body, ("reason",))
    reason = parse_text(body.get("reason"), "reason", max_length=500)
    with services().db.session() as session:
        result = decisions.reject(session, j.me().shop_id, draft_id, j.me().user, reason)
    return j.result(result)


@bp.post("/products/<int:product_id>/approve-all")
def approve_all(product_id: int) -> tuple[Response, int]:
    """Approve every draft of the product that awaits review."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        result = decisions.approve_all(session, svc.queue, j.me().shop_id, product_id, j.me().user)
    return j.result(result)


@bp.post("/products/<int:product_id>/another-plate")
def another_plate(product_id: int) -> tuple[Response, int]:
    """Render the product on the next plate it has not been tried on."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        styleedit.shop_style(session, svc, j.shop(session))
        result = jobcontrol.another_plate(session, svc.queue, j.me().shop_id, product_id)
    return j.result(result)


@bp.post("/products/<int:product_id>/rerender")
def rerender(product_id: int) -> tuple[Response, int]:
    """Render the product again on every suitable plate."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        styleedit.shop_style(session, svc, j.shop(session))
        result = jobcontrol.rerender_product(session, svc.queue, j.me().shop_id, product_id)
    return j.result(result)


@bp.get("/write-backs/<int:write_back_id>")
def write_back(write_back_id: int) -> Response | tuple[Response, int]:
    """Return where a write-back stands (the review page polls this until the image is live)."""
    with services().db.session() as session:
        view = review.write_back_status(session, j.me().shop_id, write_back_id)
    if view is None:
        return jsonify({"error": {"code": "not_found", "message": f"no write-back {write_back_id}"}}), 404
    return jsonify(_write_back(view))


# --- jobs ------------------------------------------------------------------------------------------------


@bp.get("/jobs")
def job_list() -> Response:
    """List render jobs, newest first (`state`: active, failed, done, all)."""
    cursor, limit = j.list_args()
    state = parse_choice(request.args.get("state"), jobcontrol.JOB_FILTERS, "state", "all")
    with services().db.session() as session:
        page = jobcontrol.jobs(session, j.me().shop_id, state=state, cursor=cursor, limit=limit)
    return jsonify(j.page(page, _job))


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int) -> tuple[Response, int]:
    """Queue a failed render job again."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        result = jobcontrol.retry_job(session, svc.queue, j.me().shop_id, job_id)
    return j.result(result)


@bp.get("/write-backs")
def write_back_list() -> Response:
    """List write-backs, newest first (`state`: active, failed, done, all)."""
    cursor, limit = j.list_args()
    state = parse_choice(request.args.get("state"), jobcontrol.WRITE_BACK_FILTERS, "state", "all")
    with services().db.session() as session:
        page = jobcontrol.write_backs(session, j.me().shop_id, state=state, cursor=cursor, limit=limit)
    return jsonify(j.page(page, _write_back_row))


@bp.post("/write-backs/<int:write_back_id>/retry")
def retry_write_back(write_back_id: int) -> tuple[Response, int]:
    """Send a failed (or long-stuck) write-back to the worker again."""
    j.only(j.body(), ())
    svc = services()
    with svc.db.session() as session:
        result = jobcontrol.retry_write_back(session, svc.queue, j.me().shop_id, write_back_id)
    return j.result(result)
