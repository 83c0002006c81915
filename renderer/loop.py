"""Unwrap a chain photographed flat as a closed loop into a straight strip, its pendant kept apart.

A flat-lay necklace or bracelet is a loop around a centre: its centre line is traced as the chain's
radius at every angle, resampled by arc length, and the photo is sampled across it into a strip
(length = the chain's length in photo pixels). The strip's pixels are the photo's own, only moved, so
bending it along a neck or around a wrist keeps links as photographed. Thick blobs on the chain (a
pendant, a clasp) are found from the chain's thickness; the biggest is kept apart as a rigid piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from renderer.cutout import Cutout
from renderer.errors import CutoutError

ANGLE_BINS = 720


@dataclass(frozen=True)
class Pendant:
    """The rigid piece hanging from the chain: its crop, where it hangs from, and which way it hangs."""

    rgb: np.ndarray  # float32 h×w×3
    alpha: np.ndarray  # float32 h×w
    attach: tuple[float, float]  # the bail's point on the chain's centre line, crop coordinates
    hang: tuple[float, float]  # unit vector from the attach point toward the pendant's centre


@dataclass(frozen=True)
class Strip:
    """A chain unwrapped: row hh is its centre line; column s is s photo pixels along it."""

    rgb: np.ndarray  # float32 (2hh+1)×L×3
    alpha: np.ndarray  # float32 (2hh+1)×L, the pendant cut out of it
    length_px: float  # the loop's length in photo pixels
    half_height: int
    half_width_px: float  # the chain's half thickness
    front_s: float  # where along the strip the front centre is (the pendant, or opposite the clasp)
    pendant: Pendant | None
    pendant_s: float | None


def _thickness(mask: np.ndarray) -> tuple[np.ndarray, float]:
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    vals = dt[dt > 0]
    half = float(np.percentile(vals, 60)) if vals.size else 1.0
    return dt, max(half, 0.75)


def _blobs(mask: np.ndarray, dt: np.ndarray, half: float) -> list[np.ndarray]:
    """Return masks of thick parts (pendant, clasp), biggest first, grown back to their outline."""
    core = dt > max(2.5, 3.0 * half)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats(core.astype(np.uint8), connectivity=8)
    out = []
    for i in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1:
        if stats[i, cv2.CC_STAT_AREA] < max(6, 2 * half * half):
            break
        blob = labels == i
        # Grow within the piece by a few chain widths: the bezel's rim and the bail come along.
        grown = blob.copy()
        k = np.ones((3, 3), np.uint8)
        for _ in range(int(np.ceil(3.5 * half)) + 2):
            grown = cv2.dilate(grown.astype(np.uint8), k).astype(bool) & mask
        out.append(grown)
    return out


def unwrap(cut: Cutout) -> Strip:
    """Trace a flat-lay chain loop and return its strip; raise CutoutError if it is not a loop."""
    alpha = cut.alpha
    mask = alpha > 0.3
    dt, half = _thickness(mask)
    blobs = _blobs(mask, dt, half)
    pendant_mask = blobs[0] if blobs else np.zeros_like(mask)
    chain = mask & ~pendant_mask
    ys, xs = np.nonzero(chain)
    if len(xs) < 50:
        raise CutoutError("not_a_loop", "no chain found in the photo to drape")
    # The loop's centre: the ellipse fitted to the chain (robust to a pendant inside it or a gap).
    (cx, cy), (ax1, ax2), _ = cv2.fitEllipse(np.stack([xs, ys], axis=1).astype(np.float32))
    if min(ax1, ax2) < 10 * half:
        raise CutoutError(
            "not_a_loop",
            "the chain is not laid flat as a closed loop (no open space inside it), so it cannot be "
            "draped; photograph the necklace or bracelet closed, laid flat in a loop",
        )
    w = alpha[ys, xs]
    ang = np.arctan2(ys - cy, xs - cx)
    rad = np.hypot(xs - cx, ys - cy)
    bins = ((ang + np.pi) / (2 * np.pi) * ANGLE_BINS).astype(int) % ANGLE_BINS
    sums = np.bincount(bins, weights=w * rad, minlength=ANGLE_BINS)
    wsum = np.bincount(bins, weights=w, minlength=ANGLE_BINS)
    r = np.full(ANGLE_BINS, np.nan)
    ok = wsum > 0.3
    r[ok] = sums[ok] / wsum[ok]
    if ok.sum() < 0.75 * ANGLE_BINS:
        raise CutoutError(
            "not_a_loop", "the chain does not go all the way round: lay it flat as a closed loop"
        )
    idx = np.arange(ANGLE_BINS)
    r = np.interp(idx, idx[ok], r[ok], period=ANGLE_BINS)
    r = ndimage.gaussian_filter1d(r, 2.0, mode="wrap")
    theta = (idx + 0.5) / ANGLE_BINS * 2 * np.pi - np.pi
    pts = np.stack([cx + r * np.cos(theta), cy + r * np.sin(theta)], axis=1)
    closed = np.vstack([pts, pts[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    cum = np.concatenate([[0], np.cumsum(seg)])
    length = float(cum[-1])
    n = int(np.ceil(length))
    s = np.linspace(0, length, n, endpoint=False)
    px = np.interp(s, cum, closed[:, 0])
    py = np.interp(s, cum, closed[:, 1])
    tx = np.gradient(np.concatenate([px[-2:], px, px[:2]]))[2:-2]
    ty = np.gradient(np.concatenate([py[-2:], py, py[:2]]))[2:-2]
    tn = np.hypot(tx, ty) + 1e-9
    nx, ny = ty / tn, -tx / tn  # normal; which side is outward does not matter for a symmetric chain
    hh = int(np.ceil(3.0 * half)) + 3
    offs = np.arange(-hh, hh + 1, dtype=np.float32)
    map_x = (px[None, :] + offs[:, None] * nx[None, :]).astype(np.float32)
    map_y = (py[None, :] + offs[:, None] * ny[None, :]).astype(np.float32)
    rgb = cut.rgb.astype(np.float32)
    a_chain = np.where(pendant_mask, 0.0, alpha).astype(np.float32)
    strip_rgb = cv2.remap(
        rgb * a_chain[..., None],
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0,),
    )
    strip_a = cv2.remap(
        a_chain, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,)
    )
    strip_rgb = strip_rgb / np.maximum(strip_a, 1e-6)[..., None]

    pendant = None
    pendant_s = None
    if blobs:
        ys, xs = np.nonzero(pendant_mask)
        # The bail: the pendant pixel nearest the centre line; its nearest line point is where it hangs.
        d2 = (
            (xs[:, None] - px[None, ::4]) ** 2 + (ys[:, None] - py[None, ::4]) ** 2
            if len(xs) < 4000
            else None
        )
        if d2 is None:
            sel = np.random.default_rng(0).choice(len(xs), 4000, replace=False)
            d2 = (xs[sel, None] - px[None, ::4]) ** 2 + (ys[sel, None] - py[None, ::4]) ** 2
        j = int(np.unravel_index(np.argmin(d2), d2.shape)[1]) * 4
        pendant_s = float(s[j])
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        pa = np.where(pendant_mask[y0:y1, x0:x1], alpha[y0:y1, x0:x1], 0).astype(np.float32)
        centre = np.array([xs.mean(), ys.mean()])
        attach = np.array([px[j], py[j]])
        hang = centre - attach
        hang = hang / (np.hypot(*hang) + 1e-9)
        pendant = Pendant(
            rgb[y0:y1, x0:x1].copy(),
            pa,
            (float(attach[0] - x0), float(attach[1] - y0)),
            (float(hang[0]), float(hang[1])),
        )
    # Without a pendant the front is the bottom of the loop as photographed.
    front = pendant_s if pendant_s is not None else float(s[int(np.argmax(py))])
    return Strip(strip_rgb, strip_a, length, hh, half, front, pendant, pendant_s)
