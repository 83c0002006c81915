"""Tiny random-weight SDXL pipelines, saved into a folder and loaded back offline, for the diffusion tests.

The pipelines are the real diffusers classes with small configurations (renderer.diffusion.architectures,
as diffusers' own tests do with dummy components); they run at 64×64 in ~0.1 s on CPU.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from renderer.diffusion import build_sdxl_pipeline

# folder name in the tiny MODELS_DIR -> (task, UNet input channels)
TINY_MODELS = {
    "sdxl-inpaint-tiny": ("inpaint", 4),  # 4-channel UNet: latent blending (how SDXL-Lightning inpaints)
    "sdxl-inpaint9-tiny": ("inpaint", 9),  # 9-channel UNet: an inpainting checkpoint
    "sdxl-base-tiny": ("text2image", 4),
}


def quiet_diffusers_imports() -> None:
    """Import diffusers' auto-pipeline module once with its one known import-time warning ignored.

    It imports every pipeline family; Kolors' text encoder decorates a function with ``torch.jit.script``,
    which torch 2.13 deprecates with a DeprecationWarning at import. Nothing of Kolors runs here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
        )
        import diffusers.pipelines.auto_pipeline  # noqa: F401


def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the tiny pipelines once per test session into a MODELS_DIR-like folder and return it."""
    quiet_diffusers_imports()
    # Tiny models gain nothing from threads, and on a shared 2-core machine a second OpenMP thread that
    # waits for a busy core makes each call 20× slower (2.5 s instead of 0.12 s).
    torch.set_num_threads(1)
    root = tmp_path_factory.getbasetemp() / "tiny-models"
    done = root / ".complete"
    if not done.exists():
        for name, (task, channels) in TINY_MODELS.items():
            pipeline = build_sdxl_pipeline(task, "tiny", unet_in_channels=channels, seed=0)
            pipeline.save_pretrained(root / name)
        done.touch()
    return root


def composite(height: int = 96, width: int = 80, *, centre: tuple[int, int] = (48, 40), radius: int = 12):
    """Return a plate-like image with a gold disc composited on it, and the disc's soft-edged alpha.

    The plate is a skin-toned gradient with fixed noise; the alpha is 1 inside the disc and ramps to 0
    over its last two pixels, like a matte's fringe.
    """
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    plate = np.stack([200 - 0.4 * ys, 150 - 0.3 * ys + 0.2 * xs, 120 + 0.3 * xs], axis=-1) + rng.normal(
        0, 6, (height, width, 3)
    )
    distance = np.hypot(ys - centre[0], xs - centre[1])
    alpha = np.clip((radius - distance) / 2.0, 0.0, 1.0).astype(np.float32)
    gold = np.array([212, 175, 55], np.float32) + rng.normal(0, 10, (height, width, 3))
    image = plate * (1 - alpha[..., None]) + gold * alpha[..., None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), alpha


def eroded_product_mask(alpha: np.ndarray, edge_px: int) -> np.ndarray:
    """Erode alpha > 0 by a disc, independently of the code under test."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge_px + 1, 2 * edge_px + 1))
    return cv2.erode((alpha > 0).astype(np.uint8), kernel).astype(bool)
