"""Shopify's webhook deliveries: verify, record once, decide, answer fast.

Every topic arrives at `POST /webhooks` (the topic is in the header); `/webhooks/<anything>` is the same
endpoint, so `shopify.app.toml` may give each subscription its own URI. The raw body is read once, before
anything parses it, and verified with Shopify's `shopify_app.verify_webhook_req` (the old secret too, during
rotation). Each verified delivery is handled by the function named after its topic and recorded, with its
outcome, in the same transaction, once per `X-Shopify-Webhook-Id`: a unique index decides, so of two copies
arriving together one commits and the other rolls back as a duplicate. Nothing here makes a network call:
slow work is queued.

| case                                             | answer                                  |
| ------------------------------------------------ | --------------------------------------- |
| not POST                                         | 405                                     |
| Content-Length, or a chunked body, over the limit | 413 (before reading it all)             |
| a required header missing                        | 400                                     |
| body not UTF-8 (cannot be verified)              | 400, not recorded                       |
| HMAC wrong (current and old secret), or not ASCII | 401, not recorded                       |
| a header malformed (topic, version, id, shop)    | 400, not recorded                       |
| verified, body not a JSON object / bad shape     | 400, recorded as `malformed`            |
| verified, already recorded (same webhook id)     | 200 `duplicate`, nothing changed        |
| verified, unknown topic                          | 200 `unknown_topic`, recorded, logged   |
| verified                                         | 200 with the outcome code, recorded     |
| database unreachable                             | 503 (Shopify retries; nothing recorded) |
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, request
from shopify_app import verify_webhook_req
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from connector.compliance import NO_CUSTOMER_DATA, request_redaction, uninstall_shop
from connector.db import DatabaseUnavailable
from connector.intake import mark_deleted, process_product
from connector.logs import log_context
from connector.models import Shop, StyleVersion, WebhookDelivery, utcnow
from connector.services import Services
from connector.shops import ensure_shop
from connector.snapshot import ProductSnapshot, product_gid_of
from renderer.errors import InputError
from webhooks.delivery import HMAC, REQUIRED, Delivery, HeaderError, delivery_from_headers, missing_headers

log = logging.getLogger(__name__)
bp = Blueprint("shopify", __name__)

#: Errors that mean the database cannot be reached right now: answer 503 and let Shopify retry.
DATABASE_DOWN = (OperationalError, PoolTimeout, DatabaseUnavailable)


@dataclass(frozen=True)
class Outcome:
    """What Worn did with one delivery: a stable code, the detail in words, the HTTP status to answer."""

    code: str
    detail: str
    status: int = 200
    product_gid: str | None = None


class MalformedPayload(InputError):
    """A verified delivery whose body is not what its topic carries; recorded, answered 400."""


# --- one handler per topic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a topic handler works with: the backends, the open transaction, the shop, the delivery."""

    services: Services
    session: Session
    shop: Shop
    delivery: Delivery


Handler = Callable[[Context, Any], Outcome]


def _product(payload: Any) -> ProductSnapshot:
    try:
        return ProductSnapshot.from_rest(payload)
    except InputError as exc:
        raise MalformedPayload(str(exc)) from None


def _decide(ctx: Context, payload: Any) -> Outcome:
    result = process_product(
        ctx.services,
        ctx.session,
        ctx.shop,
        _product(payload),
        source="webhook",
        triggered_at=ctx.delivery.triggered_at,
    )
    return Outcome(result.code, result.detail, product_gid=result.product_gid)


def products_create(ctx: Context, payload: Any) -> Outcome:
    """Decide on a new product: jewelry with a photo gets a render job."""
    return _decide(ctx, payload)


def products_update(ctx: Context, payload: Any) -> Outcome:
    """Decide on a changed product: a new render only when its source photos changed."""
    return _decide(ctx, payload)


def products_delete(ctx: Context, payload: Any) -> Outcome:
    """Forget a deleted product's pending work (the payload is only its id)."""
    gid = product_gid_of(payload)
    if gid is None:
        raise MalformedPayload("products/delete payload: id: expected the deleted product's numeric id")
    result = mark_deleted(ctx.session, ctx.shop, gid, when=ctx.delivery.triggered_at or utcnow())
    return Outcome(result.code, result.detail, product_gid=gid)


def app_uninstalled(ctx: Context, payload: Any) -> Outcome:
    """Stop work for the shop and drop its tokens; its data stays until shop/redact."""
    result = uninstall_shop(ctx.services, ctx.session, ctx.shop, when=ctx.delivery.triggered_at)
    return Outcome(result.code, result.detail)


def customers_data_request(ctx: Context, payload: Any) -> Outcome:
    """Answer a customer's data request: Worn holds nothing about customers."""
    return Outcome("no_customer_data", NO_CUSTOMER_DATA)


def customers_redact(ctx: Context, payload: Any) -> Outcome:
    """Answer a customer's erasure request: Worn holds nothing about customers."""
    return Outcome("no_customer_data", NO_CUSTOMER_DATA)


def shop_redact(ctx: Context, payload: Any) -> Outcome:
    """Queue the erasure of every row and file of the shop (a maintenance job does it)."""
    result = request_redaction(ctx.services, ctx.session, ctx.shop)
    return Outcome(result.code, result.detail)


HANDLERS: dict[str, Handler] = {
    "products/create": products_create,
    "products/update": products_update,
    "products/delete": products_delete,
    "app/uninstalled": app_uninstalled,
    "customers/data_request": customers_data_request,
    "customers/redact": customers_redact,
    "shop/redact": shop_redact,
}
#: Topics that say the shop is gone: a shop first seen through one of them is created inactive.
LEAVING = ("app/uninstalled", "shop/redact")


# --- the one processing path (HTTPS and EventBridge) -----------------------------------------------------


class _Duplicate(Exception):
    """Raised inside the transaction to roll back the work of a delivery recorded already."""


def process(services: Services, delivery: Delivery, payload: Any) -> Outcome:
    """Run the topic's handler and record the delivery with its outcome, in one transaction.

    The delivery's row is written last, with its outcome; when its webhook id is recorded already (a retry,
    or a copy arriving at the same moment) the unique index refuses it and the whole transaction rolls
    back: a duplicate does nothing. `payload` is the parsed body, or None when it did not parse
    (recorded as malformed).
    """
    try:
        with services.db.session() as session:
            shop = _shop(session, delivery)
            with log_context(shop=shop.id, delivery=delivery.webhook_id):
                handler = HANDLERS.get(delivery.topic)
                if payload is None:
                    outcome = Outcome("malformed", "the body is not a JSON object", 400)
                elif handler is None:
                    outcome = Outcome("unknown_topic", f"Worn does not handle topic {delivery.topic!r}")
                else:
                    try:
                        outcome = handler(Context(services, session, shop, delivery), payload)
                    except MalformedPayload as exc:
                        outcome = Outcome("malformed", str(exc), 400, product_gid_of(payload))
                if _record(session, shop, delivery, outcome) is None:
                    raise _Duplicate
    except _Duplicate:
        return Outcome("duplicate", f"delivery {delivery.webhook_id} was already received")
    return outcome


# The shop with its current style version (but not the version's document) in one query, built once.
_SHOP_SQL = (
    select(Shop)
    .where(Shop.domain == bindparam("domain"))
    .options(joinedload(Shop.style_version).defer(StyleVersion.document))
)


def _shop(session: Session, delivery: Delivery) -> Shop:
    """Return the delivery's shop, its current style version loaded with it; create the shop if new."""
    shop = session.scalar(_SHOP_SQL, {"domain": delivery.shop_domain})
    return shop or ensure_shop(session, delivery.shop_domain, active=delivery.topic not in LEAVING)


@cache
def _record_sql(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = (
        "shop_id",
        "webhook_id",
        "event_id",
        "topic",
        "api_version",
        "triggered_at",
        "received_at",
        "source",
        "outcome",
        "detail",
        "product_gid",
    )
    return (
        insert(WebhookDelivery)
        .values({name: bindparam(name) for name in columns})
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(WebhookDelivery.id)
    )


def _record(session: Session, shop: Shop, delivery: Delivery, outcome: Outcome) -> int | None:
    """Insert the delivery's row; return its id, or None when its webhook id is already recorded.

    The unique index on the webhook id decides: of two copies arriving together, one inserts, the other
    (on PostgreSQL after waiting for the first to commit) inserts nothing.
    """
    values = {
        "shop_id": shop.id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "topic": delivery.topic,
        "api_version": delivery.api_version,
        "triggered_at": delivery.triggered_at,
        "received_at": utcnow(),
        "source": delivery.source,
        "outcome": outcome.code,
        "detail": outcome.detail[:4000],
        "product_gid": outcome.product_gid,
    }
    sql = _record_sql(session.get_bind().dialect.name)
    return session.connection().execute(sql, values).scalar()  # type: ignore[no-any-return]


# --- HTTP ------------------------------------------------------------------------------------------------


def _answer(outcome: Outcome) -> Response:
    return Response(
        json.dumps({"outcome": outcome.code, "detail": outcome.detail}),
        status=outcome.status,
        mimetype="application/json",
    )


def _refuse(status: int, code: str, detail: str) -> Response:
    log.warning("webhook refused (%s %s): %s", status, code, detail)
    return _answer(Outcome(code, detail, status))


def _read_body(limit: int) -> bytes:
    """Read the raw body once, refusing (413) a declared length over `limit` before reading any of it."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"body of {request.content_length} bytes is over the {limit}-byte limit")
    # A chunked body has no length: the stream stops one byte past the limit, and the request is refused.
    request.max_content_length = limit + 1
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise RequestEntityTooLarge(f"body is over the {limit}-byte limit")
    return body


@bp.post("/webhooks")
@bp.post("/webhooks/<path:alias>")
def receive(alias: str | None = None) -> Response:
    """Receive one Shopify delivery (any topic)."""
    started = time.perf_counter()
    services: Services = current_app.extensions["worn"]
    settings = services.settings
    body = _read_body(settings.WEBHOOK_MAX_BODY_BYTES)

    headers = dict(request.headers)
    absent = missing_headers(headers)
    if absent:
        return _refuse(400, "missing_headers", f"missing header(s): {', '.join(absent)}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _refuse(400, "not_utf8", f"the body is not UTF-8 (byte {exc.start}); Shopify sends UTF-8 JSON")
    if not request.headers.get(HMAC, "").isascii():
        # A base64 HMAC is ASCII; shopify_app 1.0.2 raises TypeError comparing a non-ASCII one (a 500).
        return _refuse(401, "invalid_hmac", "hmac header value is not base64")
    verified = verify_webhook_req(
        {"method": request.method, "headers": headers, "body": text, "url": request.url},
        {
            "client_id": settings.SHOPIFY_API_KEY,
            "client_secret": settings.SHOPIFY_API_SECRET,
            "old_client_secret": settings.SHOPIFY_API_SECRET_OLD,
        },
    )
    if not verified.ok:
        return _refuse(verified.response.status, verified.log.code, verified.log.detail.split(".")[0])
    try:
        delivery = delivery_from_headers(headers)
    except HeaderError as exc:
        return _refuse(400, "bad_header", str(exc))

    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = None
    try:
        outcome = process(services, delivery, payload)
    except DATABASE_DOWN as exc:
        return _database_down(exc, delivery)
    except DBAPIError as exc:
        if exc.connection_invalidated:
            return _database_down(exc, delivery)
        raise
    log.info(
        "%s %s: %s",
        delivery.topic,
        outcome.code,
        outcome.detail,
        extra={
            "delivery": delivery.webhook_id,
            "shop": delivery.shop_domain,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return _answer(outcome)


def _database_down(exc: Exception, delivery: Delivery) -> Response:
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    log.error(
        "database unavailable, answering 503 so Shopify retries %s %s: %s",
        delivery.topic,
        delivery.webhook_id,
        reason,
        extra={"delivery": delivery.webhook_id, "shop": delivery.shop_domain},
    )
    response = _answer(Outcome("database_unavailable", "try again later", 503))
    response.headers["Retry-After"] = "30"
    return response


__all__ = ["HANDLERS", "REQUIRED", "Context", "Outcome", "bp", "process", "receive"]
