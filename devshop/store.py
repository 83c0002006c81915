"""Keep the simulated shops in memory behind one lock, and in a data directory when given one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devshop.clock import parse_iso

STATE_FILE = "state.json"
STATE_FORMAT = 1


@dataclass
class Shop:
    """A store on the simulated platform, addressed as ``{handle}.myshopify.com``."""

    handle: str
    id: int
    name: str
    email: str
    created_at: datetime
    currency: str = "USD"
    iana_timezone: str = "America/New_York"
    installed: bool = True
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """Return the shop's myshopify domain."""
        return f"{self.handle}.myshopify.com"


@dataclass
class Variant:
    """A product variant; ``options`` holds its option values in the product's option order."""

    id: int
    title: str
    price: str
    options: list[str]
    position: int
    inventory_item_id: int
    created_at: datetime
    updated_at: datetime
    sku: str | None = None
    inventory_quantity: int = 5


@dataclass
class Metafield:
    """A metafield; ``value`` is always a string, as in the Admin API."""

    id: int
    namespace: str
    key: str
    type: str
    value: str


@dataclass
class Product:
    """A product; ``media_ids`` is the product's media in display order."""

    id: int
    shop: str
    title: str
    handle: str
    created_at: datetime
    updated_at: datetime
    body_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    category: str | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    metafields: list[Metafield] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)
    published_at: datetime | None = None


@dataclass
class Media:
    """A MediaImage file; it can be referenced by several products (``product_ids``)."""

    id: int
    shop: str
    image_id: int
    alt: str
    status: str
    filename: str
    original_source: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    blob: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)


@dataclass
class StagedUpload:
    """A staged upload target; ``blob`` is set once the app has put the bytes there."""

    id: str
    shop: str
    filename: str
    mime_type: str
    resource: str
    http_method: str
    created_at: datetime
    blob: str | None = None
    size: int = 0


@dataclass
class Job:
    """An asynchronous job (productReorderMedia returns one)."""

    id: str
    shop: str
    done: bool
    created_at: datetime


@dataclass
class AccessToken:
    """An Admin API access token; ``expires_at`` is None for a legacy non-expiring one."""

    token: str
    shop: str
    scope: str
    mode: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool = False
    user_id: int | None = None


@dataclass
class RefreshToken:
    """A rotating refresh token; ``parent`` is the token whose use produced it."""

    token: str
    shop: str
    created_at: datetime
    expires_at: datetime
    parent: str | None = None
    first_used_at: datetime | None = None
    retired: bool = False


_ENTITY_TABLES: dict[str, type] = {
    "shops": Shop,
    "products": Product,
    "media": Media,
    "staged": StagedUpload,
    "jobs": Job,
    "access_tokens": AccessToken,
    "refresh_tokens": RefreshToken,
}


class BlobStore:
    """Store image bytes by content hash: files in ``directory`` when given, else in memory."""

    def __init__(self, directory: Path | None) -> None:
        self._dir = directory
        self._memory: dict[str, bytes] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key (the SHA-256 hex digest)."""
        key = hashlib.sha256(data).hexdigest()
        if self._dir is None:
            self._memory[key] = data
        else:
            path = self._dir / key
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        return key

    def get(self, key: str) -> bytes | None:
        """Return the bytes stored under ``key``, or None."""
        if self._dir is None:
            return self._memory.get(key)
        path = self._dir / key
        return path.read_bytes() if path.exists() else None


class Store:
    """All simulated state. Callers hold ``lock`` while they read or change it."""

    def __init__(self, data_dir: Path | None) -> None:
        self.lock = threading.RLock()
        self.data_dir = data_dir
        self.blobs = BlobStore(data_dir / "blobs" if data_dir is not None else None)
        self.shops: dict[str, Shop] = {}
        self.products: dict[int, Product] = {}
        self.media: dict[int, Media] = {}
        self.staged: dict[str, StagedUpload] = {}
        self.jobs: dict[str, Job] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self._next_id = 7_300_000_000_000
        self._deferred = 0
        self._dirty = False
        if data_dir is not None:
            self._load()

    def new_id(self) -> int:
        """Return a fresh numeric id, shaped like Shopify's 13-digit ones."""
        with self.lock:
            self._next_id += 1
            return self._next_id

    def shop_products(self, shop: str) -> list[Product]:
        """Return the shop's products in id order."""
        return sorted((p for p in self.products.values() if p.shop == shop), key=lambda p: p.id)

    def bump(self, shop: Shop, counter: str, by: int = 1) -> None:
        """Count something that happened on the shop (media created, deleted, ...)."""
        shop.stats[counter] = shop.stats.get(counter, 0) + by

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lock and write the state once at the end instead of after every change."""
        with self.lock:
            self._deferred += 1
            try:
                yield
            finally:
                self._deferred -= 1
                if self._deferred == 0 and self._dirty:
                    self.save()

    def save(self) -> None:
        """Write the state to the data directory (atomically); a no-op without one."""
        if self.data_dir is None:
            return
        with self.lock:
            if self._deferred:
                self._dirty = True
                return
            self._dirty = False
            payload = {
                "format": STATE_FORMAT,
                "next_id": self._next_id,
                **{
                    table: [_encode(item) for item in getattr(self, table).values()]
                    for table in _ENTITY_TABLES
                },
            }
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.data_dir / (STATE_FILE + ".tmp")
            tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.data_dir / STATE_FILE)

    def _load(self) -> None:
        assert self.data_dir is not None
        path = self.data_dir / STATE_FILE
        if not path.exists():
            return
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"dev-shop state file {path} is unreadable ({exc}); move it away to start fresh"
            ) from exc
        if payload.get("format") != STATE_FORMAT:
            raise ValueError(
                f"dev-shop state file {path} has format {payload.get('format')!r}, expected {STATE_FORMAT}"
            )
        self._next_id = int(payload["next_id"])
        for table, cls in _ENTITY_TABLES.items():
            target = getattr(self, table)
            for raw in payload.get(table, []):
                item = _decode(cls, raw)
                target[_key_of(item)] = item


def _key_of(item: Any) -> Any:
    if isinstance(item, Shop):
        return item.handle
    if isinstance(item, AccessToken | RefreshToken):
        return item.token
    return item.id


def _encode(item: Any) -> Any:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: _encode(getattr(item, f.name)) for f in dataclasses.fields(item)}
    if isinstance(item, datetime):
        return {"$dt": item.isoformat()}
    if isinstance(item, list):
        return [_encode(v) for v in item]
    if isinstance(item, dict):
        return {k: _encode(v) for k, v in item.items()}
    return item


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return parse_iso(value["$dt"])
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _decode(cls: type, raw: dict[str, Any]) -> Any:
    values = {k: _decode_value(v) for k, v in raw.items()}
    if cls is Product:
        values["variants"] = [Variant(**v) for v in values.get("variants", [])]
        values["metafields"] = [Metafield(**m) for m in values.get("metafields", [])]
    return cls(**values)
