"""Fixtures for the admin pages and API: services on a fresh database, the app, two shops and their tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.services import Services
from connector.settings import Settings
from tests.admin.factory import make_shop
from webhooks.admin import init_app
from webhooks.session import SERVICES_KEY

SHOP_A = "acme-jewels.myshopify.com"
SHOP_B = "other-store.myshopify.com"


def build_app(services: Services) -> Flask:
    """Return a Flask app with the admin blueprints wired to `services`."""
    app = Flask("worn-admin-test")
    app.config["TESTING"] = True
    app.extensions[SERVICES_KEY] = services
    init_app(app)
    return app


@pytest.fixture
def services(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Services]:
    """Yield the backends on this test's own migrated database (SQLite and PostgreSQL)."""
    svc = Services.from_settings(make_settings(DATABASE_URL=database_url))
    yield svc
    svc.close()


@pytest.fixture
def app(services: Services) -> Flask:
    return build_app(services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def shops(services: Services) -> dict[str, int]:
    """Create two installed shops; return their ids by domain."""
    return {SHOP_A: make_shop(services, SHOP_A), SHOP_B: make_shop(services, SHOP_B)}


def error_of(response: Any) -> dict[str, Any]:
    """Return the `error` object of a JSON error response."""
    assert response.is_json, response.data[:200]
    return response.get_json()["error"]
