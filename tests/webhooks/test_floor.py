"""benchmarks/webhook_floor.py: the receiver's verification alone answers as the receiver does and writes
nothing; its durable route records a verified delivery once, as deferred mode's accept() does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from benchmarks.webhook_floor import create_floor_app
from connector.services import Services
from connector.settings import Settings
from connector.shops import ensure_shop
from tests.webhooks import payloads
from tests.webhooks.conftest import counts, deliveries
from webhooks.app import services_of


@pytest.fixture
def floor(settings: Settings) -> Iterator[FlaskClient]:
    app = create_floor_app(settings)
    yield app.test_client()
    services_of(app).close()


def test_the_floor_verifies_like_the_receiver_and_records_nothing(
    floor: FlaskClient, services: Services
) -> None:
    client = floor
    body = payloads.encode(payloads.product(9501))
    head = payloads.headers("products/update", body, webhook_id="floor-1")

    verified = client.post("/webhooks", data=body, headers=head)
    assert (verified.status_code, verified.get_json()) == (200, {"outcome": "verified", "detail": "floor-1"})
    forged = client.post("/webhooks", data=body + b" ", headers=head)
    assert (forged.status_code, forged.get_json()["outcome"]) == (401, "invalid_hmac")
    # /noop reads the same delivery and answers without checking it: even a forged one.
    read = client.post("/noop", data=body + b" ", headers=head)
    assert (read.status_code, read.get_json()) == (200, {"outcome": "read"})
    del head["X-Shopify-Topic"]
    assert client.post("/webhooks", data=body, headers=head).status_code == 400
    assert client.get("/healthz").get_data(as_text=True) == "ok\n"
    assert counts(services) == (0, 0, 0)


def test_the_durable_floor_records_a_verified_delivery_once_and_a_forged_one_never(
    floor: FlaskClient, services: Services
) -> None:
    client = floor
    body = payloads.encode(payloads.product(9502))
    head = payloads.headers("products/update", body, webhook_id="durable-1")

    assert client.post("/durable", data=body, headers=head).status_code == 409  # the shop is not known yet
    with services.db.session() as session:
        ensure_shop(session, payloads.SHOP, active=True)
    assert client.post("/durable", data=body + b" ", headers=head).status_code == 401
    recorded = client.post("/durable", data=body, headers=head)
    assert (recorded.status_code, recorded.get_json()) == (200, {"outcome": "recorded"})
    assert client.post("/durable", data=body, headers=head).status_code == 409  # the same webhook id again
    assert [(row.webhook_id, row.outcome) for row in deliveries(services)] == [("durable-1", "pending")]
    assert counts(services)[1:] == (0, 0)  # recorded, not decided: no job, no message
