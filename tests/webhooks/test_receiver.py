"""The webhook endpoint through the Flask test client: every answer of the HTTP behaviour table."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.models import Product, RenderJob, Shop
from connector.queue import MAINTENANCE
from connector.services import Services
from connector.settings import Settings
from tests.support.moto import free_port
from tests.webhooks import payloads
from tests.webhooks.conftest import Shopify, counts, deliveries, outcome
from webhooks.app import create_app

T0 = dt.datetime(2025, 8, 22, 10, 0, tzinfo=dt.UTC)
NEW_SECRET = "shpss_rotated0123456789abcdef0123456789"


def test_products_create_is_recorded_and_queued(shopify: Shopify, services: Services) -> None:
    body = payloads.encode(payloads.product(7001, updated_at=T0))
    head = payloads.headers(
        "products/create",
        body,
        webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        event_id="e-7001",
        triggered_at="2025-08-22T10:27:38.912345678Z",
    )
    response = shopify.client.post("/webhooks", data=body, headers=head)
    assert response.status_code == 200 and response.get_json()["outcome"] == "queued"
    [row] = deliveries(services)
    assert (row.webhook_id, row.event_id, row.topic, row.api_version, row.source) == (
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "e-7001",
        "products/create",
        "2026-10",
        "https",
    )
    assert row.triggered_at == dt.datetime(2025, 8, 22, 10, 27, 38, 912345, tzinfo=dt.UTC)
    assert (row.outcome, row.product_gid) == ("queued", "gid://shopify/Product/7001")
    assert "necklace" in (row.detail or "")
    assert counts(services) == (1, 1, 1)


def test_a_duplicate_delivery_answers_200_and_does_nothing(shopify: Shopify, services: Services) -> None:
    body = payloads.product(7002)
    first = shopify.send("products/update", body, webhook_id="same-id")
    again = shopify.send("products/update", body, webhook_id="same-id")
    assert (first.status_code, outcome(first)) == (200, "queued")
    assert (again.status_code, outcome(again)) == (200, "duplicate")
    assert counts(services) == (1, 1, 1)
    assert deliveries(services)[0].outcome == "queued"  # the first delivery's record is left as it was


def test_out_of_order_deliveries(shopify: Shopify, services: Services) -> None:
    newer = payloads.product(
        7003, updated_at=T0 + dt.timedelta(minutes=5), media=[payloads.media_image(2, file="b.jpg")]
    )
    older = payloads.product(7003, updated_at=T0, media=[payloads.media_image(1, file="a.jpg")])
    assert outcome(shopify.send("products/update", newer)) == "queued"
    late = shopify.send("products/update", older)
    assert (late.status_code, outcome(late)) == (200, "stale")
    assert counts(services)[:2] == (2, 1)


def test_loop_guard_a_write_backs_own_update_starts_nothing(shopify: Shopify, services: Services) -> None:
    from connector.models import Draft, WriteBack

    source = payloads.media_image(11, position=1)
    assert (
        outcome(shopify.send("products/update", payloads.product(7004, updated_at=T0, media=[source])))
        == "queued"
    )
    with services.db.session() as session:  # what the write-back leaves once Shopify answered
        product = session.scalars(select(Product)).one()
        job = session.scalars(select(RenderJob)).one()
        job.state = "done"
        draft = Draft(
            shop_id=product.shop_id, product_id=product.id, job_id=job.id, plate_id="grace", state="written"
        )
        session.add(draft)
        session.flush()
        session.add(
            WriteBack(
                shop_id=product.shop_id,
                product_id=product.id,
                draft_id=draft.id,
                state="done",
                media_gid="gid://shopify/MediaImage/900",
            )
        )
    ours = payloads.media_image(
        900, position=2, file="worn-grace.jpg", alt="Pearl Drop Necklace, worn by Grace"
    )
    echo = shopify.send(
        "products/update",
        payloads.product(7004, updated_at=T0 + dt.timedelta(seconds=30), media=[source, ours]),
    )
    assert (echo.status_code, outcome(echo)) == (200, "unchanged")
    assert counts(services)[1] == 1


def test_products_delete(shopify: Shopify, services: Services) -> None:
    shopify.send("products/create", payloads.product(7005, updated_at=T0))
    response = shopify.send("products/delete", payloads.product_delete(7005))
    assert (response.status_code, outcome(response)) == (200, "deleted")
    with services.db.session() as session:
        assert session.scalars(select(RenderJob.state)).all() == ["superseded"]
        assert session.scalars(select(Product)).one().deleted_at is not None


def test_app_uninstalled_then_products_are_skipped(shopify: Shopify, services: Services) -> None:
    shopify.send("products/create", payloads.product(7006, updated_at=T0))
    response = shopify.send("app/uninstalled", payloads.shop_resource())
    assert (response.status_code, outcome(response)) == (200, "uninstalled")
    after = shopify.send(
        "products/update",
        payloads.product(
            7006, updated_at=T0 + dt.timedelta(hours=1), media=[payloads.media_image(5, file="new.jpg")]
        ),
    )
    assert outcome(after) == "shop_inactive"
    with services.db.session() as session:
        assert session.scalars(select(Shop.active)).one() is False
        assert session.scalars(select(RenderJob.state)).all() == ["cancelled"]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("customers/data_request", payloads.customers_data_request()),
        ("customers/redact", payloads.customers_redact()),
    ],
)
def test_customer_compliance_topics_are_verified_recorded_answered(
    shopify: Shopify, services: Services, topic: str, payload: dict[str, Any]
) -> None:
    response = shopify.send(topic, payload, path="/webhooks/compliance")
    assert (response.status_code, outcome(response)) == (200, "no_customer_data")
    assert [(d.topic, d.outcome) for d in deliveries(services)] == [(topic, "no_customer_data")]
    tampered = shopify.client.post(
        "/webhooks/compliance", data=payloads.encode(payload), headers=payloads.headers(topic, b"{}")
    )
    assert tampered.status_code == 401  # Shopify's review checks this for every compliance topic


def test_shop_redact_queues_the_erasure(shopify: Shopify, services: Services) -> None:
    shopify.send("products/create", payloads.product(7007))
    response = shopify.send("shop/redact", payloads.shop_redact(), path="/webhooks/shop/redact")
    assert (response.status_code, outcome(response)) == (200, "redaction_queued")
    [message] = services.queue.receive(MAINTENANCE)
    with services.db.session() as session:
        assert message.body == {"redact_shop": session.scalars(select(Shop.id)).one()}


def test_shop_redact_for_a_shop_never_seen(shopify: Shopify, services: Services) -> None:
    response = shopify.send(
        "shop/redact", payloads.shop_redact("gone-long-ago.myshopify.com"), shop="gone-long-ago.myshopify.com"
    )
    assert outcome(response) == "redaction_queued"
    with services.db.session() as session:
        assert session.scalars(select(Shop.active)).one() is False


def test_unknown_topic_is_recorded_logged_and_answered(
    shopify: Shopify, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="webhooks.shopify"):
        response = shopify.send("orders/create", {"id": 1, "line_items": []})
    assert (response.status_code, outcome(response)) == (200, "unknown_topic")
    assert [(d.topic, d.outcome) for d in deliveries(services)] == [("orders/create", "unknown_topic")]
    assert "orders/create unknown_topic" in caplog.text


# --- HMAC ------------------------------------------------------------------------------------------------


def test_tampered_body_is_401_and_not_recorded(client: FlaskClient, services: Services) -> None:
    body = payloads.encode(payloads.product(7010))
    head = payloads.headers("products/update", body)
    response = client.post("/webhooks", data=body.replace(b"Pearl", b"Pearls"), headers=head)
    assert response.status_code == 401 and outcome(response) == "invalid_hmac"
    assert counts(services) == (0, 0, 0)


def test_tampered_hmac_header_is_401(client: FlaskClient, services: Services) -> None:
    body = payloads.encode(payloads.product(7011))
    head = payloads.headers("products/update", body)
    head["X-Shopify-Hmac-Sha256"] = head["X-Shopify-Hmac-Sha256"][:-4] + "AAA="
    assert client.post("/webhooks", data=body, headers=head).status_code == 401
    head["X-Shopify-Hmac-Sha256"] = payloads.sign(body, "another-apps-secret")
    assert client.post("/webhooks", data=body, headers=head).status_code == 401
    head["X-Shopify-Hmac-Sha256"] = "\x80é="  # shopify_app 1.0.2 alone would raise TypeError here
    assert client.post("/webhooks", data=body, headers=head).status_code == 401
    assert counts(services) == (0, 0, 0)


def test_old_secret_is_accepted_during_rotation(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    rotated = Services.from_settings(
        make_settings(
            DATABASE_URL=database_url, SHOPIFY_API_SECRET=NEW_SECRET, SHOPIFY_API_SECRET_OLD=payloads.SECRET
        )
    )
    try:
        client = create_app(services=rotated).test_client()
        body = payloads.encode(payloads.product(7012))
        old = client.post("/webhooks", data=body, headers=payloads.headers("products/update", body))
        new = client.post(
            "/webhooks", data=body, headers=payloads.headers("products/update", body, secret=NEW_SECRET)
        )
        other = client.post(
            "/webhooks", data=body, headers=payloads.headers("products/update", body, secret="third")
        )
        assert (old.status_code, new.status_code, other.status_code) == (200, 200, 401)
    finally:
        rotated.close()


def test_without_rotation_the_old_secret_is_refused(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    current = Services.from_settings(make_settings(DATABASE_URL=database_url, SHOPIFY_API_SECRET=NEW_SECRET))
    try:
        body = payloads.encode(payloads.product(7013))
        response = (
            create_app(services=current)
            .test_client()
            .post("/webhooks", data=body, headers=payloads.headers("products/update", body))
        )
        assert response.status_code == 401
    finally:
        current.close()


def test_empty_body(client: FlaskClient, services: Services) -> None:
    unsigned = payloads.headers("products/update", b"x")
    assert client.post("/webhooks", data=b"", headers=unsigned).status_code == 401
    signed = client.post("/webhooks", data=b"", headers=payloads.headers("products/update", b""))
    assert (signed.status_code, outcome(signed)) == (400, "malformed")
    assert [d.outcome for d in deliveries(services)] == ["malformed"]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp1252"])
def test_wrong_encoding_is_400_and_not_recorded(
    client: FlaskClient, services: Services, encoding: str
) -> None:
    text = json.dumps(payloads.product(7014, title="Collier Élégance"), ensure_ascii=False)
    body = text.encode(encoding)
    response = client.post("/webhooks", data=body, headers=payloads.headers("products/update", body))
    assert (response.status_code, outcome(response)) == (400, "not_utf8")
    assert counts(services) == (0, 0, 0)


def test_signed_body_that_is_not_json_is_recorded_malformed(client: FlaskClient, services: Services) -> None:
    for body in (b"<xml>not json</xml>", b"[1, 2, 3]", b'"a string"', b'{"id": 1'):
        response = client.post("/webhooks", data=body, headers=payloads.headers("products/update", body))
        assert (response.status_code, outcome(response)) == (400, "malformed"), body
    assert [d.outcome for d in deliveries(services)] == ["malformed"] * 4
    assert counts(services)[1:] == (0, 0)


def test_signed_product_of_the_wrong_shape_names_the_field(shopify: Shopify, services: Services) -> None:
    bad = payloads.product(7015)
    bad["media"] = [
        {"admin_graphql_api_id": "gid://shopify/MediaImage/1", "preview_image": {"width": "wide"}}
    ]
    response = shopify.send("products/update", bad)
    assert response.status_code == 400
    assert "media[0].preview_image.width: expected a whole number" in response.get_json()["detail"]
    [row] = deliveries(services)
    assert (row.outcome, row.product_gid) == ("malformed", "gid://shopify/Product/7015")


# --- headers, methods, size -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "X-Shopify-Topic",
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Webhook-Id",
    ],
)
def test_a_missing_required_header_is_400(client: FlaskClient, services: Services, header: str) -> None:
    body = payloads.encode(payloads.product(7016))
    head = payloads.headers("products/update", body)
    del head[header]
    response = client.post("/webhooks", data=body, headers=head)
    assert (response.status_code, outcome(response)) == (400, "missing_headers")
    assert header in response.get_json()["detail"]
    assert counts(services) == (0, 0, 0)


def test_optional_headers_may_be_absent(client: FlaskClient, services: Services) -> None:
    body = payloads.encode(payloads.product(7017))
    head = payloads.headers("products/update", body, triggered_at=None)
    del head["X-Shopify-Event-Id"]
    assert (
        client.post("/webhooks", data=body, headers={k.lower(): v for k, v in head.items()}).status_code
        == 200
    )
    [row] = deliveries(services)
    assert row.event_id is None and row.triggered_at is None


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Shopify-Topic", "products update"),
        ("X-Shopify-API-Version", "latest"),
        ("X-Shopify-Webhook-Id", "x" * 256),
        ("X-Shopify-Shop-Domain", "evil.example.com"),
    ],
)
def test_a_malformed_signed_header_is_400(
    client: FlaskClient, services: Services, header: str, value: str
) -> None:
    body = payloads.encode(payloads.product(7018))
    head = payloads.headers("products/update", body)
    head[header] = value
    response = client.post("/webhooks", data=body, headers=head)
    assert (response.status_code, outcome(response)) == (400, "bad_header")
    assert header in response.get_json()["detail"]
    assert counts(services) == (0, 0, 0)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405(client: FlaskClient, method: str) -> None:
    response = client.open("/webhooks", method=method)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert response.mimetype == "text/plain"


def test_a_body_over_the_limit_is_413(make_settings: Callable[..., Settings], database_url: str) -> None:
    small = Services.from_settings(make_settings(DATABASE_URL=database_url, WEBHOOK_MAX_BODY_BYTES=4096))
    try:
        client = create_app(services=small).test_client()
        body = payloads.encode(payloads.product(7019, title="x" * 5000))
        response = client.post("/webhooks", data=body, headers=payloads.headers("products/update", body))
        assert response.status_code == 413
        fits = payloads.encode(payloads.product(7019))
        assert len(fits) <= 4096
        assert (
            client.post("/webhooks", data=fits, headers=payloads.headers("products/update", fits)).status_code
            == 200
        )
    finally:
        small.close()


@pytest.mark.parametrize(
    "path", ["/webhooks", "/webhooks/products", "/webhooks/products/update", "/webhooks/compliance"]
)
def test_every_alias_path_is_the_same_endpoint(shopify: Shopify, path: str) -> None:
    assert outcome(shopify.send("products/update", payloads.product(7020), path=path)) == "queued"


# --- the database down ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_dead_database_is_503_and_the_retry_succeeds(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    backend: str,
    caplog: pytest.LogCaptureFixture,
    services: Services,
    shopify: Shopify,
) -> None:
    # SQLite: the database path is a folder; PostgreSQL: nothing listens on the port.
    url = (
        f"sqlite:///{tmp_path}"
        if backend == "sqlite"
        else f"postgresql://postgres@127.0.0.1:{free_port()}/worn"
    )
    dead = Services.from_settings(make_settings(DATABASE_URL=url))
    try:
        body = payloads.encode(payloads.product(7021))
        head = payloads.headers("products/update", body)
        with caplog.at_level(logging.ERROR, logger="webhooks.shopify"):
            response = create_app(services=dead).test_client().post("/webhooks", data=body, headers=head)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert outcome(response) == "database_unavailable"
        assert "database unavailable, answering 503 so Shopify retries products/update" in caplog.text
        assert "Traceback" not in response.get_data(as_text=True)
    finally:
        dead.close()
    # Shopify retries the same delivery once the database is back: nothing was lost.
    retry = shopify.client.post("/webhooks", data=body, headers=head)
    assert (retry.status_code, outcome(retry)) == (200, "queued")
    assert counts(services) == (1, 1, 1)


def test_health_routes(client: FlaskClient) -> None:
    assert client.get("/healthz").get_data(as_text=True) == "ok\n"
    assert client.get("/readyz").status_code == 200
