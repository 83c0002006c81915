"""Deliveries sent by `worn dev-shop` (signed like Shopify, with its faults) to `worn serve` over HTTP."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connector.db import Database
from connector.models import Product, RenderJob, Shop, WebhookDelivery
from devshop import RunningDevShop
from tests.devshop.devshop_support import (
    API_KEY,
    API_SECRET,
    control,
    jpeg_bytes,
    new_shop,
    settle,
    start_devshop,
)
from tests.webhooks.test_serve import running_server


@dataclass
class Stack:
    devshop: RunningDevShop
    db: Database
    app_url: str

    def recorded(self) -> list[WebhookDelivery]:
        with self.db.session() as session:
            return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))

    def sent(self, handle: str) -> list[dict[str, Any]]:
        return list(control(self.devshop, "GET", f"/deliveries?shop={handle}&payload=0").json())


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    settings = {"SHOPIFY_API_KEY": API_KEY, "SHOPIFY_API_SECRET": API_SECRET}
    with running_server(database_url, tmp_path, **settings) as server:
        devshop = start_devshop(app_webhook_url=f"{server.url}/webhooks")
        try:
            yield Stack(devshop, server.db, server.url)
        finally:
            devshop.stop()


def photo(color: tuple[int, int, int]) -> dict[str, str]:
    return {"filename": "piece.jpg", "content_base64": base64.b64encode(jpeg_bytes(color)).decode()}


def wait_for(stack: Stack, count: int, timeout: float = 15) -> list[WebhookDelivery]:
    deadline = time.monotonic() + timeout
    while len(rows := stack.recorded()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


def test_merchant_edits_arrive_verified_and_decided(stack: Stack) -> None:
    handle = new_shop(stack.devshop)
    created = control(
        stack.devshop,
        "POST",
        f"/shops/{handle}/products",
        json={
            "title": "Collier Perle d'eau douce",
            "category": "aa-6-8",
            "tags": ["pearl", "gold"],
            "photos": [photo((210, 180, 90))],
        },
    )
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    settle(stack.devshop)
    # products/create (photo still processing), then products/update (photo READY)
    rows = wait_for(stack, 2)
    assert [(r.topic, r.outcome) for r in rows] == [
        ("products/create", "no_photo"),
        ("products/update", "queued"),
    ]

    renamed = control(
        stack.devshop, "PATCH", f"/shops/{handle}/products/{product_id}", json={"title": "Collier Perle"}
    )
    assert renamed.status_code == 200
    settle(stack.devshop)
    assert wait_for(stack, 3)[-1].outcome == "unchanged"

    sent = stack.sent(handle)
    assert [entry["status"] for entry in sent] == [200, 200, 200]
    assert {entry["webhook_id"] for entry in sent} == {r.webhook_id for r in stack.recorded()}
    with stack.db.session() as session:
        product = session.scalars(select(Product)).one()
        assert (product.kind, product.title, product.decision) == ("necklace", "Collier Perle", "jewelry")
        assert session.scalars(select(RenderJob.state)).all() == ["queued"]


def test_duplicates_and_out_of_order_from_the_simulator(stack: Stack) -> None:
    handle = new_shop(stack.devshop)
    assert control(stack.devshop, "PUT", "/faults", json={"webhook_duplicate_rate": 1.0}).status_code == 200
    created = control(
        stack.devshop,
        "POST",
        f"/shops/{handle}/products",
        json={"title": "Ohrringe Silber", "product_type": "Earrings", "photos": [photo((90, 90, 200))]},
    )
    product_id = created.json()["id"]
    settle(stack.devshop)
    rows = wait_for(stack, 2)
    sent = stack.sent(handle)
    assert len(sent) >= 4 and {e["status"] for e in sent} == {200}  # every delivery twice, all answered
    assert len(rows) == len({e["webhook_id"] for e in sent}) == 2  # ...and recorded once each
    assert sum(1 for e in sent if "duplicate" in e["response"]) >= 2

    control(
        stack.devshop,
        "PUT",
        "/faults",
        json={"webhook_duplicate_rate": 0.0, "webhook_out_of_order": True, "webhook_reorder_window_s": 0.5},
    )
    for title in ("Ohrringe Silber I", "Ohrringe Silber II"):
        control(stack.devshop, "PATCH", f"/shops/{handle}/products/{product_id}", json={"title": title})
    settle(stack.devshop)
    rows = wait_for(stack, 4)
    assert [r.outcome for r in rows[2:]] == ["unchanged", "stale"]  # the newer arrived first
    with stack.db.session() as session:
        assert session.scalars(select(Product.title)).one() == "Ohrringe Silber II"


def test_uninstall_and_compliance_topics_from_the_simulator(stack: Stack) -> None:
    handle = new_shop(stack.devshop)
    for topic in ("customers/data_request", "customers/redact", "app/uninstalled", "shop/redact"):
        response = control(stack.devshop, "POST", f"/shops/{handle}/webhooks", json={"topic": topic})
        assert response.status_code == 202, response.text
        settle(stack.devshop)
    rows = wait_for(stack, 4)
    assert [(r.topic, r.outcome) for r in rows] == [
        ("customers/data_request", "no_customer_data"),
        ("customers/redact", "no_customer_data"),
        ("app/uninstalled", "uninstalled"),
        ("shop/redact", "redaction_queued"),
    ]
    with stack.db.session() as session:
        assert session.scalars(select(Shop.active)).one() is False
    assert httpx.get(f"{stack.app_url}/healthz").status_code == 200
