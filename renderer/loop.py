"""Unwrap a photographed chain into a straight strip, its pendant kept apart.

A chain laid flat as a closed loop is traced as its radius at every angle around its centre; a chain
hung open (a U or a V, both ends in the photo) along the centre line `chainshape` finds from end to
end. Either line is resampled by arc length and the photo is sampled across it into a strip (length =
the chain's length in photo pixels). The strip's pixels are the photo's own, only moved, so bending it
along a neck or around a wrist keeps links as photographed. Thick blobs on the chain (a pendant, a
clasp) are found from the chain's thickness; the pendant is kept apart as a rigid piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from renderer.chainshape import LOOP, ChainShape, chain_shape, normals
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
    front_s: float  # where the front centre is: the pendant, else a loop's bottom, an open chain's middle
    pendant: Pendant | None
    pendant_s: float | None
    closed: bool = True  # a loop (column L wraps to 0) or an open chain (its ends are the strip's ends)


def unwrap(cut: Cutout) -> Strip:
    """Trace the photographed chain (a flat-lay loop, or hung open as a U or V) and return its strip.

    Raises CutoutError when the photo shows no chain that can be draped: not_a_chain, tangled, or
    not_a_loop (a loop that cannot be traced all the way round).
    """
    shape = chain_shape(cut)
    if shape.form == LOOP:
        return _unwrap_loop(cut, shape)
    return _unwrap_open(cut, shape)


def _unwrap_loop(cut: Cutout, shape: ChainShape) -> Strip:
    alpha = cut.alpha
    mask, half = shape.mask, shape.half
    pendant_mask = shape.blobs[0] if shape.blobs else np.zeros_like(mask)
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
    a_chain = _chain_alpha(alpha, pendant_mask, half)
    strip_rgb, strip_a = _sample(cut.rgb, a_chain, px, py, nx, ny, hh)
    pendant, pendant_s = None, None
    if shape.blobs:
        pendant, pendant_s = _pendant(cut, pendant_mask, px, py, s)
    # Without a pendant the front is the bottom of the loop as photographed.
    front = pendant_s if pendant_s is not None else float(s[int(np.argmax(py))])
    return Strip(strip_rgb, strip_a, length, hh, half, front, pendant, pendant_s)


def _unwrap_open(cut: Cutout, shape: ChainShape) -> Strip:
    """Sample an open chain along its centre line, one column per photo pixel of its length."""
    assert shape.line is not None
    line = shape.line
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    length = float(cum[-1])
    s = np.arange(int(np.floor(length)) + 1, dtype=np.float64)
    px, py = np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])
    nx, ny = normals(np.stack([px, py], axis=1)).T
    hh = max(int(np.ceil(3.0 * shape.half)), int(np.ceil(1.5 * shape.rope_half))) + 3
    pendant_mask = shape.pendant if shape.pendant is not None else np.zeros_like(shape.mask)
    a_chain = _chain_alpha(cut.alpha, pendant_mask, shape.half)
    # Each chain pixel belongs to its nearest point of the line: where the chain comes near itself
    # (the arms of a V above its point), a column takes only its own links, not the other arm's.
    ys, xs = np.nonzero(a_chain > 0)
    owner = np.full(a_chain.shape, -1e6, np.float32)
    owner[ys, xs] = cKDTree(np.stack([px, py], axis=1)).query(np.stack([xs, ys], axis=1))[1]
    strip_rgb, strip_a = _sample(cut.rgb, a_chain, px, py, nx, ny, hh, owner)
    pendant, pendant_s = None, None
    if shape.pendant is not None:
        pendant, pendant_s = _pendant(cut, pendant_mask, px, py, s)
    # The front: the pendant, else the middle of the chain (its ends meet behind the neck).
    front = pendant_s if pendant_s is not None else length / 2
    return Strip(strip_rgb, strip_a, length, hh, shape.half, front, pendant, pendant_s, closed=False)


def _chain_alpha(alpha: np.ndarray, pendant_mask: np.ndarray, half: float) -> np.ndarray:
    """Return the chain's alpha without the pendant and without specks smaller than the wire is thick.

    Specks apart from the chain are the backdrop seen through a link, tinted by JPEG's colour
    bleeding; on the plate they would show as dust beside the chain.
    """
    a = np.where(pendant_mask, 0.0, alpha).astype(np.float32)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats((a > 0.05).astype(np.uint8), connectivity=8)
    specks = stats[:, cv2.CC_STAT_AREA] < np.pi * half * half
    specks[0] = False
    a[specks[labels]] = 0.0
    return a


def _sample(
    rgb_u8: np.ndarray,
    a_chain: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    nx: np.ndarray,
    ny: np.ndarray,
    hh: int,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample the chain across its line into a (2hh+1)×len(px) strip: (straight rgb, alpha)."""
    offs = np.arange(-hh, hh + 1, dtype=np.float32)
    map_x = (px[None, :] + offs[:, None] * nx[None, :]).astype(np.float32)
    map_y = (py[None, :] + offs[:, None] * ny[None, :]).astype(np.float32)
    rgb = rgb_u8.astype(np.float32)
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
    if owner is not None:
        own = cv2.remap(
            owner, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=(-1e6,)
        )
        foreign = np.abs(own - np.arange(len(px), dtype=np.float32)[None, :]) > 2 * hh
        strip_a[foreign] = 0.0
        strip_rgb[foreign] = 0.0
    strip_rgb = strip_rgb / np.maximum(strip_a, 1e-6)[..., None]
    return strip_rgb, strip_a


def _pendant(
    cut: Cutout, pendant_mask: np.ndarray, px: np.ndarray, py: np.ndarray, s: np.ndarray
) -> tuple[Pendant, float]:
    """Cut the pendant out rigidly and find where along the line it hangs from."""
    alpha = cut.alpha
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
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pa = np.where(pendant_mask[y0:y1, x0:x1], alpha[y0:y1, x0:x1], 0).astype(np.float32)
    centre = np.array([xs.mean(), ys.mean()])
    attach = np.array([px[j], py[j]])
    hang = centre - attach
    hang = hang / (np.hypot(*hang) + 1e-9)
    pendant = Pendant(
        cut.rgb[y0:y1, x0:x1].astype(np.float32),
        pa,
        (float(attach[0] - x0), float(attach[1] - y0)),
        (float(hang[0]), float(hang[1])),
    )
    return pendant, float(s[j])
