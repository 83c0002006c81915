"""Webhooks go out signed, with every X-Shopify-* header, in Shopify's REST payload shapes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime

import shopify_app
from devshop_support import (
    API_KEY,
    API_SECRET,
    ShopSession,
    WebhookReceiver,
    control,
    jpeg_bytes,
    new_shop,
    settle,
    start_devshop,
)

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def _photo(color: tuple[int, int, int] = (200, 150, 50)) -> dict:
    return {
        "filename": "piece.jpg",
        "alt": "Studio shot",
        "content_base64": base64.b64encode(jpeg_bytes(color)).decode(),
    }


def _create(shop: ShopSession, **spec: object) -> dict:
    body = {
        "title": "Émeraude Layered Necklace",
        "product_type": "Necklaces",
        "category": "aa-6-8",
        "tags": ["silver", "layered"],
        "options": [{"name": "Length", "values": ["45 cm"]}],
        "photos": [_photo()],
        **spec,
    }
    response = shop.control("POST", "/products", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_products_create_is_signed_with_every_header(shop: ShopSession, receiver: WebhookReceiver) -> None:
    product = _create(shop)
    [delivery] = receiver.wait_for(1, predicate=receiver.topic("products/create"))
    expected = base64.b64encode(
        hmac.new(API_SECRET.encode(), delivery.body, hashlib.sha256).digest()
    ).decode()
    headers = delivery.headers
    assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"], expected)
    assert headers["X-Shopify-Topic"] == "products/create"
    assert headers["X-Shopify-Shop-Domain"] == shop.domain
    assert headers["X-Shopify-Api-Version"] == "2026-10"
    assert re.match(r"^[0-9a-f-]{36}$", headers["X-Shopify-Webhook-Id"])
    assert re.match(r"^[0-9a-f-]{36}$", headers["X-Shopify-Event-Id"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", headers["X-Shopify-Triggered-At"])
    assert headers["Content-Type"] == "application/json"
    # The body is compact UTF-8 JSON: re-serialising it would change the bytes the HMAC covers.
    assert "Émeraude".encode() in delivery.body and b'", "' not in delivery.body

    app = shopify_app.ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)
    verified = app.verify_webhook_req(
        {
            "method": "POST",
            "headers": headers,
            "url": "https://app.example.com/webhooks",
            "body": delivery.body.decode("utf-8"),
        }
    )
    assert verified.ok and verified.shop == shop.handle
    forged = shopify_app.ShopifyApp(client_id=API_KEY, client_secret="another-secret-0123456789abcdef01")
    assert (
        forged.verify_webhook_req(
            {
                "method": "POST",
                "headers": headers,
                "url": "https://app.example.com/webhooks",
                "body": delivery.body.decode("utf-8"),
            }
        ).log.code
        == "invalid_hmac"
    )

    body = json.loads(delivery.body)
    assert body["id"] == product["id"] and body["admin_graphql_api_id"] == product["gid"]
    assert body["tags"] == "silver, layered"
    assert body["status"] == "active" and body["product_type"] == "Necklaces"
    assert ISO_WITH_OFFSET.match(body["updated_at"]) and ISO_WITH_OFFSET.match(body["created_at"])
    assert body["category"] == {
        "admin_graphql_api_id": "gid://shopify/TaxonomyCategory/aa-6-8",
        "name": "Necklaces",
        "full_name": "Apparel & Accessories > Jewelry > Necklaces",
    }
    assert body["variants"][0]["option1"] == "45 cm" and body["options"][0]["values"] == ["45 cm"]
    [media] = body["media"]
    assert media["admin_graphql_api_id"] == product["media"][0]["gid"]
    assert media["status"] == "UPLOADED" and media["media_content_type"] == "IMAGE"
    assert body["images"] == [] and body["image"] is None  # no ProductImage until processing is done


def test_media_ready_sends_products_update(shop: ShopSession, receiver: WebhookReceiver) -> None:
    product = _create(shop)
    [update] = receiver.wait_for(1, predicate=receiver.topic("products/update"))
    body = json.loads(update.body)
    assert body["id"] == product["id"]
    [media] = body["media"]
    assert media["status"] == "READY" and media["preview_image"]["status"] == "READY"
    assert media["preview_image"]["src"].startswith(shop.devshop.base_url)
    [image] = body["images"]
    assert image["alt"] == "Studio shot" and image["admin_graphql_api_id"].startswith(
        "gid://shopify/ProductImage/"
    )
    assert (image["width"], image["height"]) == (64, 48)


def test_app_writes_send_products_update(shop: ShopSession, receiver: WebhookReceiver) -> None:
    product = _create(shop, photos=[])
    receiver.wait_for(1, predicate=receiver.topic("products/create"))
    shop.data(
        "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { userErrors { message } } }",
        {"p": {"id": product["gid"], "tags": ["silver", "layered", "worn-rendered"]}},
    )
    [update] = receiver.wait_for(1, predicate=receiver.topic("products/update"))
    assert json.loads(update.body)["tags"] == "silver, layered, worn-rendered"


def test_one_action_shares_an_event_id_across_deliveries(
    shop: ShopSession, receiver: WebhookReceiver
) -> None:
    first = _create(shop, title="First")
    second = _create(shop, title="Second", photos=[])
    settle(shop.devshop)
    media = first["media"][0]["gid"]
    shop.data(
        "mutation($f: [FileUpdateInput!]!) { fileUpdate(files: $f) { userErrors { message } } }",
        {"f": [{"id": media, "referencesToAdd": [second["gid"]]}]},
    )
    settle(shop.devshop)
    before = len(receiver.requests)
    shop.data("mutation($ids: [ID!]!) { fileDelete(fileIds: $ids) { deletedFileIds } }", {"ids": [media]})
    pair = receiver.wait_for(before + 2)[before:]
    assert {json.loads(d.body)["id"] for d in pair} == {first["id"], second["id"]}
    assert len({d.headers["X-Shopify-Event-Id"] for d in pair}) == 1
    assert len({d.headers["X-Shopify-Webhook-Id"] for d in pair}) == 2


def test_failed_deliveries_are_retried_with_the_same_webhook_id(
    shop: ShopSession, receiver: WebhookReceiver
) -> None:
    receiver.statuses = [500, 302]  # a redirect counts as a failure, as on Shopify
    _create(shop, photos=[])
    attempts = receiver.wait_for(3, predicate=receiver.topic("products/create"))
    assert len({a.headers["X-Shopify-Webhook-Id"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1
    settle(shop.devshop)
    log = control(shop.devshop, "GET", f"/deliveries?shop={shop.handle}&topic=products/create").json()
    assert [(e["attempt"], e["status"], e["outcome"]) for e in log] == [
        (1, 500, "failed"),
        (2, 302, "failed"),
        (3, 200, "delivered"),
    ]
    assert all(e["latency_ms"] >= 0 for e in log)


def test_a_delivery_that_keeps_failing_is_given_up(shop: ShopSession, receiver: WebhookReceiver) -> None:
    receiver.statuses = [503] * 10
    _create(shop, photos=[])
    receiver.wait_for(3, predicate=receiver.topic("products/create"))
    settle(shop.devshop)
    log = control(
        shop.devshop, "GET", f"/deliveries?shop={shop.handle}&topic=products/create&payload=0"
    ).json()
    assert [e["outcome"] for e in log] == ["failed", "failed", "failed", "gave_up"]
    assert "payload" not in log[0]


def test_unreachable_app_is_logged_as_a_failure(receiver: WebhookReceiver) -> None:
    running = start_devshop(app_webhook_url="http://127.0.0.1:9/webhooks", webhook_retry_delays_s=())
    try:
        handle = new_shop(running)
        control(running, "POST", f"/shops/{handle}/products", json={"title": "Ring"})
        settle(running)
        [entry] = control(running, "GET", f"/deliveries?shop={handle}").json()[:1]
        assert entry["status"] is None and entry["outcome"] == "failed" and "ConnectError" in entry["error"]
    finally:
        running.stop()


def test_payload_follows_the_configured_api_version(receiver: WebhookReceiver) -> None:
    running = start_devshop(app_webhook_url=receiver.url, api_version="2024-04")
    try:
        handle = new_shop(running)
        control(running, "POST", f"/shops/{handle}/products", json={"title": "Ring", "category": "aa-6-9"})
        [delivery] = receiver.wait_for(1)
        body = json.loads(delivery.body)
        assert delivery.headers["X-Shopify-Api-Version"] == "2024-04"
        assert "media" not in body and "category" not in body and "images" in body
    finally:
        running.stop()


def test_uninstall_sends_app_uninstalled_and_revokes_tokens(
    shop: ShopSession, receiver: WebhookReceiver
) -> None:
    response = shop.control("POST", "/webhooks", json={"topic": "app/uninstalled"})
    assert response.status_code == 202
    [delivery] = receiver.wait_for(1, predicate=receiver.topic("app/uninstalled"))
    body = json.loads(delivery.body)
    assert body["myshopify_domain"] == shop.domain and body["domain"] == shop.domain
    assert isinstance(body["id"], int) and body["iana_timezone"] == "America/New_York"
    assert shop.gql("{ shop { name } }").log.code == "unauthorized"
    shop.control("POST", "/products", json={"title": "Made after uninstall"})
    settle(shop.devshop)
    assert not receiver.wait_for(0, predicate=receiver.topic("products/create"))


def test_compliance_topics_have_documented_shapes(shop: ShopSession, receiver: WebhookReceiver) -> None:
    customer = {"id": 7, "email": "ada@example.com", "phone": "+15550100"}
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        response = shop.control(
            "POST", "/webhooks", json={"topic": topic, "customer": customer, "orders": [11, 12]}
        )
        assert response.status_code == 202, response.text
    bodies = {d.headers["X-Shopify-Topic"]: json.loads(d.body) for d in receiver.wait_for(3)}
    shop_id = shop.control("GET", "").json()["id"]
    assert bodies["customers/data_request"] == {
        "shop_id": shop_id,
        "shop_domain": shop.domain,
        "orders_requested": [11, 12],
        "customer": customer,
        "data_request": {"id": 9999},
    }
    assert bodies["customers/redact"] == {
        "shop_id": shop_id,
        "shop_domain": shop.domain,
        "customer": customer,
        "orders_to_redact": [11, 12],
    }
    assert bodies["shop/redact"] == {"shop_id": shop_id, "shop_domain": shop.domain}


def test_trigger_rejects_unknown_topics(shop: ShopSession) -> None:
    response = shop.control("POST", "/webhooks", json={"topic": "orders/create"})
    assert response.status_code == 400 and "orders/create" in response.json()["error"]


def test_triggered_at_follows_the_simulated_clock(shop: ShopSession, receiver: WebhookReceiver) -> None:
    control(shop.devshop, "POST", "/clock", json={"advance_s": 86400})
    _create(shop, photos=[])
    [delivery] = receiver.wait_for(1)
    triggered = datetime.fromisoformat(delivery.headers["X-Shopify-Triggered-At"][:26] + "+00:00")
    now = datetime.fromisoformat(control(shop.devshop, "GET", "/clock").json()["now"].replace("Z", "+00:00"))
    assert abs((now - triggered).total_seconds()) < 5


def test_deliveries_stop_when_no_address_is_configured(shop: ShopSession, receiver: WebhookReceiver) -> None:
    assert control(shop.devshop, "PUT", "/app", json={"webhook_url": None}).json()["webhook_url"] is None
    _create(shop, photos=[])
    settle(shop.devshop)
    log = control(shop.devshop, "GET", f"/deliveries?shop={shop.handle}").json()
    assert [e["outcome"] for e in log] == ["no_address"]
    assert receiver.requests == []


def test_a_slow_app_times_out_and_is_retried(receiver: WebhookReceiver) -> None:
    running = start_devshop(
        app_webhook_url=receiver.url, webhook_timeout_s=0.2, webhook_retry_delays_s=(0.05,)
    )
    try:
        receiver.delay_s = 0.4  # longer than the (compressed) 5-second limit Shopify gives an app
        handle = new_shop(running)
        control(running, "POST", f"/shops/{handle}/products", json={"title": "Slowly received ring"})
        receiver.wait_for(2)
        settle(running)
        log = control(running, "GET", f"/deliveries?shop={handle}&payload=0").json()
        assert [e["outcome"] for e in log] == ["failed", "failed", "gave_up"]
        assert "ReadTimeout" in log[0]["error"]
    finally:
        receiver.delay_s = 0.0
        running.stop()
