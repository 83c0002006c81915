"""The band a diffusion pass may repaint around a placed piece, and the crop that holds it.

The band is a ring: it starts inside the matte's soft edge (the seam), runs over the skin the piece touches
and out past it by a shadow margin (contact shadow, hair strands over the chain). Everything the band does
not cover keeps its composite value bit for bit; the product pixels proper are ``locked``.

Pure numpy + OpenCV: no torch here, so the geometry is testable and cheap on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from renderer.errors import InputError

# An alpha at or above this is a fully opaque product pixel (one 8-bit step below 1.0).
OPAQUE_ALPHA = 254.5 / 255.0


@dataclass(frozen=True)
class Band:
    """The pixels refinement may change, the product pixels it must not, and the crop around both.

    ``locked`` and ``region`` never overlap. ``weight`` is 0 outside ``region`` and ramps up from the band's
    outer edge so the repainted ring fades into the untouched plate instead of ending in a step.
    ``box`` is ``(x0, y0, x1, y1)``, half-open, in image pixels.
    """

    locked: np.ndarray
    region: np.ndarray
    weight: np.ndarray
    box: tuple[int, int, int, int]

    @property
    def band_pixels(self) -> int:
        """Count the pixels refinement may change."""
        return int(self.region.sum())

    @property
    def locked_pixels(self) -> int:
        """Count the product pixels that keep their composite value bit for bit."""
        return int(self.locked.sum())


def check_composite(image: np.ndarray, product_alpha: np.ndarray) -> None:
    """Refuse a composite or an alpha that refinement cannot work on, naming what is wrong."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image must be an (H, W, 3) uint8 RGB array, got {_describe(image)}")
    if not isinstance(product_alpha, np.ndarray) or product_alpha.dtype != np.float32:
        raise InputError(
            f"product_alpha must be an (H, W) float32 array in [0, 1], got {_describe(product_alpha)}"
        )
    if product_alpha.shape != image.shape[:2]:
        raise InputError(
            f"product_alpha has shape {product_alpha.shape} but the image is {image.shape[:2]}; "
            "they must cover the same pixels"
        )
    if not np.isfinite(product_alpha).all():
        raise InputError("product_alpha holds NaN or infinite values; expected numbers in [0, 1]")
    low, high = float(product_alpha.min()), float(product_alpha.max())
    if low < 0.0 or high > 1.0:
        raise InputError(f"product_alpha spans [{low:g}, {high:g}]; expected values in [0, 1]")
    if high == 0.0:
        raise InputError("product_alpha is zero everywhere: there is no placed piece to refine around")


def band_for(
    product_alpha: np.ndarray,
    *,
    band_px: int,
    edge_px: int = 2,
    shadow_px: int | None = None,
    feather_px: int | None = None,
    lock_opaque: bool = True,
    min_side: int = 0,
    context: float = 0.25,
) -> Band:
    """Compute the ring to repaint around the piece and a square-as-possible crop around it.

    ``band_px``: how far the ring reaches out from the piece's edge; ``shadow_px`` (default ``band_px``)
    widens it further for the contact shadow. ``edge_px``: how far it reaches into the piece (the matte's
    soft fringe); the product mask eroded by ``edge_px`` is locked, and so is every fully opaque pixel when
    ``lock_opaque`` (so a 3 px chain is never repainted, however thin). ``min_side``: the crop's smallest
    side, so a stud's tiny ring is not blown up tenfold for the model; ``context``: the margin added around
    the ring, as a fraction of its larger side, so the model sees the skin and light it must match.
    """
    for name, value, least in (("band_px", band_px, 1), ("edge_px", edge_px, 0), ("min_side", min_side, 0)):
        if not isinstance(value, int) or value < least:
            raise InputError(f"{name} must be an integer >= {least}, got {value!r}")
    shadow = band_px if shadow_px is None else shadow_px
    if not isinstance(shadow, int) or shadow < 0:
        raise InputError(f"shadow_px must be an integer >= 0, got {shadow_px!r}")
    feather = max(1, (band_px + shadow) // 2) if feather_px is None else feather_px
    if not isinstance(feather, int) or feather < 1:
        raise InputError(f"feather_px must be an integer >= 1, got {feather_px!r}")
    if not 0.0 <= context <= 4.0:
        raise InputError(f"context must be within [0, 4] (a fraction of the band's size), got {context!r}")

    height, width = product_alpha.shape
    piece = product_alpha > 0.0
    reach = band_px + shadow
    # Work in a window around the piece: distance transforms over a whole 2048×2560 plate cost ~70 ms
    # each, and nothing beyond `reach` from the piece can be in the band.
    rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
    wy0, wy1 = max(0, int(rows[0]) - reach - 1), min(height, int(rows[-1]) + reach + 2)
    wx0, wx1 = max(0, int(cols[0]) - reach - 1), min(width, int(cols[-1]) + reach + 2)
    window = piece[wy0:wy1, wx0:wx1].astype(np.uint8)
    # Distance of every pixel to the piece (0 on it): the band and its feathering both follow from it.
    outside = cv2.distanceTransform(1 - window, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # OpenCV's exact transform returns sqrt(integer) with run-to-run float noise (~1e-5, it runs in
    # parallel): snap to the integer square so the band, and so the output, is the same on every run.
    outside = np.sqrt(np.rint(outside.astype(np.float64) ** 2)).astype(np.float32)
    eroded = erode(window, edge_px)

    locked = np.zeros((height, width), bool)
    region = np.zeros((height, width), bool)
    weight = np.zeros((height, width), np.float32)
    win_locked = eroded.astype(bool)
    if lock_opaque:
        win_locked |= product_alpha[wy0:wy1, wx0:wx1] >= OPAQUE_ALPHA
    win_region = (outside <= reach) & ~win_locked
    locked[wy0:wy1, wx0:wx1] = win_locked
    region[wy0:wy1, wx0:wx1] = win_region
    ramp = np.clip((reach + 1 - outside) / feather, 0.0, 1.0)
    weight[wy0:wy1, wx0:wx1] = np.where(win_region, ramp, 0.0)

    ys, xs = np.nonzero(win_region)
    if ys.size == 0:
        raise InputError(
            "the band around the piece is empty: every pixel near it is locked product; "
            "use a larger band_px or edge_px, or lock_opaque=False"
        )
    bounds = (int(xs.min()) + wx0, int(ys.min()) + wy0, int(xs.max()) + wx0 + 1, int(ys.max()) + wy0 + 1)
    box = _crop_box(bounds, (width, height), min_side, context)
    return Band(locked=locked, region=region, weight=weight, box=box)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Erode a 0/1 uint8 mask by a disc of ``radius`` pixels (the image border counts as inside)."""
    if radius == 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE)


def _crop_box(
    bounds: tuple[int, int, int, int], image_size: tuple[int, int], min_side: int, context: float
) -> tuple[int, int, int, int]:
    """Return a square box (clipped only by the image) around the bounds plus their context margin."""
    x0, y0, x1, y1 = bounds
    width, height = image_size
    side = max(round(max(y1 - y0, x1 - x0) * (1.0 + 2.0 * context)), min_side)
    box_w, box_h = min(side, width), min(side, height)
    # Centre the box on the region, then slide it inside the image rather than shrinking it.
    left = min(max(0, (x0 + x1 - box_w) // 2), width - box_w)
    top = min(max(0, (y0 + y1 - box_h) // 2), height - box_h)
    return left, top, left + box_w, top + box_h


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__}"
