"""Cut the piece out of its product photo: an alpha matte from a plain backdrop, or a clear refusal.

Steps: (1) model the backdrop from the photo's border as a smooth surface (white, grey, black and
gradient sweeps alike) and refuse busy ones; (2) score every pixel by its colour distance to that
backdrop, calling soft shadows (darker, neutral, smooth) backdrop; (3) build a trimap that keeps wire
thinner than 3 px in the unknown band and fills specular highlights enclosed by solid metal; (4) solve
closed-form matting (pymatting) on the piece's box and estimate its true colours; (5) refuse what is
still not a clean piece (a person wearing it, a piece running off the frame, a hazy matte).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from renderer.errors import CutoutError, InputError

WORK_MAX_SIDE = 2000  # product photos are matted at most this large; the piece rarely needs more


@dataclass(frozen=True)
class Cutout:
    """The piece cut from its product photo.

    rgba: uint8 h×w×4 crop, straight alpha, colours estimated free of the backdrop.
    alpha: float32 h×w in 0..1 (full precision of rgba's alpha).
    box: (x, y, w, h) of the crop in the photo as matted (after any downscale, see `scale`).
    scale: matted size / photo size (1.0 unless the photo was larger than 2000 px).
    backdrop: mean RGB of the backdrop: the light the piece was shot under.
    notes: what was done, in words.
    """

    rgba: np.ndarray
    alpha: np.ndarray
    box: tuple[int, int, int, int]
    scale: float = 1.0
    backdrop: tuple[float, float, float] = (255.0, 255.0, 255.0)
    notes: tuple[str, ...] = field(default=())

    @property
    def rgb(self) -> np.ndarray:
        """Return the piece's colours (uint8 h×w×3)."""
        return self.rgba[:, :, :3]

    @property
    def mask(self) -> np.ndarray:
        """Return where the piece is (alpha above one half)."""
        return self.alpha > 0.5


# --- backdrop model -----------------------------------------------------------------------------


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _design(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], axis=-1)


def _fit_backdrop(lab: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Fit a quadratic surface per Lab channel to the border; return (model, noise, outlier share)."""
    h, w = lab.shape[:2]
    b = max(4, round(min(h, w) * 0.015))
    border = np.zeros((h, w), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    ys, xs = np.nonzero(border)
    step = max(1, len(xs) // 6000)
    ys, xs = ys[::step], xs[::step]
    X = _design(xs / w - 0.5, ys / h - 0.5)
    V = lab[ys, xs]
    keep = np.ones(len(xs), bool)
    for _ in range(4):  # reject the piece, a stand or clutter where it meets the border, then refit
        coef, *_ = np.linalg.lstsq(X[keep], V[keep], rcond=None)
        res = np.linalg.norm(V - X @ coef, axis=1)
        med = np.median(res[keep])
        keep = res < min(8.0, max(3.0, 4.0 * med))
    noise = float(np.median(res[keep])) if keep.any() else 99.0
    outliers = float(1.0 - keep.mean())
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    model = (_design(gx / w - 0.5, gy / h - 0.5) @ coef.astype(np.float32)).astype(np.float32)
    return model, noise, outliers


# --- scoring and trimap -------------------------------------------------------------------------


def _edges(lum: np.ndarray) -> np.ndarray:
    """Return where luminance changes sharply: the outline of metal and facets, never a soft shadow."""
    smooth = cv2.GaussianBlur(lum, (0, 0), 0.7)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.hypot(gx, gy) > 4.0


def _segment(lab: np.ndarray, model: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (piece mask, lightness and chroma difference to the backdrop); shadows stay out of the mask.

    Chromatic, very dark or brighter-than-backdrop pixels are the piece. Neutral, moderately darker
    pixels are either a shadow or light metal and stones: a region of them that is walled in by sharp
    edges or by the piece, and tinted however little, is the piece; one that fades out smoothly into
    the backdrop, or only darkens it (a shadow seen through a link), is backdrop.
    """
    d = lab - model
    dl = d[:, :, 0]
    dc = np.hypot(d[:, :, 1], d[:, :, 2])
    edges = _edges(lab[:, :, 0])
    strong = (dc > 6.0) | (dl < -28.0) | (dl > 4.0)
    amb = ~strong & ~edges & ((dc > 2.0) | (dl < -2.5))
    walls = (strong | edges).astype(np.float32)
    labels, n = ndimage.label(amb, structure=np.ones((3, 3)))
    piece = strong.copy()
    if n:
        ring_labels = ndimage.grey_dilation(labels, size=3) * ~amb
        idx = np.arange(1, n + 1)
        walled = np.nan_to_num(np.asarray(ndimage.mean(walls, labels=ring_labels, index=idx)), nan=0.0)
        # A shadow only darkens the backdrop; metal and stones also shift its hue, if only a little.
        tinted = np.asarray(ndimage.median(dc, labels=labels, index=idx)) >= 1.5
        keep = np.zeros(n + 1, bool)
        keep[1:] = (walled >= 0.75) & tinted
        piece |= keep[labels]
    # Sharp edges belong to the piece when they touch it (its anti-aliased outline).
    near = cv2.dilate(piece.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    piece |= edges & near & ((dc > 2.0) | (np.abs(dl) > 2.5))
    return piece, dl, dc


def _fill_highlights(fg: np.ndarray, dl: np.ndarray) -> np.ndarray:
    """Fill enclosed holes that sit inside solid metal (specular highlights), not chain-link gaps.

    A highlight is brighter than the backdrop (on white it can match it exactly: then only a speck
    walled in by solid metal counts); a gap between links or a ring's hole shows the backdrop or its
    shadow, never brighter.
    """
    holes = ndimage.binary_fill_holes(fg) & ~fg
    labels, n = ndimage.label(holes)
    if n == 0:
        return fg
    thickness = cv2.distanceTransform(fg.astype(np.uint8), cv2.DIST_L2, 3)
    idx = np.arange(1, n + 1)
    areas = ndimage.sum(np.ones_like(labels), labels, index=idx)
    ring_labels = ndimage.grey_dilation(labels, size=5) * fg
    # Median wall thickness around each hole: wire is 1-2 px, a stone's bezel or prong much more.
    wall = np.nan_to_num(np.asarray(ndimage.median(thickness, labels=ring_labels, index=idx)), nan=0.0)
    brightness = np.asarray(ndimage.mean(dl, labels=labels, index=idx))
    areas = np.asarray(areas)
    fill = np.zeros(n + 1, bool)
    # Brighter than the backdrop: a highlight or a white facet, up to a good part of the piece; as
    # bright as it (a clipped backdrop): only a speck.
    fill[1:] = ((areas <= max(60.0, 0.3 * fg.sum())) & (wall >= 1.5) & (brightness > 1.5)) | (
        (areas <= 30) & (wall >= 3.0) & (brightness > -1.0)
    )
    return fg | fill[labels]


def _trimap(piece: np.ndarray, dl: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Return a trimap: 1 the piece for sure, 0 the backdrop, 0.5 its anti-aliased outline to solve."""
    dist = np.hypot(dl, dc)
    fg = piece.copy()
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    small = np.zeros(n, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] < 4  # dust, not the piece
    fg &= ~small[labels]
    fg = _fill_highlights(fg, dl)
    # The piece's inside is solid; on its outline, and across wire too thin to have an inside, a pixel
    # as far from the backdrop as the strongest piece pixel near it is solid too; the rest is solved.
    local = cv2.dilate(np.where(fg, dist, 0).astype(np.float32), np.ones((5, 5), np.uint8))
    inside = cv2.erode(fg.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    solid = inside | (fg & (dist >= 0.85 * local))
    holes_filled = fg & ~piece  # filled highlights are solid even though backdrop-coloured
    solid |= holes_filled
    band = cv2.dilate(fg.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    trimap = np.zeros(piece.shape, np.float64)
    trimap[band] = 0.5
    # The backdrop itself, or its shadow, seen through a link or just past an edge, is not to solve.
    shadowed = (dc < 1.5) & (dl < 0) & (dl > -28.0)
    trimap[band & ~fg & ((dist < 3.0) | shadowed)] = 0.0
    trimap[solid] = 1.0
    return trimap


def _matte(rgb: np.ndarray, trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve closed-form matting and estimate foreground colours on the piece's box."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "worn-numba"))
    from pymatting import estimate_alpha_cf, estimate_foreground_ml

    img = rgb.astype(np.float64) / 255.0
    if not (trimap == 0.5).any():
        alpha = trimap.copy()
    else:
        alpha = estimate_alpha_cf(
            img, trimap, laplacian_kwargs={"epsilon": 1e-6}, cg_kwargs={"maxiter": 2000}
        )
    alpha[trimap == 1.0] = 1.0
    alpha[trimap == 0.0] = 0.0
    fg = estimate_foreground_ml(img, alpha)
    return alpha.astype(np.float32), np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)


# --- refusals -----------------------------------------------------------------------------------


def _refuse_people(rgb: np.ndarray) -> None:
    from renderer.models import FACE_MESH, HANDS

    h, w = rgb.shape[:2]
    s = min(1.0, 960 / max(h, w))
    small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else rgb
    # Face mesh, not bare face detection: the detector alone takes a pair of red drops for eyes.
    faces = FACE_MESH.process(small).multi_face_landmarks or []
    if faces:
        raise CutoutError(
            "person_in_photo",
            "the product photo shows a person's face (the piece seems to be worn); Worn needs the piece "
            "alone on a plain backdrop",
        )
    hands = HANDS.process(small).multi_hand_landmarks or []
    if hands:
        raise CutoutError(
            "person_in_photo",
            "the product photo shows a hand (the piece seems to be worn or held); Worn needs the piece "
            "alone on a plain backdrop",
        )


def _check_piece(alpha: np.ndarray, notes: list[str]) -> None:
    h, w = alpha.shape
    solid = alpha > 0.5
    count = int(solid.sum())
    if count < max(50, 0.0003 * h * w):
        raise CutoutError("no_piece", "no piece found: the product photo looks like an empty backdrop")
    if count > 0.6 * h * w:
        raise CutoutError(
            "no_clear_background",
            f"the piece would cover {count / (h * w):.0%} of the photo: no clear backdrop around it; "
            "photograph the piece smaller in the frame on a plain backdrop",
        )
    edge = np.concatenate(
        [solid[:2].ravel(), solid[-2:].ravel(), solid[:, :2].ravel(), solid[:, -2:].ravel()]
    )
    if edge.sum() >= 6:
        raise CutoutError(
            "touches_edges",
            f"the piece runs off the edge of the photo ({int(edge.sum())} px on the border), or stands on "
            "a bust or stand that does not separate from it; show the whole piece alone on the backdrop",
        )
    hazy = int(((alpha > 0.1) & (alpha < 0.9)).sum())
    if hazy > 3.0 * count:
        raise CutoutError(
            "unclear_matte",
            f"the matte is unclear ({hazy} half-transparent pixels for {count} solid ones): the piece does "
            "not stand out from the backdrop",
        )


# --- entry point --------------------------------------------------------------------------------


def _given_alpha(rgba: np.ndarray, notes: list[str]) -> Cutout:
    alpha = rgba[:, :, 3].astype(np.float32) / 255.0
    _check_piece(alpha, notes)
    notes.append("transparent PNG: its own alpha used as the matte")
    return _crop(rgba[:, :, :3], alpha, 1.0, (255.0, 255.0, 255.0), notes)


def _crop(
    fg: np.ndarray, alpha: np.ndarray, scale: float, backdrop: tuple[float, float, float], notes: list[str]
) -> Cutout:
    ys, xs = np.nonzero(alpha > 0.02)
    h, w = alpha.shape
    x0, y0 = max(0, xs.min() - 2), max(0, ys.min() - 2)
    x1, y1 = min(w, xs.max() + 3), min(h, ys.max() + 3)
    a = alpha[y0:y1, x0:x1].copy()
    a[a < 0.02] = 0.0
    rgba = np.dstack([fg[y0:y1, x0:x1], np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)])
    return Cutout(
        np.ascontiguousarray(rgba),
        a,
        (int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
        scale,
        backdrop,
        tuple(notes),
    )


def cutout(image: np.ndarray) -> Cutout:
    """Cut the piece out of a product photo (uint8 RGB on a plain backdrop, or RGBA with transparency).

    Raises CutoutError (an InputError) with a stable `code` and a message saying what is wrong and
    what photo would work: busy_background, person_in_photo, no_piece, no_clear_background,
    touches_edges, unclear_matte.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"product image must be a uint8 H×W×3 or H×W×4 array, not {arr.dtype} {arr.shape}")
    if min(arr.shape[:2]) < 32:
        raise InputError(
            f"product image of {arr.shape[1]}×{arr.shape[0]} px is too small; need 32 px or more"
        )
    notes: list[str] = []
    if arr.shape[2] == 4 and (arr[:, :, 3] < 250).mean() > 0.01:
        return _given_alpha(arr, notes)
    rgb = np.ascontiguousarray(arr[:, :, :3])
    h, w = rgb.shape[:2]
    scale = min(1.0, WORK_MAX_SIDE / max(h, w))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        notes.append(f"matted at {rgb.shape[1]}×{rgb.shape[0]} (photo {w}×{h} downscaled)")
    lab = _lab(rgb)
    model, noise, outliers = _fit_backdrop(lab)
    if noise > 4.0 or outliers > 0.35:
        raise CutoutError(
            "busy_background",
            f"the backdrop is not plain (colour varies by ΔE {noise:.1f} along the border, "
            f"{outliers:.0%} of it "
            "unlike the rest); photograph the piece on a plain white, grey, black or gradient backdrop",
        )
    _refuse_people(rgb)
    piece, dl, dc = _segment(lab, model)
    trimap = _trimap(piece, dl, dc)
    if not (trimap > 0).any():
        raise CutoutError("no_piece", "no piece found: the product photo looks like an empty backdrop")
    ys, xs = np.nonzero(trimap > 0)
    pad = 6
    y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
    alpha = np.zeros(rgb.shape[:2], np.float32)
    fg = np.zeros_like(rgb)
    a_box, f_box = _matte(rgb[y0:y1, x0:x1], trimap[y0:y1, x0:x1])
    alpha[y0:y1, x0:x1] = a_box
    fg[y0:y1, x0:x1] = f_box
    _check_piece(alpha, notes)
    lab_mean = model.reshape(-1, 3)[::97].mean(axis=0).reshape(1, 1, 3).astype(np.float32)
    mean_backdrop = tuple(float(v) * 255.0 for v in cv2.cvtColor(lab_mean, cv2.COLOR_LAB2RGB).ravel())
    notes.append(f"backdrop modelled from the border (noise ΔE {noise:.1f}); soft shadows left behind")
    return _crop(fg, alpha, scale, mean_backdrop, notes)  # type: ignore[arg-type]
