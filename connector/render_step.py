"""The render step: the renderer turns the product photo into one image per plate (one function, swappable).

`cpu_render_step` is the CPU path. `make_render_step(device)` adds the GPU path's diffusion refinement of
the seam and shadow (product pixels locked) when the device is not the CPU and the house style asks for it;
a refinement that cannot run (no GPU, no weights) leaves the CPU image and says why in the report.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import renderer
from connector.renderjob import PlateInput, RenderedImage, RenderRequest, RenderStep
from connector.styles import HouseStyle, StyleError
from renderer.diffusion.loading import Compile
from renderer.errors import InputError

log = logging.getLogger(__name__)

THUMB_SIDE = 400
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


def render_options(style: HouseStyle) -> renderer.RenderOptions:
    """Return the renderer's options from the house style (output size, look, quality bars)."""
    return renderer.RenderOptions(
        output_width=style.output.width,
        output_height=style.output.height,
        shadow_strength=style.look.shadow_strength,
        ambient_occlusion=style.look.ambient_occlusion,
        light_match=style.look.light_match,
        min_ssim=style.quality.min_ssim,
        max_delta_e=style.quality.max_delta_e,
        scale_tolerance=style.quality.scale_tolerance,
        min_anchor_confidence=style.quality.min_anchor_confidence,
    )


def prepare_plate(plate: PlateInput) -> tuple[renderer.Plate, dict[str, Any] | None]:
    """Return the renderer's plate (cropped as the style says) and its analysis when computed now."""
    rgb = renderer.load_image(plate.image).rgb
    if plate.spec.crop is not None:
        x, y, w, h = plate.spec.crop
        if x + w > rgb.shape[1] or y + h > rgb.shape[0]:
            size = f"{rgb.shape[1]}x{rgb.shape[0]}"
            raise StyleError(
                f"plate {plate.spec.id!r}: crop {list(plate.spec.crop)} leaves the {size} image; fix it"
            )
        rgb = np.ascontiguousarray(rgb[y : y + h, x : x + w])
    analysis = None
    if plate.analysis is not None:
        try:
            analysis = renderer.PlateAnalysis.from_dict(plate.analysis)
        except InputError as exc:  # analysed by an older renderer: analyse again
            log.info("plate %s: cached analysis not usable (%s); analysing again", plate.spec.id, exc)
        if analysis is not None and (analysis.width, analysis.height) != (rgb.shape[1], rgb.shape[0]):
            analysis = None
    fresh = None
    if analysis is None:
        analysis = renderer.analyze_plate(rgb)
        fresh = analysis.to_dict()
    return renderer.Plate(plate.spec.id, rgb, frozenset(plate.spec.kinds), analysis), fresh


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = THUMB_SIDE / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _seed(request: RenderRequest, plate_id: str) -> int:
    digest = hashlib.sha256(request.photo + plate_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _render(
    request: RenderRequest, *, device: str = "cpu", models_dir: Path | None = None, compile: Compile = "none"
) -> list[RenderedImage]:
    style = request.style
    product = renderer.load_image(request.photo).pixels
    plates, fresh = [], {}
    for plate in request.plates:
        made, analysis = prepare_plate(plate)
        plates.append(made)
        if analysis is not None:
            fresh[plate.spec.id] = analysis
    outcomes = renderer.render(
        product, request.kind, plates, size=request.size, options=render_options(style)
    )
    refine = device != "cpu" and style.look.refine
    refined = _refine(request, outcomes, device, models_dir, compile) if refine else {}
    results = []
    for outcome in outcomes:
        report: dict[str, Any] = {**outcome.report.to_dict(), "kind": outcome.kind}
        if outcome.reason is not None:
            report["reason"] = outcome.reason.to_dict()
        image = outcome.image
        if outcome.plate_id in refined:
            image, report["refinement"] = refined[outcome.plate_id].image, refined[outcome.plate_id].report
        encoded = thumbnail = None
        width = height = None
        if outcome.offered and image is not None:
            encoded = renderer.encode_image(image, style.output.format, style.output.quality)
            thumbnail = renderer.encode_image(_thumbnail(image), "jpeg", 82)
            height, width = int(image.shape[0]), int(image.shape[1])
        results.append(
            RenderedImage(
                plate_id=outcome.plate_id,
                offered=encoded is not None,
                report=report,
                image=encoded,
                thumbnail=thumbnail,
                extension=EXTENSIONS[style.output.format],
                width=width,
                height=height,
                reason="" if outcome.reason is None else outcome.reason.message,
                analysis=fresh.get(outcome.plate_id),
            )
        )
    return results


def _refine(
    request: RenderRequest,
    outcomes: list[renderer.RenderOutcome],
    device: str,
    models_dir: Path | None,
    compile: Compile,
) -> dict[str, Any]:
    """Refine every offered render of the job in batched GPU calls; return the results by plate."""
    from renderer.diffusion import RefineItem, refine_batch_or_skip

    chosen, items = [], []
    for o in outcomes:
        if o.offered and o.image is not None and o.product_alpha is not None:
            chosen.append(o)
            items.append(RefineItem(o.image, o.product_alpha, _seed(request, o.plate_id)))
    if not items:
        return {}
    results = refine_batch_or_skip(items, models_dir=models_dir, device=device, compile=compile)
    return {o.plate_id: result for o, result in zip(chosen, results, strict=True)}


def cpu_render_step(request: RenderRequest) -> list[RenderedImage]:
    """Render on the CPU: cutout, placement at true size, harmonization, fidelity checks."""
    return _render(request)


def make_render_step(
    device: str = "cpu", models_dir: Path | None = None, compile: Compile = "none"
) -> RenderStep:
    """Return the render step for `device` ("cpu", "cuda", "cuda:N"); GPU devices add diffusion refinement
    (with the pipeline compiled as `compile` says: none, regional or full)."""
    if device == "cpu":
        return cpu_render_step
    if not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise InputError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    return functools.partial(_render, device=device, models_dir=models_dir, compile=compile)
