"""The knobs of a render, as the house style sets them: output size, look, and the bars to pass."""

from __future__ import annotations

from dataclasses import dataclass, fields

from renderer.errors import ConfigError


@dataclass(frozen=True)
class RenderOptions:
    """How to render and what a render must pass to be offered as a draft.

    output_width/output_height: the wanted output size (None: the plate's own size). The plate is
    cropped to that aspect around the piece and scaled down to fit, but never up beyond the plate's
    resolution: a smaller plate gives a smaller image, and the report says so.
    shadow_strength (0..1): contact shadow under the piece; ambient_occlusion (0..1): darkening of skin
    right next to it; light_match (0..1): how far the piece's global colour/brightness follows the
    plate's light (0 keeps the product photo's, 1 adopts the plate's).
    min_ssim / max_delta_e: fidelity inside the eroded product mask against the placed cutout;
    scale_tolerance: achieved size within this fraction of the stated one; min_anchor_confidence:
    plates whose anchors are less sure than this are skipped.
    """

    output_width: int | None = None
    output_height: int | None = None
    shadow_strength: float = 0.35
    ambient_occlusion: float = 0.25
    light_match: float = 0.5
    min_ssim: float = 0.97
    max_delta_e: float = 6.0
    scale_tolerance: float = 0.10
    min_anchor_confidence: float = 0.3

    def __post_init__(self) -> None:
        for name in ("output_width", "output_height"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 16):
                raise ConfigError(
                    f"render option {name} = {v!r}: expected a whole number of pixels ≥ 16 or None"
                )
        for name in (
            "shadow_strength",
            "ambient_occlusion",
            "light_match",
            "min_ssim",
            "scale_tolerance",
            "min_anchor_confidence",
        ):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"render option {name} = {v!r}: expected a number between 0 and 1")
        if not isinstance(self.max_delta_e, int | float) or not 0.0 < float(self.max_delta_e) <= 100.0:
            raise ConfigError(
                f"render option max_delta_e = {self.max_delta_e!r}: expected a number in (0, 100]"
            )

    def to_dict(self) -> dict[str, object]:
        """Return the options as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
