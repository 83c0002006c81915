"""Serve the dev-shop's own JSON control API under ``/_devshop/``: set up, trigger, inspect."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from devshop.catalog import Photo
from devshop.clock import iso_utc
from devshop.core import COMPLIANCE_TOPICS, DevShop
from devshop.gids import gid
from devshop.payloads import product_payload
from devshop.seed import generate_products, seed_shop
from devshop.session_tokens import mint_session_token
from devshop.store import Media, Product, Shop
from devshop.taxonomy import CATEGORIES, category_gid
from renderer.errors import ConfigError, InputError

bp = Blueprint("control", __name__, url_prefix="/_devshop")

PRODUCT_TOPICS = ("products/create", "products/update")


class NotFound(Exception):
    """Raised for an unknown shop, product or media; answered with 404."""


def _core() -> DevShop:
    return current_app.extensions["devshop"]


@bp.errorhandler(InputError)
@bp.errorhandler(ConfigError)
def _bad_input(exc: Exception) -> tuple[Response, int]:
    return jsonify({"error": str(exc)}), 400


@bp.errorhandler(NotFound)
def _not_found(exc: Exception) -> tuple[Response, int]:
    return jsonify({"error": str(exc)}), 404


def _body() -> dict[str, Any]:
    if not request.data and not request.form:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError(
            f"the request body must be a JSON object, got {request.get_data(as_text=True)[:200]!r}"
        )
    return data


def _shop(handle: str) -> Shop:
    core = _core()
    shop = core.store.shops.get(handle)
    if shop is None:
        raise NotFound(f"shop {handle!r} does not exist; shops: {sorted(core.store.shops)}")
    return shop


def _product(shop: Shop, product_id: int) -> Product:
    product = _core().store.products.get(product_id)
    if product is None or product.shop != shop.handle:
        raise NotFound(f"product {product_id} does not exist in shop {shop.handle!r}")
    return product


def shop_json(shop: Shop) -> dict[str, Any]:
    """Describe a shop for the control API."""
    core = _core()
    return {
        "handle": shop.handle,
        "domain": shop.domain,
        "id": shop.id,
        "gid": gid("Shop", shop.id),
        "name": shop.name,
        "email": shop.email,
        "installed": shop.installed,
        "stats": dict(shop.stats),
        "products": len(core.store.shop_products(shop.handle)),
    }


def media_json(media: Media, position: int) -> dict[str, Any]:
    """Describe one media item as the app left it: order, alt text, status, who created it."""
    core = _core()
    return {
        "id": media.id,
        "gid": gid("MediaImage", media.id),
        "position": position,
        "alt": media.alt,
        "status": media.status,
        "created_by": media.created_by,
        "filename": media.filename,
        "url": core.image_url(media) if media.status == "READY" else None,
        "width": media.width,
        "height": media.height,
        "errors": media.errors,
        "original_source": media.original_source,
        "updated_at": iso_utc(media.updated_at),
    }


def product_json(product: Product) -> dict[str, Any]:
    """Describe a product with its media in display order."""
    core = _core()
    media = [core.store.media[m] for m in product.media_ids if m in core.store.media]
    return {
        "id": product.id,
        "gid": gid("Product", product.id),
        "title": product.title,
        "handle": product.handle,
        "product_type": product.product_type,
        "vendor": product.vendor,
        "tags": list(product.tags),
        "status": product.status,
        "category": None
        if product.category is None
        else {
            "id": product.category,
            "gid": category_gid(product.category),
            "name": CATEGORIES[product.category][0],
            "full_name": CATEGORIES[product.category][1],
        },
        "options": product.options,
        "metafields": [
            {"namespace": m.namespace, "key": m.key, "type": m.type, "value": m.value}
            for m in product.metafields
        ],
        "variants": [
            {"id": v.id, "title": v.title, "options": v.options, "price": v.price} for v in product.variants
        ],
        "created_at": iso_utc(product.created_at),
        "updated_at": iso_utc(product.updated_at),
        "media": [media_json(m, i) for i, m in enumerate(media)],
    }


def _photos(items: Any) -> list[Photo]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(
            f"photos must be a list of {{filename, content_base64, alt}}, got {type(items).__name__}"
        )
    photos = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("content_base64"):
            raise InputError(
                f"photo {i} needs content_base64 (and optionally filename, alt), got {str(item)[:120]!r}"
            )
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"photo {i} content_base64 is not valid base64: {exc}") from exc
        photos.append(
            Photo(
                data=data,
                filename=str(item.get("filename") or f"photo-{i + 1}.jpg"),
                alt=str(item.get("alt") or ""),
            )
        )
    return photos


def _spec_and_photos() -> tuple[dict[str, Any], list[Photo], list[int]]:
    """Read a product spec and photos from JSON, or from multipart (``product`` JSON + ``photos`` files)."""
    if request.files:
        try:
            spec = json.loads(request.form.get("product") or "{}")
        except ValueError as exc:
            raise InputError(f"the 'product' form field must be JSON: {exc}") from exc
        alts = request.form.getlist("alt")
        photos = [
            Photo(
                data=f.read(),
                filename=f.filename or f"photo-{i + 1}.jpg",
                alt=alts[i] if i < len(alts) else "",
            )
            for i, f in enumerate(request.files.getlist("photos"))
        ]
    else:
        spec = _body()
        photos = _photos(spec.pop("photos", None) or spec.pop("add_photos", None))
    if not isinstance(spec, dict):
        raise InputError("the product must be a JSON object")
    remove = spec.pop("remove_media", []) or []
    if not isinstance(remove, list) or not all(isinstance(m, int) for m in remove):
        raise InputError(f"remove_media must be a list of numeric media ids, got {remove!r}")
    return spec, photos, remove


# -- simulator -------------------------------------------------------------------------------------


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Report that the simulator runs, where, and any background failure."""
    core = _core()
    return jsonify(
        {
            "ok": not core.scheduler.errors,
            "public_url": core.public_url,
            "api_version": core.config.api_version,
            "shops": sorted(core.store.shops),
            "now": iso_utc(core.clock.now()),
            "background_errors": core.scheduler.errors[-5:],
        }
    )


@bp.get("/app")
def get_app() -> ResponseReturnValue:
    """Show the app the dev-shop serves (key, webhook address, version, scopes)."""
    core = _core()
    return jsonify(
        {
            "api_key": core.config.api_key,
            "webhook_url": core.sender.webhook_url,
            "api_version": core.config.api_version,
            "scopes": list(core.config.scopes),
        }
    )


@bp.put("/app")
def put_app() -> ResponseReturnValue:
    """Change where webhooks go (new deliveries only; retries keep their address)."""
    core = _core()
    body = _body()
    url = body.get("webhook_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise InputError(f"webhook_url must be an http(s) URL or null, got {url!r}")
    core.sender.webhook_url = url
    return get_app()


@bp.get("/clock")
def get_clock() -> ResponseReturnValue:
    """Show the simulated time and how far it is ahead of the wall clock."""
    core = _core()
    return jsonify({"now": iso_utc(core.clock.now()), "offset_s": core.clock.offset_s})


@bp.post("/clock")
def advance_clock() -> ResponseReturnValue:
    """Move the simulated time forward by ``advance_s`` seconds (tokens expire, media process)."""
    body = _body()
    seconds = body.get("advance_s")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise InputError(f"advance_s must be a number of seconds >= 0, got {seconds!r}")
    _core().clock.advance(float(seconds))
    return get_clock()


@bp.get("/faults")
def get_faults() -> ResponseReturnValue:
    """Show the fault switches."""
    return jsonify(_core().faults.switches.to_dict())


@bp.put("/faults")
def put_faults() -> ResponseReturnValue:
    """Change some fault switches (the others keep their values)."""
    return jsonify(_core().faults.update(_body()).to_dict())


@bp.delete("/faults")
def reset_faults() -> ResponseReturnValue:
    """Return the fault switches to the start-up configuration."""
    return jsonify(_core().faults.reset().to_dict())


@bp.get("/deliveries")
def deliveries() -> ResponseReturnValue:
    """List every webhook delivery attempt (filters: shop domain or handle, topic; payload=0)."""
    shop = request.args.get("shop")
    if shop and not shop.endswith(".myshopify.com"):
        shop = f"{shop}.myshopify.com"
    entries = _core().sender.log(shop, request.args.get("topic"))
    if request.args.get("payload") == "0":
        entries = [{k: v for k, v in e.items() if k != "payload"} for e in entries]
    return jsonify(entries)


@bp.post("/settle")
def settle() -> ResponseReturnValue:
    """Wait until background work due within ``timeout_s`` (default 10) has run."""
    timeout = _body().get("timeout_s", 10)
    if not isinstance(timeout, int | float) or timeout < 0 or timeout > 300:
        raise InputError(f"timeout_s must be between 0 and 300 seconds, got {timeout!r}")
    state = _core().scheduler.settle(float(timeout))
    return jsonify(state), 200 if state["settled"] else 408


# -- shops -----------------------------------------------------------------------------------------


@bp.get("/shops")
def list_shops() -> ResponseReturnValue:
    """List the shops."""
    core = _core()
    return jsonify([shop_json(s) for s in core.store.shops.values()])


@bp.post("/shops")
def create_shop() -> ResponseReturnValue:
    """Create a shop (``handle``, ``name``); ``seed: true`` fills it with the seed catalog."""
    core = _core()
    body = _body()
    handle = body.get("handle")
    if not isinstance(handle, str):
        raise InputError(f"handle must be a shop handle like 'my-shop', got {handle!r}")
    if body.get("seed"):
        shop = seed_shop(
            core, handle, core.config.seed_photos_dir, name=body.get("name") or "Worn Demo Jewelry"
        )
    else:
        shop = core.catalog.create_shop(handle, body.get("name"), body.get("email"))
    return jsonify(shop_json(shop)), 201


@bp.get("/shops/<handle>")
def get_shop(handle: str) -> ResponseReturnValue:
    """Describe one shop, with its counters (media created/deleted by app and merchant, ...)."""
    return jsonify(shop_json(_shop(handle)))


@bp.post("/shops/<handle>/install")
def install(handle: str) -> ResponseReturnValue:
    """Mark the app installed again on the shop."""
    core = _core()
    shop = _shop(handle)
    with core.store.lock:
        shop.installed = True
        core.store.save()
    return jsonify(shop_json(shop))


@bp.post("/shops/<handle>/session-token")
def session_token(handle: str) -> ResponseReturnValue:
    """Mint an App Bridge session token for the shop (``user_id``, ``ttl_s``, ``age_s``)."""
    core = _core()
    shop = _shop(handle)
    body = _body()
    values = {
        k: body.get(k, default)
        for k, default in (("user_id", 1), ("ttl_s", core.config.session_token_ttl_s), ("age_s", 0))
    }
    for key, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"{key} must be a whole number >= 0, got {value!r}")
    token, claims = mint_session_token(
        core.config.api_key,
        core.config.api_secret,
        shop.domain,
        user_id=values["user_id"],
        ttl_s=values["ttl_s"],
        age_s=values["age_s"],
    )
    return jsonify({"token": token, "claims": claims})


@bp.post("/shops/<handle>/legacy-token")
def legacy_token(handle: str) -> ResponseReturnValue:
    """Issue a non-expiring offline token (an install from before expiring tokens)."""
    record = _core().tokens.mint_legacy_token(_shop(handle))
    return jsonify({"access_token": record.token, "scope": record.scope})


@bp.post("/shops/<handle>/throttle")
def set_bucket(handle: str) -> ResponseReturnValue:
    """Set the shop's cost bucket level (``currently_available``) to stage throttling."""
    core = _core()
    shop = _shop(handle)
    level = _body().get("currently_available")
    if not isinstance(level, int | float) or isinstance(level, bool) or level < 0:
        raise InputError(f"currently_available must be a number >= 0, got {level!r}")
    core.bucket.drain(shop.handle, float(level))
    return jsonify({"currently_available": float(level)})


@bp.post("/shops/<handle>/webhooks")
def trigger(handle: str) -> ResponseReturnValue:
    """Send a delivery on request: a product topic, app/uninstalled, or a compliance topic."""
    core = _core()
    shop = _shop(handle)
    body = _body()
    topic = body.get("topic")
    if topic in PRODUCT_TOPICS:
        product_id = body.get("product_id")
        if not isinstance(product_id, int):
            raise InputError(f"{topic} needs product_id (a number), got {product_id!r}")
        with core.store.lock:
            product = _product(shop, product_id)
            media = [core.store.media[m] for m in product.media_ids if m in core.store.media]
            delivery = core.sender.send(
                shop.domain,
                topic,
                product_payload(shop, product, media, core.config.api_version, core.image_url),
            )
    elif topic == "app/uninstalled":
        delivery = core.uninstall(shop)
    elif topic in COMPLIANCE_TOPICS:
        orders = body.get("orders") or []
        if not isinstance(orders, list) or not all(isinstance(o, int) for o in orders):
            raise InputError(f"orders must be a list of order ids, got {orders!r}")
        delivery = core.send_compliance(shop, topic, body.get("customer"), orders)
    else:
        raise InputError(
            f"topic must be one of {[*PRODUCT_TOPICS, 'app/uninstalled', *COMPLIANCE_TOPICS]}, got {topic!r}"
        )
    return jsonify({"webhook_id": delivery.webhook_id, "event_id": delivery.event_id, "topic": topic}), 202


# -- products --------------------------------------------------------------------------------------


@bp.get("/shops/<handle>/products")
def list_products(handle: str) -> ResponseReturnValue:
    """List the shop's products with their media."""
    core = _core()
    shop = _shop(handle)
    with core.store.lock:
        return jsonify([product_json(p) for p in core.store.shop_products(shop.handle)])


@bp.post("/shops/<handle>/products")
def create_product(handle: str) -> ResponseReturnValue:
    """Create a product with photos as the merchant (sends products/create)."""
    core = _core()
    shop = _shop(handle)
    spec, photos, _ = _spec_and_photos()
    product = core.catalog.create_product(shop, spec, photos)
    with core.store.lock:
        return jsonify(product_json(product)), 201


@bp.post("/shops/<handle>/products/generate")
def generate(handle: str) -> ResponseReturnValue:
    """Add ``count`` catalog products at once (``notify`` false by default: an existing catalog)."""
    core = _core()
    shop = _shop(handle)
    body = _body()
    count = body.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 5000:
        raise InputError(f"count must be a whole number from 1 to 5000, got {count!r}")
    created = generate_products(
        core,
        shop,
        count,
        notify=bool(body.get("notify", False)),
        seed=int(body.get("seed", 0)),
        photos_dir=core.config.seed_photos_dir,
    )
    return jsonify({"created": len(created), "ids": [p.id for p in created]}), 201


@bp.get("/shops/<handle>/products/<int:product_id>")
def get_product(handle: str, product_id: int) -> ResponseReturnValue:
    """Show one product as the app left it: media order, alt text, status, creator."""
    core = _core()
    with core.store.lock:
        return jsonify(product_json(_product(_shop(handle), product_id)))


@bp.patch("/shops/<handle>/products/<int:product_id>")
def update_product(handle: str, product_id: int) -> ResponseReturnValue:
    """Change a product as the merchant (fields, ``add_photos``, ``remove_media``; products/update)."""
    core = _core()
    shop = _shop(handle)
    product = _product(shop, product_id)
    spec, photos, remove = _spec_and_photos()
    core.catalog.update_product(shop, product, spec, photos, remove)
    with core.store.lock:
        return jsonify(product_json(product))
