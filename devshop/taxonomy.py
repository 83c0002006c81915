"""Name the Shopify Standard Product Taxonomy categories the simulated catalog uses."""

from __future__ import annotations

GID_PREFIX = "gid://shopify/TaxonomyCategory/"

# From Shopify/product-taxonomy dist/en/categories.txt (jewelry branch, plus the apparel leaf the
# non-jewelry seed product uses). Values are (name, full name).
CATEGORIES: dict[str, tuple[str, str]] = {
    "aa": ("Apparel & Accessories", "Apparel & Accessories"),
    "aa-1": ("Clothing", "Apparel & Accessories > Clothing"),
    "aa-1-13": ("Clothing Tops", "Apparel & Accessories > Clothing > Clothing Tops"),
    "aa-1-13-8": ("T-Shirts", "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"),
    "aa-6": ("Jewelry", "Apparel & Accessories > Jewelry"),
    "aa-6-1": ("Anklets", "Apparel & Accessories > Jewelry > Anklets"),
    "aa-6-2": ("Body Jewelry", "Apparel & Accessories > Jewelry > Body Jewelry"),
    "aa-6-3": ("Bracelets", "Apparel & Accessories > Jewelry > Bracelets"),
    "aa-6-4": ("Brooches & Lapel Pins", "Apparel & Accessories > Jewelry > Brooches & Lapel Pins"),
    "aa-6-5": ("Charms & Pendants", "Apparel & Accessories > Jewelry > Charms & Pendants"),
    "aa-6-6": ("Earrings", "Apparel & Accessories > Jewelry > Earrings"),
    "aa-6-7": ("Jewelry Sets", "Apparel & Accessories > Jewelry > Jewelry Sets"),
    "aa-6-8": ("Necklaces", "Apparel & Accessories > Jewelry > Necklaces"),
    "aa-6-9": ("Rings", "Apparel & Accessories > Jewelry > Rings"),
    "aa-6-11": ("Watches", "Apparel & Accessories > Jewelry > Watches"),
}


def normalize_category(value: str) -> str:
    """Accept ``aa-6-8`` or its GID and return the short id; refuse unknown categories."""
    short = value[len(GID_PREFIX) :] if value.startswith(GID_PREFIX) else value
    if short not in CATEGORIES:
        raise KeyError(
            f"unknown taxonomy category {value!r}; the dev-shop knows {sorted(CATEGORIES)} "
            f"(optionally prefixed with {GID_PREFIX})"
        )
    return short


def category_gid(short: str) -> str:
    """Return the GID of a short category id."""
    return GID_PREFIX + short
