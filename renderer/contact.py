"""Lay the source photo and every render side by side with their numbers, for a person to check."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from renderer.render import RenderOutcome

TILE = 360
CAPTION = 92


def _fit(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(size / w, size / h)
    small = cv2.resize(
        img,
        (max(1, round(w * s)), max(1, round(h * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    tile = np.full((size, size, 3), 245, np.uint8)
    y0, x0 = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    tile[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small[:, :, :3]
    return tile


def _caption(lines: list[str], ok: bool | None) -> np.ndarray:
    cap = np.full((CAPTION, TILE, 3), 255, np.uint8)
    colour = (30, 30, 30) if ok is None else ((20, 120, 40) if ok else (170, 30, 30))
    for i, text in enumerate(lines[:5]):
        cv2.putText(
            cap,
            text[:52],
            (6, 16 + 17 * i),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.42,
            colour if i == 0 else (40, 40, 40),
            1,
            cv2.LINE_AA,
        )
    return cap


def _lines(o: RenderOutcome) -> list[str]:
    r = o.report
    head = f"{o.plate_id}: {'offered' if o.offered else (o.reason.code if o.reason else 'not offered')}"
    if o.image is None:
        msg = o.reason.message if o.reason else ""
        return [head, msg[:52], msg[52:104], msg[104:156]]
    lines = [head]
    if r.ssim is not None and r.ssim == r.ssim:
        lines.append(f"SSIM {r.ssim:.4f}  dE2000 {r.delta_e:.2f}  ({r.fidelity_pixels} px)")
    if r.achieved_mm is not None and r.stated:
        lines.append(f"size {r.achieved_mm:.1f} mm vs {r.stated['mm']:.1f} ({(r.scale_error or 0):.1%} off)")
    if r.px_per_mm is not None:
        lines.append(f"{r.px_per_mm:.2f} px/mm from {r.scale_source}, conf {r.anchor_confidence:.2f}")
    if r.stated and r.stated.get("source") == "typical":
        lines.append("typical size assumed (none stated)")
    return lines


def contact_sheet(source_rgb: np.ndarray, outcomes: Sequence[RenderOutcome], columns: int = 4) -> np.ndarray:
    """Return one RGB image: the source photo, then each render (or its skip reason) with its numbers."""
    tiles = [
        np.vstack(
            [
                _fit(source_rgb, TILE),
                _caption(["source photo", f"{source_rgb.shape[1]}x{source_rgb.shape[0]}"], None),
            ]
        )
    ]
    for o in outcomes:
        img = o.image if o.image is not None else np.full((TILE, TILE, 3), 225, np.uint8)
        tiles.append(np.vstack([_fit(img, TILE), _caption(_lines(o), o.offered)]))
    cols = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // cols)
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (rows * cols - len(tiles))
    gap = 6
    grid = [
        np.hstack(
            [
                np.pad(t, ((gap, gap), (gap, gap), (0, 0)), constant_values=255)
                for t in tiles[r * cols : (r + 1) * cols]
            ]
        )
        for r in range(rows)
    ]
    return np.vstack(grid)
