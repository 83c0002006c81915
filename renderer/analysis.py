"""Analyse a model plate once: landmarks, anchors, scale, masks, and which kinds it can carry."""

from __future__ import annotations

import time

import cv2
import numpy as np

from renderer import anchors as A
from renderer.errors import InputError
from renderer.handgeom import hand_anchors
from renderer.imageio import content_hash
from renderer.kinds import ANKLET, BRACELET, EARRINGS, KINDS, NECKLACE, PENDANT, RING
from renderer.landmarks import Landmarks, detect
from renderer.plates import Capability, Hand, PlateAnalysis, Point, Scale

MAX_YAW_NECKLACE = 30.0  # degrees of head turn a frontal necklace placement tolerates
MIN_CHEST_MM = 60.0  # chest that must show below the sternal notch for a chain to drape on
ELBOW_LEFT, ELBOW_RIGHT, WRIST_LEFT, WRIST_RIGHT = 13, 14, 15, 16


def _inside(p: np.ndarray, w: int, h: int, margin: float = 0.0) -> bool:
    return bool(margin <= p[0] < w - margin and margin <= p[1] < h - margin)


def _neck_capability(
    kind: str,
    face_scale: Scale | None,
    anchors: dict[str, Point],
    yaw: float | None,
    w: int,
    h: int,
    pose: np.ndarray | None,
) -> Capability:
    if face_scale is None:
        return Capability(kind, False, "no_face", "no face found: a necklace is scaled from the face")
    if pose is None or min(pose[A.SHOULDER_LEFT, 2], pose[A.SHOULDER_RIGHT, 2]) < 0.5:
        return Capability(
            kind, False, "no_shoulders", "shoulders are not visible: the chain has nowhere to lie"
        )
    if yaw is not None and abs(yaw) > MAX_YAW_NECKLACE:
        return Capability(
            kind,
            False,
            "head_turned",
            f"the head is turned {abs(yaw):.0f}° (over {MAX_YAW_NECKLACE:.0f}°): a necklace needs "
            "a frontal view",
        )
    notch = anchors.get("sternum_top")
    if notch is None or not _inside(notch.xy, w, h):
        return Capability(kind, False, "chest_out_of_frame", "the base of the neck is outside the photo")
    below = (h - notch.y) / face_scale.px_per_mm
    if below < MIN_CHEST_MM:
        return Capability(
            kind,
            False,
            "chest_out_of_frame",
            f"only {below:.0f} mm of chest shows below the neck (need {MIN_CHEST_MM:.0f} mm)",
        )
    for name in ("neck_left", "neck_right"):
        if not _inside(anchors[name].xy, w, h, 2):
            return Capability(
                kind, False, "out_of_frame", f"the {name.replace('_', ' ')} is outside the photo"
            )
    conf = min(anchors["neck_base"].confidence, face_scale.confidence)
    return Capability(kind, True, "ok", "frontal face, neck and shoulders visible", conf)


def _earring_capability(face_scale: Scale | None, anchors: dict[str, Point], w: int, h: int) -> Capability:
    if face_scale is None:
        return Capability(EARRINGS, False, "no_face", "no face found: earrings hang from the earlobes")
    lobes = [anchors[k] for k in ("earlobe_left", "earlobe_right") if k in anchors]
    visible = [p for p in lobes if p.confidence >= 0.5]
    if not visible:
        return Capability(
            EARRINGS, False, "ears_hidden", "neither earlobe is visible (head turned or ears hidden)"
        )
    margin = 10.0 * face_scale.px_per_mm
    inside = [p for p in visible if _inside(p.xy, w, h) and p.y + margin < h]
    if not inside:
        return Capability(EARRINGS, False, "out_of_frame", "the earlobes are at the edge of the photo")
    return Capability(
        EARRINGS,
        True,
        "ok",
        f"{len(inside)} earlobe(s) visible",
        min(face_scale.confidence, max(p.confidence for p in inside)),
    )


def best_hand(hands: tuple[Hand, ...], kind: str, w: int, h: int) -> tuple[Hand | None, Capability]:
    """Return the hand that best carries a ring or bracelet, and the capability with its reason."""
    if not hands:
        return None, Capability(kind, False, "no_hand", "no hand found on the plate")
    reasons = []
    ok: list[tuple[float, Hand]] = []
    for hand in hands:
        if kind == RING:
            half = hand.finger_width_px / 2 + 2
            if hand.facing != "back":
                reasons.append(("palm_facing", "the palm faces the camera: a ring's face would be hidden"))
            elif not hand.finger_straight:
                reasons.append(("finger_bent", "the ring finger is bent"))
            elif not (_inside(hand.ring_base.xy, w, h, half) and _inside(hand.ring_knuckle.xy, w, h, half)):
                reasons.append(("out_of_frame", "the ring finger's base or knuckle is outside the photo"))
            elif hand.finger_width_px < 6:
                reasons.append(("too_small", f"the ring finger is only {hand.finger_width_px:.0f} px wide"))
            else:
                ok.append((hand.score * hand.scale.confidence, hand))
        else:
            arm = np.array(hand.arm_dir)
            n = np.array([-arm[1], arm[0]])
            half = hand.wrist_width_px / 2
            w_pt = hand.wrist.xy
            ends = (w_pt + n * half, w_pt - n * half, w_pt + arm * hand.wrist_width_px * 0.4)
            if not all(_inside(p, w, h) for p in ends):
                reasons.append(("wrist_out_of_frame", "the wrist is at or beyond the edge of the photo"))
            elif hand.wrist_width_px < 12:
                reasons.append(("too_small", f"the wrist is only {hand.wrist_width_px:.0f} px wide"))
            else:
                ok.append((hand.score * hand.scale.confidence, hand))
    if ok:
        score, hand = max(ok, key=lambda t: t[0])
        return hand, Capability(kind, True, "ok", f"{hand.side} hand, {hand.facing} to the camera", score)
    code, message = reasons[0]
    return None, Capability(kind, False, code, message)


def _ankle_capability(pose: np.ndarray | None, w: int, h: int) -> Capability:
    if pose is not None:
        for i in (A.ANKLE_LEFT, A.ANKLE_RIGHT):
            if pose[i, 2] >= 0.6 and _inside(pose[i, :2], w, h, 4):
                return Capability(ANKLET, True, "ok", "an ankle is visible", float(pose[i, 2]))
    return Capability(ANKLET, False, "no_ankle", "no ankle is visible on the plate")


def _from_landmarks(rgb: np.ndarray, lm: Landmarks, digest: str) -> PlateAnalysis:
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    anchors: dict[str, Point] = {}
    notes: list[str] = []
    face_scale = None
    yaw = None
    skin = None
    hair = None
    if lm.face is not None:
        face_scale = A.face_scale(lm.face)
        yaw = A.face_yaw_deg(lm.face)
        anchors.update(A.earlobes(lm.face, lm.pose, w, h))
        skin = A.skin_model_from_face(lab, lm.face)
        hair = A.hair_mask(lab, lm.face, lm.person, skin)
        if lm.pose is not None:
            anchors.update(A.neck_anchors(lm.face, lm.pose, lm.person, face_scale.px_per_mm))
        # Earlobes covered by hair: the earring hangs behind the hair there.
        if hair is not None:
            for k in ("earlobe_left", "earlobe_right"):
                p = anchors[k]
                xi, yi = round(p.x), round(p.y)
                if 0 <= xi < w and 0 <= yi < h and hair[yi, xi] > 0.5:
                    notes.append(f"{k.replace('_', ' ')} is covered by hair")
                    anchors[k + "_hair"] = Point(p.x, p.y, 1.0)
    hands = []
    for det in lm.hands:
        elbow = None
        if lm.pose is not None:
            # The pose's wrist nearest this hand's wrist tells which elbow belongs to it.
            dists = [
                (np.hypot(*(lm.pose[wi, :2] - det.points[0])), ei)
                for wi, ei in ((WRIST_LEFT, ELBOW_LEFT), (WRIST_RIGHT, ELBOW_RIGHT))
                if lm.pose[wi, 2] > 0.5
            ]
            if dists:
                d, ei = min(dists)
                if d < np.hypot(*(det.points[9] - det.points[0])) and lm.pose[ei, 2] > 0.5:
                    elbow = lm.pose[ei, :2]
        hands.append(hand_anchors(lab, det, elbow))
    hands_t = tuple(hands)
    caps = {
        NECKLACE: _neck_capability(NECKLACE, face_scale, anchors, yaw, w, h, lm.pose),
        PENDANT: _neck_capability(PENDANT, face_scale, anchors, yaw, w, h, lm.pose),
        EARRINGS: _earring_capability(face_scale, anchors, w, h),
        RING: best_hand(hands_t, RING, w, h)[1],
        BRACELET: best_hand(hands_t, BRACELET, w, h)[1],
        ANKLET: _ankle_capability(lm.pose, w, h),
    }
    if lm.pose is not None:
        for name, i in (
            ("ankle_left", A.ANKLE_LEFT),
            ("ankle_right", A.ANKLE_RIGHT),
            ("knee_left", A.KNEE_LEFT),
            ("knee_right", A.KNEE_RIGHT),
        ):
            anchors[name] = Point(float(lm.pose[i, 0]), float(lm.pose[i, 1]), float(lm.pose[i, 2]))
    skin_lab = (float(skin[0][0]), float(skin[0][1]), float(skin[0][2])) if skin is not None else None
    assert set(caps) == set(KINDS)
    return PlateAnalysis(
        width=w,
        height=h,
        content_hash=digest,
        anchors=anchors,
        face_scale=face_scale,
        hands=hands_t,
        capabilities=caps,
        person_mask=None if lm.person is None else np.clip(lm.person * 255 + 0.5, 0, 255).astype(np.uint8),
        hair_mask=None if hair is None else np.clip(hair * 255 + 0.5, 0, 255).astype(np.uint8),
        face_yaw_deg=yaw,
        skin_lab=skin_lab,
        notes=tuple(notes),
        timings=dict(lm.timings),
    )


def analyze_plate(image_rgb: np.ndarray) -> PlateAnalysis:
    """Analyse a plate (uint8 RGB): MediaPipe landmarks → anchors, px/mm, masks and capabilities.

    The MediaPipe models are built once per process and reused. Cache the result by
    `content_hash(image)` (it is in `.content_hash`) with `to_dict()` / `PlateAnalysis.from_dict()`.
    """
    arr = np.asarray(image_rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"plate image must be a uint8 H×W×3 RGB array, not {arr.dtype} {arr.shape}")
    if min(arr.shape[:2]) < 64:
        raise InputError(f"plate image of {arr.shape[1]}×{arr.shape[0]} px is too small; need 64 px or more")
    t = time.perf_counter()
    digest = content_hash(arr)
    lm = detect(arr)
    result = _from_landmarks(arr, lm, digest)
    result.timings["total"] = time.perf_counter() - t
    return result
