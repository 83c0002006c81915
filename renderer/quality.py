"""Measure what a render did to the piece: fidelity inside its mask, its achieved size, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

MIN_MASK_PIXELS = 12


def fidelity_mask(alpha: np.ndarray) -> np.ndarray:
    """Return the solid inside of the placed piece: alpha ≥ 0.95, eroded by one pixel.

    Chains too thin to keep anything after erosion fall back to their solid pixels unchanged.
    """
    solid = alpha >= 0.95
    eroded = cv2.erode(solid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return eroded if eroded.sum() >= MIN_MASK_PIXELS else solid


def fidelity(candidate: np.ndarray, reference: np.ndarray, alpha: np.ndarray) -> tuple[float, float, int]:
    """Return (SSIM, mean ΔE2000, pixels compared) of `candidate` against `reference` inside the piece.

    Both are uint8 RGB images of the same size; `alpha` (0..1, same size) is the placed piece's visible
    alpha. SSIM (on luma, Gaussian window σ 1.5) is computed on the box around the piece and averaged
    inside the eroded mask; ΔE2000 is the mean over the same pixels. A GPU refinement pass calls this
    again on its own output, with the CPU render as the reference.
    """
    if candidate.shape != reference.shape or candidate.shape[:2] != alpha.shape:
        raise ValueError(
            f"fidelity needs equal sizes, got {candidate.shape}, {reference.shape}, {alpha.shape}"
        )
    mask = fidelity_mask(alpha)
    n = int(mask.sum())
    if n < MIN_MASK_PIXELS:
        return float("nan"), float("nan"), n
    ys, xs = np.nonzero(mask)
    y0, y1 = max(0, ys.min() - 6), min(mask.shape[0], ys.max() + 7)
    x0, x1 = max(0, xs.min() - 6), min(mask.shape[1], xs.max() + 7)
    c = candidate[y0:y1, x0:x1]
    r = reference[y0:y1, x0:x1]
    m = mask[y0:y1, x0:x1]
    if min(c.shape[:2]) >= 7:
        # SSIM on luma (structure: edges, facets, links); colour is ΔE2000's job below.
        weights = np.array([0.299, 0.587, 0.114], np.float32)
        _, smap = structural_similarity(
            r.astype(np.float32) @ weights,
            c.astype(np.float32) @ weights,
            data_range=255,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            full=True,
        )
        ssim = float(smap[m].mean())
    else:
        ssim = float("nan")
    lab_c = rgb2lab(c[m][None].astype(np.float64) / 255.0)
    lab_r = rgb2lab(r[m][None].astype(np.float64) / 255.0)
    de = float(deltaE_ciede2000(lab_r, lab_c).mean())
    return ssim, de, n


@dataclass(frozen=True)
class QualityReport:
    """The numbers of one render, and which bars it passed.

    ssim / delta_e: fidelity of the piece inside its eroded mask against the placed cutout (the product
    photo's pixels, only moved); fidelity_pixels: how many pixels that covers. stated: what the size
    means and where it came from (typical when none was stated); achieved_mm and scale_error: what the
    render measures on itself and how far off the stated size that is. anchor_confidence: how sure
    the landmarks were; px_per_mm and scale_source: the plate's scale; light_gain: the global RGB gain
    applied to the piece. passed: fidelity / scale / confidence verdicts. timings in seconds.
    """

    ssim: float | None = None
    delta_e: float | None = None
    fidelity_pixels: int = 0
    stated: dict[str, Any] | None = None
    size_note: str = ""
    achieved_mm: float | None = None
    scale_error: float | None = None
    anchor_confidence: float | None = None
    px_per_mm: float | None = None
    scale_source: str | None = None
    light_gain: tuple[float, float, float] | None = None
    output_size: tuple[int, int] | None = None
    passed: dict[str, bool] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (NaN becomes None)."""

        def num(v: float | None, nd: int = 4) -> float | None:
            return None if v is None or v != v else round(float(v), nd)

        return {
            "ssim": num(self.ssim),
            "delta_e": num(self.delta_e),
            "fidelity_pixels": self.fidelity_pixels,
            "stated": self.stated,
            "size_note": self.size_note,
            "achieved_mm": num(self.achieved_mm, 2),
            "scale_error": num(self.scale_error),
            "anchor_confidence": num(self.anchor_confidence, 3),
            "px_per_mm": num(self.px_per_mm),
            "scale_source": self.scale_source,
            "light_gain": None if self.light_gain is None else [round(g, 4) for g in self.light_gain],
            "output_size": None if self.output_size is None else list(self.output_size),
            "passed": dict(self.passed),
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
