"""benchmarks/webhook_floor.py: the receiver's verification alone answers as the receiver does, and writes nothing."""

from __future__ import annotations

from benchmarks.webhook_floor import create_floor_app
from connector.services import Services
from connector.settings import Settings
from tests.webhooks import payloads
from tests.webhooks.conftest import counts


def test_the_floor_verifies_like_the_receiver_and_records_nothing(
    settings: Settings, services: Services
) -> None:
    client = create_floor_app(settings).test_client()
    body = payloads.encode(payloads.product(9501))
    head = payloads.headers("products/update", body, webhook_id="floor-1")

    verified = client.post("/webhooks", data=body, headers=head)
    assert (verified.status_code, verified.get_json()) == (200, {"outcome": "verified", "detail": "floor-1"})
    forged = client.post("/webhooks", data=body + b" ", headers=head)
    assert (forged.status_code, forged.get_json()["outcome"]) == (401, "invalid_hmac")
    del head["X-Shopify-Topic"]
    assert client.post("/webhooks", data=body, headers=head).status_code == 400
    assert client.get("/healthz").get_data(as_text=True) == "ok\n"
    # /noop reads the same delivery and answers without checking it: even a forged one.
    read = client.post("/noop", data=body + b" ", headers=head)
    assert (read.status_code, read.get_json()) == (200, {"outcome": "read"})
    assert counts(services) == (0, 0, 0)
