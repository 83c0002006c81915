"""Fit the placed piece to the plate's light: one measured global gain, contact shadow, ambient occlusion.

The piece's own pixels only ever get a single RGB gain (measured, never per pixel), so its highlights,
facets and prongs stay as photographed. The gain follows the plate's light colour (its brightest
neutral points against the product photo's backdrop) and local brightness, by `light_match`, and is
shrunk until it would move the piece by at most half the ΔE budget. Shadows darken the plate only.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

from renderer.layers import Layer


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def light_gain(
    plate: np.ndarray,
    layer: Layer,
    backdrop: tuple[float, float, float],
    light_match: float,
    max_delta_e: float,
) -> tuple[np.ndarray, str]:
    """Return the RGB gain for the piece and a note on how it was measured."""
    if light_match <= 0:
        return np.ones(3, np.float32), "plate light not matched (light_match 0)"
    h, w = plate.shape[:2]
    x0, y0, x1, y1 = layer.box()
    bw, bh = x1 - x0, y1 - y0
    rx0, ry0 = max(0, x0 - bw), max(0, y0 - bh)
    rx1, ry1 = min(w, x1 + bw), min(h, y1 + bh)
    region = plate[ry0:ry1, rx0:rx1].reshape(-1, 3).astype(np.float32)
    step = max(1, region.shape[0] // 20000)
    region = region[::step]
    lum = _luma(region)
    bright = region[lum >= np.percentile(lum, 98)]
    white = bright.mean(axis=0) + 1e-3
    cast_plate = white / white.mean()
    b = np.asarray(backdrop, np.float32) + 1e-3
    cast_prod = b / b.mean()
    overall = plate[:: max(1, h // 256), :: max(1, w // 256)].reshape(-1, 3).astype(np.float32)
    level = float(np.clip(np.percentile(lum, 90) / max(np.percentile(_luma(overall), 90), 1.0), 0.85, 1.05))
    full = np.clip(cast_plate / cast_prod * level, 0.8, 1.2)
    a = layer.alpha
    solid = layer.rgb[a > 0.9]
    if solid.shape[0] > 3000:
        solid = solid[:: solid.shape[0] // 3000]
    strength = float(light_match)
    if solid.shape[0]:
        lab0 = rgb2lab(np.clip(solid, 0, 255)[None] / 255.0)
        for _ in range(12):  # keep the piece within half the fidelity budget
            g = 1 + strength * (full - 1)
            de = float(deltaE_ciede2000(lab0, rgb2lab(np.clip(solid * g, 0, 255)[None] / 255.0)).mean())
            if de <= 0.5 * max_delta_e:
                break
            strength *= 0.6
    gain = (1 + strength * (full - 1)).astype(np.float32)
    note = (
        f"light gain R{gain[0]:.3f} G{gain[1]:.3f} B{gain[2]:.3f} "
        f"(plate light colour {' '.join(f'{v:.3f}' for v in cast_plate)}, "
        f"level {level:.2f}, match {strength:.2f})"
    )
    return gain, note


def shade(
    plate_roi: np.ndarray,
    visible: np.ndarray,
    px_per_mm: float,
    contact: str,
    shadow: float,
    occlusion: float,
    surface: np.ndarray | None,
) -> np.ndarray:
    """Return the plate box (float) darkened by the piece's contact shadow and ambient occlusion.

    A piece lying on skin casts a tight shadow just below it and darkens the skin right around it; a
    hanging earring casts a faint, soft shadow further down. `surface` (0..1) limits the darkening to
    the person (None: everywhere in the box).
    """
    out = plate_roi.astype(np.float32)
    if shadow <= 0 and occlusion <= 0:
        return out
    if contact == "hanging":
        sigma, dx, dy, strength, ao = 2.0, 0.8, 2.5, shadow * 0.4, 0.0
    else:
        sigma, dx, dy, strength, ao = 0.6, 0.15, 0.5, shadow, occlusion
    s_px = max(0.7, sigma * px_per_mm)
    m = np.array([[1, 0, dx * px_per_mm], [0, 1, dy * px_per_mm]], np.float32)
    cast = cv2.warpAffine(visible, m, (visible.shape[1], visible.shape[0]), borderValue=(0.0,))
    cast = cv2.GaussianBlur(cast, (0, 0), s_px)
    dark = strength * cast
    if ao > 0:
        around = cv2.GaussianBlur(visible, (0, 0), max(0.8, 1.5 * px_per_mm))
        dark = dark + ao * np.clip(around - visible, 0, 1)
    if surface is not None:
        dark = dark * surface
    return out * (1.0 - np.clip(dark, 0, 0.85))[..., None]


def composite(
    base: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, gain: np.ndarray | None = None
) -> np.ndarray:
    """Return the piece over `base` (both float boxes) as uint8, its colours times `gain`."""
    piece = rgb if gain is None else rgb * gain
    out = base * (1 - alpha[..., None]) + np.clip(piece, 0, 255) * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
