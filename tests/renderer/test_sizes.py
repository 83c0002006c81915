"""Stated sizes: real-world strings in several units, locales and ring systems, read as millimetres."""

from __future__ import annotations

import math

import pytest

from renderer.errors import InputError
from renderer.sizes import StatedSize, parse_size, typical_size

IN = 25.4


def us(size: float) -> float:
    return (0.458 + 0.032 * size) * IN


def circ(mm: float) -> float:
    return mm / math.pi


# (text, kind, quantity, expected mm)
CASES = [
    # chain lengths
    ("45 cm", "necklace", "chain_length", 450.0),
    ("18 in", "necklace", "chain_length", 18 * IN),
    ('18"', "necklace", "chain_length", 18 * IN),
    ("18 inch", "necklace", "chain_length", 18 * IN),
    ("18 inches", "pendant", "chain_length", 18 * IN),
    ("450mm", "necklace", "chain_length", 450.0),
    ("16-18 in", "necklace", "chain_length", 18 * IN),
    ("16 in - 18 in adjustable", "necklace", "chain_length", 18 * IN),
    ('16" + 2" extender', "necklace", "chain_length", 18 * IN),
    ("Chain length: 20 in", "pendant", "chain_length", 20 * IN),
    ("Länge 45 cm", "necklace", "chain_length", 450.0),
    ("Kettenlänge: 42 cm", "necklace", "chain_length", 420.0),
    ("longueur 50 cm", "necklace", "chain_length", 500.0),
    ("largo 40 cm", "necklace", "chain_length", 400.0),
    ("lunghezza 45 cm", "necklace", "chain_length", 450.0),
    ("41,5 cm", "necklace", "chain_length", 415.0),
    ("Pendant 2 cm, chain 45 cm", "pendant", "chain_length", 450.0),
    ("18 Zoll", "necklace", "chain_length", 18 * IN),
    ("Length: 18", "necklace", "chain_length", 18 * IN),
    ("16 to 18 inches", "necklace", "chain_length", 18 * IN),
    ("60cm", "necklace", "chain_length", 600.0),
    ("18\u00a0in", "necklace", "chain_length", 18 * IN),
    ("18″", "necklace", "chain_length", 18 * IN),
    # earrings
    ("2.5 cm", "earrings", "drop_length", 25.0),
    ("6 mm", "earrings", "stud_diameter", 6.0),
    ("Drop length 35 mm", "earrings", "drop_length", 35.0),
    ("Stud 8mm", "earrings", "stud_diameter", 8.0),
    ("1.5 in drop", "earrings", "drop_length", 1.5 * IN),
    ("Ø 4 mm", "earrings", "stud_diameter", 4.0),
    ("longueur 3,5 cm", "earrings", "drop_length", 35.0),
    # bracelets and anklets
    ("7 in", "bracelet", "bracelet_length", 7 * IN),
    ("17.5 cm", "bracelet", "bracelet_length", 175.0),
    ("17,5 cm", "bracelet", "bracelet_length", 175.0),
    ("6.5-7.5 in", "bracelet", "bracelet_length", 7.5 * IN),
    ("Länge: 19 cm", "bracelet", "bracelet_length", 190.0),
    ("7", "bracelet", "bracelet_length", 7 * IN),
    ("10 in", "anklet", "bracelet_length", 10 * IN),
    ("24 cm", "anklet", "bracelet_length", 240.0),
    # rings
    ("US 7", "ring", "ring_inner_diameter", us(7)),
    ("7 1/2", "ring", "ring_inner_diameter", us(7.5)),
    ("7½", "ring", "ring_inner_diameter", us(7.5)),
    ("Size 7", "ring", "ring_inner_diameter", us(7)),
    ("US size 6.5", "ring", "ring_inner_diameter", us(6.5)),
    ("Size 52", "ring", "ring_inner_diameter", circ(52)),
    ("UK N", "ring", "ring_inner_diameter", circ(37.8 + 13 * 1.25)),
    ("UK N 1/2", "ring", "ring_inner_diameter", circ(37.8 + 13.5 * 1.25)),
    ("AU M", "ring", "ring_inner_diameter", circ(37.8 + 12 * 1.25)),
    ("EU 54", "ring", "ring_inner_diameter", circ(54)),
    ("FR 54", "ring", "ring_inner_diameter", circ(54)),
    ("JP 13", "ring", "ring_inner_diameter", (13 + 38) / 3),
    ("IT 14", "ring", "ring_inner_diameter", circ(54)),
    ("taille 52", "ring", "ring_inner_diameter", circ(52)),
    ("talla 14", "ring", "ring_inner_diameter", circ(54)),
    ("Ringgröße 56", "ring", "ring_inner_diameter", circ(56)),
    ("misura 12", "ring", "ring_inner_diameter", circ(52)),
    ("inner diameter 17.3 mm", "ring", "ring_inner_diameter", 17.3),
    ("54 mm", "ring", "ring_inner_diameter", circ(54)),
    ("CH 13", "ring", "ring_inner_diameter", circ(53)),
]


@pytest.mark.parametrize(("text", "kind", "quantity", "mm"), CASES, ids=[c[0] for c in CASES])
def test_parse_size_reads_real_world_strings(text: str, kind: str, quantity: str, mm: float) -> None:
    size = parse_size(text, kind)
    assert size is not None
    assert size.quantity == quantity
    assert size.mm == pytest.approx(mm, abs=0.05)
    assert size.source == "text"
    assert size.text == text.strip()


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_us_sizes_match_the_published_table() -> None:
    # reference/imaging.md §4.2: US 5 = 15.70 mm, 7 = 17.32 mm, 9 = 18.95 mm
    for text, mm in (("US 5", 15.70), ("US 7", 17.32), ("US 9", 18.95)):
        assert parse_size(text, "ring").mm == pytest.approx(mm, abs=0.02)


def test_adjustable_chain_says_it_took_the_longer_length() -> None:
    size = parse_size("16-18 in", "necklace")
    assert "longer" in size.note


@pytest.mark.parametrize(
    ("data", "kind", "quantity", "mm"),
    [
        ({"value": 18, "unit": "INCHES"}, "necklace", "chain_length", 18 * IN),
        ('{"value": 45, "unit": "CENTIMETERS"}', "necklace", "chain_length", 450.0),
        ({"value": 17.5, "unit": "CENTIMETERS"}, "bracelet", "bracelet_length", 175.0),
        ({"value": 6, "unit": "MILLIMETERS"}, "earrings", "stud_diameter", 6.0),
        ({"value": 54, "unit": "MILLIMETERS"}, "ring", "ring_inner_diameter", circ(54)),
    ],
)
def test_parse_size_reads_dimension_metafields(data: object, kind: str, quantity: str, mm: float) -> None:
    size = parse_size(data, kind)
    assert size.quantity == quantity
    assert size.mm == pytest.approx(mm, abs=0.05)
    assert size.source == "metafield"


@pytest.mark.parametrize("text", ["", "   ", "gold plated", "Sterling silver, hypoallergenic"])
def test_no_size_gives_none(text: str) -> None:
    assert parse_size(text, "necklace") is None


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("2 mm", "necklace", "plausible chain length"),
        ("US 40", "ring", "plausible"),
        ("3 m", "bracelet", None),
        ('{"value": 18}', "necklace", "'value' and 'unit'"),
        ('{"value": 18, "unit": "PARSECS"}', "necklace", "PARSECS"),
        ('{"value": "long", "unit": "INCHES"}', "necklace", "not a number"),
        ("{not json", "necklace", "not valid JSON"),
    ],
)
def test_impossible_sizes_are_refused_with_the_text_named(text: str, kind: str, needle: str | None) -> None:
    if needle is None:
        assert parse_size(text, kind) is None  # "3 m" is no unit we read for bracelets: nothing stated
        return
    with pytest.raises(InputError) as exc:
        parse_size(text, kind)
    assert needle in str(exc.value)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="tiara"):
        parse_size("45 cm", "tiara")


def test_typical_size_says_it_was_assumed() -> None:
    size = typical_size("ring")
    assert size.source == "typical"
    assert "typical" in size.describe()
    assert StatedSize.from_dict(size.to_dict()) == size
