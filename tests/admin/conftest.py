"""Fixtures for the admin pages and API: services on a fresh database, the app, two shops and their tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.services import Services
from connector.settings import DEV_API_KEY, DEV_API_SECRET, Settings
from devshop import DevShopConfig, start_in_thread
from tests.admin.factory import make_shop
from webhooks.app import create_app

DEV_HANDLE = "acme-jewels"
SHOP_A = f"{DEV_HANDLE}.myshopify.com"
SHOP_B = "other-store.myshopify.com"


def build_app(services: Services) -> Flask:
    """Return Worn's app (webhooks/app.py) on `services`."""
    return create_app({"TESTING": True}, services=services)


@pytest.fixture
def dev_shop() -> Iterator[str]:
    """Run `worn dev-shop` in a thread with Worn's dev credentials and DEV_HANDLE's store seeded."""
    running = start_in_thread(DevShopConfig(api_key=DEV_API_KEY, api_secret=DEV_API_SECRET, seed=False,
                                            media_processing_delay_s=0.05, reorder_job_delay_s=0.05))
    httpx.post(f"{running.base_url}/_devshop/shops", json={"handle": DEV_HANDLE, "seed": True},
               timeout=30).raise_for_status()
    yield running.base_url
    running.stop()


def minted(shop_url: str, handle: str = DEV_HANDLE, **body: int) -> str:
    """Return a session token minted by the dev-shop's control API, as the demo gets one."""
    answer = httpx.post(f"{shop_url}/_devshop/shops/{handle}/session-token", json=body, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


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
