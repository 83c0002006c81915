"""Optional GPU stage of the renderer: diffusion refinement with product pixels locked, plate generation.

torch and diffusers are imported inside the functions, so importing this package never needs them.
"""

from renderer.diffusion.architectures import build_sdxl_pipeline, sdxl_components
from renderer.diffusion.band import Band, band_for, check_composite
from renderer.diffusion.generate import (
    DEFAULT_PLATE_MODEL,
    PlateCandidate,
    PlateRecipe,
    generate_candidates,
    generate_plates,
)
from renderer.diffusion.loading import (
    COMPILE_MODES,
    clear_pipeline_cache,
    compile_pipeline,
    cuda_available,
    load_pipeline,
    model_folder,
    resolve_device,
    resolve_dtype,
)
from renderer.diffusion.refine import (
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_PROMPT,
    DEFAULT_REFINE_MODEL,
    RefineItem,
    RefineResult,
    refine,
    refine_batch,
    refine_batch_or_skip,
    refine_or_skip,
    refinement_pipeline,
)
from renderer.diffusion.throughput import Throughput

__all__ = [
    "COMPILE_MODES",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_PLATE_MODEL",
    "DEFAULT_PROMPT",
    "DEFAULT_REFINE_MODEL",
    "Band",
    "PlateCandidate",
    "PlateRecipe",
    "RefineItem",
    "RefineResult",
    "Throughput",
    "band_for",
    "build_sdxl_pipeline",
    "check_composite",
    "clear_pipeline_cache",
    "compile_pipeline",
    "cuda_available",
    "generate_candidates",
    "generate_plates",
    "load_pipeline",
    "model_folder",
    "refine",
    "refine_batch",
    "refine_batch_or_skip",
    "refine_or_skip",
    "refinement_pipeline",
    "resolve_device",
    "resolve_dtype",
    "sdxl_components",
]
