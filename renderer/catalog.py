"""List the sample product photos shipped in renderer/samples (drawn by scripts/make_product_photos.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class SampleProduct:
    """One shipped product photo: file name (in renderer/samples), kind, stated size text, photo scale."""

    file: str
    name: str
    title: str
    kind: str
    size: str
    background: str
    px_per_mm: float
    width: int
    height: int

    def read_bytes(self) -> bytes:
        """Return the PNG's bytes (package data, not a caller's file)."""
        return resources.files("renderer").joinpath("samples", self.file).read_bytes()


def sample_products() -> list[SampleProduct]:
    """Return the shipped sample products, white-backdrop ones first."""
    data = json.loads(resources.files("renderer").joinpath("samples", "products.json").read_text("utf-8"))
    return [SampleProduct(**p) for p in data["products"]]
