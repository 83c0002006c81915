"""A product reads the same from a webhook body (REST shape) and from GraphQL; malformed shapes are named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connector.fingerprint import WORN_ALT_MARKER, source_fingerprint
from connector.snapshot import Category, ProductSnapshot, parse_time, product_gid_of
from renderer.errors import InputError
from tests.webhooks import payloads


def graphql_node(rest: dict[str, Any]) -> dict[str, Any]:
    """Return the GraphQL `product` node Shopify answers for the product a REST body describes."""
    category = rest["category"]
    return {
        "id": rest["admin_graphql_api_id"],
        "title": rest["title"],
        "productType": rest["product_type"],
        "vendor": rest["vendor"],
        "status": rest["status"].upper(),
        "tags": [tag.strip() for tag in rest["tags"].split(",") if tag.strip()],
        "updatedAt": dt.datetime.fromisoformat(rest["updated_at"])
        .astimezone(dt.UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "category": None
        if category is None
        else {
            "id": category["admin_graphql_api_id"],
            "name": category["name"],
            "fullName": category["full_name"],
        },
        "media": {
            "nodes": [
                {
                    "id": item["admin_graphql_api_id"],
                    "alt": item["alt"],
                    "status": item["status"],
                    "mediaContentType": item["media_content_type"],
                    # GraphQL gives the same CDN file without the ?v= cache buster, sometimes another host
                    "image": {
                        "url": item["preview_image"]["src"]
                        .split("?")[0]
                        .replace("cdn.shopify.com", "acme-jewels.com"),
                        "width": item["preview_image"]["width"],
                        "height": item["preview_image"]["height"],
                    },
                }
                for item in sorted(rest["media"], key=lambda m: m["position"])
            ]
        },
        "options": [
            {"name": o["name"], "optionValues": [{"name": v} for v in o["values"]]} for o in rest["options"]
        ],
        "metafields": {
            "nodes": [{"namespace": "custom", "key": "chain_length", "value": "45", "type": "number_integer"}]
        },
    }


def test_rest_payload_reads_every_field() -> None:
    body = payloads.product(
        7001,
        title="Boucles d'oreilles Perle",
        tags="pearl, gold ,  bridal,",
        kind="earrings",
        media=[
            payloads.media_image(12, position=2, file="side.jpg"),
            payloads.media_image(11, position=1, file="front.jpg", alt="Front"),
        ],
    )
    snap = ProductSnapshot.from_rest(body)
    assert snap.gid == "gid://shopify/Product/7001" and snap.id == 7001
    assert snap.title == "Boucles d'oreilles Perle"
    assert snap.tags == ("pearl", "gold", "bridal")
    assert snap.category == Category(
        "gid://shopify/TaxonomyCategory/aa-6-6", "Earrings", "Apparel & Accessories > Jewelry > Earrings"
    )
    assert [m.gid for m in snap.media] == ["gid://shopify/MediaImage/11", "gid://shopify/MediaImage/12"]
    assert snap.media[0].alt == "Front" and snap.media[0].width == 2048 and snap.media[0].status == "READY"
    assert snap.updated_at == dt.datetime(2025, 8, 22, 10, 27, 38, tzinfo=dt.UTC)
    assert snap.option_values("length") == ("45 cm",)
    assert snap.status == "active" and snap.vendor == "Acme Jewels"


def test_rest_and_graphql_agree_and_fingerprint_alike() -> None:
    body = payloads.product(
        7002, tags="gold", media=[payloads.media_image(21, position=1), payloads.media_image(22, position=2)]
    )
    rest = ProductSnapshot.from_rest(body)
    graph = ProductSnapshot.from_graphql(graphql_node(body))
    for name in (
        "gid",
        "id",
        "title",
        "product_type",
        "tags",
        "vendor",
        "status",
        "category",
        "updated_at",
        "options",
    ):
        assert getattr(rest, name) == getattr(graph, name), name
    assert graph.metafields == {"custom.chain_length": "45"}
    assert source_fingerprint(rest.media, set()) == source_fingerprint(graph.media, set()) is not None


def test_graphql_edges_and_preview_shapes() -> None:
    node = graphql_node(payloads.product(7003))
    node["media"] = {
        "edges": [
            {
                "node": {
                    "id": "gid://shopify/Video/5",
                    "status": "READY",
                    "mediaContentType": "VIDEO",
                    "preview": {"image": {"url": "https://cdn.shopify.com/v.jpg"}},
                }
            }
        ]
    }
    snap = ProductSnapshot.from_graphql(node)
    assert snap.media[0].content_type == "VIDEO" and snap.media[0].url == "https://cdn.shopify.com/v.jpg"
    assert source_fingerprint(snap.media, set()) is None  # a video is not a source photo


def test_legacy_images_when_media_is_absent() -> None:
    body = payloads.product(7004, media=[payloads.media_image(31, position=1)])
    del body["media"]
    snap = ProductSnapshot.from_rest(body)
    assert [m.gid for m in snap.media] == ["gid://shopify/ProductImage/36"]
    assert snap.media[0].status == "READY" and snap.media[0].content_type == "IMAGE"


def test_worn_images_are_left_out_of_the_fingerprint() -> None:
    own = payloads.media_image(41, position=1)
    ours = payloads.media_image(42, position=2, alt="Pearl Drop Necklace, worn by Grace" + WORN_ALT_MARKER)
    before = ProductSnapshot.from_rest(payloads.product(7005, media=[own]))
    after = ProductSnapshot.from_rest(payloads.product(7005, media=[own, ours]))
    assert source_fingerprint(before.media, set()) == source_fingerprint(after.media, set())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda b: b.update(admin_graphql_api_id="gid://shopify/Order/1"),
            r"admin_graphql_api_id: expected a product GID",
        ),
        (
            lambda b: b.update(id=1, admin_graphql_api_id="gid://shopify/Product/2"),
            r"does not match the numeric id 1",
        ),
        (lambda b: b.update(media={"a": 1}), r"product payload: media: expected a list, got dict"),
        (lambda b: b["media"][0].update(preview_image="x"), r"media\[0\]\.preview_image: expected an object"),
        (
            lambda b: b["media"][0]["preview_image"].update(width="wide"),
            r"media\[0\]\.preview_image\.width: expected a whole number",
        ),
        (
            lambda b: b["media"][0].pop("admin_graphql_api_id"),
            r"media\[0\]\.admin_graphql_api_id: expected a non-empty string",
        ),
        (lambda b: b.update(title=["x"]), r"product payload: title: expected a string, got list"),
        (lambda b: b.update(updated_at="yesterday"), r"updated_at: expected an ISO 8601 time"),
        (
            lambda b: b.update(updated_at="2025-08-22T10:27:38"),
            r"updated_at: expected a time with its UTC offset",
        ),
        (lambda b: b.pop("updated_at"), r"updated_at: expected an ISO 8601 time"),
        (
            lambda b: b.update(category={"name": "Rings"}),
            r"category\.admin_graphql_api_id: expected a TaxonomyCategory GID",
        ),
        (
            lambda b: b.update(options=[{"name": "Size", "values": "7"}]),
            r"options\[0\]\.values: expected a list",
        ),
    ],
)
def test_malformed_rest_payloads_name_the_field(change: Any, message: str) -> None:
    body = payloads.product(7006)
    change(body)
    with pytest.raises(InputError, match=message):
        ProductSnapshot.from_rest(body)


def test_not_an_object() -> None:
    with pytest.raises(InputError, match="product payload: expected an object, got list"):
        ProductSnapshot.from_rest([1, 2])
    with pytest.raises(InputError, match="product node: id: expected a product GID"):
        ProductSnapshot.from_graphql({"id": "7", "updatedAt": "2025-01-01T00:00:00Z"})


def test_times_with_nanoseconds_and_offsets() -> None:
    assert parse_time("2025-08-22T10:27:38.123456789Z", "t") == dt.datetime(
        2025, 8, 22, 10, 27, 38, 123456, tzinfo=dt.UTC
    )
    assert parse_time("2025-08-22T06:27:38-04:00", "t") == dt.datetime(2025, 8, 22, 10, 27, 38, tzinfo=dt.UTC)


def test_nul_characters_are_dropped() -> None:
    snap = ProductSnapshot.from_rest(payloads.product(7007, title="Ring\x00 of gold"))
    assert snap.title == "Ring of gold"


def test_product_gid_of_delete_bodies() -> None:
    assert product_gid_of({"id": 788032119674292922}) == "gid://shopify/Product/788032119674292922"
    assert product_gid_of({"id": "7"}) is None
    assert product_gid_of({"id": True}) is None
    assert product_gid_of([]) is None
