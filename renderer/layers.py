"""Hold a placed piece as a layer on the plate, and move product pixels onto it without redrawing them."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Layer:
    """Product pixels placed on the plate: colours and alpha inside the box at (x0, y0).

    rgb: float32 h×w×3 in 0..255 (straight, not premultiplied); alpha: float32 h×w in 0..1 (what is
    placed); hidden: float32 h×w in 0..1, how much of it something in front (hair, a finger) covers.
    """

    x0: int
    y0: int
    rgb: np.ndarray
    alpha: np.ndarray
    hidden: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Return (h, w) of the layer's box."""
        return self.alpha.shape[0], self.alpha.shape[1]

    @property
    def visible(self) -> np.ndarray:
        """Return the alpha that shows after occlusion."""
        return self.alpha if self.hidden is None else self.alpha * (1.0 - self.hidden)

    def box(self) -> tuple[int, int, int, int]:
        """Return (x0, y0, x1, y1) in plate pixels."""
        h, w = self.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h


def union_box(layers: list[Layer], pad: int, width: int, height: int) -> tuple[int, int, int, int]:
    """Return the box covering all layers plus `pad`, clipped to the plate."""
    x0 = max(0, min(lay.x0 for lay in layers) - pad)
    y0 = max(0, min(lay.y0 for lay in layers) - pad)
    x1 = min(width, max(lay.box()[2] for lay in layers) + pad)
    y1 = min(height, max(lay.box()[3] for lay in layers) + pad)
    return x0, y0, max(x0 + 1, x1), max(y0 + 1, y1)


def merge(layers: list[Layer], box: tuple[int, int, int, int]) -> Layer:
    """Return the layers painted in order into one layer covering `box`."""
    x0, y0, x1, y1 = box
    rgb = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    alpha = np.zeros((y1 - y0, x1 - x0), np.float32)
    hidden = np.zeros_like(alpha)
    for lay in layers:
        lx0, ly0, lx1, ly1 = lay.box()
        ax0, ay0, ax1, ay1 = max(lx0, x0), max(ly0, y0), min(lx1, x1), min(ly1, y1)
        if ax0 >= ax1 or ay0 >= ay1:
            continue
        src = (slice(ay0 - ly0, ay1 - ly0), slice(ax0 - lx0, ax1 - lx0))
        dst = (slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0))
        a = lay.alpha[src]
        vis = lay.visible[src]
        rgb[dst] = rgb[dst] * (1 - a[..., None]) + lay.rgb[src] * a[..., None]
        # Visible coverage composes as "over"; the hidden share follows from it.
        old_a, old_vis = alpha[dst], alpha[dst] * (1 - hidden[dst])
        new_a = a + old_a * (1 - a)
        new_vis = vis + old_vis * (1 - a)
        alpha[dst] = new_a
        hidden[dst] = np.where(new_a > 1e-6, 1 - new_vis / np.maximum(new_a, 1e-6), 0)
    return Layer(x0, y0, rgb, alpha, hidden)


def warp_piece(
    rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, width: int, height: int, pad: int = 2
) -> Layer | None:
    """Move a piece (uint8/float rgb, float alpha) by a 2×3 affine `matrix` onto a width×height plate.

    Only the box the piece lands in is computed. Strong reductions are pre-filtered (area
    averaging) so fine chains do not alias. Returns None when the piece lands outside the plate.
    """
    h, w = alpha.shape
    m = np.asarray(matrix, np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    src_rgb = rgb.astype(np.float32)
    src_a = alpha.astype(np.float32)
    if scale < 0.7:
        # Area-average down first: a linear warp alone would skip over thin wire.
        f = scale / 0.85
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        pre = np.asarray(cv2.resize(src_rgb * src_a[..., None], (nw, nh), interpolation=cv2.INTER_AREA))
        src_a = np.asarray(cv2.resize(src_a, (nw, nh), interpolation=cv2.INTER_AREA), np.float32)
        src_rgb = (pre / np.maximum(src_a, 1e-6)[..., None]).astype(np.float32)
        m = m @ np.array([[w / nw, 0, 0], [0, h / nh, 0], [0, 0, 1]], np.float64)
        h, w = nh, nw
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    x0 = max(0, int(np.floor(corners[:, 0].min())) - pad)
    y0 = max(0, int(np.floor(corners[:, 1].min())) - pad)
    x1 = min(width, int(np.ceil(corners[:, 0].max())) + pad)
    y1 = min(height, int(np.ceil(corners[:, 1].max())) + pad)
    if x0 >= x1 or y0 >= y1:
        return None
    shifted = m.copy()
    shifted[0, 2] -= x0
    shifted[1, 2] -= y0
    size = (x1 - x0, y1 - y0)
    premul = cv2.warpAffine(
        src_rgb * src_a[..., None],
        shifted,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0,),
    )
    a = cv2.warpAffine(
        src_a, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,)
    )
    out_rgb = premul / np.maximum(a, 1e-6)[..., None]
    return Layer(x0, y0, np.clip(out_rgb, 0, 255).astype(np.float32), np.clip(a, 0, 1).astype(np.float32))


def similarity(
    scale: float, angle_rad: float, src: np.ndarray, dst: np.ndarray, mirror: bool = False
) -> np.ndarray:
    """Return the 2×3 matrix that scales by `scale`, rotates by `angle_rad` (and mirrors) src onto dst."""
    c, s = np.cos(angle_rad) * scale, np.sin(angle_rad) * scale
    a = np.array([[c, -s], [s, c]], np.float64)
    if mirror:
        a = a @ np.array([[-1, 0], [0, 1]], np.float64)
    t = np.asarray(dst, np.float64) - a @ np.asarray(src, np.float64)
    return np.hstack([a, t[:, None]])
