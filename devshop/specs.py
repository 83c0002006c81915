"""Turn a merchant's product description (control API, seed catalog) into product fields."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devshop.store import Metafield, Product, Variant
from devshop.taxonomy import normalize_category
from renderer.errors import InputError


def slugify(text: str) -> str:
    """Return a product handle for ``text`` (lowercase ASCII words joined by dashes)."""
    ascii_text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "product"


def apply_fields(product: Product, spec: dict[str, Any]) -> None:
    """Set the merchant-editable fields present in ``spec`` on ``product``."""
    if "title" in spec:
        product.title = required_text(spec, "title")
    for key, attr in (("body_html", "body_html"), ("vendor", "vendor"), ("product_type", "product_type")):
        if key in spec:
            setattr(product, attr, text(spec, key))
    if "tags" in spec:
        product.tags = tags(spec["tags"])
    if "status" in spec:
        status = str(spec["status"]).upper()
        if status not in ("ACTIVE", "DRAFT", "ARCHIVED"):
            raise InputError(f"product status must be active, draft or archived, got {spec['status']!r}")
        product.status = status
    if "category" in spec:
        try:
            product.category = (
                None if spec["category"] in (None, "") else normalize_category(spec["category"])
            )
        except KeyError as exc:
            raise InputError(str(exc.args[0])) from exc


def options_and_variants(
    spec: dict[str, Any], now: datetime, new_id: Callable[[], int]
) -> tuple[list[dict[str, Any]], list[Variant]]:
    """Build a product's options and variants from ``spec`` (one variant per first-option value)."""
    raw_options = spec.get("options") or []
    if not isinstance(raw_options, list) or len(raw_options) > 3:
        raise InputError(f"product options must be a list of at most 3 {{name, values}}, got {raw_options!r}")
    options: list[dict[str, Any]] = []
    for position, option in enumerate(raw_options, 1):
        if not isinstance(option, dict) or not option.get("name") or not option.get("values"):
            raise InputError(
                f"product option {position} needs a name and a non-empty values list, got {option!r}"
            )
        options.append(
            {
                "id": new_id(),
                "name": str(option["name"]),
                "position": position,
                "values": [str(v) for v in option["values"]],
            }
        )
    raw_variants: list[Any] | None = spec.get("variants")
    if raw_variants is None:
        # One variant per value of the first option, like a merchant adding sizes.
        combos = [[v] for v in options[0]["values"]] if options else [["Default Title"]]
        raw_variants = [{"options": c} for c in combos]
        if not options:
            options = [{"id": new_id(), "name": "Title", "position": 1, "values": ["Default Title"]}]
    variants = []
    for position, raw in enumerate(raw_variants, 1):
        values = [str(v) for v in raw.get("options", [])] if isinstance(raw, dict) else []
        if len(values) != len(options):
            raise InputError(
                f"variant {position} must give one value per option {[o['name'] for o in options]}, "
                f"got {values!r}"
            )
        variants.append(
            Variant(
                id=new_id(),
                title=" / ".join(values),
                price=str(raw.get("price", "49.00")),
                options=values,
                position=position,
                inventory_item_id=new_id(),
                created_at=now,
                updated_at=now,
                sku=raw.get("sku"),
            )
        )
    return options, variants


def metafields(raw: list[Any], new_id: Callable[[], int]) -> list[Metafield]:
    """Build metafields; a non-string value is stored as JSON text, as the Admin API does."""
    fields = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not all(item.get(k) for k in ("namespace", "key", "type"))
            or "value" not in item
        ):
            raise InputError(f"a metafield needs namespace, key, type and value, got {item!r}")
        value = item["value"]
        text = value if isinstance(value, str) else json.dumps(value)
        fields.append(
            Metafield(
                id=new_id(),
                namespace=item["namespace"],
                key=item["key"],
                type=item["type"],
                value=text,
            )
        )
    return fields


def text(spec: dict[str, Any], key: str) -> str:
    value = spec[key]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"product {key} must be text, got {value!r}")
    return value


def required_text(spec: dict[str, Any], key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"product {key} must be non-empty text, got {value!r}")
    return value


def tags(value: Any) -> list[str]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        items = value
    else:
        raise InputError(f"tags must be a list of strings or one comma-separated string, got {value!r}")
    seen: list[str] = []
    for tag in (t.strip() for t in items):
        if tag and tag not in seen:
            seen.append(tag)
    return seen
