"""Wire the simulator's parts together: one DevShop per running server."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from graphql import GraphQLSchema

from devshop.catalog import Catalog
from devshop.clock import Clock
from devshop.config import DevShopConfig
from devshop.faults import Faults
from devshop.media import MediaProcessor
from devshop.payloads import compliance_payload, product_payload, shop_payload
from devshop.scheduler import Scheduler
from devshop.schema import load_schema
from devshop.sender import Delivery, WebhookSender
from devshop.staged import StagedUploads
from devshop.store import Media, Product, Shop, Store
from devshop.throttle import CostCalculator, LeakyBucket
from devshop.tokens import TokenAuthority

COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


class DevShop:
    """The simulated platform: state, clock, background work, tokens, webhooks and faults."""

    def __init__(self, config: DevShopConfig) -> None:
        config.validate()
        self.config = config
        self.public_url = config.public_url.rstrip("/")
        self.clock = Clock()
        self.store = Store(Path(config.data_dir) if config.data_dir is not None else None)
        self.faults = Faults(config.faults)
        self.scheduler = Scheduler(self.clock, workers=max(4, config.webhook_concurrency))
        self.sender = WebhookSender(config, self.clock, self.scheduler, self.faults)
        self.tokens = TokenAuthority(self.store, self.clock, config)
        self.schema: GraphQLSchema = load_schema()
        self.costs = CostCalculator(self.schema)
        self.bucket = LeakyBucket(self.clock, config.throttle_maximum_available, config.throttle_restore_rate)
        self.processor = MediaProcessor(
            self.store, self.clock, self.scheduler, config, self.faults, on_settled=self._media_settled
        )
        self.catalog = Catalog(
            self.store, self.clock, config, self.scheduler, self.processor, self.emit_products
        )
        self.staged = StagedUploads(self.store, self.clock, config, lambda: self.public_url)
        self._resume_processing()

    def image_url(self, media: Media) -> str:
        """Return the CDN-style URL serving a READY media item's bytes from this simulator."""
        version = int(media.updated_at.timestamp())
        return f"{self.public_url}/cdn/shop/{media.shop}/files/{media.id}/{quote(media.filename)}?v={version}"

    def shop_by_domain(self, host: str) -> Shop | None:
        """Return the shop a ``Host`` header names (``{handle}.myshopify.com[:port]``)."""
        name = host.split(":", 1)[0].lower()
        if not name.endswith(".myshopify.com"):
            return None
        return self.store.shops.get(name[: -len(".myshopify.com")])

    def emit_products(self, shop: Shop, topic: str, products: list[Product], event_id: str | None) -> None:
        """Queue a product webhook per product (callers hold the store lock)."""
        if not shop.installed:
            return
        for product in products:
            media = [self.store.media[mid] for mid in product.media_ids if mid in self.store.media]
            body = product_payload(shop, product, media, self.config.api_version, self.image_url)
            self.sender.send(shop.domain, topic, body, event_id)

    def uninstall(self, shop: Shop) -> Delivery:
        """Uninstall the app from ``shop``: revoke its tokens and send ``app/uninstalled``."""
        with self.store.lock:
            body = shop_payload(shop, self.clock.now())
            delivery = self.sender.send(shop.domain, "app/uninstalled", body)
            shop.installed = False
            self.store.save()
        self.tokens.revoke_shop(shop)
        return delivery

    def send_compliance(
        self, shop: Shop, topic: str, customer: dict[str, Any] | None, orders: list[int]
    ) -> Delivery:
        """Send one of the mandatory compliance topics for ``shop``."""
        return self.sender.send(shop.domain, topic, compliance_payload(topic, shop, customer, orders))

    def close(self) -> None:
        """Stop background work and save the state."""
        self.scheduler.stop()
        self.sender.close()
        self.store.save()

    def _media_settled(self, media: Media) -> None:
        self.catalog.media_settled(media)

    def _resume_processing(self) -> None:
        # Media left mid-processing by a previous run (data dir) finishes processing now.
        with self.store.lock:
            pending = [m.id for m in self.store.media.values() if m.status in ("UPLOADED", "PROCESSING")]
        for media_id in pending:
            self.processor.start(media_id)
