"""Arbitrary bodies and headers, signed or not: never a 5xx, and nothing at all from an unverified delivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from connector.models import WebhookDelivery
from connector.services import Services
from connector.settings import Settings
from tests.webhooks import payloads
from tests.webhooks.conftest import counts
from webhooks.shopify import ACCEPTED, process_pending

TOPICS = [
    "products/create",
    "products/update",
    "products/delete",
    "app/uninstalled",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
    "orders/create",
]
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
PRODUCT_FIELDS = [
    "id",
    "admin_graphql_api_id",
    "title",
    "product_type",
    "tags",
    "status",
    "updated_at",
    "media",
    "images",
    "category",
    "options",
    "vendor",
    "metafields",
]


@st.composite
def product_like(draw: st.DrawFn) -> dict[str, Any]:
    """A real products/update body with a few fields replaced by arbitrary JSON."""
    body = payloads.product(draw(st.integers(min_value=1, max_value=50)))
    for field in draw(st.lists(st.sampled_from(PRODUCT_FIELDS), max_size=2, unique=True)):
        body[field] = draw(JSON)
    if draw(st.booleans()) and body.get("media") and isinstance(body["media"], list):
        body["media"][0] = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "admin_graphql_api_id",
                        "status",
                        "media_content_type",
                        "preview_image",
                        "position",
                        "alt",
                    ]
                ),
                JSON,
            )
        )
    return body


BODIES = st.one_of(
    product_like().map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    JSON.map(lambda v: json.dumps(v).encode()),
    product_like().map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
)


@st.composite
def delivery(draw: st.DrawFn) -> tuple[bytes, dict[str, str], str]:
    body = draw(BODIES)
    signing = draw(st.sampled_from(["valid", "invalid", "missing"]))
    head = payloads.headers(
        draw(st.sampled_from(TOPICS)), body, shop=draw(st.sampled_from([payloads.SHOP, "other-shop"]))
    )
    mutated = (
        draw(st.lists(st.sampled_from(sorted(head)), max_size=2, unique=True)) if draw(st.booleans()) else []
    )
    for name in mutated:
        if name == "X-Shopify-Hmac-Sha256":
            continue
        if draw(st.booleans()):
            del head[name]
        else:
            head[name] = draw(HEADER_TEXT)
    if signing == "invalid":
        head["X-Shopify-Hmac-Sha256"] = draw(st.one_of(HEADER_TEXT, st.just(payloads.sign(body + b" "))))
    elif signing == "missing":
        del head["X-Shopify-Hmac-Sha256"]
    return body, head, signing


@pytest.fixture(params=["inline", "deferred"])
def processing(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, processing: str) -> Settings:
    """The receiver deciding in the request, and deferring product deliveries to `process_pending`."""
    return make_settings(DATABASE_URL=database_url, WEBHOOK_PROCESSING=processing)


@examples(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=delivery())
def test_never_a_5xx_never_work_from_an_unverified_delivery(
    client: FlaskClient, services: Services, sent: tuple[bytes, dict[str, str], str]
) -> None:
    body, head, signing = sent
    before = counts(services)
    response = client.post("/webhooks", data=body, headers=head)
    assert response.status_code < 500, response.get_data(as_text=True)
    event(f"{signing} -> {response.status_code} {(response.get_json(silent=True) or {}).get('outcome')}")
    if signing != "valid":
        assert response.status_code in (400, 401)
        assert counts(services) == before  # no delivery recorded, no job, no message
    elif response.status_code == 200:
        assert response.get_json()["outcome"]
    if response.get_json(silent=True) == {"outcome": "accepted", "detail": ACCEPTED}:
        # Deferred: deciding it later never fails, whatever the body held.
        assert process_pending(services) >= 1
        with services.db.session() as session:
            assert not session.scalars(
                select(WebhookDelivery.outcome).where(WebhookDelivery.outcome.in_(["pending", "failed"]))
            ).all()
