"""Fixtures for the renderer: real photographs (PyPI-shipped plates always, shared photos when present)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))


from tests.support.photos import PHOTOS  # noqa: E402


def pypi_plate_paths() -> dict[str, Path]:
    """Return the photos of people that ship inside installed PyPI packages."""
    import matplotlib
    import skimage

    return {
        "grace_hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
        "astronaut": Path(skimage.__file__).parent / "data" / "astronaut.png",
    }


def read_rgb(path: Path) -> np.ndarray:
    """Decode a photo through the renderer's own loader."""
    from renderer.imageio import load_image

    return load_image(path.read_bytes()).rgb


@pytest.fixture(scope="session")
def photo() -> Callable[[str], np.ndarray]:
    """Return a loader of ../shared/photos by file name; skips when the folder is absent."""

    def load(name: str) -> np.ndarray:
        if PHOTOS is None or not (PHOTOS / name).exists():
            pytest.skip(f"shared photo {name} not available (set WORN_PHOTOS_DIR)")
        return read_rgb(PHOTOS / name)

    return load


@pytest.fixture(scope="session")
def pypi_plates() -> dict[str, np.ndarray]:
    """Return grace_hopper and astronaut as RGB arrays."""
    return {k: read_rgb(p) for k, p in pypi_plate_paths().items()}


@pytest.fixture(scope="session")
def analysed() -> Callable[[np.ndarray], object]:
    """Return a per-session cache of analyze_plate by content hash (as the connector caches it)."""
    from renderer import analyze_plate, content_hash

    cache: dict[str, object] = {}

    def get(img: np.ndarray) -> object:
        key = content_hash(img)
        if key not in cache:
            cache[key] = analyze_plate(img)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def drawings() -> ModuleType:
    """Import scripts/make_product_photos.py (the drawing code with the true alpha of every sample)."""
    path = REPO / "scripts" / "make_product_photos.py"
    spec = importlib.util.spec_from_file_location("make_product_photos", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_product_photos"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_cutouts() -> dict[str, object]:
    """Cut every shipped white-backdrop sample once per session."""
    from renderer import cutout, load_image, sample_products

    out = {}
    for p in sample_products():
        if p.background == "white":
            out[p.name] = cutout(load_image(p.read_bytes()).pixels)
    return out
