"""Shopify's webhook deliveries: verify, record once, decide, answer fast.

Every topic arrives at `POST /webhooks` (the topic is in the header); `/webhooks/<anything>` is the same
endpoint, so `shopify.app.toml` may give each subscription its own URI. The raw body is read once, before
anything parses it, and verified with Shopify's `shopify_app.verify_webhook_req` (the old secret too, during
rotation). Each verified delivery is handled by the function named after its topic and recorded, with its
outcome, in the same transaction, once per `X-Shopify-Webhook-Id`: a unique index decides, so of two copies
arriving together one commits and the other rolls back as a duplicate. Nothing here makes a network call:
slow work is queued. With WEBHOOK_PROCESSING=deferred a product delivery is only verified and recorded in
the request, and decided moments later by `process_pending` (see below).

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
| verified product topic, deferred processing      | 200 `accepted`, recorded as pending     |
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
from sqlalchemy import String, Text, bindparam, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from connector.compliance import NO_CUSTOMER_DATA, request_redaction, uninstall_shop
from connector.db import DatabaseUnavailable
from connector.intake import mark_deleted, process_product
from connector.logs import log_context
from connector.models import PENDING_DELIVERY, Shop, StyleVersion, WebhookDelivery, utcnow
from connector.services import Services
from connector.settings import Settings
from connector.shops import ensure_shop
from connector.snapshot import ProductSnapshot, product_gid_of
from renderer.errors import InputError
from webhooks.delivery import HMAC, REQUIRED, Delivery, HeaderError, delivery_from_headers, missing_headers

log = logging.getLogger(__name__)
bp = Blueprint("shopify", __name__)

#: Errors that mean the database cannot be reached right now: answer 503 and let Shopify retry.
DATABASE_DOWN = (OperationalError, PoolTimeout, DatabaseUnavailable)


def database_down(exc: BaseException) -> bool:
    """Tell whether an error means the database cannot be reached right now (rather than a bug or bad data):
    one of `DATABASE_DOWN`, or a driver error that lost its connection."""
    return isinstance(exc, DATABASE_DOWN) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


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
                outcome = _handle(Context(services, session, shop, delivery), payload)
                if _record(session, shop, delivery, outcome) is None:
                    raise _Duplicate
    except _Duplicate:
        return Outcome("duplicate", f"delivery {delivery.webhook_id} was already received")
    return outcome


def _handle(ctx: Context, payload: Any) -> Outcome:
    """Run the handler of the delivery's topic on its parsed body (None: it did not parse)."""
    handler = HANDLERS.get(ctx.delivery.topic)
    if payload is None:
        return Outcome("malformed", "the body is not a JSON object", 400)
    if handler is None:
        return Outcome("unknown_topic", f"Worn does not handle topic {ctx.delivery.topic!r}")
    try:
        return handler(ctx, payload)
    except MalformedPayload as exc:
        return Outcome("malformed", str(exc), 400, product_gid_of(payload))


# --- recording a delivery ------------------------------------------------------------------------------

#: The columns that say which delivery a row is (all but its shop and what became of it).
_DELIVERY_COLUMNS = (
    "webhook_id",
    "event_id",
    "topic",
    "api_version",
    "triggered_at",
    "received_at",
    "source",
)


def _delivery_values(delivery: Delivery) -> dict[str, Any]:
    """Return the values of `_DELIVERY_COLUMNS` for a delivery received now."""
    return {
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "topic": delivery.topic,
        "api_version": delivery.api_version,
        "triggered_at": delivery.triggered_at,
        "received_at": utcnow(),
        "source": delivery.source,
    }


def _insert_once(dialect: str) -> Any:
    """Return an INSERT into webhook_deliveries that inserts nothing when the webhook id is recorded."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(WebhookDelivery).on_conflict_do_nothing(index_elements=["webhook_id"])


# --- deferred processing (WEBHOOK_PROCESSING=deferred) ---------------------------------------------------
#
# The request verifies the delivery and records it, body included, as "pending" in one INSERT; the
# background process decides it a moment later through the same handlers, in a transaction that also
# turns the row's outcome from pending to the decision: whoever commits that change first did the work,
# so a delivery is decided once even with several processors. The product topics are deferred (they are
# the traffic, and the slow ones to decide); uninstall and compliance topics are rare and decided at once.

PENDING = PENDING_DELIVERY
ACCEPTED = "recorded; Worn decides on it in the background"
DEFERRABLE = frozenset({"products/create", "products/update", "products/delete"})


@cache
def _accept_sql(dialect: str) -> Any:
    columns = ("shop_id", *_DELIVERY_COLUMNS, "outcome", "payload")
    row = select(
        Shop.id,
        *(bindparam(name, type_=WebhookDelivery.__table__.c[name].type) for name in _DELIVERY_COLUMNS),
        literal(PENDING, String),
        bindparam("payload", type_=Text),
    ).where(Shop.domain == bindparam("domain"))
    return _insert_once(dialect).from_select(columns, row).returning(WebhookDelivery.id)


def accept(services: Services, delivery: Delivery, body: str) -> int | None:
    """Record a verified delivery as pending, in one statement; return its row id.

    None when nothing was recorded: its webhook id is recorded already, or its shop is new to Worn. The
    caller then processes it at once, which answers the duplicate or creates the shop.
    """
    values = {**_delivery_values(delivery), "domain": delivery.shop_domain, "payload": body}
    with services.db.statement() as conn:
        return conn.execute(_accept_sql(services.db.dialect), values).scalar()  # type: ignore[no-any-return]


_PENDING_IDS_SQL = (
    select(WebhookDelivery.id)
    .where(WebhookDelivery.outcome == PENDING)
    .order_by(WebhookDelivery.id)
    .limit(bindparam("limit"))
)


def process_pending(services: Services, limit: int = 100) -> int:
    """Decide up to `limit` pending deliveries, oldest first; return how many were pending.

    Each is decided in its own transaction. One whose handler fails unexpectedly is recorded as `failed`
    with the error, its body kept, and the rest go on (the product is looked at again by reconciliation).
    A database outage raises: the rows stay pending for the next call.
    """
    with services.db.engine.connect() as conn:
        ids = list(conn.execute(_PENDING_IDS_SQL, {"limit": limit}).scalars())
    for delivery_id in ids:
        try:
            _process_pending_one(services, delivery_id)
        except Exception as exc:
            if database_down(exc):
                raise
            _fail(services, delivery_id, exc)
    return len(ids)


def _process_pending_one(services: Services, delivery_id: int) -> None:
    with services.db.session() as session:
        claim = select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.outcome == PENDING
        )
        if services.db.dialect == "postgresql":
            claim = claim.with_for_update(skip_locked=True)  # another processor has it: skip, not wait
        row = session.scalar(claim)
        if row is None:
            return
        shop = session.scalar(_SHOP_BY_ID_SQL, {"id": row.shop_id})
        assert shop is not None  # the foreign key cascades: a pending row always has its shop
        delivery = Delivery(
            row.topic,
            shop.domain,
            row.webhook_id,
            row.api_version or "",
            row.event_id,
            row.triggered_at,
            row.source,
        )
        with log_context(shop=shop.id, delivery=delivery.webhook_id):
            outcome = _handle(Context(services, session, shop, delivery), parse_payload(row.payload or ""))
            row.outcome, row.detail = outcome.code, outcome.detail[:4000]
            row.product_gid, row.payload = outcome.product_gid, None
            log.info(
                "%s %s (deferred): %s",
                delivery.topic,
                outcome.code,
                outcome.detail,
                extra={"waited_ms": round((utcnow() - row.received_at).total_seconds() * 1000, 1)},
            )


def _fail(services: Services, delivery_id: int, exc: Exception) -> None:
    log.exception("deferred delivery %s failed: %s", delivery_id, exc, extra={"delivery_row": delivery_id})
    with services.db.session() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is not None and row.outcome == PENDING:
            row.outcome, row.detail = "failed", f"{type(exc).__name__}: {exc}"[:4000]


def parse_payload(text: str) -> dict[str, Any] | None:
    """Return the body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


# The shop with its current style version (but not the version's document) in one query, built once.
_WITH_STYLE = joinedload(Shop.style_version).defer(StyleVersion.document)
_SHOP_SQL = select(Shop).where(Shop.domain == bindparam("domain")).options(_WITH_STYLE)
_SHOP_BY_ID_SQL = select(Shop).where(Shop.id == bindparam("id")).options(_WITH_STYLE)


def _shop(session: Session, delivery: Delivery) -> Shop:
    """Return the delivery's shop, its current style version loaded with it; create the shop if new."""
    shop = session.scalar(_SHOP_SQL, {"domain": delivery.shop_domain})
    return shop or ensure_shop(session, delivery.shop_domain, active=delivery.topic not in LEAVING)


@cache
def _record_sql(dialect: str) -> Any:
    columns = ("shop_id", *_DELIVERY_COLUMNS, "outcome", "detail", "product_gid")
    return (
        _insert_once(dialect)
        .values({name: bindparam(name) for name in columns})
        .returning(WebhookDelivery.id)
    )


def _record(session: Session, shop: Shop, delivery: Delivery, outcome: Outcome) -> int | None:
    """Insert the delivery's row; return its id, or None when its webhook id is already recorded.

    The unique index on the webhook id decides: of two copies arriving together, one inserts, the other
    (on PostgreSQL after waiting for the first to commit) inserts nothing.
    """
    values = {
        **_delivery_values(delivery),
        "shop_id": shop.id,
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


def read_verified(settings: Settings) -> tuple[Delivery, str] | Response:
    """Read the request's body once and verify it; return (the delivery, the body) or the refusal to answer.

    Everything a delivery goes through before Worn's database is touched (the benchmark's floor).
    """
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
        return delivery_from_headers(headers), text
    except HeaderError as exc:
        return _refuse(400, "bad_header", str(exc))


@bp.post("/webhooks")
@bp.post("/webhooks/<path:alias>")
def receive(alias: str | None = None) -> Response:
    """Receive one Shopify delivery (any topic)."""
    started = time.perf_counter()
    services: Services = current_app.extensions["worn"]
    settings = services.settings
    verified = read_verified(settings)
    if isinstance(verified, Response):
        return verified
    delivery, text = verified

    payload = parse_payload(text)
    deferred = (
        payload is not None and settings.WEBHOOK_PROCESSING == "deferred" and delivery.topic in DEFERRABLE
    )
    try:
        if deferred and accept(services, delivery, text) is not None:
            outcome = Outcome("accepted", ACCEPTED)
        else:
            outcome = process(services, delivery, payload)
    except Exception as exc:
        if database_down(exc):
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


__all__ = [
    "ACCEPTED",
    "DEFERRABLE",
    "HANDLERS",
    "PENDING",
    "REQUIRED",
    "Context",
    "Outcome",
    "accept",
    "bp",
    "database_down",
    "parse_payload",
    "process",
    "process_pending",
    "read_verified",
    "receive",
]
