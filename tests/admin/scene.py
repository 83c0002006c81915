"""A shop in review, made the way production makes it: products in `worn dev-shop`, Worn installed by a
session token, the catalog reconciled, the render jobs run by the worker through the real renderer.

Building it takes a few seconds, so a test module builds it once (`build_golden`) and each test works on a
copy of its database and files (`Golden.copy`).
"""

from __future__ import annotations

import base64
import io
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from connector import reconcile
from connector.install import install_from_session_token
from connector.migrate import upgrade
from connector.models import Product, Shop
from connector.services import Services
from connector.settings import DEV_API_KEY, DEV_API_SECRET, Settings, load_settings
from connector.worker import Worker
from devshop import DevShopConfig, RunningDevShop, start_in_thread

HANDLE, OTHER = "acme-jewels", "other-store"
PENDANT = "Sapphire drop pendant"
DROPS = "Garnet teardrop earrings"
STUDS = "White sapphire studs"
RING = "Gold solitaire ring"
BLANK = "Mystery pendant"


def _sample(name: str) -> str:
    return base64.b64encode(resources.files("renderer").joinpath("samples", name).read_bytes()).decode()


def _blank_photo() -> str:
    out = io.BytesIO()
    Image.new("RGB", (800, 800), (255, 255, 255)).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


def _dimension(key: str, value: float, unit: str) -> dict[str, Any]:
    return {"namespace": "custom", "key": key, "type": "dimension", "value": {"value": value, "unit": unit}}


#: (title, product type, photo, metafields): a pendant, two earrings, a ring no plate carries, a photo
#: with no piece in it.
CATALOG = [
    (PENDANT, "Pendant", "pendant_necklace.png", [_dimension("chain_length", 45, "cm")]),
    (DROPS, "Earrings", "drop_earrings.png", [_dimension("drop_length", 3.5, "cm")]),
    (STUDS, "Earrings", "stud_earrings.png", []),
    (RING, "Ring", "solitaire_ring.png", []),
]


class DevShop:
    """A running dev-shop and its control API."""

    def __init__(self) -> None:
        self.running: RunningDevShop = start_in_thread(
            DevShopConfig(
                api_key=DEV_API_KEY,
                api_secret=DEV_API_SECRET,
                seed=False,
                media_processing_delay_s=0.05,
                reorder_job_delay_s=0.05,
            )
        )
        self.url = self.running.base_url

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_devshop{path}", timeout=60, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    def token(self, handle: str = HANDLE, **claims: Any) -> str:
        """Return a session token minted by the dev-shop, as the demo opens the admin pages."""
        return str(self.call("POST", f"/shops/{handle}/session-token", json=claims)["token"])

    def product(self, gid: str, handle: str = HANDLE) -> dict[str, Any]:
        return self.call("GET", f"/shops/{handle}/products/{gid.rsplit('/', 1)[-1]}")  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.running.stop()


@dataclass
class Golden:
    """The state the browser tests start from: where it lies, and the ids in it."""

    folder: Path
    shop_url: str
    shops: dict[str, int]
    products: dict[str, int] = field(default_factory=dict)
    gids: dict[str, str] = field(default_factory=dict)

    def copy(self, into: Path, **overrides: Any) -> Services:
        """Return Services on a fresh copy of the golden database and files (`overrides`: settings)."""
        shutil.copytree(self.folder, into)
        return Services.from_settings(settings_for(into, self.shop_url, **overrides))


def settings_for(folder: Path, shop_url: str | None, **overrides: Any) -> Settings:
    """Return the settings of a Worn whose data lies in `folder`, talking to the dev-shop at `shop_url`."""
    values: dict[str, Any] = {
        "ENVIRONMENT": "development",
        "DATA_DIR": folder,
        "DATABASE_URL": f"sqlite:///{folder / 'worn.sqlite'}",
        "STORAGE_URL": str(folder / "files"),
        "QUEUE_URL": "db",
        "TOKEN_ENCRYPTION_KEY": "",
        "SHOPIFY_BASE_URL": shop_url,
        **overrides,
    }
    return load_settings(**values)


def build_golden(folder: Path, shop: DevShop) -> Golden:
    """Make the shops, the products, install Worn and render; return where it all is."""
    shop.call("POST", "/shops", json={"handle": HANDLE, "name": "Acme Jewels"})
    shop.call("POST", "/shops", json={"handle": OTHER, "name": "Other Store"})
    for title, product_type, photo, metafields in CATALOG:
        shop.call("POST", f"/shops/{HANDLE}/products", json={
            "title": title, "product_type": product_type, "metafields": metafields,
            "photos": [{"filename": photo, "alt": title, "content_base64": _sample(photo)}],
        })
    shop.call("POST", f"/shops/{HANDLE}/products", json={
        "title": BLANK, "product_type": "Pendant",
        "photos": [{"filename": "blank.jpg", "alt": "", "content_base64": _blank_photo()}],
    })
    shop.call("POST", "/settle", json={})
    services = Services.from_settings(settings_for(folder, shop.url))
    try:
        upgrade(services.db)
        shops = {}
        for handle in (HANDLE, OTHER):
            installed = install_from_session_token(services, shop.token(handle))
            shops[installed.domain] = installed.id
        reconcile.reconcile_shop(services, shops[f"{HANDLE}.myshopify.com"])
        stats = Worker(services).run(once=True)
        assert stats.outcomes == {"done": 3, "failed": 1}, stats.outcomes
        with services.db.session() as session:
            rows = session.scalars(select(Product).where(Product.shop_id == shops[f"{HANDLE}.myshopify.com"]))
            products = {p.title or "": p.id for p in rows}
            gids = {p.title or "": p.product_gid for p in session.scalars(select(Product))}
            assert session.scalar(select(Shop.name).where(Shop.id == shops[f"{HANDLE}.myshopify.com"]))
    finally:
        services.close()  # the last connection checkpoints the WAL into the file: copies are complete
    return Golden(folder, shop.url, shops, products, gids)
