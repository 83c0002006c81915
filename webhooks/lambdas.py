"""AWS Lambda entry points, one per function in serverless.yml.

- `http`: API Gateway (HTTP API v2 or REST) events through serverless-wsgi to the Flask app.
- `events`: Shopify's EventBridge deliveries, down the same path as an HTTPS delivery minus the HMAC
  (Shopify does not sign EventBridge deliveries; AWS delivers only what its partner source sent).
- `schedule`: the periodic maintenance (reconciliation, token refresh, recovery, draft expiry).
- `writeback`, `maintenance`: SQS batches, each message handled like `worn worker` handles it, with
  partial batch failures reported so only the failed messages come back.

The backends are built on the first invocation of a container and kept for the next ones (nothing is
configured at import time).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from connector.logs import configure_logging
from connector.services import Services
from connector.settings import load_settings
from renderer.errors import InputError

log = logging.getLogger(__name__)

_app: Flask | None = None
_services: Services | None = None


def _backends() -> Services:
    global _services
    if _services is None:
        # No process runs beside a Lambda function to decide deferred deliveries: always decide them inline.
        settings = load_settings(WEBHOOK_PROCESSING="inline")
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


def schedule(event: Any, context: Any) -> dict[str, Any]:
    """Run every periodic task once (the EventBridge schedule rule calls this every few minutes)."""
    from connector.reconcile import run_maintenance
    from webhooks.shopify import process_pending

    summary = run_maintenance(_backends())
    # Deliveries a deferred `worn serve` left pending (this deployment decides inline) are decided here.
    summary["pending_deliveries"] = process_pending(_backends(), limit=1000)
    log.info("scheduled maintenance: %s", summary)
    return summary


def writeback(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Write approved drafts to Shopify, one SQS message each; report the messages that failed."""
    from connector.queue import WRITEBACK

    return _consume(WRITEBACK, event)


def maintenance(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Run shop deletions and other housekeeping messages; report the messages that failed."""
    from connector.queue import MAINTENANCE

    return _consume(MAINTENANCE, event)


def _consume(queue: str, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Handle an SQS batch with the worker; a message retried later or dead-lettered is a batch failure.

    Lambda deletes the messages not reported: a message the worker put back with a delay (retry) must be
    reported, or its retry would be lost. A dead-lettered one is already in the DLQ; reporting it too
    keeps the function's error metrics honest.
    """
    from connector.queue import Message
    from connector.worker import Worker

    worker = Worker(_backends(), queues=(queue,))
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            try:
                body = json.loads(record["body"])
            except (KeyError, TypeError, ValueError):
                body = None
            if not isinstance(body, dict):
                body = {"unreadable": str(record.get("body", ""))[:200]}
            message = Message(
                id=message_id,
                queue=queue,
                body=body,
                attempts=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)),
                receipt=str(record.get("receiptHandle", "")),
            )
            outcome = worker.handle(message)
        except Exception:  # the queue itself failed: let SQS deliver it again
            log.exception("%s message %s could not be handled", queue, message_id)
            outcome = "error"
        if outcome in ("retried", "dead", "error"):
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
