"""The control API, the seed catalog, the page, and state kept in a data directory."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import pytest
from devshop_support import (
    ShopSession,
    WebhookReceiver,
    control,
    exchange_offline_token,
    jpeg_bytes,
    new_shop,
    settle,
    start_devshop,
)

from devshop import RunningDevShop
from devshop.seed import DEFAULT_PHOTOS_DIR, SEED_PRODUCTS, photos_by_kind

JEWELRY = {"necklace", "pendant", "earrings", "ring", "bracelet"}


def test_seeded_shop_has_a_realistic_jewelry_catalog() -> None:
    running = start_devshop(seed=True, seed_shop="seeded")
    try:
        products = control(running, "GET", "/shops/seeded/products").json()
        assert len(products) == len(SEED_PRODUCTS)
        kinds = {kind for kind, _ in SEED_PRODUCTS}
        assert kinds >= JEWELRY and "tshirt" in kinds
        by_title = {p["title"]: p for p in products}
        necklace = by_title["Aurora Gold Chain Necklace"]
        assert necklace["category"]["gid"] == "gid://shopify/TaxonomyCategory/aa-6-8"
        assert json.loads(necklace["metafields"][0]["value"]) == {"value": 18, "unit": "in"}
        ring = by_title["Solitaire Engagement Ring"]
        assert [v["options"] for v in ring["variants"]] == [["US 5"], ["US 6"], ["US 7"], ["US 8"]]
        assert by_title["Worn Logo T-Shirt"]["category"]["name"] == "T-Shirts"
        assert by_title["Signet Ring"]["category"] is None and "ring" in by_title["Signet Ring"]["tags"]
        assert by_title["Gift Card"]["media"] == []
        for product in products:
            for media in product["media"]:
                assert media["status"] == "READY" and media["created_by"] == "merchant"
                image = httpx.get(media["url"])
                assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
        assert control(running, "GET", "/deliveries").json() == []  # seeding sends no webhooks
    finally:
        running.stop()


def test_seed_photos_ship_for_every_kind() -> None:
    photos = photos_by_kind(DEFAULT_PHOTOS_DIR)
    for kind in (*JEWELRY, "tshirt"):
        assert photos[kind], kind
    assert not any(p.name.startswith("earring") for p in photos["ring"])


def test_seed_loader_takes_photos_from_another_directory(tmp_path: Path) -> None:
    (tmp_path / "ring_platinum.png").write_bytes(_png())
    (tmp_path / "notes.txt").write_text("not a photo")
    running = start_devshop(seed=True, seed_shop="elsewhere", seed_photos_dir=tmp_path)
    try:
        products = {p["title"]: p for p in control(running, "GET", "/shops/elsewhere/products").json()}
        assert [m["filename"] for m in products["Signet Ring"]["media"]] == ["ring_platinum.png"]
        assert products["Aurora Gold Chain Necklace"]["media"] == []
    finally:
        running.stop()


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_create_product_with_multipart_photos(shop: ShopSession) -> None:
    spec = {"title": "Diamond Stud Earrings", "category": "aa-6-6", "tags": "diamond, studs"}
    response = shop.control(
        "POST",
        "/products",
        data={"product": json.dumps(spec), "alt": ["Pair on white"]},
        files=[("photos", ("studs.jpg", jpeg_bytes(), "image/jpeg"))],
    )
    assert response.status_code == 201, response.text
    product = response.json()
    assert product["tags"] == ["diamond", "studs"]
    assert [(m["filename"], m["alt"]) for m in product["media"]] == [("studs.jpg", "Pair on white")]


def test_update_product_changes_fields_and_photos(shop: ShopSession, receiver: WebhookReceiver) -> None:
    first = base64.b64encode(jpeg_bytes((1, 1, 1))).decode()
    product = shop.control(
        "POST", "/products", json={"title": "Bar", "photos": [{"content_base64": first}]}
    ).json()
    settle(shop.devshop)
    old_media = product["media"][0]["id"]
    second = base64.b64encode(jpeg_bytes((200, 1, 1))).decode()
    response = shop.control(
        "PATCH",
        f"/products/{product['id']}",
        json={
            "title": "Minimal Bar Necklace",
            "tags": ["minimal"],
            "add_photos": [{"content_base64": second, "alt": "New"}],
            "remove_media": [old_media],
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "Minimal Bar Necklace" and updated["tags"] == ["minimal"]
    assert [m["alt"] for m in updated["media"]] == ["New"]
    update = receiver.wait_for(1, predicate=lambda r: json.loads(r.body)["title"] == "Minimal Bar Necklace")[
        0
    ]
    assert update.headers["X-Shopify-Topic"] == "products/update"
    assert shop.control("GET", "").json()["stats"]["media_deleted.merchant"] == 1


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/products", {"title": ""}, "title"),
        ("/products", {"title": "X", "category": "aa-99"}, "aa-99"),
        ("/products", {"title": "X", "tags": 5}, "tags"),
        ("/products", {"title": "X", "photos": [{"content_base64": "***"}]}, "base64"),
        ("/products", {"title": "X", "status": "gone"}, "status"),
        ("/products/generate", {"count": 0}, "count"),
        ("/session-token", {"ttl_s": -1}, "ttl_s"),
    ],
)
def test_bad_control_input_is_a_400_naming_the_problem(
    shop: ShopSession, path: str, body: dict, needle: str
) -> None:
    response = shop.control("POST", path, json=body)
    assert response.status_code == 400, response.text
    assert needle in response.json()["error"]


def test_unknown_shop_and_product_are_404(devshop: RunningDevShop) -> None:
    assert control(devshop, "GET", "/shops/nope").status_code == 404
    handle = new_shop(devshop)
    assert control(devshop, "GET", f"/shops/{handle}/products/1").status_code == 404
    assert control(devshop, "POST", "/shops", json={"handle": handle}).status_code == 400
    assert control(devshop, "POST", "/shops", json={"handle": "Bad Handle!"}).status_code == 400


def test_generated_catalog_walks_with_cursor_pagination(shop: ShopSession) -> None:
    created = shop.control("POST", "/products/generate", json={"count": 500}).json()
    assert created["created"] == 500
    seen, after = [], None
    while True:
        page = shop.data(
            "query($after: String) { products(first: 250, after: $after) { "
            "nodes { id } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )["products"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 500


def test_clock_only_moves_forward(devshop: RunningDevShop) -> None:
    before = control(devshop, "GET", "/clock").json()
    after = control(devshop, "POST", "/clock", json={"advance_s": 3600}).json()
    assert after["offset_s"] - before["offset_s"] == 3600
    assert control(devshop, "POST", "/clock", json={"advance_s": -1}).status_code == 400


def test_page_lists_products_with_thumbnails() -> None:
    running = start_devshop(seed=True, seed_shop="paged")
    try:
        html = httpx.get(running.base_url + "/").text
        assert "Aurora Gold Chain Necklace" in html and "paged.myshopify.com" in html
        sources = re.findall(r'<img src="([^"]+)"', html)
        assert len(sources) >= 15
        assert httpx.get(sources[0].replace("&amp;", "&")).status_code == 200
    finally:
        running.stop()


def test_state_survives_a_restart_in_the_data_dir(tmp_path: Path) -> None:
    first = start_devshop(seed=True, seed_shop="kept", data_dir=tmp_path)
    try:
        result = exchange_offline_token(first, "kept")
        session = ShopSession(first, "kept", result.access_token.token)
        product = control(first, "GET", "/shops/kept/products").json()[0]
        session.data(
            "mutation($p: ProductUpdateInput!) { productUpdate(product: $p) { userErrors { message } } }",
            {"p": {"id": product["gid"], "title": "Renamed before restart"}},
        )
    finally:
        first.stop()
    assert (tmp_path / "state.json").exists() and any((tmp_path / "blobs").iterdir())
    second = start_devshop(seed=True, seed_shop="kept", data_dir=tmp_path)
    try:
        products = control(second, "GET", "/shops/kept/products").json()
        assert len(products) == len(SEED_PRODUCTS)  # reused, not seeded twice
        assert products[0]["title"] == "Renamed before restart"
        assert httpx.get(products[0]["media"][0]["url"]).status_code == 200
        again = ShopSession(second, "kept", result.access_token.token)
        assert again.data("{ shop { myshopifyDomain } }")["shop"]["myshopifyDomain"] == "kept.myshopify.com"
    finally:
        second.stop()
