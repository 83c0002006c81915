"""Generate candidate model plates from a house style's recipe and keep those the plate analysis accepts.

A plate is generated once, on a GPU, then approved by the merchant like any draft; afterwards every
product of the store is shown on it. Candidate ``i`` uses ``seed + i`` with its own generator, so the same
recipe and seed give the same plate, and candidate 3 of one run is candidate 0 of a run seeded 3 higher.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from renderer.diffusion.loading import serves
from renderer.errors import InputError

DEFAULT_PLATE_MODEL = "sdxl-lightning"


@dataclass(frozen=True)
class PlateRecipe:
    """How to generate a house style's plate: prompt, negative prompt, seed, size, steps, guidance, model.

    Width and height are multiples of 16 (SDXL needs 8, FLUX 16). ``guidance`` 0 suits distilled few-step
    models (SDXL-Lightning, FLUX.1-schnell); above 1 it turns on classifier-free guidance and with it the
    negative prompt. ``model`` names the folder in MODELS_DIR.
    """

    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    width: int = 1024
    height: int = 1280
    steps: int = 4
    guidance: float = 0.0
    model: str = DEFAULT_PLATE_MODEL

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InputError(f"recipe prompt must be a non-empty string, got {self.prompt!r}")
        if not isinstance(self.negative_prompt, str):
            raise InputError(f"recipe negative_prompt must be a string, got {self.negative_prompt!r}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**62:
            raise InputError(f"recipe seed must be an integer in [0, 2**62), got {self.seed!r}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if not _is_int(value) or not 64 <= value <= 4096 or value % 16:
                raise InputError(f"recipe {name} must be a multiple of 16 in [64, 4096], got {value!r}")
        if not _is_int(self.steps) or not 1 <= self.steps <= 200:
            raise InputError(f"recipe steps must be an integer in [1, 200], got {self.steps!r}")
        if not (_is_int(self.guidance) or isinstance(self.guidance, float)) or not self.guidance >= 0:
            raise InputError(f"recipe guidance must be a number >= 0, got {self.guidance!r}")
        if not isinstance(self.model, str) or self.model in ("", ".", "..") or "/" in self.model:
            raise InputError(f"recipe model must be a folder name in MODELS_DIR, got {self.model!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "recipe") -> PlateRecipe:
        """Build a recipe from a house style's YAML mapping; errors name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where} must be a mapping of recipe fields, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"{where} has unknown key(s) {', '.join(map(str, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**data)
        except TypeError as exc:  # a required key is missing
            raise InputError(f"{where}: {exc}") from None
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class PlateCandidate:
    """One generated plate: its seed and pixels, what the analysis found, and whether it passed and why."""

    recipe: PlateRecipe
    index: int
    seed: int
    image: np.ndarray
    analysis: Any
    accepted: bool
    reason: str
    seconds: float


def generate_candidates(
    recipe: PlateRecipe,
    *,
    pipeline: Any,
    analyze: Callable[[np.ndarray], Any],
    accept: Callable[[Any], tuple[bool, str]],
    count: int,
) -> list[PlateCandidate]:
    """Generate ``count`` plates (seeds ``recipe.seed + i``), analyse each and record the verdict.

    ``analyze(image_rgb)`` is the renderer's plate analysis; ``accept(analysis)`` answers ``(ok, reason)``,
    e.g. whether the anchors for the wanted kinds, the face and the iris were found.
    """
    if not isinstance(recipe, PlateRecipe):
        raise InputError(f"recipe must be a PlateRecipe, got {type(recipe).__name__}")
    if not _is_int(count) or not 1 <= count <= 64:
        raise InputError(f"count must be an integer in [1, 64], got {count!r}")
    if not serves(pipeline, "text2image"):
        raise InputError(
            f"pipeline {type(pipeline).__name__} is not a text-to-image pipeline; "
            "load it with load_pipeline(..., task='text2image')"
        )
    return [_candidate(recipe, index, pipeline, analyze, accept) for index in range(count)]


def generate_plates(
    recipe: PlateRecipe,
    *,
    pipeline: Any,
    analyze: Callable[[np.ndarray], Any],
    accept: Callable[[Any], tuple[bool, str]],
    count: int,
) -> list[PlateCandidate]:
    """Generate ``count`` candidates and return those ``accept`` passes, in seed order, with reasons."""
    candidates = generate_candidates(recipe, pipeline=pipeline, analyze=analyze, accept=accept, count=count)
    return [candidate for candidate in candidates if candidate.accepted]


def _candidate(
    recipe: PlateRecipe,
    index: int,
    pipeline: Any,
    analyze: Callable[[np.ndarray], Any],
    accept: Callable[[Any], tuple[bool, str]],
) -> PlateCandidate:
    import inspect

    import torch

    seed = recipe.seed + index
    began = time.perf_counter()
    kwargs: dict[str, Any] = {
        "prompt": recipe.prompt,
        "width": recipe.width,
        "height": recipe.height,
        "num_inference_steps": recipe.steps,
        "guidance_scale": float(recipe.guidance),
        "generator": torch.Generator(device=pipeline.device).manual_seed(seed),
        "output_type": "np",
    }
    parameters = inspect.signature(type(pipeline).__call__).parameters
    if recipe.negative_prompt and recipe.guidance > 1.0 and "negative_prompt" in parameters:
        kwargs["negative_prompt"] = recipe.negative_prompt
    pixels = np.asarray(pipeline(**kwargs).images)[0]
    seconds = time.perf_counter() - began
    if not np.isfinite(pixels).all():
        image = np.zeros((recipe.height, recipe.width, 3), np.uint8)
        reason = "the model produced NaN or infinite pixels (an fp16 VAE overflow? use the fp16-fix VAE)"
        return PlateCandidate(recipe, index, seed, image, None, False, reason, seconds)
    image = np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)
    analysis = analyze(image)
    verdict = accept(analysis)
    if (
        not isinstance(verdict, tuple)
        or len(verdict) != 2
        or not isinstance(verdict[0], bool)
        or not isinstance(verdict[1], str)
    ):
        raise TypeError(f"accept must return (bool, str), got {verdict!r}")
    return PlateCandidate(recipe, index, seed, image, analysis, verdict[0], verdict[1], seconds)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
