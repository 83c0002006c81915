"""The house-style JSON API under /api/style: the plates roster with what each can carry and why not,
the settings (every change a new version), the versions, and a live preview of a product on each plate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector import platecheck, plates, preview, review, styleedit
from connector.inputs import FieldError, parse_text
from connector.styles import KINDS, HouseStyle, PlateSpec
from webhooks import jsonapi as j
from webhooks.session import services

bp = j.protect(Blueprint("style_api", __name__, url_prefix="/api/style"))


def _capabilities(plate: PlateSpec) -> list[dict[str, Any]] | None:
    if plate.image is None:
        return None
    found = platecheck.plate_capabilities(services(), j.me().shop_id, plate)
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
        "thumb_url": j.url(
            plates.plate_thumb_key(svc.storage, j.me().shop_id, plate, svc.settings.STYLES_DIR)
        ),
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
    status = 201 if created and change.code == "changed" else j.STATUS.get(change.code, 200)
    return jsonify({"result": payload, **extra}), status


@bp.get("")
def style() -> Response:
    """Return the shop's house style: plates with thumbnails and what each can carry, and the settings."""
    svc = services()
    with svc.db.session() as session:
        current, version = styleedit.shop_style(session, svc, j.shop(session))
    return jsonify(_style_json(current, version.id))


@bp.patch("")
def update_style() -> tuple[Response, int]:
    """Change settings: {"base_version": id, "look": {...}, "write_back": {...}, ...}; a new version."""
    body = j.body()
    base = j.base_version(body.pop("base_version", None))
    svc = services()
    with svc.db.session() as session:
        change = styleedit.update_settings(session, svc, j.shop(session), body, base_version=base)
    return _style_change(change)


@bp.get("/versions")
def style_versions() -> Response:
    """List the house style's versions, newest first."""
    cursor, limit = j.list_args()
    with services().db.session() as session:
        page = styleedit.versions(session, j.shop(session), cursor=cursor, limit=limit)
    return jsonify(
        j.page(
            page,
            lambda v: {
                "id": v.id,
                "created_at": j.iso(v.created_at),
                "current": v.current,
                "content_hash": v.content_hash[:12],
            },
        )
    )


@bp.post("/preview")
def style_preview() -> tuple[Response, int]:
    """Render a product on each plate, at a small size, with the look settings given (unsaved ones too)."""
    body = j.body()
    j.only(body, ("product_id", "look"))
    product_id = body.get("product_id")
    if not isinstance(product_id, int) or isinstance(product_id, bool) or product_id < 1:
        raise FieldError("product_id", f"expected the id of one of your products, got {product_id!r}")
    look = body.get("look")
    if look is not None and not isinstance(look, dict):
        raise FieldError("look", f"expected an object of look settings, got {type(look).__name__}")
    made = preview.preview_product(services(), j.me().shop_id, product_id, look=look)
    images = [
        {
            "plate_id": image.plate_id,
            "model": image.model,
            "offered": image.offered,
            "url": j.url(image.image_key),
            "reason": image.reason,
            "quality": j.quality(review.quality_of(image.report)),
        }
        for image in made.images
    ]
    status = {"done": 200, "not_found": 404}.get(made.code, 409)
    return jsonify({"result": {"code": made.code, "detail": made.detail}, "images": images}), status


def _forget_photo(key: str) -> None:
    """Delete a refused upload unless the style already uses the same picture."""
    svc = services()
    with svc.db.session() as session:
        current, _ = styleedit.shop_style(session, svc, j.shop(session))
    if not any(plate.image == f"storage:{key}" for plate in current.plates):
        svc.storage.delete(key)


@bp.post("/plates")
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
    base = j.base_version(int(base_text)) if base_text and base_text.isdigit() else None
    if base_text and base is None:
        raise FieldError("base_version", f"expected a style version id, got {base_text[:40]!r}")
    svc = services()
    stored = plates.store_plate_photo(svc.storage, j.me().shop_id, upload.read(), upload.filename)
    if not kinds:
        found = platecheck.capabilities(platecheck.image_analysis(svc, j.me().shop_id, stored.data))
        kinds = [c.kind for c in found if c.ok]
        if not kinds:
            _forget_photo(stored.key)
            why = "; ".join(f"{c.kind}: {c.message}" for c in found)
            raise FieldError("photo", f"Worn cannot place any jewelry on this photo ({why})")
    with svc.db.session() as session:
        change = styleedit.add_plate(
            session,
            svc,
            j.shop(session),
            image_key=stored.key,
            sha256=stored.sha256,
            model=str(model),
            kinds=kinds,
            base_version=base,
        )
    return _style_change(change, created=True)


@bp.post("/plates/<plate_id>/<action>")
def move_plate(plate_id: str, action: str) -> tuple[Response, int]:
    """Retire or restore a plate, or approve or reject a generated one."""
    body = j.body()
    j.only(body, ("base_version",))
    base = j.base_version(body.get("base_version"))
    svc = services()
    with svc.db.session() as session:
        change = styleedit.move_plate(
            session, svc, j.shop(session), plate_id[:100], action[:20], base_version=base
        )
    return _style_change(change)
