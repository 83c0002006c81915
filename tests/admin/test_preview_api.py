"""The house-style preview: a product rendered on each plate by the worker's render step, with unsaved look
settings, from its photo on the dev-shop; bad input gets a 400, another shop's product a 404."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image

from connector.models import Product
from connector.services import Services
from connector.settings import Settings
from tests.admin.conftest import build_app, error_of
from tests.admin.factory import bearer, make_shop
from tests.admin.scene import HANDLE, DevShop, _sample

SHOP_A, SHOP_B = f"{HANDLE}.myshopify.com", "other-store.myshopify.com"
A = bearer(SHOP_A)


@pytest.fixture(scope="module")
def dev_shop() -> Iterator[tuple[DevShop, dict[str, Any]]]:
    """A dev-shop holding one pendant whose photo the renderer can cut out."""
    shop = DevShop()
    shop.call("POST", "/shops", json={"handle": HANDLE})
    made = shop.call("POST", f"/shops/{HANDLE}/products", json={
        "title": "Sapphire drop pendant", "product_type": "Pendant",
        "photos": [{"filename": "pendant.png", "alt": "", "content_base64": _sample("pendant_necklace.png")}],
    })
    shop.call("POST", "/settle", json={})  # the photo becomes READY and gets its URL
    yield shop, shop.product(made["gid"])
    shop.stop()


@pytest.fixture
def preview_services(
    make_settings: Callable[..., Settings], database_url: str, dev_shop: tuple[DevShop, dict[str, Any]]
) -> Iterator[Services]:
    services = Services.from_settings(make_settings(DATABASE_URL=database_url, SHOPIFY_BASE_URL=dev_shop[0].url))
    yield services
    services.close()


@pytest.fixture
def setup(preview_services: Services, dev_shop: tuple[DevShop, dict[str, Any]]) -> tuple[FlaskClient, int, int]:
    """Return a client, the pendant's id in Worn, and a product of the other shop."""
    _shop, made = dev_shop
    a, b = make_shop(preview_services, SHOP_A), make_shop(preview_services, SHOP_B)
    media = made["media"][0]
    with preview_services.db.session() as session:
        mine = Product(shop_id=a, product_gid=made["gid"], title=made["title"], kind="pendant", decision="jewelry",
                       source_fingerprint="fp", source_media=[{"url": media["url"], "width": media["width"],
                                                               "height": media["height"]}])
        theirs = Product(shop_id=b, product_gid=made["gid"], title="Theirs", kind="pendant", decision="jewelry",
                         source_fingerprint="fp", source_media=[{"url": media["url"]}])
        session.add_all([mine, theirs])
        session.flush()
        ids = mine.id, theirs.id
    return build_app(preview_services).test_client(), *ids


def test_a_product_is_previewed_on_each_plate_that_carries_it(setup: tuple[FlaskClient, int, int]) -> None:
    client, mine, _theirs = setup
    listed = client.get("/api/products", headers=A).get_json()["items"]
    assert [(p["product_id"], p["kind"]) for p in listed] == [(mine, "pendant")]
    response = client.post("/api/style/preview", headers=A, json={"product_id": mine})
    assert response.status_code == 200, response.data
    images = response.get_json()["images"]
    assert [(i["plate_id"], i["offered"]) for i in images] == [("grace", True)]  # eileen carries earrings only
    quality = images[0]["quality"]
    assert quality["ssim"] >= 0.97 and quality["passed"]["fidelity"]
    picture = client.get(images[0]["url"])
    assert picture.status_code == 200
    assert Image.open(io.BytesIO(picture.data)).size[0] <= 512  # a preview, not a full render
    assert "/drafts/previews/" in images[0]["url"]  # expires with unchosen drafts

    # Unsaved look settings change the picture, not the saved style.
    soft = client.post("/api/style/preview", headers=A, json={"product_id": mine, "look": {"shadow_strength": 0.0}})
    hard = client.post("/api/style/preview", headers=A, json={"product_id": mine, "look": {"shadow_strength": 1.0}})
    assert soft.get_json()["images"][0]["url"] != hard.get_json()["images"][0]["url"]
    assert client.get("/api/style", headers=A).get_json()["settings"]["look"]["shadow_strength"] == 0.35


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "product_id"),
        ({"product_id": "1"}, "product_id"),
        ({"product_id": 1, "look": 3}, "look"),
        ({"product_id": 1, "colour": "red"}, "colour"),
    ],
)
def test_bad_preview_requests_get_a_400(setup: tuple[FlaskClient, int, int], body: dict, field: str) -> None:
    client, _mine, _theirs = setup
    response = client.post("/api/style/preview", headers=A, json=body)
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_an_invalid_look_names_its_field(setup: tuple[FlaskClient, int, int]) -> None:
    client, mine, _theirs = setup
    response = client.post("/api/style/preview", headers=A, json={"product_id": mine, "look": {"shadow_strength": 3}})
    assert response.status_code == 400
    assert [f["field"] for f in error_of(response)["fields"]] == ["look.shadow_strength"]


def test_another_shops_product_is_not_previewed(setup: tuple[FlaskClient, int, int]) -> None:
    client, _mine, theirs = setup
    response = client.post("/api/style/preview", headers=A, json={"product_id": theirs})
    assert response.status_code == 404 and response.get_json()["images"] == []


def test_a_product_without_a_photo_cannot_be_previewed(
    setup: tuple[FlaskClient, int, int], preview_services: Services
) -> None:
    client, _mine, _theirs = setup
    with preview_services.db.session() as session:
        bare = Product(shop_id=1, product_gid="gid://shopify/Product/9", title="Bare", kind="ring")
        session.add(bare)
        session.flush()
        bare_id = bare.id
    response = client.post("/api/style/preview", headers=A, json={"product_id": bare_id})
    assert response.status_code == 409 and response.get_json()["result"]["code"] == "no_source"
