"""Plate analysis on real photographs: anchors against points labelled by hand, scale, capabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from renderer import InputError, PlateAnalysis, analyze_plate, content_hash
from renderer import models as mp_models

# Hand-labelled points (x, y) in plate pixels, read off zoomed crops of each photo. Earlobes are the
# piercing point, a few mm above the bottom of the lobe.
GRACE = {
    "earlobe_right": (164, 255),
    "earlobe_left": (357, 255),
    "chin": (269, 334),
    "shoulder_right": (96, 425),
    "shoulder_left": (456, 425),
}
ASTRONAUT = {
    "earlobe_right": (178, 127),
    "earlobe_left": (270, 133),
    "chin": (221, 178),
    "shoulder_right": (113, 242),
    "shoulder_left": (306, 255),
}


def _ipd(an: PlateAnalysis) -> float:
    """Return the pupil distance in plate pixels (63 mm at the plate's face scale)."""
    return an.face_scale.px_per_mm * 63.0


@pytest.mark.parametrize(("name", "labels"), [("grace_hopper", GRACE), ("astronaut", ASTRONAUT)])
def test_face_and_neck_anchors_match_hand_labels(pypi_plates, analysed, name: str, labels: dict) -> None:
    an = analysed(pypi_plates[name])
    ipd = _ipd(an)
    for key, (x, y) in labels.items():
        p = an.anchors[key]
        err = float(np.hypot(p.x - x, p.y - y))
        # Earlobes within a fifth of the pupil distance (~12 mm); chin and shoulders within half of it.
        tol = 0.2 * ipd if key.startswith("earlobe") else 0.5 * ipd
        assert err <= tol, f"{name} {key}: {err:.1f} px off (tolerance {tol:.1f})"
        assert p.confidence >= 0.5


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut"])
def test_face_scale_from_pupils_agrees_with_the_iris(pypi_plates, analysed, name: str) -> None:
    an = analysed(pypi_plates[name])
    assert an.face_scale.source == "ipd"
    assert "differ by" in an.face_scale.detail
    differ = int(an.face_scale.detail.rsplit("differ by ", 1)[1].rstrip("%"))
    assert differ <= 15
    # The face is 130-160 mm wide at the cheekbones: a gross scale error would show here.
    face_w_mm = abs(an.anchors["earlobe_left"].x - an.anchors["earlobe_right"].x) / an.face_scale.px_per_mm
    assert 110 <= face_w_mm <= 175


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut"])
def test_neck_drape_anchors_are_anatomically_ordered(pypi_plates, analysed, name: str) -> None:
    an = analysed(pypi_plates[name])
    a, ppm = an.anchors, an.face_scale.px_per_mm
    assert a["neck_right"].x < a["neck_base"].x < a["neck_left"].x
    assert a["chin"].y < a["neck_base"].y < a["sternum_top"].y < a["sternum_bottom"].y
    notch_below_chin_mm = (a["sternum_top"].y - a["chin"].y) / ppm
    assert 40 <= notch_below_chin_mm <= 120
    neck_mm = (a["neck_left"].x - a["neck_right"].x) / ppm
    assert 80 <= neck_mm <= 150
    assert a["shoulder_right"].x < a["collarbone_right"].x < a["sternum_top"].x < a["collarbone_left"].x


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut"])
def test_pypi_plates_carry_face_kinds_and_say_why_not_hand_kinds(pypi_plates, analysed, name: str) -> None:
    an = analysed(pypi_plates[name])
    assert {k for k, c in an.capabilities.items() if c.ok} == {"necklace", "pendant", "earrings"}
    assert an.capability("ring").code == "no_hand"
    assert an.capability("bracelet").code == "no_hand"
    assert an.capability("anklet").code == "no_ankle"
    assert all(c.message for c in an.capabilities.values() if not c.ok)


def test_analysis_round_trips_through_json(pypi_plates, analysed) -> None:
    an = analysed(pypi_plates["astronaut"])
    back = PlateAnalysis.from_dict(json.loads(json.dumps(an.to_dict())))
    assert back.content_hash == an.content_hash == content_hash(pypi_plates["astronaut"])
    for kind, cap in an.capabilities.items():
        got = back.capabilities[kind]
        assert (got.ok, got.code, got.message) == (cap.ok, cap.code, cap.message)
        assert got.confidence == pytest.approx(cap.confidence, abs=1e-3)
    for k, p in an.anchors.items():
        assert back.anchors[k].x == pytest.approx(p.x, abs=0.01)
    assert back.face_scale.px_per_mm == pytest.approx(an.face_scale.px_per_mm, rel=1e-4)
    person = back.mask_at("person", an.width, an.height)
    assert person.shape == (an.height, an.width)
    assert person[int(an.anchors["chin"].y) - 20, int(an.anchors["chin"].x)] > 0.5  # the face is the person
    assert person[5, 5] < 0.5  # the top-left corner is backdrop


def test_stale_or_foreign_analysis_is_refused() -> None:
    with pytest.raises(InputError, match="format"):
        PlateAnalysis.from_dict({"format": 999})
    with pytest.raises(InputError, match="lacks"):
        PlateAnalysis.from_dict({"format": 1, "capabilities": {}})


def test_models_are_built_once_and_reused(pypi_plates) -> None:
    analyze_plate(pypi_plates["grace_hopper"])
    built = [m._model for m in (mp_models.FACE_MESH, mp_models.POSE, mp_models.HANDS, mp_models.SELFIE)]
    analyze_plate(pypi_plates["astronaut"])
    again = [m._model for m in (mp_models.FACE_MESH, mp_models.POSE, mp_models.HANDS, mp_models.SELFIE)]
    assert all(a is not None and a is b for a, b in zip(built, again, strict=True))


def test_bad_plate_arrays_are_refused() -> None:
    with pytest.raises(InputError, match="uint8"):
        analyze_plate(np.zeros((100, 100), np.uint8))
    with pytest.raises(InputError, match="too small"):
        analyze_plate(np.zeros((20, 20, 3), np.uint8))


# --- shared photos (skipped when ../shared/photos is absent) ---------------------------------------


def test_turned_head_earlobe_matches_label(photo, analysed) -> None:
    img = photo("wrist_watch_crossed_arms.jpg")
    an = analysed(img)
    p = an.anchors["earlobe_right"]
    assert np.hypot(p.x - 405, p.y - 405) <= 0.2 * _ipd(an)
    assert an.capability("earrings").ok
    assert an.capability("necklace").ok


def _hand_near(an: PlateAnalysis, x: float, y: float):
    return min(an.hands, key=lambda h: np.hypot(h.ring_base.x - x, h.ring_base.y - y))


@pytest.mark.parametrize(
    ("file", "base", "knuckle", "width", "tol"),
    [
        ("hand_dorsal_female_white_bg.jpg", (803, 505), (800, 735), 80, (25, 20, 10)),
        ("two_hands_fingers_spread_white_bg.jpg", (133, 205), (128, 135), 40, (12, 10, 6)),
    ],
)
def test_ring_finger_joints_and_width_match_labels(photo, analysed, file, base, knuckle, width, tol) -> None:
    an = analysed(photo(file))
    hand = _hand_near(an, *base)
    assert hand.facing == "back"
    assert np.hypot(hand.ring_base.x - base[0], hand.ring_base.y - base[1]) <= tol[0]
    assert np.hypot(hand.ring_knuckle.x - knuckle[0], hand.ring_knuckle.y - knuckle[1]) <= tol[1]
    assert abs(hand.finger_width_px - width) <= tol[2]
    assert hand.scale.source == "finger_width"
    assert hand.scale.px_per_mm == pytest.approx(hand.finger_width_px / 18.0)
    assert an.capability("ring").ok


def test_wrist_matches_label_and_carries_a_bracelet(photo, analysed) -> None:
    an = analysed(photo("hand_wrist_closeup_thumb_up.jpg"))
    hand = an.hands[0]
    assert np.hypot(hand.wrist.x - 150, hand.wrist.y - 385) <= 25
    assert abs(hand.wrist_width_px - 150) <= 25
    assert an.capability("bracelet").ok
    assert an.capability("ring").code in ("palm_facing", "finger_bent")


@pytest.mark.parametrize(
    ("file", "expect"),
    [
        (
            "hand_dorsal_female_white_bg.jpg",
            {"ring": "ok", "bracelet": "wrist_out_of_frame", "necklace": "no_face"},
        ),
        (
            "hand_dorsal_male_white_bg.jpg",
            {"ring": "ok", "bracelet": "wrist_out_of_frame", "earrings": "no_face"},
        ),
        ("open_hand_necklace_woman.jpg", {"ring": "palm_facing", "necklace": "ok", "earrings": "ok"}),
        ("open_hand_closeup_man.jpg", {"ring": "palm_facing", "necklace": "ok", "bracelet": "ok"}),
        ("profile_side_view_ear.jpg", {"necklace": "head_turned", "earrings": "ok", "ring": "no_hand"}),
        ("hand_at_ear.jpg", {"ring": "finger_bent", "earrings": "ok"}),
        ("in_the_wild_hand_on_hip.jpg", {"ring": "ok", "necklace": "ok"}),
    ],
)
def test_capabilities_say_which_kinds_a_photo_can_carry(photo, analysed, file: str, expect: dict) -> None:
    an = analysed(photo(file))
    for kind, code in expect.items():
        cap = an.capability(kind)
        assert cap.code == code, f"{file} {kind}: {cap.code} ({cap.message})"
        assert cap.ok == (code == "ok")


def test_hair_over_the_ears_is_seen(photo, analysed) -> None:
    an = analysed(photo("open_hand_necklace_woman.jpg"))
    assert "earlobe_left_hair" in an.anchors and "earlobe_right_hair" in an.anchors
    hair = an.mask_at("hair", an.width, an.height)
    assert hair.mean() > 0.005
