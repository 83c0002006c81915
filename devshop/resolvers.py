"""Resolve the Admin GraphQL schema against the simulated store."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo

from devshop import search
from devshop.clock import iso_utc
from devshop.gids import gid, numeric_id, parse_gid
from devshop.store import AccessToken, Media, Metafield, Product, Shop, Variant
from devshop.taxonomy import CATEGORIES, category_gid

if TYPE_CHECKING:
    from devshop.core import DevShop

MAX_PAGE = 250
MAX_INPUT_ARRAY = 250
SCOPE_DESCRIPTIONS = {
    "read_products": "Read products, variants, and collections",
    "write_products": "Modify products, variants, and collections",
    "read_files": "Read files",
    "write_files": "Modify files",
}


@dataclass
class Context:
    """What resolvers know about the request: the dev-shop, the shop and the caller's token."""

    core: DevShop
    shop: Shop
    token: AccessToken
    search_extensions: list[dict[str, Any]] = field(default_factory=list)

    def require(self, info: GraphQLResolveInfo, *scopes: str) -> None:
        """Refuse the field unless the token holds one of ``scopes`` (write implies read)."""
        granted = set(self.token.scope.split(","))
        granted |= {s.replace("write_", "read_") for s in granted if s.startswith("write_")}
        if not granted.intersection(scopes):
            need = " or ".join(f"`{s}`" for s in scopes)
            raise GraphQLError(
                f"Access denied for {info.field_name} field. Required access: {need} access scope.",
                extensions={
                    "code": "ACCESS_DENIED",
                    "documentation": "https://shopify.dev/api/usage/access-scopes",
                    "requiredAccess": f"{need} access scope.",
                },
            )

    def product(self, raw: str) -> Product | None:
        """Return this shop's product named by a GID, or None."""
        number = numeric_id(raw, "Product")
        product = self.core.store.products.get(number) if number is not None else None
        return product if product is not None and product.shop == self.shop.handle else None

    def media(self, raw: str) -> Media | None:
        """Return this shop's media named by a GID, or None."""
        number = numeric_id(raw, "MediaImage")
        media = self.core.store.media.get(number) if number is not None else None
        return media if media is not None and media.shop == self.shop.handle else None

    def lookup(self, raw: str, type_name: str) -> Any:
        """Return a Product or MediaImage of this shop by GID (the catalog's lookup callback)."""
        return self.product(raw) if type_name == "Product" else self.media(raw)


@dataclass(frozen=True)
class CategoryView:
    """A TaxonomyCategory node."""

    short: str


@dataclass(frozen=True)
class OptionView:
    """A ProductOption node."""

    data: dict[str, Any]


@dataclass(frozen=True)
class VariantView:
    """A ProductVariant with its product (for selectedOptions and product)."""

    product: Product
    variant: Variant


@dataclass(frozen=True)
class InstallationView:
    """The AppInstallation of the caller."""

    shop: Shop
    scope: str


@dataclass(frozen=True)
class JobView:
    """A Job node."""

    id: str
    done: bool


def resolve_type(value: Any, *_: Any) -> str:
    """Name the GraphQL object type of a resolved value (for the Node, Media and File interfaces)."""
    names = {
        Product: "Product",
        Media: "MediaImage",
        VariantView: "ProductVariant",
        Shop: "Shop",
        Metafield: "Metafield",
        CategoryView: "TaxonomyCategory",
        OptionView: "ProductOption",
        InstallationView: "AppInstallation",
    }
    return names[type(value)]


def _ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def check_input_size(name: str, items: list[Any] | None) -> None:
    """Refuse an input array longer than Shopify's 250 items."""
    if items is not None and len(items) > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The input array size of {len(items)} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED", "argumentName": name},
        )


# -- pagination -----------------------------------------------------------------------------------


def _cursor(last_id: int | str, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[Any, Any]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return (data["last_value"], data["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(
            f"Invalid cursor for current pagination: {cursor!r}", extensions={"code": "BAD_REQUEST"}
        ) from exc


def paginate(
    items: list[Any], key: Any, ident: Any, args: dict[str, Any], descending: bool = False
) -> dict[str, Any]:
    """Slice ``items`` (already in ``key`` order) by first/after/last/before into a connection.

    Cursors carry the sort value and id of their item (keyset pagination, like Shopify's), so a
    walk stays stable when items change or disappear between pages.
    """
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise GraphQLError(
                f"The {name} argument must be between 0 and {MAX_PAGE}, got {value}",
                extensions={"code": "BAD_REQUEST"},
            )
    keyed = [((key(item), ident(item)), item) for item in items]

    def beyond(k: tuple[Any, Any], cursor: tuple[Any, Any]) -> bool:
        return k < cursor if descending else k > cursor

    start, end = 0, len(keyed)
    if args.get("after"):
        cursor = _decode_cursor(args["after"])
        start = next((n for n, (k, _) in enumerate(keyed) if beyond(k, cursor)), len(keyed))
    if args.get("before"):
        cursor = _decode_cursor(args["before"])
        end = next((n for n, (k, _) in enumerate(keyed) if not beyond(cursor, k)), len(keyed))
    window = keyed[start:end] if start < end else []
    has_prev, has_next = start > 0, end < len(keyed)
    if first is not None:
        has_next = has_next or len(window) > first
        window = window[:first]
    if last is not None:
        has_prev = has_prev or len(window) > last
        window = window[len(window) - last :] if last else []
    edges = [{"cursor": _cursor(k[1], k[0]), "node": item} for k, item in window]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


# -- QueryRoot ------------------------------------------------------------------------------------


def q_product(_: Any, info: GraphQLResolveInfo, id: str) -> Product | None:
    ctx = _ctx(info)
    ctx.require(info, "read_products")
    return ctx.product(id)


_PRODUCT_SORT = {
    "ID": lambda p: p.id,
    "TITLE": lambda p: p.title.lower(),
    "UPDATED_AT": lambda p: iso_utc(p.updated_at),
    "CREATED_AT": lambda p: iso_utc(p.created_at),
    "PRODUCT_TYPE": lambda p: p.product_type.lower(),
    "VENDOR": lambda p: p.vendor.lower(),
}


def q_products(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require(info, "read_products")
    products = ctx.core.store.shop_products(ctx.shop.handle)
    if args.get("query"):
        parsed = search.parse(args["query"])
        if parsed.warnings:
            ctx.search_extensions.append(
                {"path": [info.field_name], "query": args["query"], "warnings": parsed.warnings}
            )
        products = [p for p in products if search.matches(parsed, p)]
    sort = _PRODUCT_SORT[args.get("sortKey") or "ID"]
    descending = bool(args.get("reverse"))
    products.sort(key=lambda p: (sort(p), p.id), reverse=descending)
    return paginate(products, sort, lambda p: p.id, args, descending)


def q_node(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    ctx = _ctx(info)
    type_name, ident = parse_gid(id)
    if type_name == "Product":
        ctx.require(info, "read_products")
        return ctx.product(id)
    if type_name == "MediaImage":
        ctx.require(info, "read_products", "read_files")
        return ctx.media(id)
    if type_name == "ProductVariant":
        ctx.require(info, "read_products")
        for product in ctx.core.store.shop_products(ctx.shop.handle):
            for variant in product.variants:
                if str(variant.id) == ident:
                    return VariantView(product, variant)
        return None
    if type_name == "Shop":
        return ctx.shop if str(ctx.shop.id) == ident else None
    if type_name == "TaxonomyCategory":
        return CategoryView(ident) if ident in CATEGORIES else None
    return None


def q_nodes(root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    check_input_size("ids", ids)
    return [q_node(root, info, id=raw) for raw in ids]


def q_job(_: Any, info: GraphQLResolveInfo, id: str) -> JobView | None:
    ctx = _ctx(info)
    type_name, ident = parse_gid(id)
    job = ctx.core.store.jobs.get(ident) if type_name == "Job" else None
    if job is None or job.shop != ctx.shop.handle:
        return None
    return JobView(id=gid("Job", job.id), done=job.done)


def q_shop(_: Any, info: GraphQLResolveInfo) -> Shop:
    return _ctx(info).shop


def q_installation(_: Any, info: GraphQLResolveInfo) -> InstallationView:
    ctx = _ctx(info)
    return InstallationView(ctx.shop, ctx.token.scope)


# -- object fields --------------------------------------------------------------------------------


def _product_media(product: Product, info: GraphQLResolveInfo) -> list[Media]:
    store = _ctx(info).core.store
    return [store.media[mid] for mid in product.media_ids if mid in store.media]


def product_media(product: Product, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    media = _product_media(product, info)
    if args.get("sortKey") == "ID":
        media.sort(key=lambda m: m.id)
    if args.get("reverse"):
        media.reverse()
    order = {m.id: i for i, m in enumerate(media)}
    return paginate(media, lambda m: order[m.id], lambda m: m.id, args)


def product_metafields(product: Product, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    fields = [
        m
        for m in product.metafields
        if (args.get("namespace") is None or m.namespace == args["namespace"])
        and (args.get("keys") is None or f"{m.namespace}.{m.key}" in args["keys"] or m.key in args["keys"])
    ]
    if args.get("reverse"):
        fields.reverse()
    order = {m.id: i for i, m in enumerate(fields)}
    return paginate(fields, lambda m: order[m.id], lambda m: m.id, args)


def product_metafield(
    product: Product, info: GraphQLResolveInfo, key: str, namespace: str | None = None
) -> Any:
    if namespace is None and "." in key:
        namespace, key = key.split(".", 1)
    namespace = namespace or "custom"
    return next((m for m in product.metafields if m.namespace == namespace and m.key == key), None)


def product_variants(product: Product, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    views = [VariantView(product, v) for v in product.variants]
    if args.get("reverse"):
        views.reverse()
    order = {v.variant.id: i for i, v in enumerate(views)}
    return paginate(views, lambda v: order[v.variant.id], lambda v: v.variant.id, args)


def metafield_json(m: Metafield, info: GraphQLResolveInfo) -> Any:
    if m.type == "number_integer":
        return int(m.value)
    if m.type == "boolean":
        return m.value == "true"
    if m.type.startswith(("json", "dimension", "weight", "volume", "list.", "rating", "money", "link")):
        try:
            return json.loads(m.value)
        except ValueError:
            return m.value
    return m.value


def media_image(m: Media, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if m.status != "READY":
        return None  # Shopify has no image URL until processing succeeded
    return {
        "url": _ctx(info).core.image_url(m),
        "width": m.width,
        "height": m.height,
        "altText": m.alt,
        "id": gid("ImageSource", m.image_id),
    }


def media_errors(m: Media, info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return [dict(e) for e in m.errors]


QUERY_RESOLVERS: dict[str, Any] = {
    "QueryRoot.product": q_product,
    "QueryRoot.products": q_products,
    "QueryRoot.node": q_node,
    "QueryRoot.nodes": q_nodes,
    "QueryRoot.job": q_job,
    "QueryRoot.shop": q_shop,
    "QueryRoot.currentAppInstallation": q_installation,
    "Product.id": lambda p, _: gid("Product", p.id),
    "Product.descriptionHtml": lambda p, _: p.body_html,
    "Product.productType": lambda p, _: p.product_type,
    "Product.createdAt": lambda p, _: p.created_at,
    "Product.updatedAt": lambda p, _: p.updated_at,
    "Product.publishedAt": lambda p, _: p.published_at,
    "Product.category": lambda p, _: CategoryView(p.category) if p.category else None,
    "Product.media": product_media,
    "Product.featuredMedia": lambda p, info: next(iter(_product_media(p, info)), None),
    "Product.mediaCount": lambda p, info: {"count": len(_product_media(p, info)), "precision": "EXACT"},
    "Product.metafields": product_metafields,
    "Product.metafield": product_metafield,
    "Product.options": lambda p, _, first=None: [OptionView(o) for o in p.options][:first],
    "Product.variants": product_variants,
    "Product.variantsCount": lambda p, _: {"count": len(p.variants), "precision": "EXACT"},
    "ProductOption.id": lambda o, _: gid("ProductOption", o.data["id"]),
    "ProductOption.name": lambda o, _: o.data["name"],
    "ProductOption.position": lambda o, _: o.data["position"],
    "ProductOption.values": lambda o, _: o.data["values"],
    "ProductVariant.id": lambda v, _: gid("ProductVariant", v.variant.id),
    "ProductVariant.title": lambda v, _: v.variant.title,
    "ProductVariant.price": lambda v, _: v.variant.price,
    "ProductVariant.sku": lambda v, _: v.variant.sku,
    "ProductVariant.position": lambda v, _: v.variant.position,
    "ProductVariant.inventoryQuantity": lambda v, _: v.variant.inventory_quantity,
    "ProductVariant.createdAt": lambda v, _: v.variant.created_at,
    "ProductVariant.updatedAt": lambda v, _: v.variant.updated_at,
    "ProductVariant.product": lambda v, _: v.product,
    "ProductVariant.selectedOptions": lambda v, _: [
        {"name": o["name"], "value": value}
        for o, value in zip(v.product.options, v.variant.options, strict=False)
    ],
    "TaxonomyCategory.id": lambda c, _: category_gid(c.short),
    "TaxonomyCategory.name": lambda c, _: CATEGORIES[c.short][0],
    "TaxonomyCategory.fullName": lambda c, _: CATEGORIES[c.short][1],
    "TaxonomyCategory.level": lambda c, _: c.short.count("-") + 1,
    "TaxonomyCategory.isRoot": lambda c, _: "-" not in c.short,
    "TaxonomyCategory.isLeaf": lambda c, _: not any(k.startswith(c.short + "-") for k in CATEGORIES),
    "TaxonomyCategory.parentId": lambda c, _: (
        category_gid(c.short.rsplit("-", 1)[0]) if "-" in c.short else None
    ),
    "Metafield.id": lambda m, _: gid("Metafield", m.id),
    "Metafield.jsonValue": metafield_json,
    "MediaImage.id": lambda m, _: gid("MediaImage", m.id),
    "MediaImage.mediaContentType": lambda m, _: "IMAGE",
    "MediaImage.fileStatus": lambda m, _: m.status,
    "MediaImage.mediaErrors": media_errors,
    "MediaImage.fileErrors": media_errors,
    "MediaImage.image": media_image,
    "MediaImage.mimeType": lambda m, _: m.mime_type,
    "MediaImage.createdAt": lambda m, _: m.created_at,
    "MediaImage.updatedAt": lambda m, _: m.updated_at,
    "MediaImage.preview": lambda m, info: {"image": media_image(m, info), "status": m.status},
    "MediaImage.originalSource": lambda m, info: (
        {"url": _ctx(info).core.image_url(m), "fileSize": None} if m.status == "READY" else None
    ),
    "Shop.id": lambda s, _: gid("Shop", s.id),
    "Shop.myshopifyDomain": lambda s, _: s.domain,
    "Shop.currencyCode": lambda s, _: s.currency,
    "Shop.ianaTimezone": lambda s, _: s.iana_timezone,
    "Shop.url": lambda s, _: f"https://{s.domain}",
    "AppInstallation.id": lambda a, _: gid("AppInstallation", a.shop.id),
    "AppInstallation.accessScopes": lambda a, _: [
        {"handle": s, "description": SCOPE_DESCRIPTIONS.get(s, s)} for s in a.scope.split(",") if s
    ],
    "Job.query": lambda j, _: {},
}
