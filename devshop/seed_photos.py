"""Draw the seed catalog's product photos: one jewelry piece on a plain studio background.

Run ``python -m devshop.seed_photos [OUT_DIR]`` to regenerate ``devshop/seed/photos``. The pictures
are procedural (OpenCV drawing, fixed seeds), so they are reproducible and need no download.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

SIZE = 900
METALS = {  # BGR base, highlight
    "gold": ((40, 165, 212), (150, 225, 250)),
    "silver": ((175, 175, 178), (245, 245, 248)),
    "rose": ((120, 135, 205), (190, 200, 245)),
}
GEMS = {
    "sapphire": (150, 60, 20),
    "emerald": (90, 140, 20),
    "ruby": (40, 30, 170),
    "diamond": (235, 235, 240),
}
OUTPUT_DIR = Path(__file__).parent / "seed" / "photos"

Layer = tuple[np.ndarray, np.ndarray]  # colour (BGR float), alpha (0..1 float)


def _layer() -> Layer:
    return np.zeros((SIZE, SIZE, 3), np.float32), np.zeros((SIZE, SIZE), np.float32)


def _stroke(layer: Layer, pts: np.ndarray, metal: str, width: int, closed: bool = False) -> None:
    """Draw a metal wire along ``pts`` with a darker edge and a highlight."""
    color, alpha = layer
    base, light = METALS[metal]
    dark = tuple(int(c * 0.55) for c in base)
    path = [pts.astype(np.int32).reshape(-1, 1, 2)]
    cv2.polylines(color, path, closed, dark, width + 2, cv2.LINE_AA)
    cv2.polylines(alpha, path, closed, (1.0,), width + 2, cv2.LINE_AA)
    cv2.polylines(color, path, closed, base, width, cv2.LINE_AA)
    shifted = [(pts - [width * 0.2, width * 0.25]).astype(np.int32).reshape(-1, 1, 2)]
    cv2.polylines(color, shifted, closed, light, max(1, width // 3), cv2.LINE_AA)


def _chain(layer: Layer, pts: np.ndarray, metal: str, link: float = 13.0) -> None:
    """Draw a cable chain of alternating oval links along the polyline ``pts``."""
    seg = np.diff(pts, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0], np.cumsum(lengths)])
    base, light = METALS[metal]
    dark = tuple(int(c * 0.5) for c in base)
    color, alpha = layer
    for i, d in enumerate(np.arange(0, cum[-1], link)):
        k = min(np.searchsorted(cum, d, side="right") - 1, len(seg) - 1)
        t = (d - cum[k]) / max(lengths[k], 1e-6)
        x, y = pts[k] + t * seg[k]
        angle = float(np.degrees(np.arctan2(seg[k][1], seg[k][0])))
        axes = (
            (int(link * 0.75), int(link * 0.42)) if i % 2 == 0 else (int(link * 0.75), int(link * 0.16) + 1)
        )
        center = (int(x), int(y))
        cv2.ellipse(color, center, axes, angle, 0, 360, dark, 4, cv2.LINE_AA)
        cv2.ellipse(alpha, center, axes, angle, 0, 360, (1.0,), 4, cv2.LINE_AA)
        cv2.ellipse(color, center, axes, angle, 0, 360, base, 2, cv2.LINE_AA)
        cv2.ellipse(color, center, axes, angle, 200, 290, light, 1, cv2.LINE_AA)


def _gem(layer: Layer, center: tuple[int, int], radius: int, gem: str, shape: str = "round") -> None:
    """Draw a faceted stone (round or teardrop) with a table highlight."""
    color, alpha = layer
    bgr = np.array(GEMS[gem], np.float32)
    cx, cy = center
    if shape == "drop":
        # Pointed at the top, round at the bottom: x = r sin t sin(t/2), y = -1.3 r cos t.
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        pts = np.stack([cx + radius * np.sin(t) * np.sin(t / 2), cy - 1.3 * radius * np.cos(t)], axis=1)
        pts = pts.astype(np.int32)
    else:
        pts = np.asarray(cv2.ellipse2Poly(center, (radius, radius), 0, 0, 360, 8))
    cv2.fillPoly(color, [pts], tuple(float(c) * 0.55 for c in bgr), cv2.LINE_AA)
    cv2.fillPoly(alpha, [pts], (1.0,), cv2.LINE_AA)
    inner = ((pts - center) * 0.62 + center).astype(np.int32)
    cv2.fillPoly(color, [inner], tuple(float(c) for c in bgr), cv2.LINE_AA)
    for p in pts[:: max(1, len(pts) // 8)]:
        cv2.line(
            color,
            center,
            tuple(int(v) for v in p),
            tuple(float(min(255, c * 1.25)) for c in bgr),
            1,
            cv2.LINE_AA,
        )
    cv2.circle(
        color, (cx - radius // 3, cy - radius // 3), max(2, radius // 6), (255, 255, 255), -1, cv2.LINE_AA
    )


def _pearl(layer: Layer, center: tuple[int, int], radius: int) -> None:
    color, alpha = layer
    for r in range(radius, 0, -1):
        shade = 205 + 45 * (1 - r / radius)
        cv2.circle(
            color,
            (center[0] - (radius - r) // 3, center[1] - (radius - r) // 3),
            r,
            (shade, shade, shade + 4),
            -1,
            cv2.LINE_AA,
        )
    cv2.circle(alpha, center, radius, (1.0,), -1, cv2.LINE_AA)


def _catenary(x0: float, x1: float, top: float, sag: float, n: int = 200) -> np.ndarray:
    """Return a U-shaped drape from (x0, top) to (x1, top) that sags ``sag`` pixels in the middle."""
    xs = np.linspace(x0, x1, n)
    mid, half = (x0 + x1) / 2, (x1 - x0) / 2
    return np.stack([xs, top + sag * (1 - ((xs - mid) / half) ** 2)], axis=1).astype(np.float32)


def necklace(layer: Layer, rng: np.random.Generator, metal: str, pendant: bool) -> None:
    """A chain draped in a U, with a clasp, and optionally a stone pendant at the bottom."""
    top, sag = 190 + rng.integers(-20, 20), 430 + rng.integers(-40, 40)
    curve = _catenary(170, 730, float(top), float(sag))
    _chain(layer, curve, metal, link=12.0 if pendant else 15.0)
    _stroke(layer, np.array([[165, top - 6], [175, top + 8]], np.float32), metal, 7)
    bottom = (450, int(top + sag))
    if pendant:
        _stroke(layer, np.array([[450, bottom[1]], [450, bottom[1] + 26]], np.float32), metal, 6)
        _gem(
            layer,
            (450, bottom[1] + 70),
            38 + int(rng.integers(0, 10)),
            str(rng.choice(list(GEMS)[:3])),
            "drop",
        )


def earrings(layer: Layer, rng: np.random.Generator, metal: str, style: str) -> None:
    """A mirrored pair: hooks with drops, studs, or hoops."""
    for cx in (300, 600):
        if style == "stud":
            _gem(layer, (cx, 430), 44, "diamond")
            _stroke(
                layer,
                np.asarray(cv2.ellipse2Poly((cx, 430), (50, 50), 0, 0, 360, 10)).astype(np.float32),
                metal,
                6,
                True,
            )
        elif style == "hoop":
            _stroke(
                layer,
                np.asarray(cv2.ellipse2Poly((cx, 470), (110, 120), 0, -80, 260, 4)).astype(np.float32),
                metal,
                14,
            )
        else:
            hook = np.asarray(cv2.ellipse2Poly((cx, 250), (45, 55), 0, 180, 360, 6)).astype(np.float32)
            _stroke(layer, hook, metal, 5)
            _stroke(
                layer, np.array([[cx + 45, 250], [cx + 40, 290], [cx, 330], [cx, 400]], np.float32), metal, 5
            )
            if style == "pearl":
                _pearl(layer, (cx, 455), 55)
            else:
                _gem(layer, (cx, 470), 48, str(rng.choice(list(GEMS))), "drop")


def ring(layer: Layer, rng: np.random.Generator, metal: str, stone: bool) -> None:
    """A band seen from slightly above: darker back arc, bright front arc, optional solitaire."""
    center, axes = (450, 520), (190, 95)
    base = METALS[metal][0]
    back = np.asarray(cv2.ellipse2Poly(center, axes, 0, 180, 360, 3)).astype(np.float32)
    front = np.asarray(cv2.ellipse2Poly(center, axes, 0, 0, 180, 3)).astype(np.float32)
    color, alpha = layer
    dark = tuple(int(c * 0.6) for c in base)
    cv2.polylines(color, [back.astype(np.int32)], False, dark, 30, cv2.LINE_AA)
    cv2.polylines(alpha, [back.astype(np.int32)], False, (1.0,), 30, cv2.LINE_AA)
    _stroke(layer, front, metal, 34)
    if stone:
        _stroke(layer, np.array([[410, 430], [450, 380], [490, 430]], np.float32), metal, 8)
        _gem(layer, (450, 350), 58, "diamond")


def bracelet(layer: Layer, rng: np.random.Generator, metal: str, style: str) -> None:
    """A bracelet lying flat: tennis (stones), link chain, or cuff."""
    center, axes = (450, 470), (300, 230)
    if style == "cuff":
        arc = np.asarray(cv2.ellipse2Poly(center, axes, 0, 30, 330, 3)).astype(np.float32)
        _stroke(layer, arc, metal, 48)
        return
    loop = np.asarray(cv2.ellipse2Poly(center, axes, 0, 0, 360, 2)).astype(np.float32)
    if style == "tennis":
        _stroke(layer, loop, metal, 10, True)
        for t in np.linspace(0, 2 * np.pi, 34, endpoint=False):
            _gem(
                layer,
                (int(center[0] + axes[0] * np.cos(t)), int(center[1] + axes[1] * np.sin(t))),
                17,
                "diamond",
            )
    else:
        _chain(layer, np.vstack([loop, loop[:1]]), metal, link=24.0)


def tshirt(layer: Layer, rng: np.random.Generator, metal: str, style: str) -> None:
    """A folded-flat T-shirt (the catalog's non-jewelry product)."""
    color, alpha = layer
    body = np.array(
        [
            [300, 180],
            [380, 160],
            [450, 200],
            [520, 160],
            [600, 180],
            [760, 300],
            [690, 390],
            [620, 340],
            [620, 760],
            [280, 760],
            [280, 340],
            [210, 390],
            [140, 300],
        ],
        np.int32,
    )
    cv2.fillPoly(color, [body], (90, 55, 35), cv2.LINE_AA)
    cv2.fillPoly(alpha, [body], (1.0,), cv2.LINE_AA)
    cv2.ellipse(color, (450, 185), (70, 40), 0, 0, 180, (60, 35, 20), 10, cv2.LINE_AA)
    cv2.putText(color, "WORN", (345, 470), cv2.FONT_HERSHEY_DUPLEX, 2.6, (235, 235, 235), 5, cv2.LINE_AA)


def render(draw: Callable[[Layer], None], seed: int) -> np.ndarray:
    """Composite one drawn piece with a soft contact shadow on a warm off-white backdrop."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, SIZE, dtype=np.float32)[:, None, None]
    tone = np.array([238, 242, 246], np.float32) + rng.integers(-4, 4, 3)
    background = np.broadcast_to(tone - 14 * ys, (SIZE, SIZE, 3)).copy()
    layer = _layer()
    draw(layer)
    color, alpha = layer
    shadow = cv2.GaussianBlur(alpha, (0, 0), 14)
    shadow = np.roll(np.roll(shadow, 12, axis=0), 8, axis=1)
    background *= (1 - 0.28 * np.clip(shadow, 0, 1))[..., None]
    a = np.clip(alpha, 0, 1)[..., None]
    image = background * (1 - a) + color * a
    return np.clip(image, 0, 255).astype(np.uint8)


def catalog() -> dict[str, tuple[Callable[[Layer], None], int]]:
    """Return every seed photo: file stem -> (drawing function, seed)."""

    def with_rng(fn: Callable[..., None], seed: int, *args: object) -> tuple[Callable[[Layer], None], int]:
        return (lambda layer: fn(layer, np.random.default_rng(seed), *args)), seed

    return {
        "necklace-1": with_rng(necklace, 11, "gold", False),
        "necklace-2": with_rng(necklace, 12, "silver", False),
        "necklace-3": with_rng(necklace, 13, "rose", False),
        "pendant-1": with_rng(necklace, 21, "gold", True),
        "pendant-2": with_rng(necklace, 22, "silver", True),
        "earrings-1": with_rng(earrings, 31, "gold", "pearl"),
        "earrings-2": with_rng(earrings, 32, "silver", "stud"),
        "earrings-3": with_rng(earrings, 33, "gold", "hoop"),
        "earrings-4": with_rng(earrings, 34, "rose", "drop"),
        "ring-1": with_rng(ring, 41, "silver", True),
        "ring-2": with_rng(ring, 42, "rose", False),
        "ring-3": with_rng(ring, 43, "gold", False),
        "bracelet-1": with_rng(bracelet, 51, "silver", "tennis"),
        "bracelet-2": with_rng(bracelet, 52, "gold", "link"),
        "bracelet-3": with_rng(bracelet, 53, "gold", "cuff"),
        "tshirt-1": with_rng(tshirt, 61, "gold", "plain"),
    }


def main(argv: list[str] | None = None) -> int:
    """Write every seed photo as a JPEG into the output directory."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for stem, (draw, seed) in catalog().items():
        image = render(draw, seed)
        cv2.imwrite(str(out / f"{stem}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(f"wrote {out / (stem + '.jpg')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
