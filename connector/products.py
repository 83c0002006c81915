"""Read a product from Shopify: its snapshot, its stated size, and the bytes of its source photo."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

import renderer
from connector.admin import AdminClient
from connector.httpclient import shopify_http
from connector.settings import Settings
from connector.snapshot import ProductSnapshot
from connector.styles import HouseStyle
from renderer.errors import InputError, WornError

log = logging.getLogger(__name__)

#: Where the Admin API's image URLs point. Shopify serves storefront assets from `{shop}/cdn/...` too, but
#: "the old format will continue to be used in all API responses" (changelog "Changes to Asset URLs", 2023).
CDN_HOSTS = frozenset({"cdn.shopify.com"})
IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/tiff",
    }
)
MAX_REDIRECTS = 3
# Variant option names that carry a size, in the languages merchants write them in.
SIZE_OPTION_WORDS = (
    "size", "length", "chain", "ring", "diameter", "drop",
    "größe", "grösse", "länge", "ringgröße", "taille", "longueur", "talla", "largo", "longitud", "medida",
    "misura", "lunghezza", "maat", "lengte", "storlek", "längd", "rozmiar", "długość", "tamanho",
    "comprimento",
)  # fmt: skip


class ProductNotFound(WornError):
    """The product no longer exists in the shop (deleted since the job was queued)."""

    code = "product_not_found"


class SourcePhotoError(WornError):
    """The source photo could not be fetched; `retryable` says whether trying later may help."""

    code = "source_photo"
    retryable = False

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SizeFinding:
    """The stated size found for a product (None when it states none) and notes on values passed over."""

    size: renderer.StatedSize | None
    notes: tuple[str, ...] = field(default=())


def read_product(client: AdminClient, gid: str) -> ProductSnapshot:
    """Return the product (fields, media, metafields, options) as a snapshot, or raise ProductNotFound."""
    node = client.query("product", {"id": gid}).get("product")
    if not isinstance(node, dict):
        raise ProductNotFound(f"product {gid} no longer exists in {client.domain}")
    return ProductSnapshot.from_graphql(node)


def snapshot_of(client: AdminClient, node: dict[str, Any]) -> ProductSnapshot:
    """Return the snapshot of a product from a catalog page, read again whole when its media were cut off.

    Pages carry the first media only (to stay under the query cost limit); the fingerprint needs them all.
    """
    if ((node.get("media") or {}).get("pageInfo") or {}).get("hasNextPage"):
        return read_product(client, str(node["id"]))
    return ProductSnapshot.from_graphql(node)


def _size_options(snapshot: ProductSnapshot) -> list[tuple[str, str]]:
    """Return (option name, first value) of the product's options, size-named options first.

    The first value is the first variant's: the one the product photo most likely shows.
    """
    options = [(name, values[0]) for name, values in snapshot.options if values]
    options = [(name, value) for name, value in options if value.strip().lower() != "default title"]
    named = [o for o in options if any(word in o[0].lower() for word in SIZE_OPTION_WORDS)]
    return named + [o for o in options if o not in named]


def stated_size(snapshot: ProductSnapshot, kind: str, style: HouseStyle) -> SizeFinding:
    """Find the piece's stated size: the style's size metafields for `kind` first, then its options.

    A value that states a size that cannot be real is passed over with a note (the merchant sees it);
    a product that states nothing gets None and the renderer assumes a typical size.
    """
    notes: list[str] = []
    candidates: list[tuple[str, str | dict[str, Any]]] = []
    for name in style.jewelry.size_metafields.get(kind, []):  # type: ignore[call-overload]
        raw = (snapshot.metafields.get(name) or "").strip()
        if not raw:
            continue
        if raw.startswith("["):
            notes.append(f"metafield {name} holds a list ({raw[:60]}); Worn reads a single size")
            continue
        value: str | dict[str, Any] = raw
        if raw.startswith("{"):
            try:
                value = json.loads(raw)
            except ValueError:
                notes.append(f"metafield {name} holds invalid JSON {raw[:60]!r}")
                continue
        candidates.append((f"metafield {name}", value))
    candidates += [(f"option {name!r}", value) for name, value in _size_options(snapshot)]
    for source, candidate in candidates:
        try:
            size = renderer.parse_size(candidate, kind)
        except InputError as exc:
            notes.append(f"{source}: {exc}")
            continue
        if size is not None:
            return SizeFinding(size, tuple(notes))
    return SizeFinding(None, tuple(notes))


# --- the source photo ------------------------------------------------------------------------------------


def allowed_source(url: str, settings: Settings, shop_domain: str) -> bool:
    """Say whether Worn may download `url`: Shopify's CDN, the shop's own /cdn/ path, or the dev-shop."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (
        host in CDN_HOSTS or (host == shop_domain and parts.path.startswith("/cdn/"))
    ):
        return True
    base = settings.SHOPIFY_BASE_URL
    return base is not None and (url == base or url.startswith(base + "/"))


def download_photo(
    settings: Settings, url: str, *, shop_domain: str, http: httpx.Client | None = None
) -> tuple[bytes, str]:
    """Download a product photo within the size and time limits; return (bytes, content type).

    Refuses hosts other than Shopify's (and the dev-shop when configured), redirects that leave them,
    answers that are not images, and files over SOURCE_PHOTO_MAX_BYTES.
    """
    client = http or shopify_http(settings)
    limit = settings.SOURCE_PHOTO_MAX_BYTES
    timeout = settings.SOURCE_PHOTO_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    for _hop in range(MAX_REDIRECTS + 1):
        if not allowed_source(url, settings, shop_domain):
            raise SourcePhotoError(
                f"source photo {url[:200]!r} is not on Shopify's CDN ({', '.join(sorted(CDN_HOSTS))}); "
                "Worn downloads product photos only from Shopify"
            )
        try:
            with client.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                if response.status_code >= 500 or response.status_code == 429:
                    raise SourcePhotoError(
                        f"source photo {url[:200]!r}: HTTP {response.status_code}", retryable=True
                    )
                if response.status_code != 200:
                    raise SourcePhotoError(f"source photo {url[:200]!r}: HTTP {response.status_code}")
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if content_type not in IMAGE_TYPES:
                    raise SourcePhotoError(
                        f"source photo {url[:200]!r} is {content_type or 'untyped'}, not an image "
                        f"(expected one of {', '.join(sorted(IMAGE_TYPES))})"
                    )
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise SourcePhotoError(_too_large(url, int(declared), limit))
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise SourcePhotoError(_too_large(url, size, limit))
                    if time.monotonic() > deadline:
                        raise SourcePhotoError(
                            f"source photo {url[:200]!r} took longer than {timeout:.0f} s", retryable=True
                        )
                    chunks.append(chunk)
                return b"".join(chunks), content_type
        except httpx.TimeoutException:
            raise SourcePhotoError(
                f"source photo {url[:200]!r} took longer than {timeout:.0f} s", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise SourcePhotoError(
                f"source photo {url[:200]!r}: network error ({type(exc).__name__})", retryable=True
            ) from None
    raise SourcePhotoError(f"source photo {url[:200]!r}: more than {MAX_REDIRECTS} redirects")


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{size / 1e3:.0f} kB"


def _too_large(url: str, size: int, limit: int) -> str:
    return (
        f"source photo {url[:200]!r} is larger than {_human(limit)} (at least {_human(size)}); "
        "setting SOURCE_PHOTO_MAX_BYTES"
    )
