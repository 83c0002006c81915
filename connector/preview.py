"""Preview a product on each plate of the house style, with look settings the merchant has not saved yet.

The same render step the worker uses (`connector.render_step.cpu_render_step`), at a small output size,
on the product's own source photo (downloaded from Shopify's CDN, or the dev-shop, by
`connector.products.download_photo`). The images are kept under the shop's `drafts/previews/` prefix,
named by their content, so the bucket's draft-expiry rule removes them like unchosen drafts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from connector import products
from connector.fileurls import shop_prefix
from connector.models import Draft, Product, Shop
from connector.platecheck import analysis_key, image_analysis
from connector.render_step import cpu_render_step
from connector.renderjob import PlateInput, RenderRequest
from connector.review import source_photo
from connector.services import Services
from connector.shops import get_owned
from connector.shopstyle import plate_image_bytes
from connector.styleedit import shop_style, validated
from connector.styles import HouseStyle
from renderer.errors import InputError

#: Previews are small: the merchant compares the look, not the pixels (the drafts carry full size).
PREVIEW_WIDTH, PREVIEW_HEIGHT = 512, 640


@dataclass(frozen=True)
class PreviewImage:
    """The product on one plate: the image when the render passed its checks, else why not."""

    plate_id: str
    model: str
    offered: bool
    image_key: str | None
    reason: str
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    """What a preview made; `code`: done | not_found | no_source | no_plate | photo_refused."""

    code: str
    product_id: int
    images: tuple[PreviewImage, ...] = ()
    detail: str = ""


def preview_style(style: HouseStyle, look: dict[str, Any] | None) -> HouseStyle:
    """Return `style` with unsaved `look` values applied (validated) and a small output."""
    document = style.document()
    if look:
        document["look"] = {**document["look"], **look}
    document["output"] = {
        **document["output"],
        "width": PREVIEW_WIDTH,
        "height": PREVIEW_HEIGHT,
        "format": "jpeg",
        "quality": 85,
    }
    return validated(document)


def _stated_size(services: Services, shop_id: int, product_id: int) -> Any:
    """Return the size the product's latest render read from it (None: the renderer assumes one)."""
    import renderer

    with services.db.session() as session:
        report = session.scalar(
            select(Draft.report)
            .where(Draft.shop_id == shop_id, Draft.product_id == product_id)
            .order_by(Draft.id.desc())
            .limit(1)
        )
    stated = (report or {}).get("stated")
    if not isinstance(stated, dict) or stated.get("source") == "typical":
        return None
    try:
        return renderer.StatedSize.from_dict(stated)
    except (InputError, KeyError, TypeError, ValueError):
        return None


def preview_product(
    services: Services, shop_id: int, product_id: int, *, look: dict[str, Any] | None = None
) -> Preview:
    """Render the product on every approved plate of the shop's style that carries its kind."""
    with services.db.session() as session:
        product = get_owned(session, Product, shop_id, product_id)
        shop = session.get(Shop, shop_id)
        if product is None or shop is None or product.deleted_at is not None:
            return Preview("not_found", product_id)
        style, _ = shop_style(session, services, shop)
        kind, domain, url = product.kind, shop.domain, source_photo(product).url
    style = preview_style(style, look)  # bad settings are refused before anything else
    if url is None or kind is None:
        return Preview("no_source", product_id, detail="the product has no photo of a piece Worn knows")
    plates = style.active_plates(kind)
    if not plates:
        return Preview("no_plate", product_id, detail=f"no approved plate carries a {kind}; add one")
    try:
        photo, _type = products.download_photo(services.settings, url, shop_domain=domain)
    except products.SourcePhotoError as exc:
        return Preview("photo_refused", product_id, detail=str(exc))
    inputs = []
    for plate in plates:
        data = plate_image_bytes(plate, services.settings.STYLES_DIR, services.storage)
        analysis = image_analysis(services, shop_id, data, plate.crop)  # cached: the worker's too
        inputs.append(PlateInput(plate, data, analysis_key(data, plate.crop), analysis))
    request = RenderRequest(photo, kind, _stated_size(services, shop_id, product_id), tuple(inputs), style)
    try:
        results = cpu_render_step(request)
    except InputError as exc:  # no clean cutout of the piece: the merchant reads why
        return Preview("photo_refused", product_id, detail=f"the product photo cannot be rendered: {exc}")
    models = {plate.id: plate.model or plate.id for plate in plates}
    images = []
    for result in results:
        key = None
        if result.offered and result.image is not None:
            digest = hashlib.sha256(result.image).hexdigest()
            key = f"{shop_prefix(shop_id)}drafts/previews/{digest}.{result.extension}"
            services.storage.put(key, result.image)
        images.append(
            PreviewImage(
                result.plate_id,
                models.get(result.plate_id, result.plate_id),
                key is not None,
                key,
                result.reason,
                result.report,
            )
        )
    return Preview("done", product_id, tuple(images))
