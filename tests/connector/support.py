"""Helpers for connector tests: the dev-shop's control API, product photos, an installed shop."""

from __future__ import annotations

import base64
import io
import itertools
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image, ImageDraw

from connector.install import install_from_session_token
from connector.services import Services
from devshop import RunningDevShop

API_KEY = "worn-test-app"
API_SECRET = "worn-test-secret-0123456789abcdef"

_names = itertools.count(1)


def photo_bytes(color: tuple[int, int, int] = (212, 175, 55), size: tuple[int, int] = (320, 400)) -> bytes:
    """Return a real JPEG: a golden ring-ish shape on white, like a product photo."""
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.3, w * 0.7, h * 0.7), outline=color, width=max(4, w // 30))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def photo_spec(name: str = "photo.jpg", alt: str = "", data: bytes | None = None) -> dict[str, str]:
    """Return a photo as the control API takes it."""
    return {"filename": name, "alt": alt, "content_base64": base64.b64encode(data or photo_bytes()).decode()}


class DevShopControl:
    """The dev-shop's control API (`/_devshop/...`), as a test drives it."""

    def __init__(self, devshop: RunningDevShop) -> None:
        self.devshop = devshop
        self.base = f"{devshop.base_url}/_devshop"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.base}{path}", timeout=60, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def new_shop(self, seed: bool = False) -> str:
        handle = f"conn-{next(_names)}-{int(time.time() * 1000) % 1_000_000}"
        self.call("POST", "/shops", json={"handle": handle, "seed": seed})
        return handle

    def session_token(self, handle: str, **claims: Any) -> str:
        return str(self.call("POST", f"/shops/{handle}/session-token", json=claims)["token"])

    def legacy_token(self, handle: str) -> str:
        return str(self.call("POST", f"/shops/{handle}/legacy-token")["access_token"])

    def create_product(
        self, handle: str, *, photos: int | list[dict[str, str]] = 1, **spec: Any
    ) -> dict[str, Any]:
        """Create a product with `photos` generated photos (or these photo specs)."""
        spec.setdefault("title", "Gold chain necklace")
        spec.setdefault("product_type", "Necklace")
        if isinstance(photos, int):
            photos = [photo_spec(f"photo-{i}.jpg", f"Photo {i}") for i in range(photos)]
        body = {**spec, "photos": photos}
        return self.call("POST", f"/shops/{handle}/products", json=body)  # type: ignore[no-any-return]

    def product(self, handle: str, product_id: int) -> dict[str, Any]:
        return self.call("GET", f"/shops/{handle}/products/{product_id}")  # type: ignore[no-any-return]

    def update_product(self, handle: str, product_id: int, **spec: Any) -> dict[str, Any]:
        return self.call("PATCH", f"/shops/{handle}/products/{product_id}", json=spec)  # type: ignore[no-any-return]

    def shop(self, handle: str) -> dict[str, Any]:
        return self.call("GET", f"/shops/{handle}")  # type: ignore[no-any-return]

    def faults(self, **switches: Any) -> None:
        self.call("PUT", "/faults", json=switches)

    def reset_faults(self) -> None:
        self.call("DELETE", "/faults")

    def advance_clock(self, seconds: float) -> None:
        self.call("POST", "/clock", json={"advance_s": seconds})

    def settle(self, timeout: float = 10.0) -> None:
        self.call("POST", "/settle", json={"timeout_s": timeout})

    def drain_bucket(self, handle: str, to: float) -> None:
        self.call("POST", f"/shops/{handle}/throttle", json={"currently_available": to})

    def refresh_grants(self, handle: str) -> list[Any]:
        """Return the refresh tokens the dev-shop issued by refreshing (not by install) for `handle`."""
        store = self.devshop.core.store
        with store.lock:
            return [r for r in store.refresh_tokens.values() if r.shop == handle and r.parent is not None]

    def app_media(self, handle: str, product_id: int) -> list[dict[str, Any]]:
        return [m for m in self.product(handle, product_id)["media"] if m["created_by"] == "app"]


@dataclass(frozen=True)
class InstalledShop:
    """A dev-shop shop with Worn installed: its handle, domain and Worn's shop id."""

    handle: str
    domain: str
    id: int
    control: DevShopControl


def install(services: Services, control: DevShopControl) -> InstalledShop:
    """Create a dev-shop shop and install Worn in it from an App Bridge session token."""
    handle = control.new_shop()
    shop = install_from_session_token(services, control.session_token(handle))
    return InstalledShop(handle, shop.domain, shop.id, control)


def gid(kind: str, numeric: int) -> str:
    """Return a Shopify GID."""
    return f"gid://shopify/{kind}/{numeric}"
