"""Fixtures for the receiver: backends on a real database, the Flask app, a signed sender, row counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from connector.models import RenderJob, WebhookDelivery
from connector.services import Services
from connector.settings import Settings
from tests.webhooks import payloads
from webhooks.app import create_app


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(DATABASE_URL=database_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    backends = Services.from_settings(settings)
    yield backends
    backends.close()


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app({"TESTING": True}, services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Shopify:
    """Send deliveries the way Shopify does: signed, with every X-Shopify-* header."""

    client: FlaskClient
    shop: str = payloads.SHOP

    def send(self, topic: str, payload: Any, *, path: str = "/webhooks", **header_args: Any) -> TestResponse:
        body = payload if isinstance(payload, bytes) else payloads.encode(payload)
        header_args.setdefault("shop", self.shop)
        return self.client.post(path, data=body, headers=payloads.headers(topic, body, **header_args))


@pytest.fixture
def shopify(client: FlaskClient) -> Shopify:
    return Shopify(client)


def counts(services: Services) -> tuple[int, int, int]:
    """Return (deliveries, render jobs, render messages)."""
    with services.db.session() as session:
        deliveries = session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0
        jobs = session.scalar(select(func.count()).select_from(RenderJob)) or 0
    return deliveries, jobs, services.queue.depth("render")


def deliveries(services: Services) -> list[WebhookDelivery]:
    """Return every recorded delivery, oldest first."""
    with services.db.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def outcome(response: Any) -> str:
    """Return the outcome code of the receiver's JSON answer."""
    return str(response.get_json()["outcome"])
