"""Chains photographed as closed loops or hung open (U, V): shape, strip, drape on the neck, refusals."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from renderer import (
    Cutout,
    CutoutError,
    Plate,
    RenderOptions,
    cutout,
    load_image,
    parse_size,
    render,
    sample_products,
)
from renderer.chainshape import LOOP, OPEN, chain_shape
from renderer.loop import unwrap
from tests.renderer.conftest import REPO

SEED_PHOTOS = REPO / "devshop" / "seed" / "photos"
SAMPLES = {p.file: p for p in sample_products()}
# (photo, form, has a pendant): the shipped samples and the dev shop's seed photos.
SHAPES = [
    ("pendant_necklace.png", LOOP, True),
    ("chain_bracelet.png", LOOP, False),
    ("pendant_necklace_v.png", OPEN, True),
    ("chain_necklace_u.png", OPEN, False),
    ("chain_necklace_u_gradient.png", OPEN, False),
    ("seed:necklace-1.jpg", OPEN, False),
    ("seed:necklace-2.jpg", OPEN, False),
    ("seed:necklace-3.jpg", OPEN, False),
    ("seed:pendant-1.jpg", OPEN, True),
    ("seed:pendant-2.jpg", OPEN, True),
    ("seed:bracelet-1.jpg", LOOP, False),
    ("seed:bracelet-2.jpg", LOOP, False),
    ("seed:bracelet-3.jpg", OPEN, False),  # a cuff: an open C, its opening behind the wrist
]
OPEN_NECKLACES = [
    ("pendant_necklace_v.png", "pendant", "18 in"),
    ("chain_necklace_u.png", "necklace", "20 in"),
    ("chain_necklace_u_gradient.png", "necklace", "16 in"),
    # The dev shop's seed catalogue (devshop/seed.py gives each product the next photo of its kind):
    # the sizes those products state (the shortest and longest of a variant option).
    ("seed:necklace-1.jpg", "necklace", "18 in"),
    ("seed:necklace-2.jpg", "necklace", "40 cm"),
    ("seed:necklace-3.jpg", "necklace", "45 cm"),
    ("seed:pendant-1.jpg", "pendant", "16 in"),
    ("seed:pendant-2.jpg", "pendant", "20 in"),
]

def _photo(name: str) -> np.ndarray:
    if name.startswith("seed:"):
        data = (SEED_PHOTOS / name.split(":", 1)[1]).read_bytes()
    else:
        data = SAMPLES[name].read_bytes()
    return load_image(data).pixels


@pytest.fixture(scope="module")
def cut_of() -> Callable[[str], Cutout]:
    """Return the cutout of a sample ("file.png") or seed photo ("seed:file.jpg"), cut once."""
    cache: dict[str, Cutout] = {}

    def get(name: str) -> Cutout:
        if name not in cache:
            cache[name] = cutout(_photo(name))
        return cache[name]

    return get


@pytest.mark.parametrize(("name", "form", "has_pendant"), SHAPES, ids=[s[0] for s in SHAPES])
def test_shape_ends_and_pendant_are_found(cut_of, name: str, form: str, has_pendant: bool) -> None:
    cut = cut_of(name)
    shape = chain_shape(cut)
    assert shape.form == form
    assert (shape.pendant is not None) == has_pendant
    if form == LOOP:
        return
    line = shape.line
    h, w = cut.alpha.shape
    ys = np.nonzero(shape.mask)[0]
    if name.endswith("bracelet-3.jpg"):
        # The cuff's ends face each other across its opening, on the right.
        assert min(line[0][0], line[-1][0]) > 0.8 * w
        assert np.hypot(*(line[0] - line[-1])) < 0.6 * h
    else:
        # Hung: both ends at the top, one on each side.
        for end in (line[0], line[-1]):
            assert end[1] < ys.min() + 0.2 * h
        assert line[0][0] < w * 0.3 and line[-1][0] > w * 0.7
    # The line runs through the chain all along.
    ij = np.round(line).astype(int)
    near = cv2.dilate((cut.alpha > 0.3).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert near[ij[:, 1], ij[:, 0]].mean() > 0.97
    if has_pendant:
        # The pendant hangs at the chain's lowest point, half way along it.
        py = np.nonzero(shape.pendant)[0]
        assert py.mean() > line[:, 1].max()
        strip = unwrap(cut)
        assert strip.pendant_s == pytest.approx(strip.length_px / 2, rel=0.05)


@pytest.mark.parametrize("name", ["pendant_necklace_v.png", "chain_necklace_u.png", "chain_necklace_u_gradient.png"])
def test_open_chain_length_is_its_drawn_length(cut_of, name: str) -> None:
    # The drawings hang a chain of exactly the stated length (clasp and tag included) at px_per_mm.
    sample = SAMPLES[name]
    stated = parse_size(sample.size, sample.kind)
    strip = unwrap(cut_of(name))
    assert not strip.closed
    assert strip.length_px == pytest.approx(stated.mm * sample.px_per_mm, rel=0.015)


def test_open_strip_holds_the_photos_own_pixels(cut_of) -> None:
    cut = cut_of("pendant_necklace_v.png")
    shape = chain_shape(cut)
    strip = unwrap(cut)
    # Nearly all the chain's metal went into the strip (the pendant is kept apart), none of it twice.
    chain_alpha = np.where(shape.pendant, 0.0, cut.alpha)
    assert strip.alpha.sum() == pytest.approx(chain_alpha.sum(), rel=0.04)
    # Its centre row is the photo sampled along the line: moved, not redrawn.
    line = shape.line
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    s = np.arange(strip.rgb.shape[1], dtype=np.float64)
    px = np.interp(s, cum, line[:, 0]).astype(np.float32)[None]
    py = np.interp(s, cum, line[:, 1]).astype(np.float32)[None]
    a = cv2.remap(chain_alpha.astype(np.float32), px, py, cv2.INTER_LINEAR)[0]
    src = cv2.remap(cut.rgb.astype(np.float32), px, py, cv2.INTER_LINEAR)[0]
    solid = (a > 0.98) & (strip.alpha[strip.half_height] > 0.98)
    assert solid.sum() > 200
    assert np.abs(strip.rgb[strip.half_height][solid] - src[solid]).max() < 3.0


# The default house style (config/house-styles/studio.yaml): its plates, the kinds each carries, its bars.
STUDIO = {"grace_hopper": {"necklace", "pendant", "earrings"}, "astronaut": {"earrings"}}
STUDIO_OPTIONS = RenderOptions(
    output_width=2048, output_height=2560, light_match=0.6, min_anchor_confidence=0.5
)


@pytest.fixture(scope="module")
def default_plates(pypi_plates, analysed) -> list[Plate]:
    return [
        Plate(k, img, kinds=frozenset(STUDIO[k]), analysis=analysed(img)) for k, img in pypi_plates.items()
    ]


@pytest.mark.parametrize(("name", "kind", "size"), OPEN_NECKLACES, ids=[n[0] for n in OPEN_NECKLACES])
def test_open_chains_render_offered_on_the_default_plates(cut_of, default_plates, name, kind, size) -> None:
    stated = parse_size(size, kind)
    grace, astronaut = render(cut_of(name), kind, default_plates, size=stated, options=STUDIO_OPTIONS)
    assert grace.offered, grace.reason
    r = grace.report
    assert r.ssim >= 0.97 and r.delta_e <= 6.0 and r.fidelity_pixels >= 12
    assert r.scale_error <= 0.10
    assert r.achieved_mm == pytest.approx(stated.mm, rel=0.10)
    assert grace.product_alpha.max() > 0.9
    assert astronaut.reason.code == "not_in_style"  # a chain would lie on the suit's metal neck ring


def _centroid(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha > 0.3)
    w = alpha[ys, xs]
    return np.array([np.average(xs, weights=w), np.average(ys, weights=w)])


def _bottom(alpha: np.ndarray) -> int:
    return int(np.nonzero(alpha.max(axis=1) > 0.3)[0].max())


def test_open_v_pendant_hangs_on_the_sternum_line_from_the_neck_sides(cut_of, pypi_plates, analysed) -> None:
    img = pypi_plates["grace_hopper"]
    an = analysed(img)
    plate = Plate("g", img, analysis=an)
    ppm = an.face_scale.px_per_mm
    notch, right, left = an.anchors["sternum_top"], an.anchors["neck_right"], an.anchors["neck_left"]
    cut = cut_of("pendant_necklace_v.png")
    drops = {}
    for text in ("16 in", "18 in", "20 in"):
        (o,) = render(cut, "pendant", [plate], size=parse_size(text, "pendant"))
        assert o.offered, o.reason
        a = o.product_alpha
        # The chain's two ends: at the neck's sides, where it goes round behind the neck.
        cols = np.nonzero(a.max(axis=0) > 0.3)[0]
        for x_end, anchor in ((cols.min(), right), (cols.max(), left)):
            assert abs(x_end - anchor.x) <= 3 * ppm
            rows = np.nonzero(a[:, x_end] > 0.1)[0]
            assert abs(rows.min() - anchor.y) <= 4 * ppm
        # The pendant: the lowest part, on the sternum line.
        bottom = _bottom(a)
        low = a.copy()
        low[: bottom - int(10 * ppm)] = 0
        assert abs(_centroid(low)[0] - notch.x) <= 4 * ppm
        drops[text] = (bottom - notch.y) / ppm
    # A longer chain hangs lower, about 3 cm per 2 in (reference §4.2's chart).
    assert drops["16 in"] < drops["18 in"] < drops["20 in"]
    assert drops["20 in"] - drops["16 in"] == pytest.approx(60, abs=20)
    # And as low as the same pendant necklace photographed as a closed loop.
    (o,) = render(cut_of("pendant_necklace.png"), "pendant", [plate], size=parse_size("18 in", "pendant"))
    assert (_bottom(o.product_alpha) - notch.y) / ppm == pytest.approx(drops["18 in"], abs=5)


def test_open_u_chain_drops_to_the_length_chart(cut_of, pypi_plates, analysed) -> None:
    # Reference §4.2: 16 in where the collarbones meet, 18 in ~3 cm below, 20 in ~6 cm, 24 in mid-chest.
    img = pypi_plates["grace_hopper"]
    an = analysed(img)
    plate = Plate("g", img, analysis=an)
    ppm = an.face_scale.px_per_mm
    notch = an.anchors["sternum_top"]
    chart = {"16 in": 0, "18 in": 30, "20 in": 60, "24 in": 110}
    for text, drop_mm in chart.items():
        (o,) = render(cut_of("chain_necklace_u.png"), "necklace", [plate], size=parse_size(text, "necklace"))
        assert o.offered, o.reason
        assert (_bottom(o.product_alpha) - notch.y) / ppm == pytest.approx(drop_mm, abs=12)
        assert abs(_centroid(o.product_alpha)[0] - notch.x) <= 3 * ppm


@pytest.mark.parametrize(
    ("piece", "code"),
    [
        ("crossed_chain", "tangled"),
        ("tangled_chain", "tangled"),
        ("doubled_chain", "tangled"),
        ("two_chains", "not_a_chain"),
    ],
)
def test_chains_that_cannot_be_draped_are_refused(drawings, pypi_plates, piece: str, code: str) -> None:
    rgb, _, _ = drawings.photograph(piece, "white")
    with pytest.raises(CutoutError) as exc:
        render(rgb, "necklace", [Plate("g", pypi_plates["grace_hopper"])])
    assert exc.value.code == code
    assert "U or V" in str(exc.value) and "closed loop" in str(exc.value)


def test_a_chain_that_is_no_chain_is_refused(pypi_plates) -> None:
    with pytest.raises(CutoutError) as exc:
        render(_photo("stud_earrings.png"), "necklace", [Plate("g", pypi_plates["grace_hopper"])])
    assert exc.value.code == "not_a_chain"


@pytest.mark.parametrize(
    "crop", [(slice(200, None), slice(None)), (slice(None), slice(250, None)), (slice(125, None), slice(None))]
)
def test_an_open_chain_cut_off_by_the_frame_is_refused(drawings, crop) -> None:
    rgb, _, _ = drawings.photograph("pendant_necklace_v", "white")
    with pytest.raises(CutoutError) as exc:
        cutout(np.ascontiguousarray(rgb[crop]))  # an arm, or just the clasp, runs out of the photo
    assert exc.value.code == "touches_edges"


def test_an_open_chain_on_a_display_bust_is_refused(drawings) -> None:
    rgb, truth, _ = drawings.photograph("pendant_necklace_v", "white")
    h, w = truth.shape
    bust = np.zeros((h, w), np.uint8)
    cv2.ellipse(bust, (w // 2, h), (w // 3, int(h * 0.75)), 0, 180, 360, 1, -1)  # neck and shoulders
    img = rgb.copy()
    img[bust > 0] = (58, 52, 50)
    img = (img * (1 - truth[..., None]) + rgb * truth[..., None]).astype(np.uint8)
    with pytest.raises(CutoutError) as exc:
        cutout(img)
    assert exc.value.code in ("touches_edges", "no_clear_background")


def test_an_open_cuff_wraps_the_wrist_with_its_opening_behind(cut_of, photo, analysed) -> None:
    img = photo("hand_wrist_closeup_thumb_up.jpg")
    an = analysed(img)
    cut = cut_of("seed:bracelet-3.jpg")
    (o,) = render(cut, "bracelet", [Plate("w", img, analysis=an)], size=parse_size("7 in", "bracelet"))
    assert o.offered, o.reason
    assert o.report.achieved_mm == pytest.approx(177.8, rel=0.1)
    hand = an.hands[0]
    assert np.hypot(*(_centroid(o.product_alpha) - hand.wrist.xy)) <= 0.35 * hand.wrist_width_px
