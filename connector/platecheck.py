"""Say what each plate of a house style can carry, and why not, from the renderer's plate analysis.

The analysis (MediaPipe landmarks → anchors, scale, per-kind capability) is the one the worker renders with,
cached in `plate_analyses` under the same key (`analysis_key`: the picture's bytes and its crop), so the
house-style page and the render job compute it once between them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connector.models import PlateAnalysisCache
from connector.services import Services
from connector.shopstyle import plate_image_bytes
from connector.storage import StorageError
from connector.styles import KINDS, PlateSpec, StyleError
from renderer.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KindCapability:
    """Whether a plate can carry one kind; `code` is the renderer's stable reason, `message` its words."""

    kind: str
    ok: bool
    code: str
    message: str


def analysis_key(image: bytes, crop: tuple[int, int, int, int] | None) -> str:
    """Return the cache key of a plate's analysis (as `connector.renderjob` keys it)."""
    return hashlib.sha256(image + repr(crop).encode()).hexdigest()


def _cropped_rgb(image: bytes, crop: tuple[int, int, int, int] | None) -> np.ndarray:
    import renderer

    rgb = renderer.load_image(image).rgb
    if crop is not None:
        x, y, w, h = crop
        if x + w > rgb.shape[1] or y + h > rgb.shape[0]:
            raise StyleError(f"crop {list(crop)} leaves the {rgb.shape[1]}x{rgb.shape[0]} image")
        rgb = np.ascontiguousarray(rgb[y : y + h, x : x + w])
    return rgb


def _cached(services: Services, shop_id: int, key: str) -> PlateAnalysisCache | None:
    with services.db.session() as session:
        return session.scalar(
            select(PlateAnalysisCache).where(
                PlateAnalysisCache.shop_id == shop_id, PlateAnalysisCache.content_hash == key
            )
        )


def image_analysis(
    services: Services, shop_id: int, image: bytes, crop: tuple[int, int, int, int] | None = None
) -> dict[str, Any]:
    """Return the analysis (`PlateAnalysis.to_dict()`) of a plate picture, computed once and cached."""
    import renderer

    key = analysis_key(image, crop)
    cached = _cached(services, shop_id, key)
    if cached is not None:
        try:
            renderer.PlateAnalysis.from_dict(cached.analysis)
            return dict(cached.analysis)
        except InputError:  # written by an older renderer: analyse again
            log.info("plate analysis %s not usable; analysing again", key[:12])
    analysis = renderer.analyze_plate(_cropped_rgb(image, crop)).to_dict()
    try:
        with services.db.session() as session:
            row = session.scalar(
                select(PlateAnalysisCache).where(
                    PlateAnalysisCache.shop_id == shop_id, PlateAnalysisCache.content_hash == key
                )
            )
            if row is None:
                session.add(PlateAnalysisCache(shop_id=shop_id, content_hash=key, analysis=analysis))
            else:
                row.analysis = analysis
    except IntegrityError:
        pass  # the worker cached the same plate at the same moment
    return analysis


def plate_analysis(services: Services, shop_id: int, plate: PlateSpec) -> dict[str, Any] | None:
    """Return the analysis of a style's plate; None for a plate with no picture yet (a recipe)."""
    if plate.image is None:
        return None
    image = plate_image_bytes(plate, services.settings.STYLES_DIR, services.storage)
    return image_analysis(services, shop_id, image, plate.crop)


def capabilities(analysis: dict[str, Any] | None) -> tuple[KindCapability, ...]:
    """Return, for every kind, whether the analysed plate can carry it and why not."""
    if analysis is None:
        return ()
    found = analysis.get("capabilities") or {}
    out = []
    for kind in KINDS:
        item = found.get(kind) or {}
        out.append(
            KindCapability(
                kind,
                bool(item.get("ok")),
                str(item.get("code") or "unknown"),
                str(item.get("message") or "not analysed"),
            )
        )
    return tuple(out)


def plate_capabilities(services: Services, shop_id: int, plate: PlateSpec) -> tuple[KindCapability, ...]:
    """Return what the plate can carry; a picture that cannot be analysed says so for every kind."""
    try:
        return capabilities(plate_analysis(services, shop_id, plate))
    except (InputError, StyleError, StorageError) as exc:
        return tuple(KindCapability(kind, False, "unreadable", str(exc)) for kind in KINDS)
