"""WEBHOOK_PROCESSING=deferred: the request verifies and records a product delivery; the processor decides it.

The same guarantees as inline processing (each delivery decided once, duplicates and stale deliveries do
nothing, the loop guard holds), only later; and nothing is lost when a handler fails or the database is down.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from connector.services import Services
from connector.settings import Settings
from tests.support.moto import free_port
from tests.webhooks import payloads
from tests.webhooks.conftest import Shopify, counts, deliveries, outcome
from webhooks import shopify as receiver
from webhooks.app import create_app
from webhooks.background import process_deliveries

T0 = dt.datetime(2025, 8, 22, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(DATABASE_URL=database_url, WEBHOOK_PROCESSING="deferred")


@pytest.fixture
def known(shopify: Shopify) -> Shopify:
    """The shop has been seen once (a shop's first delivery is decided at once: it creates the shop)."""
    response = shopify.send("customers/data_request", payloads.customers_data_request())
    assert response.get_json()["outcome"] == "no_customer_data"
    return shopify


def test_a_product_delivery_is_accepted_then_decided(known: Shopify, services: Services) -> None:
    response = known.send("products/create", payloads.product(8001, updated_at=T0), event_id="e-8001")
    assert (response.status_code, outcome(response)) == (200, "accepted")
    pending = deliveries(services)[-1]
    assert (pending.outcome, pending.topic, pending.event_id, pending.source) == (
        "pending",
        "products/create",
        "e-8001",
        "https",
    )
    assert json.loads(pending.payload or "{}")["id"] == 8001
    assert counts(services) == (2, 0, 0)  # recorded, nothing decided yet

    assert receiver.process_pending(services) == 1
    decided = deliveries(services)[-1]
    assert (decided.outcome, decided.product_gid, decided.payload) == (
        "queued",
        "gid://shopify/Product/8001",
        None,
    )
    assert "necklace" in (decided.detail or "")
    assert counts(services) == (2, 1, 1)
    assert receiver.process_pending(services) == 0


def test_a_new_shops_first_delivery_is_decided_at_once(shopify: Shopify, services: Services) -> None:
    response = shopify.send("products/create", payloads.product(8002))
    assert outcome(response) == "queued"
    assert counts(services) == (1, 1, 1)


def test_duplicates_before_and_after_processing_do_nothing(known: Shopify, services: Services) -> None:
    product = payloads.product(8003)
    assert outcome(known.send("products/update", product, webhook_id="dup-1")) == "accepted"
    assert outcome(known.send("products/update", product, webhook_id="dup-1")) == "duplicate"
    receiver.process_pending(services)
    assert outcome(known.send("products/update", product, webhook_id="dup-1")) == "duplicate"
    assert counts(services) == (2, 1, 1)


def test_out_of_order_and_loop_guard_hold(known: Shopify, services: Services) -> None:
    media = [payloads.media_image(80041, product_id=8004)]
    newer = payloads.product(8004, media=media, updated_at=T0 + dt.timedelta(minutes=5))
    older = payloads.product(8004, media=media, updated_at=T0)
    same_photo = payloads.product(8004, title="Renamed", media=media, updated_at=T0 + dt.timedelta(minutes=9))
    for body in (newer, older, same_photo):
        assert outcome(known.send("products/update", body)) == "accepted"
    assert receiver.process_pending(services) == 3
    assert [row.outcome for row in deliveries(services)[1:]] == ["queued", "stale", "unchanged"]
    assert counts(services) == (4, 1, 1)


def test_bodies_that_do_not_parse_and_other_topics_are_decided_at_once(
    client: FlaskClient, known: Shopify, services: Services
) -> None:
    body = b"not json"
    response = client.post("/webhooks", data=body, headers=payloads.headers("products/update", body))
    assert (response.status_code, outcome(response)) == (400, "malformed")
    assert outcome(known.send("customers/redact", payloads.customers_redact())) == "no_customer_data"
    assert outcome(known.send("app/uninstalled", payloads.shop_resource())) == "uninstalled"
    assert "pending" not in [row.outcome for row in deliveries(services)]


def test_a_failing_handler_is_recorded_and_the_others_go_on(
    known: Shopify, services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = receiver.HANDLERS["products/update"]

    def flaky(ctx: receiver.Context, payload: Any) -> receiver.Outcome:
        if payload["id"] == 8005:
            raise RuntimeError("a bug met a product")
        return real(ctx, payload)

    monkeypatch.setitem(receiver.HANDLERS, "products/update", flaky)
    known.send("products/update", payloads.product(8005))
    known.send("products/update", payloads.product(8006))
    assert receiver.process_pending(services) == 2
    failed, decided = deliveries(services)[1:]
    assert (failed.outcome, failed.detail) == ("failed", "RuntimeError: a bug met a product")
    assert json.loads(failed.payload or "{}")["id"] == 8005  # kept, to be looked at
    assert decided.outcome == "queued"
    assert "deferred delivery" in caplog.text and "a bug met a product" in caplog.text
    assert counts(services) == (3, 1, 1)  # the failure's work rolled back


def test_two_processors_decide_each_delivery_once(known: Shopify, services: Services) -> None:
    for product_id in range(8100, 8140):
        assert outcome(known.send("products/update", payloads.product(product_id))) == "accepted"
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            while receiver.process_pending(services, limit=7):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert counts(services) == (41, 40, 40)
    assert {row.outcome for row in deliveries(services)[1:]} == {"queued"}


def test_the_processor_thread_decides_as_deliveries_arrive(known: Shopify, services: Services) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=process_deliveries, args=(services, stop, 0.01))
    thread.start()
    try:
        for product_id in (8201, 8202, 8203):
            assert outcome(known.send("products/update", payloads.product(product_id))) == "accepted"
        deadline = time.monotonic() + 20
        while counts(services)[1] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert counts(services) == (4, 3, 3)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_dead_database_is_503_and_nothing_is_pending(
    make_settings: Callable[..., Settings], tmp_path: Path, backend: str, known: Shopify, services: Services
) -> None:
    url = (
        f"sqlite:///{tmp_path}" if backend == "sqlite" else f"postgresql://postgres@127.0.0.1:{free_port()}/w"
    )
    dead = Services.from_settings(make_settings(DATABASE_URL=url, WEBHOOK_PROCESSING="deferred"))
    try:
        body = payloads.encode(payloads.product(8301))
        head = payloads.headers("products/update", body)
        response = create_app(services=dead).test_client().post("/webhooks", data=body, headers=head)
        assert (response.status_code, outcome(response)) == (503, "database_unavailable")
        with pytest.raises(receiver.DATABASE_DOWN):
            receiver.process_pending(dead)
    finally:
        dead.close()
    # Shopify's retry of the same delivery is accepted once the database is back.
    assert outcome(known.client.post("/webhooks", data=body, headers=head)) == "accepted"
    receiver.process_pending(services)
    assert counts(services) == (2, 1, 1)


def test_the_lambda_deployment_decides_inline_and_its_schedule_drains(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, known: Shopify, services: Services
) -> None:
    from webhooks import lambdas

    known.send("products/update", payloads.product(8401))  # left pending by a deferred server
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "lambda"))
    monkeypatch.setenv("WEBHOOK_PROCESSING", "deferred")
    monkeypatch.setattr(lambdas, "_services", None)
    try:
        backends = lambdas._backends()
        assert backends.settings.WEBHOOK_PROCESSING == "inline"
        summary = lambdas.schedule({}, None)
        assert summary["pending_deliveries"] == 1
    finally:
        if lambdas._services is not None:
            lambdas._services.close()
        lambdas._services = None
    assert deliveries(services)[-1].outcome == "queued"
