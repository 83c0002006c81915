"""The band refinement may repaint: a ring around the piece, the product locked, a crop that holds it."""

from __future__ import annotations

import numpy as np
import pytest

from renderer.diffusion import band_for, check_composite
from renderer.errors import InputError
from tests.renderer.diffusion_helpers import composite, eroded_product_mask


def test_band_is_a_ring_around_the_piece_and_never_touches_locked_pixels():
    _, alpha = composite()
    band = band_for(alpha, band_px=4, edge_px=1, shadow_px=2)

    assert not (band.locked & band.region).any()
    assert np.array_equal(band.locked | band.region, band.locked ^ band.region)
    # The eroded product mask is locked; fully opaque pixels are locked too.
    assert band.locked[eroded_product_mask(alpha, 1)].all()
    assert band.locked[alpha >= 1.0].all()
    # The ring holds the soft fringe left after erosion and reaches band_px + shadow_px = 6 px beyond the
    # piece, no further.
    fringe = (alpha > 0) & (alpha < 1) & ~eroded_product_mask(alpha, 1)
    assert fringe.any() and band.region[fringe].all()
    ys, xs = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]]
    distance = np.hypot(ys - 48, xs - 40)  # the disc's centre; its alpha reaches 0 at radius 12
    assert band.region[(distance > 12.5) & (distance < 17.5)].all()
    assert not band.region[distance > 19.5].any()
    assert band.band_pixels == int(band.region.sum()) > 0
    assert band.locked_pixels == int(band.locked.sum()) > 0


def test_weight_is_zero_outside_the_band_and_fades_toward_its_outer_edge():
    _, alpha = composite()
    band = band_for(alpha, band_px=4, edge_px=1, shadow_px=4, feather_px=4)

    assert (band.weight[~band.region] == 0).all()
    assert (band.weight[band.region] > 0).all() and (band.weight <= 1).all()
    assert band.weight[48, 40 + 12 + 1] == pytest.approx(1.0)  # just outside the piece: full strength
    assert band.weight[48, 40 + 12 + 8] < 0.5  # at the outer edge: mostly the plate


def test_without_lock_opaque_only_the_eroded_mask_is_locked():
    _, alpha = composite()
    band = band_for(alpha, band_px=3, edge_px=3, lock_opaque=False)

    assert np.array_equal(band.locked, eroded_product_mask(alpha, 3))
    # The opaque rim between the eroded mask and the fringe is now part of the band.
    assert band.region[(alpha >= 1.0) & ~band.locked].all()


def test_a_thin_opaque_chain_stays_locked_however_wide_the_erosion():
    alpha = np.zeros((64, 64), np.float32)
    alpha[30:33, 5:60] = 1.0  # a 3 px chain: any erosion of 2 px wipes it out
    band = band_for(alpha, band_px=4, edge_px=2)
    assert band.locked[alpha == 1.0].all()
    assert not band.region[alpha == 1.0].any()


def test_crop_box_is_square_holds_the_band_and_respects_the_minimum_side():
    _, alpha = composite(200, 300, centre=(100, 150), radius=10)
    band = band_for(alpha, band_px=4, min_side=96, context=0.25)
    x0, y0, x1, y1 = band.box
    assert x1 - x0 == y1 - y0 == 96
    ys, xs = np.nonzero(band.region)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1


def test_crop_box_slides_inside_the_image_at_a_border_and_shrinks_only_to_the_image():
    _, alpha = composite(60, 300, centre=(30, 290), radius=10)
    band = band_for(alpha, band_px=4, min_side=128)
    x0, y0, x1, y1 = band.box
    assert (x0, y0, x1, y1) == (300 - 128, 0, 300, 60)


def test_the_band_spans_every_piece_of_a_pair():
    alpha = np.zeros((120, 200), np.float32)
    alpha[50:60, 20:30] = 1.0  # left earring
    alpha[50:60, 170:180] = 1.0  # right earring
    band = band_for(alpha, band_px=3)
    x0, _, x1, _ = band.box
    assert x0 <= 17 and x1 >= 183


@pytest.mark.parametrize(
    ("image", "alpha", "message"),
    [
        (np.zeros((8, 8, 3), np.float32), np.ones((8, 8), np.float32), "uint8 RGB"),
        (np.zeros((8, 8), np.uint8), np.ones((8, 8), np.float32), "uint8 RGB"),
        (np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.float64), "float32"),
        (np.zeros((8, 8, 3), np.uint8), np.ones((8, 9), np.float32), "same pixels"),
        (np.zeros((8, 8, 3), np.uint8), np.full((8, 8), 1.5, np.float32), r"\[0, 1\]"),
        (np.zeros((8, 8, 3), np.uint8), np.full((8, 8), np.nan, np.float32), "NaN"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.float32), "no placed piece"),
    ],
)
def test_bad_composites_are_refused_with_what_was_expected(image, alpha, message):
    with pytest.raises(InputError, match=message):
        check_composite(image, alpha)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"band_px": 0}, "band_px"),
        ({"band_px": 2.5}, "band_px"),
        ({"band_px": 4, "edge_px": -1}, "edge_px"),
        ({"band_px": 4, "shadow_px": -2}, "shadow_px"),
        ({"band_px": 4, "feather_px": 0}, "feather_px"),
        ({"band_px": 4, "context": 9.0}, "context"),
    ],
)
def test_bad_band_settings_are_refused(kwargs, message):
    _, alpha = composite()
    with pytest.raises(InputError, match=message):
        band_for(alpha, **kwargs)
