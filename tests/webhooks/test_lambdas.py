"""Lambda entry points: Shopify's EventBridge envelope and an API Gateway HTTP API v2 event, same path."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.models import WebhookDelivery
from connector.services import Services
from renderer.errors import InputError
from tests.webhooks import payloads
from tests.webhooks.conftest import counts
from webhooks import lambdas


@pytest.fixture
def backends(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Services]:
    """Point the Lambda module at this test's database through the environment, as Lambda would."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(lambdas, "_services", None)
    monkeypatch.setattr(lambdas, "_app", None)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    services = lambdas._backends()  # configures logging as on a cold start: undone below
    yield services
    services.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def eventbridge(topic: str, payload: Any, *, webhook_id: str = "eb-1") -> dict[str, Any]:
    """Return the event Shopify's partner event source puts on the bus."""
    body = payloads.encode(payload)
    metadata = payloads.headers(topic, body, webhook_id=webhook_id)
    metadata["X-Shopify-Hmac-SHA256"] = metadata.pop("X-Shopify-Hmac-Sha256")
    return {
        "version": "0",
        "id": "6f1e2c7a-4c31-3d5e-8d8b-0b3cbd2ea0c1",
        "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/1830279/worn-events",
        "account": "123456789012",
        "time": "2025-08-22T10:27:39Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"payload": payload, "metadata": metadata},
    }


def test_an_eventbridge_product_update_is_processed_like_https(backends: Services) -> None:
    result = lambdas.events(eventbridge("products/update", payloads.product(8001)), None)
    assert result == {"outcome": "queued", "detail": result["detail"], "webhook_id": "eb-1"}
    with backends.db.session() as session:
        row = session.scalars(select(WebhookDelivery)).one()
        assert (row.source, row.topic, row.product_gid) == (
            "eventbridge",
            "products/update",
            "gid://shopify/Product/8001",
        )
    assert counts(backends) == (1, 1, 1)
    # EventBridge delivers at least once too
    assert (
        lambdas.events(eventbridge("products/update", payloads.product(8001)), None)["outcome"] == "duplicate"
    )


def test_eventbridge_needs_no_hmac(backends: Services) -> None:
    event = eventbridge("app/uninstalled", payloads.shop_resource(), webhook_id="eb-2")
    del event["detail"]["metadata"]["X-Shopify-Hmac-SHA256"]
    assert lambdas.events(event, None)["outcome"] == "uninstalled"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update({"detail-type": "Scheduled Event"}), "detail-type 'Scheduled Event'"),
        (lambda e: e.pop("detail"), "detail: expected an object"),
        (lambda e: e["detail"].update(metadata=[]), "detail.metadata: expected an object"),
        (lambda e: e["detail"].pop("payload"), "detail.payload: missing"),
        (
            lambda e: e["detail"]["metadata"].pop("X-Shopify-Webhook-Id"),
            "missing header.*X-Shopify-Webhook-Id",
        ),
    ],
)
def test_a_malformed_envelope_raises_for_the_dead_letter_target(
    backends: Services, change: Any, message: str
) -> None:
    event = eventbridge("products/update", payloads.product(8002))
    change(event)
    with pytest.raises(InputError, match=message):
        lambdas.events(event, None)
    assert counts(backends) == (0, 0, 0)


def test_an_api_gateway_v2_event_reaches_flask_through_serverless_wsgi(backends: Services) -> None:
    body = payloads.encode(payloads.product(8003))
    head = {k.lower(): v for k, v in payloads.headers("products/update", body, webhook_id="apigw-1").items()}
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/webhooks",
        "rawQueryString": "",
        "headers": {
            **head,
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "content-length": str(len(body)),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": "/webhooks",
                "protocol": "HTTP/1.1",
                "sourceIp": "34.0.0.1",
                "userAgent": "Shopify-Captain-Hook",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Aug/2025:10:27:39 +0000",
            "timeEpoch": 1755858459000,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    response = lambdas.handler(event, None)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["outcome"] == "queued"
    tampered = dict(event, body=base64.b64encode(body.replace(b"Pearl", b"Paste")).decode())
    assert lambdas.handler(tampered, None)["statusCode"] == 401
    assert counts(backends) == (1, 1, 1)
