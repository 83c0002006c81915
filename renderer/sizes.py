"""Read the size a merchant states for a piece ("45 cm", "US 7", "17,5 cm", a dimension metafield) as mm."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from renderer.errors import InputError
from renderer.kinds import (
    ANKLET,
    BRACELET_LENGTH,
    CHAIN_LENGTH,
    DROP_LENGTH,
    EARRINGS,
    PLAUSIBLE_MM,
    QUANTITIES,
    RING,
    RING_INNER_DIAMETER,
    STUD_DIAMETER,
    check_kind,
    quantity_for,
)

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class StatedSize:
    """One physical dimension of a piece in mm, what it measures, and where it came from.

    quantity: chain_length | drop_length | stud_diameter | ring_inner_diameter | bracelet_length.
    source: "text" (product text), "metafield" (a Shopify dimension metafield) or "typical" (assumed).
    text: the words it was read from; note: how an ambiguity was settled (empty when there was none).
    """

    quantity: str
    mm: float
    source: str
    text: str
    note: str = ""

    def describe(self) -> str:
        """Return a short human phrase such as 'chain length 457 mm (from "18 in")'."""
        what = self.quantity.replace("_", " ")
        if self.source == "typical":
            return f"typical {what} assumed: {self.mm:.0f} mm"
        return f"{what} {self.mm:.1f} mm (from {self.source} {self.text!r})"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatedSize:
        """Rebuild from `to_dict()` output, checking the quantity."""
        if data.get("quantity") not in QUANTITIES:
            raise InputError(f"stated size quantity {data.get('quantity')!r} is not one of {QUANTITIES}")
        return cls(
            str(data["quantity"]),
            float(data["mm"]),
            str(data["source"]),
            str(data["text"]),
            str(data.get("note", "")),
        )


# --- text normalisation -------------------------------------------------------------------------

_FRACTIONS = {"½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅛": " 1/8", "⅜": " 3/8", "⅝": " 5/8", "⅞": " 7/8"}
_QUOTES = {"″": '"', "“": '"', "”": '"', "''": '"', "’’": '"', "ʺ": '"'}


def _normalise(text: str) -> str:
    t = text.replace("\u00a0", " ").replace("\u202f", " ")
    for k, v in {**_FRACTIONS, **_QUOTES}.items():
        t = t.replace(k, v)
    t = re.sub(r"(\d),(\d)", r"\1.\2", t)  # decimal comma: "17,5 cm"
    t = t.replace("–", "-").replace("—", "-")
    return t.lower()


_NUM = r"\d+(?:\.\d+)?(?:\s+\d+/\d+)?|\d+/\d+"


def _number(s: str) -> float:
    """Read '7', '7.5', '7 1/2' or '1/2'."""
    parts = s.split()
    total = 0.0
    for p in parts:
        if "/" in p:
            a, b = p.split("/")
            total += float(a) / float(b)
        else:
            total += float(p)
    return total


# --- lengths ------------------------------------------------------------------------------------

_UNITS: dict[str, float] = {}
for _names, _mm in (
    (("mm", "millimeter", "millimeters", "millimetre", "millimetres", "millimetri", "milímetros"), 1.0),
    (
        (
            "cm",
            "centimeter",
            "centimeters",
            "centimetre",
            "centimetres",
            "zentimeter",
            "centímetros",
            "centimetri",
        ),
        10.0,
    ),
    (
        (
            "in",
            "inch",
            "inches",
            '"',
            "zoll",
            "pouce",
            "pouces",
            "pulgada",
            "pulgadas",
            "pollici",
            "pollice",
            "tommer",
            "duim",
        ),
        MM_PER_INCH,
    ),
):
    for _n in _names:
        _UNITS[_n] = _mm

_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
# A number or range, then a unit that is not the start of a longer word ("in" in "inner").
_LENGTH_RE = re.compile(
    rf"(?P<a>{_NUM})\s*(?:(?P<ua>{_UNIT_RE})(?![a-zäöüéè]))?\s*"
    rf"(?:(?P<op>-|to|bis|à|a|\+)\s*(?P<b>{_NUM}))?\s*(?P<u>{_UNIT_RE})(?![a-zäöüéè])"
)
_BARE_RE = re.compile(rf"(?<![\d.])(?P<a>{_NUM})(?:\s*-\s*(?P<b>{_NUM}))?(?![\d.])")
_STUD_WORDS = ("stud", "diameter", "ø", "⌀", "dia.", "puce", "ohrstecker", "botón", "boton", "tondo")
_DROP_WORDS = (
    "drop",
    "length",
    "long",
    "länge",
    "lange",
    "longueur",
    "largo",
    "lunghezza",
    "hänge",
    "dangle",
    "hoop",
)


def _length_candidates(t: str) -> list[tuple[float, str, str]]:
    """Return (mm, matched text, note) for every number-with-unit in `t`, in order."""
    out = []
    for m in _LENGTH_RE.finditer(t):
        unit = _UNITS[m.group("u")]
        a = _number(m.group("a"))
        a_unit = _UNITS[m.group("ua")] if m.group("ua") else unit
        if m.group("b") is None:
            out.append((a * a_unit, m.group(0).strip(), ""))
            continue
        b = _number(m.group("b"))
        if m.group("op") == "+":  # "16 + 2 in extender": the chain at full extension
            out.append(
                (
                    (a * a_unit) + b * unit,
                    m.group(0).strip(),
                    "chain plus extender: rendered at full extension",
                )
            )
        else:
            lo, hi = sorted((a * a_unit, b * unit))
            out.append(
                (
                    hi,
                    m.group(0).strip(),
                    f"adjustable {lo:.0f}-{hi:.0f} mm: rendered at the longer length, the full chain "
                    "that a flat-lay photo shows",
                )
            )
    return out


def _plausible(quantity: str, mm: float) -> bool:
    lo, hi = PLAUSIBLE_MM[quantity]
    return lo <= mm <= hi


def _parse_length(t: str, text: str, kind: str) -> StatedSize | None:
    quantity = quantity_for(kind)
    found = _length_candidates(t)
    if not found:
        # No unit at all: US shops write "Length: 18" (inches) for chains and bracelets.
        for m in _BARE_RE.finditer(t):
            n = _number(m.group("b") or m.group("a"))
            if (quantity == CHAIN_LENGTH and 12 <= n <= 40) or (quantity == BRACELET_LENGTH and 5 <= n <= 12):
                found.append((n * MM_PER_INCH, m.group(0), "no unit given: read as inches"))
            elif quantity == BRACELET_LENGTH and 13 <= n <= 30:
                found.append((n * 10.0, m.group(0), "no unit given: read as centimetres"))
    tried = []
    for mm, matched, note in found:
        q = quantity
        if kind == EARRINGS:
            stud_word = any(w in t for w in _STUD_WORDS)
            drop_word = any(w in t for w in _DROP_WORDS)
            if stud_word or (not drop_word and mm <= 12.0):
                q = STUD_DIAMETER
        if kind == ANKLET:
            note = (note + "; " if note else "") + "anklet length"
        tried.append(f"{matched!r} = {mm:.1f} mm")
        if _plausible(q, mm):
            return StatedSize(q, round(mm, 2), "text", text.strip(), note)
    if tried:
        lo, hi = PLAUSIBLE_MM[quantity]
        raise InputError(
            f"size text {text!r} for a {kind}: {', '.join(tried)}, outside the plausible "
            f"{quantity.replace('_', ' ')} of {lo:.0f}-{hi:.0f} mm; state the size with its unit, "
            "e.g. '45 cm' or '18 in'"
        )
    return None


# --- rings --------------------------------------------------------------------------------------


def us_ring_diameter_mm(size: float) -> float:
    """Return the inner diameter of US/Canada ring size `size` (0.458 in + 0.032 in per size)."""
    return (0.458 + 0.032 * size) * MM_PER_INCH


def uk_ring_diameter_mm(letter: str, half: bool = False) -> float:
    """Return the inner diameter of UK/AU ring size `letter` (A = 37.8 mm around, +1.25 mm a letter)."""
    steps = ord(letter.upper()) - ord("A") + (0.5 if half else 0.0)
    return (37.8 + 1.25 * steps) / math.pi


def japan_ring_diameter_mm(size: float) -> float:
    """Return the inner diameter of Japanese/Chinese/Indian size `size` (size 1 = 13 mm, +1/3 mm a size)."""
    return (size + 38.0) / 3.0


_US_WORDS = r"us|usa|u\.s\.|ca|canada|american"
_UK_WORDS = r"uk|gb|au|aus|nz|ie|british|australian"
_ISO_WORDS = (
    r"eu|iso|fr|de|at|be|europe|european|french|german|taille|größe|grösse|groesse|ringgröße|ringgrösse"
    r"|ringmaß|mått|storlek"
)
_MINUS40_WORDS = r"it|es|ch|nl|italy|italian|spain|spanish|swiss|talla|medida|taglia|misura"
_JP_WORDS = r"jp|japan|japanese|cn|china|chinese|india|indian|asia|asian|hk"
_HALF = r"(?P<half>\s*(?:1/2|\.5|½))?"


def _ring_from_match(t: str) -> tuple[float, str, str] | None:
    """Return (inner diameter mm, system, note) for the first ring size in `t`."""
    m = re.search(rf"(?<![a-z])(?:{_UK_WORDS})\b\s*(?:size\s*)?(?P<l>[a-z])(?![a-z]){_HALF}", t)
    if m:
        return uk_ring_diameter_mm(m.group("l"), bool(m.group("half"))), "UK", ""
    for words, system in (
        (_US_WORDS, "US"),
        (_ISO_WORDS, "ISO"),
        (_MINUS40_WORDS, "IT/ES/CH"),
        (_JP_WORDS, "JP"),
    ):
        m = re.search(
            rf"(?<![a-z])(?:{words})(?![a-z])\.?\s*(?:ring\s*)?(?:size\s*|grö(?:ss|ß)e\s*)?:?\s*"
            rf"(?P<n>{_NUM})",
            t,
        )
        if not m:
            continue
        n = _number(m.group("n"))
        if system == "US":
            return us_ring_diameter_mm(n), system, ""
        if system == "ISO":
            if n < 40:  # "taille 7" is a US size written in French
                return us_ring_diameter_mm(n), "US", "number below 40 read as a US size"
            return n / math.pi, system, ""
        if system == "IT/ES/CH":
            circ = n if n >= 40 else n + 40.0
            return circ / math.pi, system, "" if n < 40 else "number of 40 or more read as circumference"
        return japan_ring_diameter_mm(n), system, ""
    m = re.search(rf"(?P<n>{_NUM})\s*mm\b", t)
    if m:
        n = _number(m.group("n"))
        if n >= 36:
            return n / math.pi, "circumference", "millimetres of 36 or more read as inner circumference"
        return n, "diameter", "millimetres read as inner diameter"
    m = re.search(r"(?:size|taille|grö(?:ss|ß)e)\s*:?\s*(?P<l>[a-z])(?![a-z])" + _HALF, t) or re.fullmatch(
        r"\s*(?P<l>[a-z])" + _HALF + r"\s*", t
    )
    if m:
        return uk_ring_diameter_mm(m.group("l"), bool(m.group("half"))), "UK", "a letter read as a UK size"
    m = re.search(rf"(?<![\d.])(?P<n>{_NUM})(?![\d.])", t)
    if m:
        n = _number(m.group("n"))
        if n >= 40:
            return n / math.pi, "ISO", "number of 40 or more read as an ISO (EU) circumference size"
        return us_ring_diameter_mm(n), "US", "bare number read as a US size"
    return None


def _parse_ring(t: str, text: str) -> StatedSize | None:
    found = _ring_from_match(t)
    if found is None:
        return None
    mm, system, note = found
    if not _plausible(RING_INNER_DIAMETER, mm):
        lo, hi = PLAUSIBLE_MM[RING_INNER_DIAMETER]
        raise InputError(
            f"ring size text {text!r} reads as {system} size with an inner diameter of {mm:.1f} mm, outside "
            f"the plausible {lo:.0f}-{hi:.0f} mm; write it like 'US 7', 'UK N', 'EU 54' or 'IT 14'"
        )
    note = f"{system} size" + (f"; {note}" if note else "")
    return StatedSize(RING_INNER_DIAMETER, round(mm, 2), "text", text.strip(), note)


# --- metafields ---------------------------------------------------------------------------------

_METAFIELD_UNITS = {
    "MILLIMETERS": 1.0,
    "CENTIMETERS": 10.0,
    "METERS": 1000.0,
    "INCHES": MM_PER_INCH,
    "FEET": 304.8,
    "YARDS": 914.4,
    "MM": 1.0,
    "CM": 10.0,
    "M": 1000.0,
    "IN": MM_PER_INCH,
    "FT": 304.8,
}


def _parse_metafield(data: Mapping[str, Any], kind: str, raw: str) -> StatedSize:
    if "value" not in data or "unit" not in data:
        raise InputError(
            f"dimension metafield {raw!r} needs 'value' and 'unit', e.g. "
            '{"value": 18, "unit": "INCHES"}'
        )
    unit = str(data["unit"]).upper()
    if unit not in _METAFIELD_UNITS:
        raise InputError(
            f"dimension metafield unit {data['unit']!r} is not one of {', '.join(sorted(_METAFIELD_UNITS))}"
        )
    try:
        mm = float(data["value"]) * _METAFIELD_UNITS[unit]
    except (TypeError, ValueError):
        raise InputError(f"dimension metafield value {data['value']!r} is not a number") from None
    quantity = quantity_for(kind)
    note = ""
    if kind == RING:
        if mm >= 36:
            mm, note = mm / math.pi, "read as inner circumference"
        else:
            note = "read as inner diameter"
    elif kind == EARRINGS and mm <= 12.0:
        quantity = STUD_DIAMETER
    if not _plausible(quantity, mm):
        lo, hi = PLAUSIBLE_MM[quantity]
        raise InputError(
            f"dimension metafield {raw!r} gives {mm:.1f} mm, outside the plausible "
            f"{quantity.replace('_', ' ')} of {lo:.0f}-{hi:.0f} mm for a {kind}"
        )
    return StatedSize(quantity, round(mm, 2), "metafield", raw, note)


# --- entry point --------------------------------------------------------------------------------


def parse_size(text: str | Mapping[str, Any], kind: str) -> StatedSize | None:
    """Read the stated size of a `kind` piece from product text or a dimension metafield.

    Returns None when `text` states no size. Raises InputError when the kind is unknown or a size is
    there but cannot be a real one (a 2 mm necklace, a US 40 ring), naming the text and the range.
    Adjustable chains ("16-18 in") are read at the longer length: the flat-lay photo shows the full
    chain, so the photo and the number then agree; the note says so.
    """
    kind = check_kind(kind)
    if isinstance(text, Mapping):
        return _parse_metafield(text, kind, json.dumps(dict(text)))
    if not isinstance(text, str):
        raise InputError(f"size must be text or a dimension metafield, not {type(text).__name__}")
    raw = text.strip()
    if not raw:
        return None
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"dimension metafield {raw!r} is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise InputError(f"dimension metafield {raw!r} must be a JSON object")
        return _parse_metafield(data, kind, raw)
    t = _normalise(raw)
    if kind == RING:
        return _parse_ring(t, raw)
    return _parse_length(t, raw, kind)


def typical_size(kind: str, quantity: str | None = None) -> StatedSize:
    """Return the typical size assumed for `kind` when the product states none."""
    from renderer.kinds import ANKLET_TYPICAL_MM, TYPICAL_MM

    kind = check_kind(kind)
    q = quantity or quantity_for(kind)
    mm = ANKLET_TYPICAL_MM if (kind == ANKLET and q == BRACELET_LENGTH) else TYPICAL_MM[q]
    return StatedSize(q, mm, "typical", f"typical {kind}", "no size stated")


__all__ = ["CHAIN_LENGTH", "DROP_LENGTH", "StatedSize", "parse_size", "typical_size"]
