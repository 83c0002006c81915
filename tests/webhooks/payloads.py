"""Webhook bodies in Shopify's real shapes (REST product with media and category, shop, compliance topics).

Field names and nesting follow a real 2025-08 products/update delivery and Shopify's compliance payloads
(see shared/reference/shopify-platform.md §1.6 and §1.8).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from connector.settings import DEV_API_SECRET

SHOP = "acme-jewels.myshopify.com"
SECRET = DEV_API_SECRET  # what Worn verifies with when no secret is configured
CATEGORIES = {
    "necklace": ("aa-6-8", "Necklaces"),
    "earrings": ("aa-6-6", "Earrings"),
    "ring": ("aa-6-9", "Rings"),
    "bracelet": ("aa-6-3", "Bracelets"),
    "pendant": ("aa-6-5", "Charms & Pendants"),
    "anklet": ("aa-6-1", "Anklets"),
    "watch": ("aa-6-11", "Watches"),
    "tripod": ("co-1-7-6", "Tabletop Tripods"),
}


def iso(when: dt.datetime) -> str:
    """Return `when` as Shopify writes updated_at (seconds, with the shop's offset)."""
    return when.astimezone(dt.timezone(dt.timedelta(hours=-4))).isoformat(timespec="seconds")


def media_image(
    media_id: int,
    *,
    position: int = 1,
    file: str | None = None,
    alt: str | None = None,
    status: str = "READY",
    product_id: int = 0,
) -> dict[str, Any]:
    """Return one `media[]` entry of a products/update body."""
    src = f"https://cdn.shopify.com/s/files/1/0712/3456/files/{file or f'photo-{media_id}.jpg'}?v=1755858015"
    return {
        "id": media_id,
        "product_id": product_id,
        "position": position,
        "created_at": "2025-08-22T06:22:44-04:00",
        "updated_at": "2025-08-22T06:22:47-04:00",
        "alt": alt,
        "status": status,
        "media_content_type": "IMAGE",
        "preview_image": {"width": 2048, "height": 2048, "src": src, "status": status},
        "variant_ids": [],
        "admin_graphql_api_id": f"gid://shopify/MediaImage/{media_id}",
    }


def product(
    product_id: int = 10031010677024,
    *,
    title: str = "Pearl Drop Necklace",
    product_type: str = "",
    tags: str = "",
    kind: str | None = "necklace",
    media: list[dict[str, Any]] | None = None,
    updated_at: dt.datetime | None = None,
    status: str = "active",
    options: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a products/create or products/update body."""
    updated = updated_at or dt.datetime(2025, 8, 22, 10, 27, 38, tzinfo=dt.UTC)
    category = None
    if kind is not None:
        node, name = CATEGORIES[kind]
        category = {
            "admin_graphql_api_id": f"gid://shopify/TaxonomyCategory/{node}",
            "name": name,
            "full_name": f"Apparel & Accessories > Jewelry > {name}",
        }
    media = [media_image(product_id % 10**9 + 1, product_id=product_id)] if media is None else media
    variant_id = product_id * 10 + 1
    return {
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        "body_html": "<p>Freshwater pearl on a 45 cm gold-filled chain.</p>",
        "created_at": "2025-08-22T06:22:43-04:00",
        "handle": title.lower().replace(" ", "-"),
        "id": product_id,
        "product_type": product_type,
        "published_at": "2025-08-22T06:22:47-04:00",
        "template_suffix": "",
        "title": title,
        "updated_at": iso(updated),
        "vendor": "Acme Jewels",
        "status": status,
        "published_scope": "global",
        "tags": tags,
        "variants": [
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
                "barcode": "",
                "compare_at_price": None,
                "created_at": "2025-08-22T06:22:43-04:00",
                "id": variant_id,
                "inventory_policy": "deny",
                "position": 1,
                "price": "89.00",
                "product_id": product_id,
                "sku": None,
                "taxable": True,
                "title": "45 cm",
                "updated_at": iso(updated),
                "option1": "45 cm",
                "option2": None,
                "option3": None,
                "image_id": None,
                "inventory_item_id": variant_id + 7,
                "inventory_quantity": 4,
                "old_inventory_quantity": 4,
            }
        ],
        "options": options
        if options is not None
        else [
            {
                "name": "Length",
                "id": product_id + 3,
                "product_id": product_id,
                "position": 1,
                "values": ["45 cm"],
            }
        ],
        "images": [
            {
                "id": item["id"] + 5,
                "product_id": product_id,
                "position": item["position"],
                "created_at": item["created_at"],
                "updated_at": item["updated_at"],
                "alt": item["alt"],
                "width": 2048,
                "height": 2048,
                "src": item["preview_image"]["src"],
                "variant_ids": [],
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{item['id'] + 5}",
            }
            for item in media
            if item["status"] == "READY"
        ],
        "image": None,
        "media": media,
        "variant_gids": [
            {"admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}", "updated_at": iso(updated)}
        ],
        "has_variants_that_requires_components": False,
        "category": category,
    }


def product_delete(product_id: int) -> dict[str, Any]:
    """Return a products/delete body (only the id)."""
    return {"id": product_id}


def shop_resource(domain: str = SHOP) -> dict[str, Any]:
    """Return an app/uninstalled body (the Shop resource)."""
    name = domain.split(".")[0]
    return {
        "id": 548380009,
        "name": name.replace("-", " ").title(),
        "email": f"owner@{name}.example",
        "domain": f"{name}.example",
        "province": "Ontario",
        "country": "CA",
        "myshopify_domain": domain,
        "plan_name": "basic",
        "created_at": "2024-01-10T11:00:00-05:00",
        "updated_at": "2025-08-22T06:27:38-04:00",
        "currency": "CAD",
    }


def customers_data_request(domain: str = SHOP) -> dict[str, Any]:
    """Return a customers/data_request body."""
    return {
        "shop_id": 954889,
        "shop_domain": domain,
        "orders_requested": [299938, 280263, 220458],
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "data_request": {"id": 9999},
    }


def customers_redact(domain: str = SHOP) -> dict[str, Any]:
    """Return a customers/redact body."""
    return {
        "shop_id": 954889,
        "shop_domain": domain,
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263, 220458],
    }


def shop_redact(domain: str = SHOP) -> dict[str, Any]:
    """Return a shop/redact body."""
    return {"shop_id": 954889, "shop_domain": domain}


def sign(body: bytes, secret: str = SECRET) -> str:
    """Return Shopify's X-Shopify-Hmac-Sha256 for `body`: base64 of HMAC-SHA256 over the raw bytes."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(
    topic: str,
    body: bytes,
    *,
    shop: str = SHOP,
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: str | None = "2025-08-22T10:27:38.912345678Z",
    secret: str = SECRET,
    api_version: str = "2026-10",
) -> dict[str, str]:
    """Return the headers Shopify sends with `body` (HMAC included)."""
    out = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
    }
    if triggered_at:
        out["X-Shopify-Triggered-At"] = triggered_at
    return out


def encode(payload: Any) -> bytes:
    """Return the body bytes Shopify would send for `payload` (compact JSON, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
