"""AWS Lambda entry points: HTTP through API Gateway (serverless-wsgi) and Shopify's EventBridge events.

The backends are built on the first invocation of a container and kept for the next ones (nothing is
configured at import time). An EventBridge event goes down the same path as an HTTPS delivery, minus the
HMAC: Shopify does not sign EventBridge deliveries, AWS delivers only what its partner source sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from connector.logs import configure_logging
from connector.services import Services
from connector.settings import load_settings
from renderer.errors import InputError

_app: Flask | None = None
_services: Services | None = None


def _backends() -> Services:
    global _services
    if _services is None:
        settings = load_settings()
        configure_logging(
            settings.LOG_LEVEL,
            "json",
            secrets=tuple(s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_OLD) if s),
        )
        _services = Services.from_settings(settings)
    return _services


def http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Serve an API Gateway (HTTP API v2 or REST) event with the Flask app."""
    import serverless_wsgi

    from webhooks.app import create_app

    global _app
    if _app is None:
        _app = create_app(services=_backends())
    return serverless_wsgi.handle_request(_app, event, context)  # type: ignore[no-any-return]


#: The name serverless.yml gives the HTTP function's handler.
handler = http


def events(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Process one Shopify EventBridge event (`detail-type: shopifyWebhook`); return the outcome.

    A malformed envelope raises InputError and a database outage raises too: the invocation fails, and
    Lambda retries it, then hands it to the function's dead-letter target, so nothing is silently lost.
    """
    from webhooks.delivery import delivery_from_headers
    from webhooks.shopify import process

    detail = _envelope(event)
    delivery = delivery_from_headers(detail["metadata"], source="eventbridge")
    payload = detail["payload"] if isinstance(detail["payload"], dict) else None
    outcome = process(_backends(), delivery, payload)
    return {"outcome": outcome.code, "detail": outcome.detail, "webhook_id": delivery.webhook_id}


def _envelope(event: Any) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise InputError(f"EventBridge event: expected an object, got {type(event).__name__}")
    kind = event.get("detail-type")
    if kind not in (None, "shopifyWebhook"):
        raise InputError(f"EventBridge event: detail-type {kind!r}, expected 'shopifyWebhook'")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InputError("EventBridge event: detail: expected an object with 'metadata' and 'payload'")
    if not isinstance(detail.get("metadata"), Mapping):
        raise InputError("EventBridge event: detail.metadata: expected an object of X-Shopify-* headers")
    if "payload" not in detail:
        raise InputError("EventBridge event: detail.payload: missing (the webhook body)")
    return detail
