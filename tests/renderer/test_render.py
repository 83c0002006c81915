"""Rendering every kind on every plate: placement, fidelity and scale bars, skips with reasons, options."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from renderer import (
    KINDS,
    ConfigError,
    CutoutError,
    InputError,
    Plate,
    RenderOptions,
    contact_sheet,
    encode_image,
    fidelity,
    parse_size,
    render,
    sample_products,
)

SHARED = [
    "wrist_watch_crossed_arms.jpg",
    "open_hand_necklace_woman.jpg",
    "open_hand_closeup_man.jpg",
    "hand_at_ear.jpg",
    "hand_dorsal_female_white_bg.jpg",
    "hand_dorsal_male_white_bg.jpg",
    "hand_wrist_closeup_thumb_up.jpg",
    "two_hands_fingers_spread_white_bg.jpg",
    "in_the_wild_hand_on_hip.jpg",
    "profile_side_view_ear.jpg",
]
PRODUCTS = {p.name: p for p in sample_products() if p.background == "white"}
PRODUCT_FOR_KIND = {
    "necklace": "pendant_necklace",
    "pendant": "pendant_necklace",
    "earrings": "drop_earrings",
    "ring": "solitaire_ring",
    "bracelet": "chain_bracelet",
    "anklet": "chain_bracelet",
}
# Physically true sizes can be too small to show: a 6 mm stud on a 512 px portrait is 3-4 px.
SMALL_IS_OK = {"too_small"}


@pytest.fixture(scope="module")
def all_plates(pypi_plates, analysed) -> list[Plate]:
    from tests.renderer.conftest import PHOTOS, read_rgb

    plates = [Plate(k, img, analysis=analysed(img)) for k, img in pypi_plates.items()]
    if PHOTOS is not None:
        for name in SHARED:
            if (PHOTOS / name).exists():
                img = read_rgb(PHOTOS / name)
                plates.append(Plate(name.rsplit(".", 1)[0], img, analysis=analysed(img)))
    return plates


def _check_outcome(o, plate: Plate, kind: str) -> None:
    cap = plate.analysis.capability(kind)
    if not cap.ok:
        assert o.image is None and not o.offered
        assert o.reason.code == cap.code and o.reason.message
        return
    assert o.image is not None, f"{plate.id} {kind}: {o.reason}"
    assert o.product_alpha.shape == o.image.shape[:2]
    r = o.report
    if o.offered:
        assert r.ssim >= 0.97 and r.delta_e <= 6.0
        assert r.scale_error <= 0.10
        assert o.product_alpha.max() > 0.9
    else:
        assert o.reason.code in SMALL_IS_OK, f"{plate.id} {kind}: {o.reason}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_on_every_plate_that_can_carry_it(all_plates, sample_cutouts, kind: str) -> None:
    product = PRODUCTS[PRODUCT_FOR_KIND[kind]]
    size = parse_size(product.size, "bracelet" if kind == "anklet" else kind)
    outcomes = render(sample_cutouts[product.name], kind, all_plates, size=size)
    assert [o.plate_id for o in outcomes] == [p.id for p in all_plates]
    for o, plate in zip(outcomes, all_plates, strict=True):
        _check_outcome(o, plate, kind)
    if kind in ("necklace", "pendant", "earrings"):
        assert sum(o.offered for o in outcomes) >= 2  # the two PyPI plates at least


def test_studs_render_at_true_size_even_when_too_small_to_offer(all_plates, sample_cutouts) -> None:
    outcomes = render(
        sample_cutouts["stud_earrings"], "earrings", all_plates, size=parse_size("6 mm", "earrings")
    )
    grace = next(o for o in outcomes if o.plate_id == "grace_hopper")
    assert grace.offered and grace.report.achieved_mm == pytest.approx(6.0, rel=0.1)
    for o in outcomes:
        if o.image is not None and not o.offered:
            assert o.reason.code == "too_small"
            assert o.report.achieved_mm == pytest.approx(6.0, rel=0.1)


def _centroid(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(alpha > 0.3)
    w = alpha[ys, xs]
    return np.array([np.average(xs, weights=w), np.average(ys, weights=w)])


def test_earrings_hang_from_the_earlobes(pypi_plates, analysed, sample_cutouts) -> None:
    img = pypi_plates["grace_hopper"]
    an = analysed(img)
    (o,) = render(
        sample_cutouts["drop_earrings"],
        "earrings",
        [Plate("g", img, analysis=an)],
        size=parse_size("3.5 cm", "earrings"),
    )
    assert o.offered
    a = o.product_alpha
    ppm = an.face_scale.px_per_mm
    for key in ("earlobe_right", "earlobe_left"):
        lobe = an.anchors[key]
        x0 = int(lobe.x - 12 * ppm)
        x1 = int(lobe.x + 12 * ppm)
        side = a[:, max(0, x0) : x1]
        rows = np.nonzero(side.max(axis=1) > 0.3)[0]
        assert abs(rows.min() - lobe.y) <= 2 * ppm  # hangs from the lobe (within 2 mm)
        assert (rows.max() - rows.min()) / ppm == pytest.approx(35, rel=0.12)  # and drops 35 mm


def test_necklace_drapes_to_the_sternum_line_and_lower_for_longer_chains(
    pypi_plates, analysed, sample_cutouts
) -> None:
    img = pypi_plates["grace_hopper"]
    an = analysed(img)
    plate = Plate("g", img, analysis=an)
    ppm = an.face_scale.px_per_mm
    notch = an.anchors["sternum_top"]
    drops = {}
    for text in ("16 in", "18 in", "20 in"):
        (o,) = render(
            sample_cutouts["pendant_necklace"], "pendant", [plate], size=parse_size(text, "pendant")
        )
        assert o.offered, o.reason
        a = o.product_alpha
        c = _centroid(a)
        assert abs(c[0] - notch.x) <= 10 * ppm  # centred on the sternum line
        bottom = np.nonzero(a.max(axis=1) > 0.3)[0].max()
        drops[text] = (bottom - notch.y) / ppm
        # the chain leaves the picture at the neck's sides, nowhere else
        cols = np.nonzero(a.max(axis=0) > 0.3)[0]
        assert cols.min() >= an.anchors["neck_right"].x - 6 * ppm
        assert cols.max() <= an.anchors["neck_left"].x + 6 * ppm
    # chart positions (reference §4.2): 16 in near the collarbones' meeting point, each 2 in lower by ~3 cm
    assert drops["16 in"] < drops["18 in"] < drops["20 in"]
    assert drops["20 in"] - drops["16 in"] == pytest.approx(55, abs=20)
    # and a 24 in chain on this 600 px portrait would hang out of the photo: skipped, not cropped
    (o,) = render(sample_cutouts["pendant_necklace"], "pendant", [plate], size=parse_size("24 in", "pendant"))
    assert o.reason.code == "out_of_frame" and o.image is None


def test_ring_sits_between_base_and_knuckle_with_the_back_of_the_band_hidden(
    photo, analysed, sample_cutouts
) -> None:
    img = photo("hand_dorsal_female_white_bg.jpg")
    an = analysed(img)
    (o,) = render(
        sample_cutouts["solitaire_ring"],
        "ring",
        [Plate("h", img, analysis=an)],
        size=parse_size("US 7", "ring"),
    )
    assert o.offered, o.reason
    hand = next(h for h in an.hands if h.facing == "back")
    base, knuckle = hand.ring_base.xy, hand.ring_knuckle.xy
    c = _centroid(o.product_alpha)
    along = (knuckle - base) / np.linalg.norm(knuckle - base)
    t = float(np.dot(c - base, along)) / np.linalg.norm(knuckle - base)
    off = abs(float(np.cross(along, c - base)))
    assert 0.05 <= t <= 0.8 and off <= hand.finger_width_px * 0.5
    # the palm side of the band is hidden: less shows than the whole ring at that scale
    cut = sample_cutouts["solitaire_ring"]
    s = o.report.px_per_mm * 17.35 / 470  # the sample's opening is ~470 px for 17.35 mm
    assert o.product_alpha.sum() < 0.9 * cut.alpha.sum() * s * s
    assert o.report.achieved_mm == pytest.approx(17.35, rel=0.05)


def test_bracelet_wraps_the_wrist(photo, analysed, sample_cutouts) -> None:
    img = photo("hand_wrist_closeup_thumb_up.jpg")
    an = analysed(img)
    (o,) = render(
        sample_cutouts["chain_bracelet"],
        "bracelet",
        [Plate("w", img, analysis=an)],
        size=parse_size("7 in", "bracelet"),
    )
    assert o.offered, o.reason
    hand = an.hands[0]
    c = _centroid(o.product_alpha)
    assert np.hypot(*(c - hand.wrist.xy)) <= 0.35 * hand.wrist_width_px
    ys, xs = np.nonzero(o.product_alpha > 0.3)
    across = np.array([-hand.arm_dir[1], hand.arm_dir[0]])
    span = (np.stack([xs, ys], 1) - hand.wrist.xy) @ across
    assert span.max() - span.min() == pytest.approx(hand.wrist_width_px, rel=0.2)


def test_hair_hides_earrings_under_it(photo, analysed, sample_cutouts) -> None:
    img = photo("open_hand_necklace_woman.jpg")
    (o,) = render(
        sample_cutouts["drop_earrings"],
        "earrings",
        [Plate("w", img, analysis=analysed(img))],
        size=parse_size("3.5 cm", "earrings"),
    )
    assert any("under hair" in n for n in o.report.notes)


def test_fidelity_catches_repainted_product_pixels(pypi_plates, analysed, sample_cutouts) -> None:
    img = pypi_plates["grace_hopper"]
    (o,) = render(
        sample_cutouts["drop_earrings"],
        "earrings",
        [Plate("g", img, analysis=analysed(img))],
        size=parse_size("3.5 cm", "earrings"),
    )
    same = fidelity(o.image, o.image, o.product_alpha)
    assert same[0] == pytest.approx(1.0) and same[1] == pytest.approx(0.0)
    repainted = o.image.copy()
    inside = o.product_alpha > 0.5
    repainted[inside] = (repainted[inside].astype(int) * [0.8, 1.0, 1.2]).clip(0, 255).astype(np.uint8)
    ssim, de, _ = fidelity(repainted, o.image, o.product_alpha)
    assert de > 6.0 or ssim < 0.97
    smeared = o.image.copy()
    smeared[inside] = np.median(o.image[inside], axis=0).astype(np.uint8)
    ssim, de, _ = fidelity(smeared, o.image, o.product_alpha)
    assert ssim < 0.97


def test_output_is_never_upscaled_beyond_the_plate(pypi_plates, analysed, sample_cutouts) -> None:
    img = pypi_plates["astronaut"]
    plate = Plate("a", img, analysis=analysed(img))
    big = RenderOptions(output_width=2048, output_height=2560)
    (o,) = render(sample_cutouts["drop_earrings"], "earrings", [plate], options=big)
    h, w = o.image.shape[:2]
    assert w <= img.shape[1] and h <= img.shape[0]
    assert w / h == pytest.approx(2048 / 2560, rel=0.02)
    assert any("not upscaled" in n for n in o.report.notes)
    small = RenderOptions(output_width=256, output_height=256)
    (o,) = render(sample_cutouts["drop_earrings"], "earrings", [plate], options=small)
    assert o.image.shape == (256, 256, 3) and o.product_alpha.shape == (256, 256)


def test_no_stated_size_uses_a_typical_one_and_says_so(pypi_plates, analysed, sample_cutouts) -> None:
    img = pypi_plates["grace_hopper"]
    (o,) = render(sample_cutouts["stud_earrings"], "earrings", [Plate("g", img, analysis=analysed(img))])
    assert "typical size assumed" in o.report.size_note
    assert o.report.stated["quantity"] == "stud_diameter" and o.report.stated["source"] == "typical"


def test_plates_outside_the_style_and_unanalysed_plates(pypi_plates, sample_cutouts) -> None:
    img = pypi_plates["astronaut"]
    outcomes = render(
        sample_cutouts["solitaire_ring"],
        "ring",
        [Plate("style-says-no", img, kinds=frozenset({"earrings"})), Plate("fresh", img)],
    )
    assert outcomes[0].reason.code == "not_in_style"
    assert outcomes[1].reason.code == "no_hand"
    assert any("analysed during the render" in n for n in outcomes[1].report.notes)


def test_bad_arguments_are_refused(pypi_plates, sample_cutouts) -> None:
    img = pypi_plates["astronaut"]
    with pytest.raises(InputError, match="tiara"):
        render(sample_cutouts["solitaire_ring"], "tiara", [Plate("a", img)])
    with pytest.raises(InputError, match="Plate"):
        render(sample_cutouts["solitaire_ring"], "ring", [img])
    with pytest.raises(InputError, match="unique"):
        render(sample_cutouts["solitaire_ring"], "ring", [Plate("a", img), Plate("a", img)])
    with pytest.raises(InputError, match="uint8"):
        Plate("x", img.astype(np.float32))
    with pytest.raises(ConfigError, match="min_ssim"):
        RenderOptions(min_ssim=1.5)
    with pytest.raises(ConfigError, match="output_width"):
        RenderOptions(output_width=3)
    with pytest.raises(CutoutError):
        render(np.full((300, 300, 3), 240, np.uint8), "ring", [Plate("a", img)])
    with pytest.raises(CutoutError, match="loop"):
        render(sample_cutouts["stud_earrings"], "bracelet", [Plate("a", img)])


def test_contact_sheet_and_encoding(pypi_plates, analysed, sample_cutouts) -> None:
    img = pypi_plates["grace_hopper"]
    plates = [
        Plate("g", img, analysis=analysed(img)),
        Plate("a", pypi_plates["astronaut"], analysis=analysed(pypi_plates["astronaut"])),
    ]
    product = PRODUCTS["drop_earrings"]
    from renderer import load_image

    source = load_image(product.read_bytes()).rgb
    outcomes = render(source, "earrings", plates, size=parse_size(product.size, "earrings"))
    sheet = contact_sheet(source, outcomes)
    assert sheet.dtype == np.uint8 and sheet.shape[1] >= 3 * 360
    data = encode_image(sheet, "jpeg", 85)
    assert Image.open(io.BytesIO(data)).size == (sheet.shape[1], sheet.shape[0])
    assert all(o.to_dict()["report"]["ssim"] is not None for o in outcomes if o.offered)


def test_a_single_earring_is_mirrored_for_the_other_ear(pypi_plates, analysed, drawings) -> None:
    from renderer import cutout

    rgb, _, _ = drawings.photograph("drop_earrings", "white")
    single = np.ascontiguousarray(rgb[:, : rgb.shape[1] // 2])  # the left earring of the pair alone
    img = pypi_plates["grace_hopper"]
    (o,) = render(
        cutout(single),
        "earrings",
        [Plate("g", img, analysis=analysed(img))],
        size=parse_size("3.5 cm", "earrings"),
    )
    assert o.offered
    assert any("mirrored" in n for n in o.report.notes)
    a = o.product_alpha
    an = analysed(img)
    halves = [a[:, : int(an.anchors["chin"].x)], a[:, int(an.anchors["chin"].x) :]]
    left, right = (_centroid(h) for h in halves)
    # one earring on each side, the same size, hanging at the same height
    assert halves[0].sum() == pytest.approx(halves[1].sum(), rel=0.05)
    assert left[1] == pytest.approx(right[1], abs=0.2 * an.face_scale.px_per_mm * 63)
