"""Change the simulated catalog: shops, products and their media, as merchant and as app."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from devshop import specs
from devshop.clock import Clock
from devshop.config import DevShopConfig
from devshop.media import Decoded, MediaProcessor, decode_image
from devshop.scheduler import Scheduler
from devshop.store import Job, Media, Product, Shop, Store
from devshop.taxonomy import normalize_category
from renderer.errors import InputError

MAX_ALT_LENGTH = 512

# emit(shop, topic, products, event_id): the core turns products into webhook deliveries.
Emit = Callable[[Shop, str, list[Product], str | None], None]


@dataclass(frozen=True)
class Photo:
    """An image a merchant adds to a product (control API and seed catalog)."""

    data: bytes
    filename: str
    alt: str = ""


@dataclass
class UserErrors:
    """Collect Shopify-style user errors: ``field`` path, ``message`` and optional ``code``."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: list[str], message: str, code: str | None = None) -> None:
        """Record one error."""
        entry: dict[str, Any] = {"field": path, "message": message}
        if code is not None:
            entry["code"] = code
        self.items.append(entry)

    def __bool__(self) -> bool:
        return bool(self.items)


def valid_source_url(value: str) -> bool:
    """Say whether ``value`` is an http(s) URL Shopify could fetch."""
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


class Catalog:
    """All changes to shops, products and media go through here, under the store's lock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: DevShopConfig,
        scheduler: Scheduler,
        processor: MediaProcessor,
        emit: Emit,
    ) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self._scheduler = scheduler
        self._processor = processor
        self._emit = emit
        # blob key -> Decoded, so a 500-product catalog decodes each shared photo once
        self._decoded: dict[str, Decoded] = {}

    def _now(self) -> datetime:
        # Shopify's timestamps have one-second precision; `updated_at:>X` filters depend on it.
        return self._clock.now().replace(microsecond=0)

    # -- shops -------------------------------------------------------------------------------------

    def create_shop(self, handle: str, name: str | None = None, email: str | None = None) -> Shop:
        """Create the shop ``{handle}.myshopify.com``; an existing handle is refused."""
        if not re.match(r"^[a-z0-9][a-z0-9-]{1,59}$", handle or ""):
            raise InputError(
                f"shop handle must be lowercase letters, digits and dashes (2-60), got {handle!r}"
            )
        with self._store.lock:
            if handle in self._store.shops:
                raise InputError(f"shop {handle!r} already exists")
            shop = Shop(
                handle=handle,
                id=self._store.new_id(),
                name=name or handle.replace("-", " ").title(),
                email=email or f"owner@{handle}.example",
                created_at=self._now(),
            )
            self._store.shops[handle] = shop
            self._store.save()
            return shop

    # -- merchant side (control API, seed) -----------------------------------------------------------

    def create_product(
        self,
        shop: Shop,
        spec: dict[str, Any],
        photos: list[Photo],
        *,
        ready: bool = False,
        notify: bool = True,
    ) -> Product:
        """Create a product as the merchant would, with photos; send products/create."""
        with self._store.lock:
            now = self._now()
            title = specs.required_text(spec, "title")
            product = Product(
                id=self._store.new_id(),
                shop=shop.handle,
                title=title,
                handle=self._unique_handle(shop, spec.get("handle") or specs.slugify(title)),
                created_at=now,
                updated_at=now,
                published_at=now,
            )
            specs.apply_fields(product, spec)
            product.options, product.variants = specs.options_and_variants(spec, now, self._store.new_id)
            product.metafields = specs.metafields(spec.get("metafields") or [], self._store.new_id)
            self._store.products[product.id] = product
            for photo in photos:
                self._add_merchant_photo(shop, product, photo, ready=ready)
            self._store.bump(shop, "products_created")
            if notify:
                self._emit(shop, "products/create", [product], None)
            self._store.save()
            return product

    def update_product(
        self, shop: Shop, product: Product, spec: dict[str, Any], add: list[Photo], remove_media: list[int]
    ) -> Product:
        """Change a product as the merchant would (fields, photos); send products/update."""
        with self._store.lock:
            for media_id in remove_media:
                if media_id not in product.media_ids:
                    raise InputError(
                        f"media {media_id} is not on product {product.id}; its media are {product.media_ids}"
                    )
            specs.apply_fields(product, spec)
            if "options" in spec or "variants" in spec:
                product.options, product.variants = specs.options_and_variants(
                    spec, self._now(), self._store.new_id
                )
            if "metafields" in spec:
                product.metafields = specs.metafields(spec["metafields"] or [], self._store.new_id)
            for media_id in remove_media:
                self._delete_media(shop, self._store.media[media_id])
            for photo in add:
                self._add_merchant_photo(shop, product, photo, ready=False)
            product.updated_at = self._now()
            self._store.bump(shop, "products_updated")
            self._emit(shop, "products/update", [product], None)
            self._store.save()
            return product

    def _unique_handle(self, shop: Shop, base: str) -> str:
        taken = {p.handle for p in self._store.shop_products(shop.handle)}
        handle, n = base, 1
        while handle in taken:
            n += 1
            handle = f"{base}-{n}"
        return handle

    def _add_merchant_photo(self, shop: Shop, product: Product, photo: Photo, *, ready: bool) -> Media:
        blob = self._store.blobs.put(photo.data)
        media = self._new_media(shop, photo.alt, f"blob:{blob}", photo.filename, "merchant")
        self._attach(product, media)
        if ready:
            decoded = self._decoded.get(blob)
            if decoded is None:
                decoded = decode_image(
                    photo.data, self._config.max_upload_bytes, self._config.max_image_megapixels
                )
                self._decoded[blob] = decoded
            if decoded.error_code is not None:
                raise InputError(f"photo {photo.filename!r} is not a usable image: {decoded.error_message}")
            media.status, media.blob, media.mime_type = "READY", blob, decoded.mime_type
            media.width, media.height = decoded.width, decoded.height
        else:
            self._processor.start(media.id)
        return media

    # -- app side (Admin GraphQL) ----------------------------------------------------------------------

    def product_update(
        self, shop: Shop, product: Product | None, fields: dict[str, Any], media_inputs: list[dict[str, Any]]
    ) -> tuple[Product | None, UserErrors]:
        """Run ``productUpdate(product:, media:)``: all of it, or nothing with user errors."""
        errors = UserErrors()
        with self._store.lock:
            if product is None:
                errors.add(["id"], "Product does not exist")
                return None, errors
            if "title" in fields and not (fields["title"] or "").strip():
                errors.add(["title"], "Title can't be blank")
            category = None
            if fields.get("category"):
                try:
                    category = normalize_category(fields["category"])
                except KeyError:
                    errors.add(["category"], "The category does not exist.")
            for i, item in enumerate(media_inputs):
                if item["mediaContentType"] != "IMAGE":
                    errors.add(
                        ["media", str(i), "mediaContentType"], "The dev-shop simulates IMAGE media only."
                    )
                if not valid_source_url(item["originalSource"]):
                    errors.add(["media", str(i), "originalSource"], "Image URL is invalid")
                if len(item.get("alt") or "") > MAX_ALT_LENGTH:
                    errors.add(["media", str(i), "alt"], f"Alt must be {MAX_ALT_LENGTH} characters or fewer.")
            limit = self._config.max_media_per_product
            if len(product.media_ids) + len(media_inputs) > limit:
                errors.add(["media"], f"Products can't have more than {limit} media.")
            if errors:
                return None, errors
            for key, attr in (
                ("title", "title"),
                ("descriptionHtml", "body_html"),
                ("productType", "product_type"),
                ("vendor", "vendor"),
                ("status", "status"),
                ("handle", "handle"),
            ):
                if fields.get(key) is not None:
                    setattr(product, attr, fields[key])
            if fields.get("tags") is not None:
                product.tags = specs.tags(fields["tags"])
            if "category" in fields:
                product.category = category
            for item in media_inputs:
                media = self._new_media(
                    shop,
                    item.get("alt") or "",
                    item["originalSource"],
                    _filename_of(item["originalSource"]),
                    "app",
                )
                self._attach(product, media)
                self._processor.start(media.id)
            product.updated_at = self._now()
            self._emit(shop, "products/update", [product], None)
            self._store.save()
            return product, errors

    def file_update(
        self, shop: Shop, files: list[dict[str, Any]], lookup: Callable[[str, str], Any]
    ) -> tuple[list[Media] | None, UserErrors]:
        """Run ``fileUpdate``: change alt text and product references, atomically."""
        errors = UserErrors()
        with self._store.lock:
            plans: list[tuple[Media, dict[str, Any], list[Product], list[Product]]] = []
            added_count: dict[int, int] = {}
            for i, item in enumerate(files):
                media = lookup(item["id"], "MediaImage")
                if media is None:
                    errors.add(
                        ["files", str(i), "id"],
                        f"File id {item['id']} does not exist.",
                        "FILE_DOES_NOT_EXIST",
                    )
                    continue
                if item.get("alt") is not None and len(item["alt"]) > MAX_ALT_LENGTH:
                    errors.add(
                        ["files", str(i), "alt"],
                        f"The alt value exceeds the maximum limit of {MAX_ALT_LENGTH} characters.",
                        "ALT_VALUE_LIMIT_EXCEEDED",
                    )
                adds: list[Product] = []
                removes: list[Product] = []
                for key, bucket in (("referencesToAdd", adds), ("referencesToRemove", removes)):
                    for j, ref in enumerate(item.get(key) or []):
                        target = lookup(ref, "Product")
                        if target is None:
                            errors.add(
                                ["files", str(i), key, str(j)],
                                "The reference target does not exist.",
                                "REFERENCE_TARGET_DOES_NOT_EXIST",
                            )
                        else:
                            bucket.append(target)
                for target in adds:
                    if media.id not in target.media_ids:
                        added_count[target.id] = added_count.get(target.id, 0) + 1
                        if (
                            len(target.media_ids) + added_count[target.id]
                            > self._config.max_media_per_product
                        ):
                            errors.add(
                                ["files", str(i), "referencesToAdd"],
                                "Exceeded the limit of media per product.",
                                "PRODUCT_MEDIA_LIMIT_EXCEEDED",
                            )
                plans.append((media, item, adds, removes))
            if errors:
                return None, errors
            touched: dict[int, Product] = {}
            for media, item, adds, removes in plans:
                if item.get("alt") is not None and item["alt"] != media.alt:
                    media.alt = item["alt"]
                    media.updated_at = self._now()
                    touched.update({pid: self._store.products[pid] for pid in media.product_ids})
                for target in adds:
                    if media.id not in target.media_ids:
                        self._attach(target, media)
                        touched[target.id] = target
                for target in removes:
                    if media.id in target.media_ids:
                        target.media_ids.remove(media.id)
                        media.product_ids.remove(target.id)
                        self._store.bump(shop, f"media_detached.{media.created_by}")
                        touched[target.id] = target
            self._touch(shop, list(touched.values()))
            return [m for m, _, _, _ in plans], errors

    def file_delete(
        self, shop: Shop, ids: list[str], lookup: Callable[[str, str], Any]
    ) -> tuple[list[str] | None, UserErrors]:
        """Run ``fileDelete``: delete the files and their product references, atomically."""
        errors = UserErrors()
        with self._store.lock:
            found = []
            for i, gid in enumerate(ids):
                media = lookup(gid, "MediaImage")
                if media is None:
                    errors.add(["fileIds", str(i)], f"File id {gid} does not exist.", "FILE_DOES_NOT_EXIST")
                else:
                    found.append(media)
            if errors:
                return None, errors
            touched = {pid: self._store.products[pid] for m in found for pid in m.product_ids}
            for media in found:
                self._delete_media(shop, media)
            self._touch(shop, list(touched.values()))
            return list(ids), errors

    def reorder_media(
        self,
        shop: Shop,
        product: Product | None,
        moves: list[dict[str, Any]],
        lookup: Callable[[str, str], Any],
    ) -> tuple[Job | None, UserErrors]:
        """Run ``productReorderMedia``: validate now, apply when the returned job runs."""
        errors = UserErrors()
        with self._store.lock:
            if product is None:
                errors.add(["id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
                return None, errors
            planned: list[tuple[int, int]] = []
            for i, move in enumerate(moves):
                media = lookup(move["id"], "MediaImage")
                if media is None or media.id not in product.media_ids:
                    errors.add(
                        ["moves", str(i), "id"],
                        f"Media id {move['id']} does not exist on the product.",
                        "MEDIA_DOES_NOT_EXIST_ON_PRODUCT",
                    )
                    continue
                position = int(move["newPosition"])
                if position < 0:
                    errors.add(
                        ["moves", str(i), "newPosition"], "Position must be zero or greater.", "INVALID"
                    )
                planned.append((media.id, position))
            if errors:
                return None, errors
            job = Job(id=str(uuid.uuid4()), shop=shop.handle, done=False, created_at=self._now())
            self._store.jobs[job.id] = job
            product_id = product.id
        self._scheduler.call_later(
            self._config.reorder_job_delay_s, lambda: self._finish_reorder(shop, product_id, planned, job.id)
        )
        return job, errors

    def _finish_reorder(self, shop: Shop, product_id: int, moves: list[tuple[int, int]], job_id: str) -> None:
        with self._store.lock:
            product = self._store.products.get(product_id)
            if product is not None:
                for media_id, position in moves:
                    if media_id in product.media_ids:
                        product.media_ids.remove(media_id)
                        product.media_ids.insert(min(position, len(product.media_ids)), media_id)
                self._touch(shop, [product])
            self._store.jobs[job_id].done = True
            self._store.save()

    # -- shared ------------------------------------------------------------------------------------------

    def media_settled(self, media: Media) -> None:
        """Tell the products showing ``media`` that it is READY or FAILED (products/update)."""
        shop = self._store.shops[media.shop]
        self._touch(
            shop, [self._store.products[pid] for pid in media.product_ids if pid in self._store.products]
        )

    def _touch(self, shop: Shop, products: list[Product]) -> None:
        now = self._now()
        event_id = str(uuid.uuid4())  # one merchant/app action, one Event-Id across its deliveries
        for product in products:
            product.updated_at = now
        if products:
            self._emit(shop, "products/update", products, event_id)
        self._store.save()

    def _new_media(self, shop: Shop, alt: str, source: str, filename: str, created_by: str) -> Media:
        now = self._now()
        media = Media(
            id=self._store.new_id(),
            shop=shop.handle,
            image_id=self._store.new_id(),
            alt=alt,
            status="UPLOADED",
            filename=filename,
            original_source=source,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self._store.media[media.id] = media
        self._store.bump(shop, f"media_created.{created_by}")
        return media

    def _attach(self, product: Product, media: Media) -> None:
        product.media_ids.append(media.id)
        media.product_ids.append(product.id)

    def _delete_media(self, shop: Shop, media: Media) -> None:
        for pid in media.product_ids:
            product = self._store.products.get(pid)
            if product is not None and media.id in product.media_ids:
                product.media_ids.remove(media.id)
        del self._store.media[media.id]
        self._store.bump(shop, f"media_deleted.{media.created_by}")


def _filename_of(url: str) -> str:
    name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name or "image"
