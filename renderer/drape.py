"""Bend an unwrapped chain along a curve on the plate: a neck's drape or the front of a wrist.

Physics (reference/imaging.md §4.4): between two supports 2d apart, a chain of front length L hangs as a
catenary with 2a·sinh(d/a) = L; a heavy pendant pulls it toward a V. The supports are the neck's sides
a little above the sternal notch, where the chain turns back over the trapezius: from the front that
run is seen edge-on, so together with the back of the neck about 5.1·d of chain is out of sight. That
constant and a slight chest foreshortening were calibrated on the chart positions of §4.2 (d = 55 mm):
16 in ends at the collarbones' meeting point, 18 in about 3 cm below it, 20 in 6 cm, 24 in mid-chest
(11 cm), 30 in below the chest. Every point of the curve knows its physical arc length, so the strip's
links land where the chain's own length puts them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from renderer.layers import Layer
from renderer.loop import Strip

CHEST_FORESHORTENING = 0.95
BEHIND_NECK_FACTOR = 5.1  # chain out of sight ≈ 5.1 × half the neck's width (back of the neck + trapezius)


@dataclass(frozen=True)
class Curve:
    """A curve on the plate sampled densely: points (px), their physical arc length (mm), tangents."""

    points: np.ndarray  # N×2
    sigma_mm: np.ndarray  # N, increasing
    tangents: np.ndarray  # N×2 unit, drawn direction
    px_per_mm_along: np.ndarray  # N, drawn px per physical mm along the curve

    @property
    def length_mm(self) -> float:
        """Return the curve's physical length."""
        return float(self.sigma_mm[-1] - self.sigma_mm[0])


def _from_physical(xy_mm: np.ndarray, to_plate: Callable[[np.ndarray], np.ndarray]) -> Curve:
    seg = np.hypot(*np.diff(xy_mm, axis=0).T)
    sigma = np.concatenate([[0], np.cumsum(seg)])
    pts = to_plate(xy_mm)
    d = np.gradient(pts, axis=0)
    ds = np.gradient(sigma)
    speed = np.hypot(d[:, 0], d[:, 1]) / np.maximum(ds, 1e-9)
    tang = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    return Curve(pts, sigma, tang, speed)


def solve_catenary(half_span: float, length: float) -> float:
    """Return the catenary parameter a with 2a·sinh(half_span/a) = length (length > 2·half_span)."""
    lo, hi = half_span / 50.0, half_span * 1e4
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if 2 * mid * math.sinh(min(half_span / mid, 700)) > length:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def drape_profile(half_span_mm: float, front_mm: float, v_weight: float, n: int = 801) -> np.ndarray:
    """Return n points (x, y) in mm of a chain of `front_mm` hung between (±half_span, 0), y down.

    v_weight blends the catenary toward a V (two straight runs to the lowest point) for a pendant; the
    blend is rescaled in depth until its arc length is front_mm again.
    """
    d = half_span_mm
    x = np.linspace(-d, d, n)
    if front_mm <= 2 * d * 1.02:  # a choker: hugs the neck, barely sags
        y = 0.08 * d * (1 - (x / d) ** 2)
        return np.stack([x, y], axis=1)
    a = solve_catenary(d, front_mm)
    cat = a * (math.cosh(d / a) - np.cosh(x / a))
    depth_v = math.sqrt(max((front_mm / 2) ** 2 - d * d, 0.0))
    vee = depth_v * (1 - np.abs(x) / d)
    shape = (1 - v_weight) * cat + v_weight * vee
    lo, hi = 0.0, 4.0
    for _ in range(60):  # rescale depth so the blended curve keeps the chain's length
        mid = (lo + hi) / 2
        length = float(np.sum(np.hypot(np.diff(x), np.diff(shape * mid))))
        if length < front_mm:
            lo = mid
        else:
            hi = mid
    return np.stack([x, shape * (lo + hi) / 2], axis=1)


def neck_curve(
    right: np.ndarray, left: np.ndarray, px_per_mm: float, front_mm: float, v_weight: float
) -> Curve:
    """Return the visible drape between the neck's sides (plate px), foreshortened down the chest."""
    mid = (right + left) / 2
    u = (left - right) / max(np.hypot(*(left - right)), 1e-9)
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    half_span = float(np.hypot(*(left - right))) / 2 / px_per_mm
    prof = drape_profile(half_span, front_mm, v_weight)

    def to_plate(xy: np.ndarray) -> np.ndarray:
        return (
            mid + np.outer(xy[:, 0] * px_per_mm, u) + np.outer(xy[:, 1] * CHEST_FORESHORTENING * px_per_mm, v)
        )

    return _from_physical(prof, to_plate)


def wrist_curve(
    center: np.ndarray,
    across: np.ndarray,
    sag_dir: np.ndarray,
    half_width_px: float,
    sag_px: float,
    half_length_mm: float,
    n: int = 401,
) -> Curve:
    """Return the front half of a bracelet: a half ellipse across the wrist, links foreshortened at the sides.

    The chain is spread evenly around the wrist, so equal lengths of chain take equal angles θ of the
    ellipse x = -cos θ, y = sin θ: near the sides they turn away from the camera and crowd together.
    """
    th = np.linspace(0, math.pi, n)
    pts = (
        center[None, :]
        - np.outer(np.cos(th) * half_width_px, across)
        + np.outer(np.sin(th) * sag_px, sag_dir)
    )
    sigma = th / math.pi * half_length_mm
    d = np.gradient(pts, axis=0)
    ds = np.gradient(sigma)
    speed = np.hypot(d[:, 0], d[:, 1]) / np.maximum(ds, 1e-9)
    tang = d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    return Curve(pts, sigma, tang, speed)


def bend(
    strip: Strip,
    curve: Curve,
    strip_px_per_mm: float,
    thickness_scale: float,
    sigma_to_s: float,
    width: int,
    height: int,
) -> tuple[Layer | None, float]:
    """Draw the strip along `curve` and return (layer, strip length drawn in mm).

    Column s of the strip lands at the curve point whose arc length σ satisfies
    s = sigma_to_s + σ·strip_px_per_mm; the chain's thickness is scaled by `thickness_scale`
    (plate px per strip px). Only pixels within the chain's band around the curve are computed.
    """
    band = (strip.half_height + 1) * thickness_scale + 1.5
    pts = curve.points
    x0 = max(0, int(np.floor(pts[:, 0].min() - band)))
    y0 = max(0, int(np.floor(pts[:, 1].min() - band)))
    x1 = min(width, int(np.ceil(pts[:, 0].max() + band)) + 1)
    y1 = min(height, int(np.ceil(pts[:, 1].max() + band)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None, 0.0
    # Candidate pixels: within `band` of the polyline (rasterised, then a distance transform).
    canvas = np.full((y1 - y0, x1 - x0), 255, np.uint8)
    poly = np.round((pts - [x0, y0]) * 4).astype(np.int32)
    cv2.polylines(canvas, [poly], False, (0,), 1, cv2.LINE_8, shift=2)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, 3)
    yy, xx = np.nonzero(dist <= band + 1)
    q = np.stack([xx + x0, yy + y0], axis=1).astype(np.float64)
    tree = cKDTree(pts)
    _, i = tree.query(q)
    rel = q - pts[i]
    t = curve.tangents[i]
    along = np.einsum("ij,ij->i", rel, t)
    across = rel[:, 0] * -t[:, 1] + rel[:, 1] * t[:, 0]
    sigma = curve.sigma_mm[i] + along / np.maximum(curve.px_per_mm_along[i], 1e-6)
    inside = (sigma >= curve.sigma_mm[0]) & (sigma <= curve.sigma_mm[-1])
    s = sigma_to_s + sigma * strip_px_per_mm
    if strip.closed:
        s %= strip.length_px
    else:
        inside &= (s >= 0) & (s <= strip.length_px)  # an open chain ends where it ends
    row = strip.half_height + across / thickness_scale
    src_a, src_premul = strip.alpha, strip.rgb * strip.alpha[..., None]
    f = 1.0
    if thickness_scale < 0.7:
        # Area-average the strip down first: sampling it sparsely would skip over thin wire.
        f = thickness_scale / 0.85
        size = (max(2, round(src_a.shape[1] * f)), max(2, round(src_a.shape[0] * f)))
        f = size[0] / src_a.shape[1]
        fy = size[1] / src_a.shape[0]
        src_a = cv2.resize(src_a, size, interpolation=cv2.INTER_AREA)
        src_premul = cv2.resize(src_premul, size, interpolation=cv2.INTER_AREA)
        s, row = s * f, (row + 0.5) * fy - 0.5
    map_x = np.full(canvas.shape, -10.0, np.float32)
    map_y = np.full(canvas.shape, -10.0, np.float32)
    map_x[yy[inside], xx[inside]] = s[inside]
    map_y[yy[inside], xx[inside]] = row[inside]
    n = src_a.shape[1]
    if strip.closed:
        # Wrap the loop's ends so links crossing its seam interpolate across it.
        src_a = np.concatenate([src_a, src_a[:, :2]], axis=1)
        src_premul = np.concatenate([src_premul, src_premul[:, :2]], axis=1)
        map_x = np.where(map_x >= n, map_x - n, map_x)
    a = cv2.remap(src_a, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,))
    premul = cv2.remap(
        src_premul, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,)
    )
    rgb = premul / np.maximum(a, 1e-6)[..., None]
    # Measure how much chain was really drawn: its alpha area on the plate, undone for the local
    # stretch (across: thickness_scale, along: drawn px per strip px), over the strip's chain per column.
    cols = strip.alpha.sum(axis=0)
    density = float(cols[cols > 0.1 * cols.max()].mean()) if cols.max() > 0 else 0.0
    ai = a[yy[inside], xx[inside]]
    along_scale = curve.px_per_mm_along[i[inside]] / strip_px_per_mm
    strip_area = float(np.sum(ai / (thickness_scale * np.maximum(along_scale, 1e-6))))
    del f
    drawn_mm = strip_area / density / strip_px_per_mm if density > 0 else 0.0
    return Layer(
        x0, y0, np.clip(rgb, 0, 255).astype(np.float32), np.clip(a, 0, 1).astype(np.float32)
    ), drawn_mm
