"""Is it jewelry, and which kind: taxonomy first, then type, tags and title in seven languages, shop rules first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connector.fingerprint import MediaItem
from connector.jewelry import Classification, classify, words_kind
from connector.snapshot import Category, ProductSnapshot
from connector.styles import KINDS, HouseStyle, parse_style

GRACE = "pkg:matplotlib/mpl-data/sample_data/grace_hopper.jpg"


def style(**jewelry: Any) -> HouseStyle:
    """Return a style whose one plate carries every kind (so only detection decides)."""
    return parse_style(
        {"name": "all", "plates": [{"id": "p", "image": GRACE, "kinds": list(KINDS)}], "jewelry": jewelry},
        "test",
    )


def snap(
    title: str = "",
    product_type: str = "",
    tags: tuple[str, ...] = (),
    category: str | None = None,
    vendor: str = "Acme",
) -> ProductSnapshot:
    cat = None
    if category is not None:
        cat = Category(f"gid://shopify/TaxonomyCategory/{category}", category, f"Path > {category}")
    return ProductSnapshot(
        gid="gid://shopify/Product/1",
        id=1,
        title=title,
        product_type=product_type,
        tags=tags,
        vendor=vendor,
        status="active",
        category=cat,
        media=(
            MediaItem("gid://shopify/MediaImage/1", "IMAGE", "READY", "https://cdn.shopify.com/a.jpg", None),
        ),
        updated_at=dt.datetime(2025, 8, 22, tzinfo=dt.UTC),
    )


# (title, product type, tags, expected kind, or the skip code)
TITLES = [
    # English
    ("Freshwater Pearl Necklace 45 cm", "", (), "necklace"),
    ("Gold Choker with Tiny Stars", "", (), "necklace"),
    ("Figaro Chain 2mm, 50 cm", "", (), "necklace"),
    ("Initial Pendant Necklace — Sterling Silver", "", (), "pendant"),
    ("Vintage Locket", "", (), "pendant"),
    ("Hoop Earrings 20mm", "", (), "earrings"),
    ("Diamond Stud Earring", "", (), "earrings"),
    ("Pendant Earrings with Opal Drop", "", (), "earrings"),
    ("Solitaire Engagement Ring 1ct", "", (), "ring"),
    ("Classic Wedding Band 4mm", "", (), "ring"),
    ("Chain Ring in 14k Gold", "", (), "ring"),
    ("Tennis Bracelet", "", (), "bracelet"),
    ("Charm Bracelet with Heart Pendant", "", (), "bracelet"),
    ("Silver Bangle", "", (), "bracelet"),
    ("Beaded Anklet", "", (), "anklet"),
    ("Ankle Bracelet with Shells", "", (), "anklet"),
    ("Leather Key Ring", "", (), "not_jewelry"),
    ("10in Ring Light with Tripod", "", (), "not_jewelry"),
    ("O-Ring Kit, 200 pcs", "", (), "not_jewelry"),
    ("Velvet Ring Box", "", (), "not_jewelry"),
    ("Earring Backs, 50 pairs", "", (), "not_jewelry"),
    ("Brass Pendant Light for Kitchen Island", "", (), "not_jewelry"),
    ("Wooden Coat Hangers (10)", "", (), "not_jewelry"),
    ("Reflective Dog Collar", "", (), "not_jewelry"),
    ("Spring Dress in Linen", "", (), "not_jewelry"),
    ("Bringing Home Candle", "", (), "not_jewelry"),
    ("Necklace Stand in Walnut", "", (), "not_jewelry"),
    ("Apple Watch Bracelet, Milanese", "", (), "not_jewelry"),
    ("Titanium Nose Ring 8mm", "", (), "unsupported_kind"),
    ("Enamel Brooch", "", (), "unsupported_kind"),
    ("Silver Cufflinks", "", (), "unsupported_kind"),
    ("Automatic Watch 40mm", "", (), "unsupported_kind"),
    ("Necklace and Earrings Set", "", (), "unsupported_kind"),
    # French
    ("Collier Perles d'eau douce", "", (), "necklace"),
    ("Sautoir doré", "", (), "necklace"),
    ("Pendentif cœur en or", "", (), "pendant"),
    ("Collier avec pendentif trèfle", "", (), "pendant"),
    ("Boucles d’oreilles créoles", "", (), "earrings"),
    ("Puces d'oreilles diamant", "", (), "earrings"),
    ("Bague en argent 925", "", (), "ring"),
    ("Alliance or blanc", "", (), "ring"),
    ("Bracelet jonc", "", (), "bracelet"),
    ("Chevillère perlée", "", (), "anklet"),
    ("Bracelet de cheville coquillage", "", (), "anklet"),
    ("Broche fleur", "", (), "unsupported_kind"),
    # Spanish
    ("Collar de perlas cultivadas", "", (), "necklace"),
    ("Gargantilla de plata", "", (), "necklace"),
    ("Colgante corazón de oro", "", (), "pendant"),
    ("Pendientes de aro dorados", "", (), "earrings"),
    ("Aretes de plata", "", (), "earrings"),
    ("Anillo de compromiso", "", (), "ring"),
    ("Pulsera de cuero trenzado", "", (), "bracelet"),
    ("Tobillera de conchas", "", (), "anklet"),
    ("Collar para perros grande", "", (), "not_jewelry"),
    # German
    ("Halskette mit Perle", "", (), "necklace"),
    ("Silberkette 45 cm", "", (), "necklace"),
    ("Herzanhänger aus Gold", "", (), "pendant"),
    ("Anhänger Kleeblatt", "", (), "pendant"),
    ("Ohrringe Silber", "", (), "earrings"),
    ("Ohrstecker Perle", "", (), "earrings"),
    ("Goldring mit Diamant", "", (), "ring"),
    ("Ring Sterling Silber", "", (), "ring"),
    ("Armband Leder", "", (), "bracelet"),
    ("Armreif vergoldet", "", (), "bracelet"),
    ("Fußkettchen Silber", "", (), "anklet"),
    ("Schlüsselanhänger Herz", "", (), "not_jewelry"),
    ("Fahrradanhänger für Kinder", "", (), "not_jewelry"),
    # Italian
    ("Collana di perle", "", (), "necklace"),
    ("Ciondolo a cuore", "", (), "pendant"),
    ("Orecchini pendenti", "", (), "earrings"),
    ("Anello in oro bianco", "", (), "ring"),
    ("Bracciale tennis", "", (), "bracelet"),
    ("Cavigliera con conchiglie", "", (), "anklet"),
    ("Spilla smaltata", "", (), "unsupported_kind"),
    # Portuguese
    ("Colar de pérolas", "", (), "necklace"),
    ("Pingente de coração", "", (), "pendant"),
    ("Brincos de argola", "", (), "earrings"),
    ("Anel de prata", "", (), "ring"),
    ("Anéis empilháveis", "", (), "ring"),
    ("Pulseira de couro", "", (), "bracelet"),
    ("Tornozeleira de miçangas", "", (), "anklet"),
    # Dutch
    ("Ketting met parel", "", (), "necklace"),
    ("Zilveren hanger", "", (), "pendant"),
    ("Oorbellen goud", "", (), "earrings"),
    ("Ringen set van 3", "", (), "ring"),
    ("Armband van leer", "", (), "bracelet"),
    ("Enkelbandje zilver", "", (), "anklet"),
    # product type and tags decide before the title
    ("The Lucky One", "Necklaces", (), "necklace"),
    ("Aurora", "Earrings", ("new",), "earrings"),
    ("Aurora", "", ("bracelet", "sale"), "bracelet"),
    ("Ring Light Necklace", "Necklace", (), "necklace"),
    ("Solstice", "Home Decor", ("candle",), "not_jewelry"),
]


@pytest.mark.parametrize(("title", "product_type", "tags", "expected"), TITLES)
def test_words_in_seven_languages(
    title: str, product_type: str, tags: tuple[str, ...], expected: str
) -> None:
    found = classify(snap(title, product_type, tags), style())
    if expected in KINDS:
        assert (found.kind, found.code) == (expected, "jewelry"), found.reason
    else:
        assert (found.kind, found.code) == (None, expected), found.reason
    assert found.reason


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("aa-6-1", "anklet"),
        ("aa-6-3", "bracelet"),
        ("aa-6-5", "pendant"),
        ("aa-6-6", "earrings"),
        ("aa-6-8", "necklace"),
        ("aa-6-9", "ring"),
        ("aa-6-8-1", "necklace"),
        ("aa-6-2", "unsupported_kind"),
        ("aa-6-4", "unsupported_kind"),
        ("aa-6-7", "unsupported_kind"),
        ("aa-6-10", "unsupported_kind"),
        ("aa-6-10-1", "unsupported_kind"),
        ("aa-6-11", "unsupported_kind"),
        ("aa-6-12", "unsupported_kind"),
        ("co-1-7-6", "not_jewelry"),
        ("aa-1-13", "not_jewelry"),
        ("aa-6", "unknown_kind"),
    ],
)
def test_taxonomy_first(node: str, expected: str) -> None:
    # The title says ring: the category wins wherever it tells.
    found = (
        classify(snap("Gold ring", category=node), style())
        if expected != "unknown_kind"
        else classify(snap("Spring Collection No. 5", category=node), style())
    )
    if expected in KINDS:
        assert (found.kind, found.code) == (expected, "jewelry")
        assert "category" in found.reason
    else:
        assert found.code == expected, found.reason


def test_the_jewelry_category_without_a_kind_falls_back_to_words() -> None:
    found = classify(snap("Perlenkette", category="aa-6"), style())
    assert (found.kind, found.code) == ("necklace", "jewelry")


def test_shop_rules_win_when_they_match() -> None:
    rules = [
        {"field": "tag", "equals": "Layering", "kind": "necklace"},
        {"field": "vendor", "contains": "candles", "kind": "none"},
        {"field": "product_type", "equals": "Hangers", "kind": "none"},
        {"field": "category", "contains": "aa-6-11", "kind": "bracelet"},
    ]
    s = style(rules=rules)
    assert classify(snap("Aurora", tags=("layering",)), s) == Classification(
        "necklace", "jewelry", "house style rule 1 (tag equals 'Layering') matched 'layering'"
    )
    assert classify(snap("Ring-shaped candle", vendor="North Candles Co"), s).code == "not_jewelry"
    assert classify(snap("Velvet hanger", product_type="Hangers"), s).code == "not_jewelry"
    assert classify(snap("Sport band", category="aa-6-11"), s).kind == "bracelet"
    # no rule matches: the usual evidence decides
    assert classify(snap("Gold Ring"), s).kind == "ring"


def test_style_limits_kinds_and_plates() -> None:
    only_necklaces = style(kinds=["necklace", "pendant"])
    found = classify(snap("Gold Ring"), only_necklaces)
    assert found.code == "kind_disabled" and "leaves out" in found.reason

    studio = parse_style(
        {
            "name": "studio",
            "plates": [
                {"id": "grace", "image": GRACE, "kinds": ["necklace", "earrings"]},
                {"id": "hand", "image": GRACE, "kinds": ["ring"], "status": "retired"},
            ],
        },
        "test",
    )
    ring = classify(snap("Gold Ring"), studio)
    assert ring.code == "no_plate" and "no active plate" in ring.reason and ring.kind is None
    assert classify(snap("Pearl Necklace"), studio).renders


def test_words_kind_says_which_word_decided() -> None:
    assert words_kind("Collier avec pendentif") == ("pendant", None, "pendentif")
    assert words_kind("Nose ring") == (None, "body jewelry", "nose ring")
    assert words_kind("") == (None, None, None)
