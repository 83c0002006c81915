"""Run MediaPipe on a plate and return its raw landmarks in plate pixels, plus the person mask."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from renderer import models

DETECT_MAX_SIDE = 1536  # MediaPipe resizes internally anyway; a smaller copy keeps big plates fast


@dataclass(frozen=True)
class DetectedHand:
    """One hand: 21 landmarks in pixels, MediaPipe's label (for a mirrored image) and metric landmarks."""

    points: np.ndarray  # 21×2
    label: str
    score: float
    world_mm: np.ndarray  # 21×3, millimetres, MediaPipe's metric hand model


@dataclass(frozen=True)
class Landmarks:
    """Raw detections on one plate (None / empty where nothing was found)."""

    width: int
    height: int
    face: np.ndarray | None  # 478×2 (face mesh with iris)
    pose: np.ndarray | None  # 33×3: x, y, visibility
    hands: tuple[DetectedHand, ...]
    person: np.ndarray | None  # float32 0..1 at plate size
    timings: dict[str, float] = field(default_factory=dict)


def detect(rgb: np.ndarray) -> Landmarks:
    """Run face mesh, pose, hands and selfie segmentation once each on `rgb`."""
    h, w = rgb.shape[:2]
    s = min(1.0, DETECT_MAX_SIDE / max(h, w))
    img = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else rgb
    img = np.ascontiguousarray(img)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    res = models.FACE_MESH.process(img)
    timings["face_mesh"] = time.perf_counter() - t
    face = None
    if res.multi_face_landmarks:
        lm = res.multi_face_landmarks[0].landmark
        face = np.array([[p.x * w, p.y * h] for p in lm], np.float64)

    t = time.perf_counter()
    res = models.POSE.process(img)
    timings["pose"] = time.perf_counter() - t
    pose = None
    if res.pose_landmarks:
        pose = np.array([[p.x * w, p.y * h, p.visibility] for p in res.pose_landmarks.landmark], np.float64)

    t = time.perf_counter()
    res = models.HANDS.process(img)
    timings["hands"] = time.perf_counter() - t
    hands = []
    for i, hl in enumerate(res.multi_hand_landmarks or []):
        cls = res.multi_handedness[i].classification[0]
        world = res.multi_hand_world_landmarks[i].landmark
        hands.append(
            DetectedHand(
                points=np.array([[p.x * w, p.y * h] for p in hl.landmark], np.float64),
                label=str(cls.label),
                score=float(cls.score),
                world_mm=np.array([[p.x * 1000, p.y * 1000, p.z * 1000] for p in world], np.float64),
            )
        )

    t = time.perf_counter()
    res = models.SELFIE.process(img)
    timings["selfie"] = time.perf_counter() - t
    person = None
    if res.segmentation_mask is not None:
        person = res.segmentation_mask.astype(np.float32)
        if person.shape != (h, w):
            person = cv2.resize(person, (w, h), interpolation=cv2.INTER_LINEAR)
    return Landmarks(w, h, face, pose, tuple(hands), person, timings)
