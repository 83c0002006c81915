"""Fixtures for the dev-shop tests: a running simulator, a webhook receiver, an installed shop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from devshop_support import FAST, ShopSession, WebhookReceiver, exchange_offline_token, new_shop
from werkzeug.serving import make_server

from devshop import DevShopConfig, RunningDevShop, start_in_thread


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """Serve a webhook receiver on a free port."""
    app = WebhookReceiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/webhooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture
def devshop_config(receiver: WebhookReceiver) -> DevShopConfig:
    """A fast dev-shop configuration that delivers webhooks to ``receiver``."""
    return DevShopConfig(app_webhook_url=receiver.url, **FAST)  # type: ignore[arg-type]


@pytest.fixture
def devshop(devshop_config: DevShopConfig) -> Iterator[RunningDevShop]:
    """Start a dev-shop on a free port and stop it after the test."""
    running = start_in_thread(devshop_config)
    yield running
    errors = list(running.core.scheduler.errors)
    running.stop()
    assert not errors, f"dev-shop background tasks failed: {errors}"


@pytest.fixture
def shop(devshop: RunningDevShop) -> ShopSession:
    """A fresh, empty shop with the app installed (expiring offline token)."""
    handle = new_shop(devshop)
    result = exchange_offline_token(devshop, handle)
    assert result.ok, result.log
    return ShopSession(devshop, handle, result.access_token.token)
