"""Name the kinds of jewelry Worn places, and what each assumes when the product states no size."""

from __future__ import annotations

from renderer.errors import InputError

NECKLACE = "necklace"
PENDANT = "pendant"
EARRINGS = "earrings"
RING = "ring"
BRACELET = "bracelet"
ANKLET = "anklet"

KINDS: tuple[str, ...] = (NECKLACE, PENDANT, EARRINGS, RING, BRACELET, ANKLET)

# What the one stated number of each kind measures (StatedSize.quantity).
CHAIN_LENGTH = "chain_length"
DROP_LENGTH = "drop_length"
STUD_DIAMETER = "stud_diameter"
RING_INNER_DIAMETER = "ring_inner_diameter"
BRACELET_LENGTH = "bracelet_length"

QUANTITIES: tuple[str, ...] = (
    CHAIN_LENGTH,
    DROP_LENGTH,
    STUD_DIAMETER,
    RING_INNER_DIAMETER,
    BRACELET_LENGTH,
)

# Typical sizes (reference/imaging.md §4.2), used when the product states none; the report says so.
TYPICAL_MM: dict[str, float] = {
    CHAIN_LENGTH: 457.2,  # 18 in, the "princess" length most pendants ship with
    DROP_LENGTH: 30.0,  # a small-to-medium drop earring
    STUD_DIAMETER: 6.0,  # a medium stud face
    RING_INNER_DIAMETER: 17.35,  # US 7
    BRACELET_LENGTH: 177.8,  # 7 in, the women's standard
}
ANKLET_TYPICAL_MM = 254.0  # 10 in

# Plausible ranges per quantity: a parsed number outside them is a misread, not a size.
PLAUSIBLE_MM: dict[str, tuple[float, float]] = {
    CHAIN_LENGTH: (250.0, 1300.0),
    DROP_LENGTH: (5.0, 150.0),
    STUD_DIAMETER: (1.5, 20.0),
    RING_INNER_DIAMETER: (11.0, 26.0),
    BRACELET_LENGTH: (120.0, 320.0),
}


def check_kind(kind: str) -> str:
    """Return the canonical kind for `kind`, or raise InputError naming the accepted ones."""
    name = (kind or "").strip().lower()
    aliases = {
        "necklaces": NECKLACE,
        "pendants": PENDANT,
        "earring": EARRINGS,
        "rings": RING,
        "bracelets": BRACELET,
        "anklets": ANKLET,
        "chain": NECKLACE,
    }
    name = aliases.get(name, name)
    if name not in KINDS:
        raise InputError(
            f"kind {kind!r} is not a jewelry kind Worn places; expected one of {', '.join(KINDS)}"
        )
    return name


def quantity_for(kind: str) -> str:
    """Return the quantity a single stated size of `kind` measures (earrings default to the drop)."""
    kind = check_kind(kind)
    if kind in (NECKLACE, PENDANT):
        return CHAIN_LENGTH
    if kind == EARRINGS:
        return DROP_LENGTH
    if kind == RING:
        return RING_INNER_DIAMETER
    return BRACELET_LENGTH
