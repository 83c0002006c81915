"""Refine the seam, contact shadow and skin around a placed piece with diffusion inpainting.

1. Find the band (``band.py``): a ring around the piece; the product pixels are locked.
2. Crop a square around the band and resize it to the model's size (a 2048×2560 plate costs one ~1024²
   pass, not a 2048×2560 one).
3. Inpaint the band in the crop, seeded with an explicit ``torch.Generator``.
4. Resize back and paste only the band, feathered toward its outer edge. Product pixels are the
   composite's, bit for bit; pixels outside the band are the composite's, bit for bit.

The model never writes a product pixel: a 4-channel UNet latent-blends the unmasked area, but that still
passes through the VAE, so step 4 is what guarantees fidelity.
"""

from __future__ import annotations

import inspect
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from renderer.diffusion.band import Band, band_for, check_composite
from renderer.diffusion.loading import (
    COMPILE_MODES,
    Compile,
    Task,
    check_device_name,
    cuda_available,
    load_pipeline,
    resolve_dtype,
)
from renderer.errors import ConfigError, InputError

DEFAULT_REFINE_MODEL = "sdxl-lightning"
DEFAULT_PROMPT = (
    "professional jewelry photograph on a model, natural skin texture, soft realistic contact shadow "
    "where the jewelry touches the skin, sharp focus, consistent studio lighting"
)
DEFAULT_NEGATIVE_PROMPT = "blurry, smeared, painting, cartoon, extra jewelry, deformed skin, text, watermark"


@dataclass(frozen=True)
class RefineResult:
    """The refined image (same shape, uint8) and what happened, as a JSON-ready report."""

    image: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def refined(self) -> bool:
        """Tell whether a diffusion pass changed the band (False when it was skipped)."""
        return self.report.get("refinement") == "done"


@dataclass(frozen=True)
class RefineItem:
    """One composite to refine in a batch: the image, the placed piece's alpha, and its seed."""

    image: np.ndarray
    product_alpha: np.ndarray
    seed: int = 0


@dataclass(frozen=True)
class _Options:
    band_px: int
    steps: int
    prompt: str
    negative_prompt: str
    strength: float
    guidance: float
    crop_size: int
    edge_px: int
    shadow_px: int | None
    lock_opaque: bool
    max_batch: int

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 1:
            raise InputError(f"steps must be an integer >= 1, got {self.steps!r}")
        if not 0.0 < self.strength <= 1.0:
            raise InputError(f"strength must be in (0, 1], got {self.strength!r}")
        if int(self.steps * self.strength) < 1:
            raise InputError(
                f"steps={self.steps} at strength={self.strength} leaves no denoising step; "
                "raise steps or strength so that steps × strength >= 1"
            )
        if not self.guidance >= 0.0:
            raise InputError(f"guidance must be >= 0, got {self.guidance!r}")
        if not isinstance(self.crop_size, int) or self.crop_size < 64 or self.crop_size % 8:
            raise InputError(f"crop_size must be a multiple of 8 and at least 64, got {self.crop_size!r}")
        if not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise InputError(f"max_batch must be an integer >= 1, got {self.max_batch!r}")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InputError("prompt must be a non-empty string")


@dataclass
class _Prepared:
    index: int
    item: RefineItem
    band: Band
    model_size: tuple[int, int]  # (width, height), what the pipeline sees
    crop: np.ndarray  # (height, width, 3) uint8
    mask: np.ndarray  # (height, width) uint8, 255 where the model may paint


def refine(
    image: np.ndarray,
    product_alpha: np.ndarray,
    *,
    pipeline: Any,
    band_px: int,
    steps: int,
    seed: int,
    prompt: str = DEFAULT_PROMPT,
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT,
    strength: float = 0.75,
    guidance: float = 0.0,
    crop_size: int = 1024,
    edge_px: int = 2,
    shadow_px: int | None = None,
    lock_opaque: bool = True,
) -> RefineResult:
    """Inpaint the band around the placed piece and paste the product pixels back, deterministically.

    ``image`` is the CPU composite (H, W, 3) uint8; ``product_alpha`` the placed piece's alpha (H, W)
    float32 in [0, 1]. ``pipeline`` is an inpainting pipeline (``load_pipeline(..., task="inpaint")``).
    ``guidance`` 0 suits few-step models (SDXL-Lightning); above 1 it turns on classifier-free guidance and
    the negative prompt. See :func:`band_for` for ``band_px``, ``edge_px``, ``shadow_px``, ``lock_opaque``.
    """
    return refine_batch(
        [RefineItem(image, product_alpha, seed)],
        pipeline=pipeline,
        band_px=band_px,
        steps=steps,
        prompt=prompt,
        negative_prompt=negative_prompt,
        strength=strength,
        guidance=guidance,
        crop_size=crop_size,
        edge_px=edge_px,
        shadow_px=shadow_px,
        lock_opaque=lock_opaque,
    )[0]


def refine_batch(
    items: list[RefineItem],
    *,
    pipeline: Any,
    band_px: int,
    steps: int,
    prompt: str = DEFAULT_PROMPT,
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT,
    strength: float = 0.75,
    guidance: float = 0.0,
    crop_size: int = 1024,
    edge_px: int = 2,
    shadow_px: int | None = None,
    lock_opaque: bool = True,
    max_batch: int = 4,
) -> list[RefineResult]:
    """Refine several composites, one pipeline call per group of crops of the same model size.

    Renders of one plate (several products, or one product's variants) give crops of the same size, so
    they share a call of up to ``max_batch`` crops: one UNet pass over a batch keeps a GPU busier than
    several passes over one crop. Each item keeps its own seed. Results come back in the items' order.
    """
    options = _Options(
        band_px,
        steps,
        prompt,
        negative_prompt,
        strength,
        guidance,
        crop_size,
        edge_px,
        shadow_px,
        lock_opaque,
        max_batch,
    )
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, RefineItem) for item in items):
        raise InputError("items must be a list of RefineItem")
    parameters = inspect.signature(type(pipeline).__call__).parameters
    if "mask_image" not in parameters:
        raise InputError(
            f"pipeline {type(pipeline).__name__} is not an inpainting pipeline; "
            "load it with load_pipeline(..., task='inpaint')"
        )
    prepared = [_prepare(index, item, options, pipeline) for index, item in enumerate(items)]
    groups: dict[tuple[int, int], list[_Prepared]] = {}
    for entry in prepared:
        groups.setdefault(entry.model_size, []).append(entry)

    results: list[RefineResult | None] = [None] * len(items)
    for entries in groups.values():
        for start in range(0, len(entries), max_batch):
            chunk = entries[start : start + max_batch]
            began = time.perf_counter()
            outputs = _inpaint(pipeline, parameters, chunk, options)
            seconds = time.perf_counter() - began
            for entry, output in zip(chunk, outputs, strict=True):
                results[entry.index] = _paste(entry, output, pipeline, options, len(chunk), seconds)
    return [result for result in results if result is not None]


def refinement_pipeline(
    *,
    models_dir: str | Path | None,
    model: str = DEFAULT_REFINE_MODEL,
    device: str = "auto",
    dtype: str | None = None,
    variant: str | None = None,
    allow_cpu: bool = False,
    task: Task = "inpaint",
    compile: Compile = "none",
) -> tuple[Any, dict[str, str] | None]:
    """Return (the pipeline for `task`, None), or (None, a skip report) when diffusion cannot run here.

    Skip codes: ``no_torch``, ``no_cuda``, ``no_weights`` (missing or malformed model folder; the reason
    names it). Refinement on CPU with real weights takes minutes, so it runs only with ``allow_cpu=True``.
    A malformed device or dtype is misconfiguration: it raises ConfigError.
    """
    try:
        import diffusers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return None, _skip_report(
            "no_torch", "torch and diffusers are not installed (pip install 'worn[gpu]')"
        )
    check_device_name(device)
    if compile not in COMPILE_MODES:
        raise ConfigError(f"compile must be one of {', '.join(COMPILE_MODES)}, got {compile!r}")
    if device == "auto":
        device = "cuda" if cuda_available() else "cpu"
    elif device != "cpu" and not cuda_available():
        return None, _skip_report(
            "no_cuda", f"device {device!r} was asked for, but torch sees no CUDA device"
        )
    if device == "cpu" and not allow_cpu:
        return None, _skip_report(
            "no_cuda",
            "no CUDA device in use: the CPU composite is used as is "
            "(diffusion on CPU takes minutes per image; pass allow_cpu=True to run it there anyway)",
        )
    resolve_dtype(device, dtype)
    try:
        pipeline = load_pipeline(
            models_dir, model, task=task, device=device, dtype=dtype, variant=variant, compile=compile
        )
        return pipeline, None
    except ConfigError as exc:
        return None, _skip_report("no_weights", str(exc))


def refine_or_skip(
    image: np.ndarray,
    product_alpha: np.ndarray,
    *,
    models_dir: str | Path | None,
    model: str = DEFAULT_REFINE_MODEL,
    device: str = "auto",
    dtype: str | None = None,
    variant: str | None = None,
    allow_cpu: bool = False,
    compile: Compile = "none",
    band_px: int = 16,
    steps: int = 4,
    seed: int = 0,
    **options: Any,
) -> RefineResult:
    """Refine on a GPU when one and the weights are present; otherwise return the composite unchanged.

    A skip is an expected outcome, not an error: the report says ``{"refinement": "skipped", "code": ...,
    "reason": ...}`` and ``image`` is the input array itself (see `refinement_pipeline` for the codes).
    Bad input still raises InputError.
    """
    return refine_batch_or_skip(
        [RefineItem(image, product_alpha, seed)],
        models_dir=models_dir,
        model=model,
        device=device,
        dtype=dtype,
        variant=variant,
        allow_cpu=allow_cpu,
        compile=compile,
        band_px=band_px,
        steps=steps,
        **options,
    )[0]


def refine_batch_or_skip(
    items: list[RefineItem],
    *,
    models_dir: str | Path | None,
    model: str = DEFAULT_REFINE_MODEL,
    device: str = "auto",
    dtype: str | None = None,
    variant: str | None = None,
    allow_cpu: bool = False,
    band_px: int = 16,
    steps: int = 4,
    max_batch: int = 4,
    compile: Compile = "none",
    **options: Any,
) -> list[RefineResult]:
    """Refine several composites in batched pipeline calls, or return each unchanged with the skip reason."""
    for item in items:
        check_composite(item.image, item.product_alpha)
    pipeline, skip = refinement_pipeline(
        models_dir=models_dir,
        model=model,
        device=device,
        dtype=dtype,
        variant=variant,
        allow_cpu=allow_cpu,
        compile=compile,
    )
    if skip is not None:
        return [RefineResult(image=item.image, report=dict(skip)) for item in items]
    return refine_batch(
        items, pipeline=pipeline, band_px=band_px, steps=steps, max_batch=max_batch, **options
    )


def _skip_report(code: str, reason: str) -> dict[str, str]:
    return {"refinement": "skipped", "code": code, "reason": reason}


def _prepare(index: int, item: RefineItem, options: _Options, pipeline: Any) -> _Prepared:
    check_composite(item.image, item.product_alpha)
    if not isinstance(item.seed, int) or not 0 <= item.seed < 2**63:
        raise InputError(f"seed must be an integer in [0, 2**63), got {item.seed!r}")
    band = band_for(
        item.product_alpha,
        band_px=options.band_px,
        edge_px=options.edge_px,
        shadow_px=options.shadow_px,
        lock_opaque=options.lock_opaque,
        # Diffusion paints at its native scale: a crop upscaled more than 2× turns to mush.
        min_side=options.crop_size // 2,
    )
    x0, y0, x1, y1 = band.box
    box_w, box_h = x1 - x0, y1 - y0
    scale = options.crop_size / max(box_w, box_h)
    model_size = (max(32, round(box_w * scale / 8) * 8), max(32, round(box_h * scale / 8) * 8))
    crop = _resize(item.image[y0:y1, x0:x1], model_size)
    region = (
        cv2.resize(band.region[y0:y1, x0:x1].astype(np.float32), model_size, interpolation=cv2.INTER_AREA)
        > 0.0
    )
    # diffusers samples the mask at latent resolution (1/8) by nearest neighbour: a thin ring can fall
    # between samples and never be repainted. Growing it by one latent pixel costs nothing: only the
    # band is pasted back.
    grow = int(getattr(pipeline, "vae_scale_factor", 8))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    mask = cv2.dilate(region.astype(np.uint8) * 255, kernel)
    return _Prepared(index, item, band, model_size, crop, mask)


def _inpaint(
    pipeline: Any, parameters: Any, chunk: list[_Prepared], options: _Options
) -> list[np.ndarray | None]:
    """Run one pipeline call over the chunk's crops; return each crop's painted pixels, (H, W, 3) uint8,
    or None where the model's output was not finite."""
    import torch

    width, height = chunk[0].model_size
    device = pipeline.device
    generators = [torch.Generator(device=device).manual_seed(entry.item.seed) for entry in chunk]
    prompt = _prompt_arguments(pipeline, parameters, options, len(chunk))
    # The crops and masks go to the device once as uint8 and become the [0, 1] tensors the pipeline's
    # processors expect there (the same values its PIL path computes on the CPU, without the copies).
    crops = torch.from_numpy(np.stack([entry.crop for entry in chunk])).to(device)
    masks = torch.from_numpy(np.stack([entry.mask for entry in chunk])).to(device)
    kwargs: dict[str, Any] = {
        **prompt,
        "image": crops.permute(0, 3, 1, 2).float() / 255.0,
        "mask_image": (masks[:, None] > 127).float(),
        "height": height,
        "width": width,
        "num_inference_steps": options.steps,
        "guidance_scale": options.guidance,
        "generator": generators,
        "output_type": "pt",
    }
    if "strength" in parameters:
        kwargs["strength"] = options.strength
    kwargs.update(_unread_masked_latents(pipeline, parameters, len(chunk), height, width))
    with torch.no_grad():
        images = pipeline(**kwargs).images.float()  # (B, 3, H, W) in [0, 1], on the device
        finite = torch.isfinite(images).flatten(1).all(dim=1).tolist()
        # Rounded half to even, as np.rint: the pixels the pipeline's own uint8 conversion would give.
        pixels = (images * 255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [crop if ok else None for crop, ok in zip(pixels, finite, strict=True)]


def _unread_masked_latents(
    pipeline: Any, parameters: Any, batch: int, height: int, width: int
) -> dict[str, Any]:
    """Stand-in latents for the masked image, for a pipeline whose UNet never reads them.

    A 4-channel UNet inpaints by blending the unmasked area's latents in at every step; only a 9-channel
    inpainting UNet takes the masked image's latents as input. diffusers' SDXL inpainting encodes the masked
    image with the VAE either way, unless it is handed latents: zeros of their shape spare a 1024² VAE
    encode per call, and change nothing the UNet sees.
    """
    unet = getattr(pipeline, "unet", None)
    vae = getattr(pipeline, "vae", None)
    if (
        unet is None
        or vae is None
        or "masked_image_latents" not in parameters
        or unet.config.in_channels != 4
    ):
        return {}
    import torch

    factor = int(getattr(pipeline, "vae_scale_factor", 8))
    shape = (batch, int(vae.config.latent_channels), height // factor, width // factor)
    return {"masked_image_latents": torch.zeros(shape, device=pipeline.device, dtype=unet.dtype)}


#: A worker refines with one prompt: its SDXL embeddings (two CLIP text encoders, run on every call
#: otherwise) are computed once per text encoder, prompt and guidance, and kept while the encoder lives.
_PROMPT_EMBEDDINGS: weakref.WeakKeyDictionary[
    Any, dict[tuple[str, str | None, bool, str], tuple[Any, ...]]
] = weakref.WeakKeyDictionary()
_PROMPT_EMBEDDINGS_PER_ENCODER = 8


def _prompt_arguments(pipeline: Any, parameters: Any, options: _Options, batch: int) -> dict[str, Any]:
    """Return the pipeline call's prompt arguments for `batch` crops: cached embeddings where the pipeline
    takes them (SDXL: `prompt_embeds` and `pooled_prompt_embeds`), the prompt text otherwise."""
    negative = options.negative_prompt if options.guidance > 1.0 and "negative_prompt" in parameters else None
    encoder = getattr(pipeline, "text_encoder_2", None) or getattr(pipeline, "text_encoder", None)
    takes_embeddings = {"prompt_embeds", "pooled_prompt_embeds"} <= set(parameters)
    if encoder is None or not takes_embeddings or not hasattr(pipeline, "encode_prompt"):
        text: dict[str, Any] = {"prompt": [options.prompt] * batch}
        if negative is not None:
            text["negative_prompt"] = [negative] * batch
        return text
    import torch

    cached = _PROMPT_EMBEDDINGS.setdefault(encoder, {})
    key = (options.prompt, negative, options.guidance > 1.0, str(pipeline.device))
    if key not in cached:
        with torch.no_grad():
            cached[key] = pipeline.encode_prompt(
                prompt=options.prompt,
                device=pipeline.device,
                num_images_per_prompt=1,
                do_classifier_free_guidance=options.guidance > 1.0,
                negative_prompt=negative,
            )
        while len(cached) > _PROMPT_EMBEDDINGS_PER_ENCODER:
            cached.pop(next(iter(cached)))
    embeds, negative_embeds, pooled, negative_pooled = cached[key]
    arguments = {
        "prompt_embeds": embeds.repeat(batch, 1, 1),
        "pooled_prompt_embeds": pooled.repeat(batch, 1),
    }
    if options.guidance > 1.0 and negative_embeds is not None:
        arguments["negative_prompt_embeds"] = negative_embeds.repeat(batch, 1, 1)
        arguments["negative_pooled_prompt_embeds"] = negative_pooled.repeat(batch, 1)
    return arguments


def _paste(
    entry: _Prepared,
    painted: np.ndarray | None,
    pipeline: Any,
    options: _Options,
    batch_size: int,
    seconds: float,
) -> RefineResult:
    image, band = entry.item.image, entry.band
    x0, y0, x1, y1 = band.box
    report: dict[str, Any] = {
        "pipeline": type(pipeline).__name__,
        "device": str(pipeline.device),
        "dtype": str(pipeline.dtype).removeprefix("torch."),
        "crop_box": [x0, y0, x1, y1],
        "model_size": list(entry.model_size),
        "band_pixels": band.band_pixels,
        "locked_pixels": band.locked_pixels,
        "steps": options.steps,
        "denoising_steps": int(options.steps * options.strength),
        "strength": options.strength,
        "guidance": options.guidance,
        "seed": entry.item.seed,
        "batch_size": batch_size,
        "seconds": round(seconds, 4),  # the pipeline call, shared by the batch
    }
    if painted is None:
        # fp16 overflow in a VAE without the fp16 fix gives NaN pixels: keep the composite, say why.
        report.update(
            refinement="skipped",
            code="nonfinite_output",
            reason="the model produced NaN or infinite pixels (an fp16 VAE overflow? use the fp16-fix VAE "
            "or bfloat16); the CPU composite is used as is",
        )
        return RefineResult(image=image, report=report)
    painted = _resize(painted, (x1 - x0, y1 - y0))
    # Only band pixels take the painted value; everything else (product included) stays the composite's.
    # Blending just those (~5% of the crop) keeps the CPU's share of a GPU refinement small.
    rows, cols = np.nonzero(band.region[y0:y1, x0:x1])
    rows_in, cols_in = rows + y0, cols + x0
    weight = band.weight[rows_in, cols_in][:, None]
    original = image[rows_in, cols_in].astype(np.float32)
    blended = original * (1.0 - weight) + painted[rows, cols].astype(np.float32) * weight
    result = image.copy()
    result[rows_in, cols_in] = np.rint(blended).astype(np.uint8)
    report["refinement"] = "done"
    return RefineResult(image=result, report=report)


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    shrinking = size[0] * size[1] < pixels.shape[0] * pixels.shape[1]
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
