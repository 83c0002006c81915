"""Seed a demo shop with a jewelry catalog shaped like real Shopify products."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devshop.catalog import Photo
from devshop.store import Product, Shop

if TYPE_CHECKING:
    from devshop.core import DevShop

DEFAULT_PHOTOS_DIR = Path(__file__).parent / "seed" / "photos"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VENDOR = "Worn Demo Atelier"

# Photo file names start with the kind's stem: necklace-1.jpg, earrings_gold.png, ring.webp ...
PHOTO_STEMS = {
    "necklace": "necklace",
    "pendant": "pendant",
    "earrings": "earring",
    "ring": "ring",
    "bracelet": "bracelet",
    "tshirt": "tshirt",
}


def _dimension(value: float, unit: str) -> dict[str, Any]:
    # Shopify's `dimension` metafield value: {"value": 18.0, "unit": "in"}; units in/ft/yd/mm/cm/m.
    return {"value": value, "unit": unit}


def _mf(key: str, type_: str, value: Any) -> dict[str, Any]:
    return {"namespace": "custom", "key": key, "type": type_, "value": value}


# (kind, product spec). Categories, option names and metafields mimic what merchants really enter,
# including the awkward cases: no category, size only in a variant option, size only in tags.
SEED_PRODUCTS: list[tuple[str, dict[str, Any]]] = [
    (
        "necklace",
        {
            "title": "Aurora Gold Chain Necklace",
            "product_type": "Necklaces",
            "category": "aa-6-8",
            "tags": ["gold", "chain", "necklace", "new-arrival"],
            "options": [{"name": "Metal", "values": ["14k Gold"]}],
            "metafields": [_mf("chain_length", "dimension", _dimension(18, "in"))],
        },
    ),
    (
        "necklace",
        {
            "title": "Émeraude Layered Necklace",
            "product_type": "Necklaces",
            "category": "aa-6-8",
            "tags": ["silver", "layered"],
            "options": [{"name": "Length", "values": ["40 cm", "45 cm", "50 cm"]}],
        },
    ),
    (
        "necklace",
        {
            "title": "Minimal Bar Necklace",
            "product_type": "Necklace",
            "category": None,
            "tags": ["rose gold", "minimal"],
            "metafields": [_mf("length", "dimension", _dimension(45, "cm"))],
        },
    ),
    (
        "pendant",
        {
            "title": "Teardrop Sapphire Pendant",
            "product_type": "Pendants",
            "category": "aa-6-5",
            "tags": ["sapphire", "pendant", "gold"],
            "metafields": [
                _mf("chain_length", "dimension", _dimension(16, "in")),
                _mf("pendant_drop", "dimension", _dimension(22, "mm")),
            ],
        },
    ),
    (
        "pendant",
        {
            "title": "Moon Charm Pendant",
            "product_type": "Pendants",
            "category": "aa-6-5",
            "tags": ["silver", "charm"],
            "options": [{"name": "Chain length", "values": ["16 in", "18 in", "20 in"]}],
        },
    ),
    (
        "earrings",
        {
            "title": "Pearl Drop Earrings",
            "product_type": "Earrings",
            "category": "aa-6-6",
            "tags": ["pearl", "drop", "bridal"],
            "metafields": [_mf("drop_length", "dimension", _dimension(28, "mm"))],
        },
    ),
    (
        "earrings",
        {
            "title": "Diamond Stud Earrings",
            "product_type": "Earrings",
            "category": "aa-6-6",
            "tags": ["diamond", "studs"],
            "options": [{"name": "Stone size", "values": ["4 mm", "6 mm"]}],
        },
    ),
    (
        "earrings",
        {
            "title": "Gold Hoop Earrings",
            "product_type": "Earrings",
            "category": "aa-6-6",
            "tags": ["gold", "hoops"],
            "metafields": [_mf("diameter", "dimension", _dimension(2.5, "cm"))],
        },
    ),
    (
        "earrings",
        {
            "title": "Sapphire Drop Earrings",
            "product_type": "Earrings",
            "category": "aa-6-6",
            "tags": ["sapphire", "drop"],
            "status": "draft",
        },
    ),
    (
        "ring",
        {
            "title": "Solitaire Engagement Ring",
            "product_type": "Rings",
            "category": "aa-6-9",
            "tags": ["diamond", "engagement", "platinum"],
            "options": [{"name": "Ring size", "values": ["US 5", "US 6", "US 7", "US 8"]}],
        },
    ),
    (
        "ring",
        {
            "title": "Stacking Band Ring – Rose Gold",
            "product_type": "Rings",
            "category": "aa-6-9",
            "tags": ["rose gold", "stacking"],
            "options": [{"name": "Size", "values": ["Size 50", "Size 52", "Size 54"]}],
        },
    ),
    ("ring", {"title": "Signet Ring", "product_type": "", "category": None, "tags": ["ring", "gold", "men"]}),
    (
        "bracelet",
        {
            "title": "Tennis Bracelet",
            "product_type": "Bracelets",
            "category": "aa-6-3",
            "tags": ["diamond", "tennis"],
            "metafields": [_mf("length", "dimension", _dimension(7, "in"))],
        },
    ),
    (
        "bracelet",
        {
            "title": "Charm Link Bracelet",
            "product_type": "Bracelets",
            "category": "aa-6-3",
            "tags": ["gold", "link"],
            "options": [{"name": "Length", "values": ["16 cm", "18 cm", "20 cm"]}],
        },
    ),
    (
        "bracelet",
        {"title": "Cuff Bangle", "product_type": "Bracelets", "category": "aa-6-3", "tags": ["gold", "cuff"]},
    ),
    (
        "tshirt",
        {
            "title": "Worn Logo T-Shirt",
            "product_type": "T-Shirt",
            "category": "aa-1-13-8",
            "tags": ["apparel", "merch"],
            "options": [{"name": "Size", "values": ["S", "M", "L", "XL"]}],
        },
    ),
    (
        "giftcard",
        {
            "title": "Gift Card",
            "product_type": "Gift Card",
            "category": None,
            "tags": ["gift"],
            "options": [{"name": "Denomination", "values": ["$25", "$50", "$100"]}],
        },
    ),
]


def photos_by_kind(directory: Path) -> dict[str, list[Path]]:
    """Group the images in ``directory`` by kind, from the start of their file names."""
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    return {kind: [p for p in files if p.name.lower().startswith(stem)] for kind, stem in PHOTO_STEMS.items()}


def _photo(kind: str, index: int, photos: dict[str, list[Path]], title: str) -> list[Photo]:
    candidates = photos.get(kind) or []
    if not candidates:
        return []
    path = candidates[index % len(candidates)]
    return [Photo(data=path.read_bytes(), filename=path.name, alt=title)]


def seed_shop(
    core: DevShop, handle: str, photos_dir: Path | None = None, name: str = "Worn Demo Jewelry"
) -> Shop:
    """Create shop ``handle`` with the seed catalog, photos READY, without sending webhooks."""
    photos = photos_by_kind(photos_dir or DEFAULT_PHOTOS_DIR)
    with core.store.batch():
        shop = core.catalog.create_shop(handle, name=name)
        seen: dict[str, int] = {}
        for kind, spec in SEED_PRODUCTS:
            index = seen.get(kind, 0)
            seen[kind] = index + 1
            core.catalog.create_product(
                shop,
                {"vendor": VENDOR, **spec},
                _photo(kind, index, photos, spec["title"]),
                ready=True,
                notify=False,
            )
    return shop


def generate_products(
    core: DevShop,
    shop: Shop,
    count: int,
    *,
    notify: bool = False,
    seed: int = 0,
    photos_dir: Path | None = None,
) -> list[Product]:
    """Add ``count`` catalog-like products (cycling the seed specs) for backfill-sized tests."""
    rng = random.Random(seed)
    photos = photos_by_kind(photos_dir or DEFAULT_PHOTOS_DIR)
    created = []
    with core.store.batch():
        for n in range(count):
            kind, spec = SEED_PRODUCTS[n % len(SEED_PRODUCTS)]
            product_spec = copy.deepcopy(spec)
            product_spec["title"] = f"{spec['title']} #{n + 1}"
            product_spec["vendor"] = VENDOR
            product_spec["tags"] = [*product_spec.get("tags", []), f"batch-{rng.randint(1, 9)}"]
            photo = _photo(kind, n, photos, product_spec["title"])
            created.append(core.catalog.create_product(shop, product_spec, photo, ready=True, notify=notify))
    return created
