"""The plumbing of the JSON API under /api: the session-token check on every request, JSON errors, and
the parsing and serializing every endpoint shares.

The shop comes from the token (`webhooks/session.py`), never from the request; bad input is refused with a
400 naming the field; a result's stable `code` decides its HTTP status.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from connector import review, styleedit
from connector.fileurls import FileSigner, FileUrls
from connector.inputs import FieldError, parse_cursor, parse_limit
from connector.logs import bind_context, unbind_context
from connector.models import Shop
from connector.paging import Page
from connector.storage import StorageError
from connector.thumbs import ensure_thumb
from renderer.errors import InputError
from webhooks.session import ShopSession, fetch_session, services

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


def protect(bp: Blueprint) -> Blueprint:
    """Make every request of `bp` authenticate by its session token, answer no-store, and err in JSON."""
    bp.before_request(_authenticate)
    bp.after_request(_no_store)
    bp.teardown_request(_unbind_log_context)
    bp.register_error_handler(styleedit.StyleInvalid, _style_invalid)
    bp.register_error_handler(FieldError, _field_error)
    bp.register_error_handler(InputError, _input_error)
    return bp


def _authenticate() -> None:
    g.shop_session = fetch_session()
    # Every log line of the request names the shop and the staff member (never the token).
    g.log_context = bind_context(shop=g.shop_session.domain, user=g.shop_session.user)


def _unbind_log_context(_exc: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        unbind_context(token)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _style_invalid(exc: styleedit.StyleInvalid) -> tuple[Response, int]:
    fields = [{"field": name, "message": problem} for name, problem in exc.fields]
    return jsonify({"error": {"code": "invalid_style", "message": str(exc), "fields": fields}}), 400


def _field_error(exc: FieldError) -> tuple[Response, int]:
    return jsonify({"error": {"code": "invalid_input", "field": exc.field, "message": str(exc)}}), 400


def _input_error(exc: InputError) -> tuple[Response, int]:
    return jsonify({"error": {"code": "invalid_input", "message": str(exc)}}), 400


# --- helpers ---------------------------------------------------------------------------------------------


def me() -> ShopSession:
    """Return the session of the current request (set by the token check)."""
    return g.shop_session  # type: ignore[no-any-return]


def urls() -> FileUrls:
    """Return the URL minter for the shop's stored images."""
    svc = services()
    return FileUrls(svc.storage, FileSigner.from_settings(svc.settings))


def url(key: str | None) -> str | None:
    """Return a signed URL for one of the shop's stored objects (None for no key)."""
    return urls().url(me().shop_id, key)


def thumb_url(thumb_key: str | None, image_key: str | None) -> str | None:
    """Return the thumbnail's URL, making the thumbnail once when the render left none."""
    if thumb_key is None and image_key is not None:
        try:
            thumb_key = ensure_thumb(services().storage, image_key)
        except (StorageError, InputError):
            log.warning("no thumbnail for %s", image_key, exc_info=True)
            return None
    return url(thumb_key)


def iso(value: dt.datetime | None) -> str | None:
    """Return a time as ISO 8601 in UTC with a Z."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def body() -> dict[str, Any]:
    """Return the JSON object body (an empty body is an empty object)."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise FieldError("body", "expected a JSON object (Content-Type: application/json)")
    return data


def only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse a body with fields other than `allowed`, naming the first unknown one."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise FieldError(unknown[0][:40], f"unknown field; expected any of {', '.join(allowed) or 'none'}")


def base_version(value: Any) -> int | None:
    """Return the style version a change is based on, or raise FieldError."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FieldError(
            "base_version", f"expected the style version id the change is based on, got {value!r}"
        )
    return value


def result(result: Any, **extra: Any) -> tuple[Response, int]:
    """Return a result object as JSON with the HTTP status its code calls for."""
    payload = {key: value for key, value in vars(result).items()}
    for key, value in payload.items():
        if isinstance(value, tuple):
            payload[key] = list(value)
    return jsonify({"result": payload, **extra}), STATUS.get(result.code, 200)


def page(page: Page[Any], render: Any) -> dict[str, Any]:
    """Return a page of a list as {items, next_cursor}."""
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}


def list_args() -> tuple[int | None, int]:
    """Return the cursor and limit of a list request."""
    return parse_cursor(request.args.get("cursor")), parse_limit(request.args.get("limit"))


def shop(session: Any) -> Shop:
    """Return the current shop's row in `session`."""
    shop = session.get(Shop, me().shop_id)
    assert shop is not None, "fetch_session found the shop"
    return shop


def source(source: review.SourcePhoto, width: int) -> dict[str, Any]:
    """Return a source photo for the page, with a resized URL where Shopify's CDN can resize."""
    url = source.url
    thumb = url
    if url and "cdn.shopify.com" in url:
        # Shopify's CDN resizes on request: the page loads what it shows, not the original.
        thumb = f"{url}{'&' if '?' in url else '?'}width={width}"
    return {"url": url, "thumb_url": thumb, "width": source.width, "height": source.height, "alt": source.alt}


def quality(q: review.Quality) -> dict[str, Any]:
    """Return a draft's numbers for the page."""
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
