"""Serialize webhook bodies in the REST shapes Shopify sends for each topic and API version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from devshop.store import Media, Product, Shop
from devshop.taxonomy import CATEGORIES, category_gid

# Media joined the product webhook payload in 2024-07, category in 2024-10 (shopify.dev changelog).
MEDIA_SINCE = "2024-07"
CATEGORY_SINCE = "2024-10"


def _shop_time(shop: Shop) -> Callable[[datetime | None], str | None]:
    zone = ZoneInfo(shop.iana_timezone)

    def fmt(moment: datetime | None) -> str | None:
        # REST payloads carry the shop's local time with its offset: 2025-08-22T06:27:38-04:00.
        return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")

    return fmt


def product_payload(
    shop: Shop,
    product: Product,
    media: list[Media],
    api_version: str,
    image_url: Callable[[Media], str],
) -> dict[str, Any]:
    """Return the ``products/create``/``products/update`` body for ``product`` at ``api_version``."""
    ts = _shop_time(shop)
    images: list[dict[str, Any]] = []
    for m in (m for m in media if m.status == "READY"):
        images.append(
            {
                "id": m.image_id,
                "alt": m.alt or None,
                "position": len(images) + 1,
                "product_id": product.id,
                "created_at": ts(m.created_at),
                "updated_at": ts(m.updated_at),
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{m.image_id}",
                "width": m.width,
                "height": m.height,
                "src": image_url(m),
                "variant_ids": [],
            }
        )
    body: dict[str, Any] = {
        "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
        "body_html": product.body_html,
        "created_at": ts(product.created_at),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": ts(product.published_at),
        "template_suffix": "",
        "title": product.title,
        "updated_at": ts(product.updated_at),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "global",
        "tags": ", ".join(product.tags),
        "variants": [_variant(product, v, ts) for v in product.variants],
        "options": [
            {
                "name": o["name"],
                "id": o["id"],
                "product_id": product.id,
                "position": o["position"],
                "values": list(o["values"]),
            }
            for o in product.options
        ],
        "images": images,
        "image": images[0] if images else None,
    }
    if api_version >= MEDIA_SINCE:
        body["media"] = [_media(product, m, position, ts, image_url) for position, m in enumerate(media, 1)]
    body["variant_gids"] = [
        {
            "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
            "updated_at": v.updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        for v in product.variants
    ]
    if api_version >= CATEGORY_SINCE:
        body["has_variants_that_requires_components"] = False
        body["category"] = (
            None
            if product.category is None
            else {
                "admin_graphql_api_id": category_gid(product.category),
                "name": CATEGORIES[product.category][0],
                "full_name": CATEGORIES[product.category][1],
            }
        )
    return body


def _variant(product: Product, v: Any, ts: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    opts = [*v.options, None, None, None][:3]
    return {
        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
        "barcode": "",
        "compare_at_price": None,
        "created_at": ts(v.created_at),
        "id": v.id,
        "inventory_policy": "deny",
        "position": v.position,
        "price": v.price,
        "product_id": product.id,
        "sku": v.sku,
        "taxable": True,
        "title": v.title,
        "updated_at": ts(v.updated_at),
        "option1": opts[0],
        "option2": opts[1],
        "option3": opts[2],
        "image_id": None,
        "inventory_item_id": v.inventory_item_id,
        "inventory_quantity": v.inventory_quantity,
        "old_inventory_quantity": v.inventory_quantity,
    }


def _media(
    product: Product,
    m: Media,
    position: int,
    ts: Callable[[datetime | None], str | None],
    image_url: Callable[[Media], str],
) -> dict[str, Any]:
    ready = m.status == "READY"
    return {
        "id": m.id,
        "product_id": product.id,
        "position": position,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
        "alt": m.alt or None,
        "status": m.status,
        "media_content_type": "IMAGE",
        "preview_image": {
            "width": m.width if ready else None,
            "height": m.height if ready else None,
            "src": image_url(m) if ready else None,
            "status": m.status,
        },
        "variant_ids": [],
        "admin_graphql_api_id": f"gid://shopify/MediaImage/{m.id}",
    }


def _utc_offset(moment: datetime, zone: str) -> str:
    raw = moment.astimezone(ZoneInfo(zone)).strftime("%z")  # e.g. -0500
    return f"{raw[:3]}:{raw[3:]}"


def shop_payload(shop: Shop, now: datetime) -> dict[str, Any]:
    """Return the ``app/uninstalled`` body: the REST Shop resource."""
    ts = _shop_time(shop)
    return {
        "id": shop.id,
        "name": shop.name,
        "email": shop.email,
        "domain": shop.domain,
        "province": "New York",
        "country": "US",
        "address1": "1 Dev Shop Street",
        "zip": "10001",
        "city": "New York",
        "source": None,
        "phone": "",
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": "",
        "created_at": ts(shop.created_at),
        "updated_at": ts(now),
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.currency,
        "customer_email": shop.email,
        "timezone": f"(GMT{_utc_offset(now, shop.iana_timezone)}) {shop.iana_timezone}",
        "iana_timezone": shop.iana_timezone,
        "shop_owner": "Dev Shop Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": "${{amount}} USD",
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": "Development",
        "plan_name": "partner_test",
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": shop.domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": "${{amount}} USD",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": True,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": shop.id + 1,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [shop.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }


def compliance_payload(
    topic: str, shop: Shop, customer: dict[str, Any] | None, orders: list[int]
) -> dict[str, Any]:
    """Return the body of a mandatory compliance topic, in Shopify's documented shape."""
    base: dict[str, Any] = {"shop_id": shop.id, "shop_domain": shop.domain}
    person = customer or {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}
    if topic == "customers/data_request":
        return {**base, "orders_requested": orders, "customer": person, "data_request": {"id": 9999}}
    if topic == "customers/redact":
        return {**base, "customer": person, "orders_to_redact": orders}
    if topic == "shop/redact":
        return base
    raise ValueError(f"{topic!r} is not a compliance topic")
