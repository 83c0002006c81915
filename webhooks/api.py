"""The JSON API the admin pages call under /api: every request authenticated by its session token.

The shop comes from the token, never from the request, and every read or write goes through the
connector's shop-scoped functions, so another shop's draft is a 404 like a missing one. Bad input gets a
400 naming the field; decisions are idempotent, so a double click answers 200 with `already_...` codes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from connector import decisions, jobcontrol, platecheck, plates, preview, review, styleedit
from connector.fileurls import FileSigner, FileUrls
from connector.inputs import FieldError, parse_choice, parse_cursor, parse_limit, parse_text
from connector.models import Shop
from connector.paging import Page
from connector.storage import StorageError
from connector.styles import KINDS, HouseStyle, PlateSpec
from connector.thumbs import ensure_thumb
from renderer.errors import InputError
from webhooks.session import ShopSession, fetch_session, services

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger(__name__)

#: HTTP status of each result code; the rest answer 200.
STATUS = {
    "not_found": 404,
    "conflict": 409,
    "no_plate_left": 409,
    "no_source": 409,
    "stale": 409,
    "last_plate": 409,
    "not_allowed": 409,
    "queued": 202,
}


def init_app(app: Flask) -> None:
    """Answer errors under /api in JSON (routing errors are the app's, not the blueprint's).

    Other paths keep whatever HTTPException handler the app already had (plain text for webhooks).
    """
    previous = app.error_handler_spec[None][None].get(HTTPException)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return previous(exc) if previous is not None else exc
        error = {"code": (exc.name or "error").lower().replace(" ", "_"), "message": exc.description}
        response = jsonify({"error": error})
        response.status_code = exc.code or 500
        return response


@bp.before_request
def _authenticate() -> None:
    g.shop_session = fetch_session()


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(styleedit.StyleInvalid)
def _style_invalid(exc: styleedit.StyleInvalid) -> tuple[Response, int]:
    fields = [{"field": name, "message": problem} for name, problem in exc.fields]
    return jsonify({"error": {"code": "invalid_style", "message": str(exc), "fields": fields}}), 400


@bp.errorhandler(FieldError)
def _field_error(exc: FieldError) -> tuple[Response, int]:
    return jsonify({"error": {"code": "invalid_input", "field": exc.field, "message": str(exc)}}), 400


@bp.errorhandler(InputError)
def _input_error(exc: InputError) -> tuple[Response, int]:
    return jsonify({"error": {"code": "invalid_input", "message": str(exc)}}), 400


# --- helpers ---------------------------------------------------------------------------------------------


def _me() -> ShopSession:
    return g.shop_session  # type: ignore[no-any-return]


def _urls() -> FileUrls:
    svc = services()
    return FileUrls(svc.storage, FileSigner.from_settings(svc.settings))


def _url(key: str | None) -> str | None:
    return _urls().url(_me().shop_id, key)


def _thumb_url(thumb_key: str | None, image_key: str | None) -> str | None:
    """Return the thumbnail's URL, making the thumbnail once when the render left none."""
    if thumb_key is None and image_key is not None:
        try:
            thumb_key = ensure_thumb(services().storage, image_key)
        except (StorageError, InputError):
            log.warning("no thumbnail for %s", image_key, exc_info=True)
            return None
    return _url(thumb_key)


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _body() -> dict[str, Any]:
    """Return the JSON object body (an empty body is an empty object)."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise FieldError("body", "expected a JSON object (Content-Type: application/json)")
    return data


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise FieldError(unknown[0][:40], f"unknown field; expected any of {', '.join(allowed) or 'none'}")


def _base_version(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FieldError(
            "base_version", f"expected the style version id the change is based on, got {value!r}"
        )
    return value


def _result(result: Any, **extra: Any) -> tuple[Response, int]:
    payload = {key: value for key, value in vars(result).items()}
    for key, value in payload.items():
        if isinstance(value, tuple):
            payload[key] = list(value)
    return jsonify({"result": payload, **extra}), STATUS.get(result.code, 200)


def _page(page: Page[Any], render: Any) -> dict[str, Any]:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}


def _list_args() -> tuple[int | None, int]:
    return parse_cursor(request.args.get("cursor")), parse_limit(request.args.get("limit"))


def _shop(session: Any) -> Shop:
    shop = session.get(Shop, _me().shop_id)
    assert shop is not None, "fetch_session found the shop"
    return shop


# --- serializers -----------------------------------------------------------------------------------------


def _source(source: review.SourcePhoto, width: int) -> dict[str, Any]:
    url = source.url
    thumb = url
    if url and "cdn.shopify.com" in url:
        # Shopify's CDN resizes on request: the page loads what it shows, not the original.
        thumb = f"{url}{'&' if '?' in url else '?'}width={width}"
    return {"url": url, "thumb_url": thumb, "width": source.width, "height": source.height, "alt": source.alt}


def _queue_item(item: review.QueueItem) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "title": item.title,
        "kind": item.kind,
        "awaiting": item.awaiting,
        "newest_at": _time(item.newest_at),
        "source": _source(item.source, 240),
        "drafts": [
            {"id": draft_id, "thumb_url": _thumb_url(thumb, image)} for draft_id, thumb, image in item.drafts
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
        "updated_at": _time(view.updated_at),
    }


def _quality(q: review.Quality) -> dict[str, Any]:
    return {
        "ssim": q.ssim,
        "delta_e": q.delta_e,
        "achieved_mm": q.achieved_mm,
        "stated_mm": q.stated_mm,
        "quantity": q.quantity,
        "size_source": q.size_source,
        "size_text": q.size_text,
        "scale_error": q.scale_error,
        "confidence": q.confidence,
        "passed": q.passed,
        "notes": list(q.notes),
    }


def _draft(view: review.DraftView) -> dict[str, Any]:
    q = view.quality
    return {
        "id": view.id,
        "state": view.state,
        "plate_id": view.plate_id,
        "model": view.model,
        "thumb_url": _thumb_url(view.thumb_key, view.image_key),
        "image_url": _url(view.image_key),
        "width": view.width,
        "height": view.height,
        "quality": _quality(q),
        "job_id": view.job_id,
        "style_version_id": view.style_version_id,
        "created_at": _time(view.created_at),
        "decided_by": view.decided_by,
        "decided_at": _time(view.decided_at),
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
        "created_at": _time(row.created_at),
        "finished_at": _time(row.finished_at),
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
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def _skipped(row: review.SkippedProduct) -> dict[str, Any]:
    return {
        "product_id": row.product_id,
        "title": row.title,
        "kind": row.kind,
        "decision": row.decision,
        "detail": row.detail,
        "updated_at": _time(row.updated_at),
    }


# --- home ------------------------------------------------------------------------------------------------


@bp.get("/overview")
def overview() -> Response:
    """Return the counts per state and a summary of the house style."""
    svc = services()
    with svc.db.session() as session:
        counts = review.state_counts(session, _me().shop_id)
        style, version = styleedit.shop_style(session, svc, _shop(session))
    return jsonify(
        {
            "shop": _me().domain,
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
    cursor, limit = _list_args()
    with services().db.session() as session:
        page = review.review_queue(session, _me().shop_id, cursor=cursor, limit=limit)
        return jsonify(_page(page, _queue_item))


@bp.get("/products")
def product_list() -> Response:
    """List the jewelry products with a photo, newest first (the preview's choices)."""
    cursor, limit = _list_args()
    with services().db.session() as session:
        page = review.jewelry_products(session, _me().shop_id, cursor=cursor, limit=limit)
    return jsonify(
        _page(
            page,
            lambda row: {
                "product_id": row.product_id,
                "title": row.title,
                "kind": row.kind,
                "source": _source(row.source, 120),
            },
        )
    )


@bp.get("/products/skipped")
def skipped() -> Response:
    """List the products Worn skipped and why (`not_jewelry=1` for those that are not jewelry)."""
    cursor, limit = _list_args()
    not_jewelry = parse_choice(request.args.get("not_jewelry"), ("0", "1"), "not_jewelry", "0") == "1"
    with services().db.session() as session:
        page = review.skipped_products(
            session, _me().shop_id, cursor=cursor, limit=limit, not_jewelry=not_jewelry
        )
    return jsonify(_page(page, _skipped))


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
            session, _me().shop_id, product_id, cursor=cursor, limit=limit, states=states
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
                "admin_url": f"https://{_me().domain}/admin/products/{numeric}",
            },
            "source": _source(found.source, 960),
            "drafts": _page(found.drafts, _draft),
            "counts": found.counts,
            "rendering": list(found.rendering),
            "thresholds": found.thresholds,
        }
    )


@bp.post("/drafts/<int:draft_id>/approve")
def approve(draft_id: int) -> tuple[Response, int]:
    """Approve a draft and queue its write-back (a second click finds it approved)."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        result = decisions.approve(session, svc.queue, _me().shop_id, draft_id, _me().user)
    return _result(result)


@bp.post("/drafts/<int:draft_id>/reject")
def reject(draft_id: int) -> tuple[Response, int]:
    """Reject a draft awaiting review, with an optional reason."""
    body = _body()
    _only(body, ("reason",))
    reason = parse_text(body.get("reason"), "reason", max_length=500)
    with services().db.session() as session:
        result = decisions.reject(session, _me().shop_id, draft_id, _me().user, reason)
    return _result(result)


@bp.post("/products/<int:product_id>/approve-all")
def approve_all(product_id: int) -> tuple[Response, int]:
    """Approve every draft of the product that awaits review."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        result = decisions.approve_all(session, svc.queue, _me().shop_id, product_id, _me().user)
    return _result(result)


@bp.post("/products/<int:product_id>/another-plate")
def another_plate(product_id: int) -> tuple[Response, int]:
    """Render the product on the next plate it has not been tried on."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        styleedit.shop_style(session, svc, _shop(session))
        result = jobcontrol.another_plate(session, svc.queue, _me().shop_id, product_id)
    return _result(result)


@bp.post("/products/<int:product_id>/rerender")
def rerender(product_id: int) -> tuple[Response, int]:
    """Render the product again on every suitable plate."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        styleedit.shop_style(session, svc, _shop(session))
        result = jobcontrol.rerender_product(session, svc.queue, _me().shop_id, product_id)
    return _result(result)


@bp.get("/write-backs/<int:write_back_id>")
def write_back(write_back_id: int) -> Response | tuple[Response, int]:
    """Return where a write-back stands (the review page polls this until the image is live)."""
    with services().db.session() as session:
        view = review.write_back_status(session, _me().shop_id, write_back_id)
    if view is None:
        return jsonify({"error": {"code": "not_found", "message": f"no write-back {write_back_id}"}}), 404
    return jsonify(_write_back(view))


# --- jobs ------------------------------------------------------------------------------------------------


@bp.get("/jobs")
def job_list() -> Response:
    """List render jobs, newest first (`state`: active, failed, done, all)."""
    cursor, limit = _list_args()
    state = parse_choice(request.args.get("state"), jobcontrol.JOB_FILTERS, "state", "all")
    with services().db.session() as session:
        page = jobcontrol.jobs(session, _me().shop_id, state=state, cursor=cursor, limit=limit)
    return jsonify(_page(page, _job))


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int) -> tuple[Response, int]:
    """Queue a failed render job again."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        result = jobcontrol.retry_job(session, svc.queue, _me().shop_id, job_id)
    return _result(result)


@bp.get("/write-backs")
def write_back_list() -> Response:
    """List write-backs, newest first (`state`: active, failed, done, all)."""
    cursor, limit = _list_args()
    state = parse_choice(request.args.get("state"), jobcontrol.WRITE_BACK_FILTERS, "state", "all")
    with services().db.session() as session:
        page = jobcontrol.write_backs(session, _me().shop_id, state=state, cursor=cursor, limit=limit)
    return jsonify(_page(page, _write_back_row))


@bp.post("/write-backs/<int:write_back_id>/retry")
def retry_write_back(write_back_id: int) -> tuple[Response, int]:
    """Send a failed (or long-stuck) write-back to the worker again."""
    _only(_body(), ())
    svc = services()
    with svc.db.session() as session:
        result = jobcontrol.retry_write_back(session, svc.queue, _me().shop_id, write_back_id)
    return _result(result)


# --- house style -----------------------------------------------------------------------------------------


def _capabilities(plate: PlateSpec) -> list[dict[str, Any]] | None:
    if plate.image is None:
        return None
    found = platecheck.plate_capabilities(services(), _me().shop_id, plate)
    # A list, in the order of KINDS (a JSON object's keys would come back sorted).
    return [{"kind": c.kind, "ok": c.ok, "code": c.code, "message": c.message} for c in found]


def _plate(plate: PlateSpec) -> dict[str, Any]:
    svc = services()
    return {
        "id": plate.id,
        "model": plate.model or plate.id,
        "status": plate.status,
        "kinds": list(plate.kinds),
        "source": (plate.image or "").split(":", 1)[0] or "generated",
        "generated": plate.generate is not None,
        "thumb_url": _url(plates.plate_thumb_key(svc.storage, _me().shop_id, plate, svc.settings.STYLES_DIR)),
        "capabilities": _capabilities(plate),
    }


def _style_json(style: HouseStyle, version_id: int) -> dict[str, Any]:
    """Return the style for the page. Call it outside a database session: the plates' analyses use their
    own (on SQLite a second writer inside an open transaction would wait on itself)."""
    document = style.document()
    return {
        "version_id": version_id,
        "name": style.name,
        "description": style.description,
        "plates": [_plate(plate) for plate in style.plates],
        "settings": {section: document[section] for section in styleedit.EDITABLE},
        "quality": document["quality"],
        "kinds": list(KINDS),
    }


def _style_change(change: styleedit.StyleChange, *, created: bool = False) -> tuple[Response, int]:
    extra = {}
    if change.style is not None and change.version_id is not None:
        extra["style"] = _style_json(change.style, change.version_id)
    payload = {"code": change.code, "version_id": change.version_id, "detail": change.detail}
    status = 201 if created and change.code == "changed" else STATUS.get(change.code, 200)
    return jsonify({"result": payload, **extra}), status


@bp.get("/style")
def style() -> Response:
    """Return the shop's house style: plates with thumbnails and what each can carry, and the settings."""
    svc = services()
    with svc.db.session() as session:
        current, version = styleedit.shop_style(session, svc, _shop(session))
    return jsonify(_style_json(current, version.id))


@bp.patch("/style")
def update_style() -> tuple[Response, int]:
    """Change settings: {"base_version": id, "look": {...}, "write_back": {...}, ...}; a new version."""
    body = _body()
    base = _base_version(body.pop("base_version", None))
    svc = services()
    with svc.db.session() as session:
        change = styleedit.update_settings(session, svc, _shop(session), body, base_version=base)
    return _style_change(change)


@bp.get("/style/versions")
def style_versions() -> Response:
    """List the house style's versions, newest first."""
    cursor, limit = _list_args()
    with services().db.session() as session:
        page = styleedit.versions(session, _shop(session), cursor=cursor, limit=limit)
    return jsonify(
        _page(
            page,
            lambda v: {
                "id": v.id,
                "created_at": _time(v.created_at),
                "current": v.current,
                "content_hash": v.content_hash[:12],
            },
        )
    )


@bp.post("/style/preview")
def style_preview() -> tuple[Response, int]:
    """Render a product on each plate, at a small size, with the look settings given (unsaved ones too)."""
    body = _body()
    _only(body, ("product_id", "look"))
    product_id = body.get("product_id")
    if not isinstance(product_id, int) or isinstance(product_id, bool) or product_id < 1:
        raise FieldError("product_id", f"expected the id of one of your products, got {product_id!r}")
    look = body.get("look")
    if look is not None and not isinstance(look, dict):
        raise FieldError("look", f"expected an object of look settings, got {type(look).__name__}")
    made = preview.preview_product(services(), _me().shop_id, product_id, look=look)
    images = [
        {
            "plate_id": image.plate_id,
            "model": image.model,
            "offered": image.offered,
            "url": _url(image.image_key),
            "reason": image.reason,
            "quality": _quality(review.quality_of(image.report)),
        }
        for image in made.images
    ]
    status = {"done": 200, "not_found": 404}.get(made.code, 409)
    return jsonify({"result": {"code": made.code, "detail": made.detail}, "images": images}), status


def _forget_photo(key: str) -> None:
    """Delete a refused upload unless the style already uses the same picture."""
    svc = services()
    with svc.db.session() as session:
        current, _ = styleedit.shop_style(session, svc, _shop(session))
    if not any(plate.image == f"storage:{key}" for plate in current.plates):
        svc.storage.delete(key)


@bp.post("/style/plates")
def upload_plate() -> tuple[Response, int]:
    """Add a photo (multipart `photo`) to the roster, named for its model; it carries the kinds given, or
    (none given) every kind its analysis says it can."""
    unknown = sorted(set(request.form) - {"model", "kinds", "base_version"})
    if unknown:
        raise FieldError(unknown[0][:40], "unknown field; expected photo, model, kinds, base_version")
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        raise FieldError("photo", "choose a photo of your model to upload (JPEG, PNG or WebP)")
    model = parse_text(request.form.get("model"), "model", max_length=60, required=True)
    kinds = list(dict.fromkeys(request.form.getlist("kinds")))
    for kind in kinds:
        if kind not in KINDS:
            raise FieldError("kinds", f"expected any of {', '.join(KINDS)}, got {kind[:40]!r}")
    base_text = request.form.get("base_version")
    base = _base_version(int(base_text)) if base_text and base_text.isdigit() else None
    if base_text and base is None:
        raise FieldError("base_version", f"expected a style version id, got {base_text[:40]!r}")
    svc = services()
    stored = plates.store_plate_photo(svc.storage, _me().shop_id, upload.read(), upload.filename)
    if not kinds:
        found = platecheck.capabilities(platecheck.image_analysis(svc, _me().shop_id, stored.data))
        kinds = [c.kind for c in found if c.ok]
        if not kinds:
            _forget_photo(stored.key)
            why = "; ".join(f"{c.kind}: {c.message}" for c in found)
            raise FieldError("photo", f"Worn cannot place any jewelry on this photo ({why})")
    with svc.db.session() as session:
        change = styleedit.add_plate(
            session,
            svc,
            _shop(session),
            image_key=stored.key,
            sha256=stored.sha256,
            model=str(model),
            kinds=kinds,
            base_version=base,
        )
    return _style_change(change, created=True)


@bp.post("/style/plates/<plate_id>/<action>")
def move_plate(plate_id: str, action: str) -> tuple[Response, int]:
    """Retire or restore a plate, or approve or reject a generated one."""
    body = _body()
    _only(body, ("base_version",))
    base = _base_version(body.get("base_version"))
    svc = services()
    with svc.db.session() as session:
        change = styleedit.move_plate(
            session, svc, _shop(session), plate_id[:100], action[:20], base_version=base
        )
    return _style_change(change)
