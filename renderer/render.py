"""Render a product on every plate of a house style: one outcome per plate, offered or not, and why."""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from renderer.analysis import analyze_plate
from renderer.cutout import Cutout, cutout
from renderer.errors import InputError
from renderer.harmonize import composite, light_gain, shade
from renderer.kinds import ANKLET, BRACELET, EARRINGS, NECKLACE, PENDANT, RING, check_kind, quantity_for
from renderer.layers import merge, union_box
from renderer.loop import Strip, unwrap
from renderer.options import RenderOptions
from renderer.placement import (
    Placement,
    PlacementSkip,
    earring_quantity,
    place_bracelet,
    place_earrings,
    place_necklace,
    place_ring,
)
from renderer.plates import Plate, PlateAnalysis
from renderer.quality import MIN_MASK_PIXELS, QualityReport, fidelity
from renderer.sizes import StatedSize, typical_size


@dataclass(frozen=True)
class Reason:
    """Why a plate gave no image, or why its image is not offered: a stable code and a message."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class RenderOutcome:
    """The result on one plate.

    image: uint8 RGB at the output size, or None when the plate was skipped. offered: whether it passed
    every bar and may become a draft. reason: None when offered, else why not (skipped plates have no
    image; refused renders keep theirs for inspection). product_alpha: float32 0..1 at the output size,
    the piece's visible alpha — the pixels a later pass (GPU refinement) must lock. report: the numbers.
    """

    plate_id: str
    kind: str
    offered: bool
    image: np.ndarray | None
    product_alpha: np.ndarray | None
    report: QualityReport
    reason: Reason | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the outcome's JSON-ready summary (no pixels)."""
        return {
            "plate_id": self.plate_id,
            "kind": self.kind,
            "offered": self.offered,
            "reason": None if self.reason is None else self.reason.to_dict(),
            "report": self.report.to_dict(),
        }


def _skip(
    plate_id: str, kind: str, code: str, message: str, report: QualityReport | None = None
) -> RenderOutcome:
    return RenderOutcome(plate_id, kind, False, None, None, report or QualityReport(), Reason(code, message))


def _output_frame(
    w: int, h: int, box: tuple[int, int, int, int], opts: RenderOptions
) -> tuple[tuple[int, int, int, int], tuple[int, int], str | None]:
    """Return the plate crop, the output size, and a note when the plate limits the size."""
    if opts.output_width is None and opts.output_height is None:
        return (0, 0, w, h), (w, h), None
    ow = opts.output_width or round(opts.output_height * w / h)  # type: ignore[operator]
    oh = opts.output_height or round(opts.output_width * h / w)  # type: ignore[operator]
    aspect = ow / oh
    cw, ch = (w, round(w / aspect)) if w / h < aspect else (round(h * aspect), h)
    cw, ch = min(cw, w), min(ch, h)
    cx = (box[0] + box[2]) / 2
    cy = (box[1] + box[3]) / 2
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    scale = min(1.0, ow / cw, oh / ch)
    size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
    note = None
    if size[0] < ow or size[1] < oh:
        note = f"output {size[0]}×{size[1]}: the plate's resolution, not upscaled to the asked {ow}×{oh}"
    return (x0, y0, x0 + cw, y0 + ch), size, note


def _resolve_size(kind: str, cut: Cutout, size: StatedSize | None) -> tuple[StatedSize, str]:
    if size is not None:
        if not isinstance(size, StatedSize):
            raise InputError(
                f"size must be a StatedSize (see renderer.parse_size), not {type(size).__name__}"
            )
        return size, f"stated {size.describe()}"
    q = earring_quantity(cut) if kind == EARRINGS else quantity_for(kind)
    typical = typical_size(kind, q)
    return typical, f"no size stated: typical size assumed: {typical.mm:.1f} mm {q.replace('_', ' ')}"


def _place(kind: str, cut: Cutout, strip: Strip | None, size: StatedSize, an: PlateAnalysis) -> Placement:
    if kind in (NECKLACE, PENDANT):
        assert strip is not None
        return place_necklace(strip, size, an, with_pendant=True)
    if kind == EARRINGS:
        return place_earrings(cut, size, an)
    if kind == RING:
        return place_ring(cut, size, an)
    assert strip is not None
    return place_bracelet(strip, size, an, kind)


def _render_one(
    plate: Plate,
    kind: str,
    cut: Cutout,
    strip: Strip | None,
    size: StatedSize,
    size_note: str,
    opts: RenderOptions,
) -> RenderOutcome:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    notes: list[str] = []
    if kind not in plate.kinds:
        return _skip(
            plate.id, kind, "not_in_style", f"the house style does not use plate {plate.id!r} for {kind}"
        )
    an = plate.analysis
    if an is None:
        an = analyze_plate(plate.image)
        notes.append("plate analysed during the render (pass a cached analysis to skip this)")
        timings["analysis"] = time.perf_counter() - t0
    cap = an.capability(kind)
    base_report = QualityReport(
        stated=size.to_dict(), size_note=size_note, anchor_confidence=cap.confidence, notes=tuple(notes)
    )
    if not cap.ok:
        return _skip(plate.id, kind, cap.code, cap.message, base_report)
    if cap.confidence < opts.min_anchor_confidence:
        return _skip(
            plate.id,
            kind,
            "low_confidence",
            f"anchors are only {cap.confidence:.2f} sure (below {opts.min_anchor_confidence:.2f})",
            base_report,
        )
    t = time.perf_counter()
    try:
        placed = _place(kind, cut, strip, size, an)
    except PlacementSkip as skip:
        return _skip(plate.id, kind, skip.code, skip.message, base_report)
    timings["place"] = time.perf_counter() - t
    notes.extend(placed.notes)

    t = time.perf_counter()
    img = plate.image
    h, w = img.shape[:2]
    pad = int(np.ceil(3.0 * placed.px_per_mm)) + 4
    box = union_box(placed.layers, pad, w, h)
    layer = merge(placed.layers, box)
    x0, y0, x1, y1 = box
    visible = layer.visible
    gain, gain_note = light_gain(img, layer, cut.backdrop, opts.light_match, opts.max_delta_e)
    notes.append(gain_note)
    surface = None
    person = an.mask_at("person", w, h) if placed.contact == "hanging" else None
    if person is not None:
        surface = person[y0:y1, x0:x1]
    base = shade(
        img[y0:y1, x0:x1],
        visible,
        placed.px_per_mm,
        placed.contact,
        opts.shadow_strength,
        opts.ambient_occlusion,
        surface,
    )
    out_roi = composite(base, layer.rgb, visible, gain)
    ref_roi = composite(base, layer.rgb, visible, None)
    timings["harmonize"] = time.perf_counter() - t

    t = time.perf_counter()
    ssim, de, n = fidelity(out_roi, ref_roi, visible)
    timings["fidelity"] = time.perf_counter() - t
    scale_error = (
        abs(placed.achieved_mm - size.mm) / size.mm if placed.achieved_mm == placed.achieved_mm else None
    )
    passed = {
        "fidelity": bool(ssim == ssim and de == de and ssim >= opts.min_ssim and de <= opts.max_delta_e),
        "scale": bool(scale_error is not None and scale_error <= opts.scale_tolerance),
        "confidence": bool(placed.anchor_confidence >= opts.min_anchor_confidence),
    }

    t = time.perf_counter()
    full = img.copy()
    full[y0:y1, x0:x1] = out_roi
    alpha_full = np.zeros((h, w), np.float32)
    alpha_full[y0:y1, x0:x1] = visible
    (cx0, cy0, cx1, cy1), out_size, size_limit = _output_frame(w, h, box, opts)
    if size_limit:
        notes.append(size_limit)
    image = np.ascontiguousarray(full[cy0:cy1, cx0:cx1])
    alpha_out = np.ascontiguousarray(alpha_full[cy0:cy1, cx0:cx1])
    if (image.shape[1], image.shape[0]) != out_size:
        image = np.asarray(cv2.resize(image, out_size, interpolation=cv2.INTER_AREA))
        alpha_out = np.asarray(cv2.resize(alpha_out, out_size, interpolation=cv2.INTER_AREA))
    timings["output"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    report = QualityReport(
        ssim=ssim,
        delta_e=de,
        fidelity_pixels=n,
        stated=size.to_dict(),
        size_note=size_note,
        achieved_mm=placed.achieved_mm,
        scale_error=scale_error,
        anchor_confidence=placed.anchor_confidence,
        px_per_mm=placed.px_per_mm,
        scale_source=placed.scale_source,
        light_gain=(float(gain[0]), float(gain[1]), float(gain[2])),
        output_size=out_size,
        passed=passed,
        notes=tuple(notes),
        timings=timings,
    )
    reason = None
    if n < MIN_MASK_PIXELS:
        reason = Reason(
            "too_small",
            f"at {placed.px_per_mm:.2f} px/mm the piece is only {n} solid px on this "
            "plate: too small to show, or to check; use a closer plate",
        )
    elif not passed["fidelity"]:
        reason = Reason(
            "fidelity_failed",
            f"the piece drifted from its photo: SSIM {ssim:.3f} (need "
            f"≥ {opts.min_ssim}), ΔE2000 {de:.2f} (need ≤ {opts.max_delta_e}) over {n} px",
        )
    elif not passed["scale"]:
        reason = Reason(
            "scale_failed",
            f"achieved {placed.achieved_mm:.1f} mm against {size.mm:.1f} mm stated "
            f"(off by {scale_error:.0%}, allowed {opts.scale_tolerance:.0%})",
        )
    elif not passed["confidence"]:
        reason = Reason("low_confidence", f"anchors only {placed.anchor_confidence:.2f} sure")
    return RenderOutcome(plate.id, kind, reason is None, image, alpha_out, report, reason)


_strips: dict[int, Strip] = {}


def _strip(cut: Cutout) -> Strip:
    """Return the cutout's unwrapped chain, computed once per Cutout object (a job renders it many times)."""
    key = id(cut)
    strip = _strips.get(key)
    if strip is None:
        strip = unwrap(cut)
        _strips[key] = strip
        weakref.finalize(cut, _strips.pop, key, None)
    return strip


def render(
    product: np.ndarray | Cutout,
    kind: str,
    plates: Sequence[Plate],
    *,
    size: StatedSize | None = None,
    options: RenderOptions | None = None,
) -> list[RenderOutcome]:
    """Put the product on every plate: one RenderOutcome per plate, in order.

    product: the product photo (uint8 RGB/RGBA) or its Cutout (cut once, render on many plates).
    kind: one of KINDS. size: the stated size (parse_size), or None for a typical size (the report says
    so). Plates that cannot carry the kind are skipped with a reason, never an exception. Raises
    InputError (CutoutError) only for a product photo no clean piece can be cut from, an unknown kind,
    or malformed arguments.
    """
    kind = check_kind(kind)
    opts = options or RenderOptions()
    if not isinstance(opts, RenderOptions):
        raise InputError(f"options must be RenderOptions, not {type(opts).__name__}")
    plates = list(plates)
    for p in plates:
        if not isinstance(p, Plate):
            raise InputError(f"plates must be Plate objects, got {type(p).__name__}")
    ids = [p.id for p in plates]
    if len(set(ids)) != len(ids):
        raise InputError(f"plate ids must be unique, got {ids}")
    cut = product if isinstance(product, Cutout) else cutout(product)
    stated, size_note = _resolve_size(kind, cut, size)
    strip = _strip(cut) if kind in (NECKLACE, PENDANT, BRACELET, ANKLET) else None
    return [_render_one(p, kind, cut, strip, stated, size_note, opts) for p in plates]
