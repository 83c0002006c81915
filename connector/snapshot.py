"""Read a product, as a webhook (REST shape) or GraphQL sends it, into one frozen snapshot.

The webhook receiver, reconciliation and backfill all decide on a `ProductSnapshot`, so the two shapes
Shopify uses for the same product must give equal snapshots (and so equal source fingerprints). A malformed
payload is refused with an `InputError` naming the field, the value and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.fingerprint import MediaItem
from renderer.errors import InputError

_PRODUCT_GID = re.compile(r"^gid://shopify/Product/(\d{1,20})$")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Shopify sends nanoseconds; Python reads microseconds
_TEXT_LIMIT = 100_000


def parse_time(value: Any, name: str) -> dt.datetime:
    """Return an ISO 8601 time with an offset (or Z) as an aware UTC datetime; raise InputError else."""
    expected = f"{name}: expected an ISO 8601 time such as 2025-08-22T06:27:38-04:00, got {value!r:.80}"
    if not isinstance(value, str) or not value.strip():
        raise InputError(expected)
    try:
        parsed = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        raise InputError(expected) from None
    if parsed.tzinfo is None:
        raise InputError(f"{name}: expected a time with its UTC offset (Z or +hh:mm), got {value!r}")
    return parsed.astimezone(dt.UTC)


def _clean(text: str) -> str:
    # NUL cannot be stored in a PostgreSQL text column; Shopify never sends it, a forged body might.
    return text.replace("\x00", "")[:_TEXT_LIMIT]


def _text(data: Mapping[str, Any], key: str, where: str, *, default: str | None = "") -> str | None:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InputError(f"{where}{key}: expected a string, got {type(value).__name__} {value!r:.80}")
    return _clean(value)


def _int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InputError(f"{where}{key}: expected a whole number, got {value!r:.80}")
    return value


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{name}: expected an object, got {type(value).__name__} {value!r:.80}")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{name}: expected a list, got {type(value).__name__} {value!r:.80}")
    return value


def _nodes(value: Any, name: str) -> list[Any]:
    """Return the items of a GraphQL connection ({nodes}, {edges{node}}) or of a plain list."""
    if value is None or isinstance(value, list):
        return _list(value, name)
    connection = _mapping(value, name)
    if "nodes" in connection:
        return _list(connection["nodes"], f"{name}.nodes")
    if "edges" in connection:
        return [
            _mapping(edge, f"{name}.edges[{i}]").get("node")
            for i, edge in enumerate(_list(connection["edges"], f"{name}.edges"))
        ]
    raise InputError(f"{name}: expected a list or a connection with 'nodes' or 'edges'")


@dataclass(frozen=True)
class Category:
    """A Shopify taxonomy category: its GID, short name and full path."""

    gid: str
    name: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class ProductSnapshot:
    """What Worn decides on: one product as Shopify last described it, whichever API described it."""

    gid: str
    id: int
    title: str
    product_type: str
    tags: tuple[str, ...]
    vendor: str
    status: str  # active | draft | archived (lowercase, as in REST)
    category: Category | None
    media: tuple[MediaItem, ...]  # in the shop's order
    updated_at: dt.datetime  # aware, UTC
    # (option name, its values), e.g. ("Size", ("45 cm", "50 cm")), for the stated size.
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    metafields: Mapping[str, str] = field(default_factory=dict)  # "namespace.key" -> value

    def option_values(self, name: str) -> tuple[str, ...]:
        """Return the values of the option called `name` (case-insensitive), or ()."""
        wanted = name.casefold()
        for option, values in self.options:
            if option.casefold() == wanted:
                return values
        return ()

    @classmethod
    def from_rest(cls, payload: Any) -> ProductSnapshot:
        """Read a products/create or products/update webhook body (the REST product shape)."""
        data = _mapping(payload, "product payload")
        where = "product payload: "
        gid = _text(data, "admin_graphql_api_id", where, default=None)
        number = _int(data, "id", where)
        if gid is None and number is not None:
            gid = f"gid://shopify/Product/{number}"
        gid, number = _identity(gid, number, where + "admin_graphql_api_id")

        tags_value = data.get("tags")
        if isinstance(tags_value, list):  # a few API versions and include_fields send a list
            tags = _tag_list(tags_value, where + "tags")
        else:
            tags = tuple(tag.strip() for tag in (_text(data, "tags", where) or "").split(",") if tag.strip())

        category = None
        if data.get("category") is not None:
            raw = _mapping(data["category"], where + "category")
            cat_where = where + "category."
            category_gid = _text(raw, "admin_graphql_api_id", cat_where, default=None)
            if not category_gid:
                raise InputError(f"{cat_where}admin_graphql_api_id: expected a TaxonomyCategory GID")
            category = Category(
                category_gid, _text(raw, "name", cat_where) or "", _text(raw, "full_name", cat_where) or ""
            )

        if "media" in data:
            media = _rest_media(_list(data["media"], where + "media"), where + "media")
        else:  # API versions before 2024-07 sent only the legacy images
            media = _rest_images(_list(data.get("images"), where + "images"), where + "images")

        options = []
        for i, raw_option in enumerate(_list(data.get("options"), where + "options")):
            option = _mapping(raw_option, f"{where}options[{i}]")
            values = _list(option.get("values"), f"{where}options[{i}].values")
            options.append(
                (
                    _text(option, "name", f"{where}options[{i}].") or "",
                    tuple(_clean(str(v)) for v in values if v is not None),
                )
            )

        metafields = {}
        for i, raw_field in enumerate(_list(data.get("metafields"), where + "metafields")):
            entry = _mapping(raw_field, f"{where}metafields[{i}]")
            metafields.update(_metafield(entry, f"{where}metafields[{i}]."))

        return cls(
            gid=gid,
            id=number,
            title=_text(data, "title", where) or "",
            product_type=_text(data, "product_type", where) or "",
            tags=tags,
            vendor=_text(data, "vendor", where) or "",
            status=(_text(data, "status", where) or "active").lower(),
            category=category,
            media=tuple(media),
            updated_at=parse_time(data.get("updated_at"), where + "updated_at"),
            options=tuple(options),
            metafields=metafields,
        )

    @classmethod
    def from_graphql(cls, node: Any) -> ProductSnapshot:
        """Read a `Product` node of the Admin GraphQL API (the fields Worn queries)."""
        data = _mapping(node, "product node")
        where = "product node: "
        gid, number = _identity(_text(data, "id", where, default=None), None, where + "id")

        category = None
        if data.get("category") is not None:
            raw = _mapping(data["category"], where + "category")
            cat_where = where + "category."
            category_gid = _text(raw, "id", cat_where, default=None)
            if not category_gid:
                raise InputError(f"{cat_where}id: expected a TaxonomyCategory GID")
            category = Category(
                category_gid, _text(raw, "name", cat_where) or "", _text(raw, "fullName", cat_where) or ""
            )

        media = []
        for i, raw_item in enumerate(_nodes(data.get("media"), where + "media")):
            item_where = f"{where}media[{i}]."
            item = _mapping(raw_item, item_where[:-1])
            image = item.get("image")
            if image is None and isinstance(item.get("preview"), Mapping):
                image = item["preview"].get("image")
            image = _mapping(image, item_where + "image") if image is not None else {}
            media.append(
                MediaItem(
                    gid=_required(item, "id", item_where),
                    content_type=(_text(item, "mediaContentType", item_where) or "").upper(),
                    status=(_text(item, "status", item_where) or "").upper(),
                    url=_text(image, "url", item_where + "image.", default=None),
                    alt=_text(item, "alt", item_where, default=None),
                    width=_int(image, "width", item_where + "image."),
                    height=_int(image, "height", item_where + "image."),
                )
            )

        options = []
        for i, raw_option in enumerate(_list(data.get("options"), where + "options")):
            option = _mapping(raw_option, f"{where}options[{i}]")
            if "optionValues" in option:
                values = [
                    _mapping(v, f"{where}options[{i}].optionValues").get("name")
                    for v in _list(option["optionValues"], f"{where}options[{i}].optionValues")
                ]
            else:
                values = _list(option.get("values"), f"{where}options[{i}].values")
            options.append(
                (
                    _text(option, "name", f"{where}options[{i}].") or "",
                    tuple(_clean(str(v)) for v in values if v is not None),
                )
            )

        metafields = {}
        for i, raw_field in enumerate(_nodes(data.get("metafields"), where + "metafields")):
            entry = _mapping(raw_field, f"{where}metafields[{i}]")
            metafields.update(_metafield(entry, f"{where}metafields[{i}]."))

        return cls(
            gid=gid,
            id=number,
            title=_text(data, "title", where) or "",
            product_type=_text(data, "productType", where) or "",
            tags=_tag_list(_list(data.get("tags"), where + "tags"), where + "tags"),
            vendor=_text(data, "vendor", where) or "",
            status=(_text(data, "status", where) or "active").lower(),
            category=category,
            media=tuple(media),
            updated_at=parse_time(data.get("updatedAt"), where + "updatedAt"),
            options=tuple(options),
            metafields=metafields,
        )


def product_gid_of(payload: Any) -> str | None:
    """Return the product GID a webhook body names (create, update or delete), or None when it names none."""
    if not isinstance(payload, Mapping):
        return None
    gid = payload.get("admin_graphql_api_id")
    if isinstance(gid, str) and _PRODUCT_GID.match(gid):
        return gid
    number = payload.get("id")
    if isinstance(number, int) and not isinstance(number, bool) and 0 < number < 10**20:
        return f"gid://shopify/Product/{number}"
    return None


def _identity(gid: str | None, number: int | None, name: str) -> tuple[str, int]:
    match = _PRODUCT_GID.match(gid or "")
    if not match:
        raise InputError(f"{name}: expected a product GID such as gid://shopify/Product/123, got {gid!r:.80}")
    if number is not None and int(match.group(1)) != number:
        raise InputError(f"{name}: {gid!r} does not match the numeric id {number}")
    return gid or "", int(match.group(1))


def _required(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(data, key, where, default=None)
    if not value:
        raise InputError(f"{where}{key}: expected a non-empty string, got {data.get(key)!r:.80}")
    return value


def _tag_list(values: list[Any], name: str) -> tuple[str, ...]:
    tags = []
    for i, tag in enumerate(values):
        if not isinstance(tag, str):
            raise InputError(f"{name}[{i}]: expected a string, got {tag!r:.80}")
        if tag.strip():
            tags.append(_clean(tag.strip()))
    return tuple(tags)


def _metafield(entry: Mapping[str, Any], where: str) -> dict[str, str]:
    namespace, key = _required(entry, "namespace", where), _required(entry, "key", where)
    value = entry.get("value")
    if value is None:
        return {}
    return {f"{namespace}.{key}": _clean(value if isinstance(value, str) else str(value))}


def _rest_media(items: list[Any], name: str) -> list[MediaItem]:
    media = []
    for i, raw in enumerate(items):
        where = f"{name}[{i}]."
        item = _mapping(raw, where[:-1])
        preview = item.get("preview_image")
        preview = _mapping(preview, where + "preview_image") if preview is not None else {}
        position = _int(item, "position", where)
        media.append(
            (
                position if position is not None else i,
                i,
                MediaItem(
                    gid=_required(item, "admin_graphql_api_id", where),
                    content_type=(_text(item, "media_content_type", where) or "").upper(),
                    status=(_text(item, "status", where) or "").upper(),
                    url=_text(preview, "src", where + "preview_image.", default=None),
                    alt=_text(item, "alt", where, default=None),
                    width=_int(preview, "width", where + "preview_image."),
                    height=_int(preview, "height", where + "preview_image."),
                ),
            )
        )
    return [item for _, _, item in sorted(media, key=lambda entry: entry[:2])]


def _rest_images(items: list[Any], name: str) -> list[MediaItem]:
    images = []
    for i, raw in enumerate(items):
        where = f"{name}[{i}]."
        item = _mapping(raw, where[:-1])
        position = _int(item, "position", where)
        gid = _text(item, "admin_graphql_api_id", where, default=None)
        if not gid:
            number = _int(item, "id", where)
            if number is None:
                raise InputError(f"{where}admin_graphql_api_id: expected a ProductImage GID or an id")
            gid = f"gid://shopify/ProductImage/{number}"
        images.append(
            (
                position if position is not None else i,
                i,
                MediaItem(
                    gid=gid,
                    content_type="IMAGE",
                    status="READY",  # legacy images are listed only once processed
                    url=_text(item, "src", where, default=None),
                    alt=_text(item, "alt", where, default=None),
                    width=_int(item, "width", where),
                    height=_int(item, "height", where),
                ),
            )
        )
    return [item for _, _, item in sorted(images, key=lambda entry: entry[:2])]
