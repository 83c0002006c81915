"""Derive ring and bracelet anchors from a detected hand: finger joints, finger width, wrist, scale.

The ring finger's width between its base (MCP) and first knuckle (PIP) is measured on the photo: on a
profile across the finger, its edges are the sharpest colour changes on each side (a step to the
backdrop, or the dark crease against a touching finger). It gives the hand's px/mm (an adult ring
finger is about 18 mm across, between US 7 and US 10), cross-checked with the finger bone's length.
MediaPipe's own "world" hand landmarks were tried for scale and dropped: on close-up photos of the back
of a hand they were off by a factor of 3 to 20.
"""

from __future__ import annotations

import cv2
import numpy as np

from renderer.anchors import unit
from renderer.landmarks import DetectedHand
from renderer.plates import Hand, Point, Scale

FINGER_MM = 18.0
PHALANX_MM = 42.0
RING_AT = 0.42  # where a ring sits between MCP (0) and PIP (1)
WRIST_OFFSET_MM = 14.0  # a bracelet sits this far up the forearm from MediaPipe's wrist point
WRIST, THUMB_CMC, INDEX_MCP, MIDDLE_MCP, MIDDLE_PIP = 0, 1, 5, 9, 10
RING_MCP, RING_PIP, RING_DIP, LITTLE_MCP, LITTLE_PIP = 13, 14, 15, 17, 18


def _profile(
    lab: np.ndarray, center: np.ndarray, normal: np.ndarray, half: float, along: np.ndarray, rows: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample Lab along `normal` through `center` (±half px), averaged over a few rows along `along`."""
    ts = np.arange(-half, half + 0.5, 0.5, dtype=np.float32)
    offs = np.linspace(-rows, rows, 5, dtype=np.float32)
    xs = center[0] + ts[None, :] * normal[0] + offs[:, None] * along[0]
    ys = center[1] + ts[None, :] * normal[1] + offs[:, None] * along[1]
    prof = cv2.remap(
        lab,
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(-1000.0, 0.0, 0.0),
    )
    return ts, prof.mean(axis=0)


def _edge_width(ts: np.ndarray, prof: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Return (width, edge strength): the sharpest colour change on each side of the centre.

    The edge of a finger or wrist is the strongest change of colour within [lo, hi] px of the centre
    line: against the backdrop a step, against a touching finger the dark crease between them.
    """
    step = float(ts[1] - ts[0])
    sigma = max(0.6, 0.04 * hi / step)
    smooth = cv2.GaussianBlur(prof.reshape(-1, 1, 3), (1, 0), sigmaX=1e-3, sigmaY=sigma).reshape(-1, 3)
    grad = np.linalg.norm(np.gradient(smooth, axis=0), axis=1)
    ends = []
    strength = []
    for side in (1, -1):
        sel = np.nonzero((side * ts >= lo) & (side * ts <= hi))[0]
        if len(sel) == 0:
            return 0.0, 0.0
        i = sel[int(np.argmax(grad[sel]))]
        ends.append(ts[i])
        strength.append(grad[i] / (np.median(grad) + 1e-3))
    return float(ends[0] - ends[1]), float(min(strength))


def facing(points: np.ndarray, side: str) -> str:
    """Return "back" or "palm": which side of the hand faces the camera (non-mirrored photo)."""
    v1 = points[INDEX_MCP] - points[WRIST]
    v2 = points[LITTLE_MCP] - points[WRIST]
    cross = float(v1[0] * v2[1] - v1[1] * v2[0])
    if side == "right":
        return "back" if cross > 0 else "palm"
    return "palm" if cross > 0 else "back"


def hand_anchors(lab: np.ndarray, det: DetectedHand, elbow: np.ndarray | None = None) -> Hand:
    """Measure one hand: ring finger joints and width, scale, facing, wrist position and width."""
    pts = det.points
    # MediaPipe labels hands as if the photo were a mirrored selfie; plates are ordinary photos.
    side = "right" if det.label == "Left" else "left"
    face_dir = facing(pts, side)
    mcp, pip = pts[RING_MCP], pts[RING_PIP]
    seg = pip - mcp
    seg_len = float(np.hypot(*seg))
    a = unit(seg)
    n = np.array([-a[1], a[0]])
    c = mcp + RING_AT * seg
    spacing = []
    for m_i, p_i in ((MIDDLE_MCP, MIDDLE_PIP), (LITTLE_MCP, LITTLE_PIP)):
        q = pts[m_i] + RING_AT * (pts[p_i] - pts[m_i])
        spacing.append(abs(float(np.dot(q - c, n))))
    # Neighbouring finger axes are at least a finger apart (touching fingers: exactly one apart).
    gap = float(np.mean(spacing))
    width, conf = gap * 0.95, 0.5
    if seg_len > 4 and gap > 3:
        ts, prof = _profile(lab, c, n, 1.0 * gap, a, 0.08 * seg_len)
        measured, strength = _edge_width(ts, prof, 0.22 * gap, 0.75 * gap)
        if 0.45 * gap <= measured <= 1.5 * gap and strength > 2.0:
            width, conf = measured, 0.8
    bent = pts[RING_DIP] - pip
    cos = float(np.dot(unit(seg), unit(bent)))
    straight = cos > np.cos(np.radians(35))
    by_width = width / FINGER_MM
    # Cross-check: the ring finger's first bone is about 42 mm long (shorter on the photo when the
    # finger points toward the camera, so only a much longer bone is a warning).
    by_bone = seg_len / PHALANX_MM
    apart = (by_bone - by_width) / max(by_width, 1e-9)
    scale = Scale(
        by_width,
        "finger_width",
        conf * (1.0 if apart < 0.3 else 0.7),
        f"ring finger {width:.1f} px across ({FINGER_MM:.0f} mm assumed) → {by_width:.3f} px/mm; "
        f"its first bone ({seg_len:.0f} px, ~{PHALANX_MM:.0f} mm) says {by_bone:.3f} px/mm",
    )
    # Bracelet: just up the forearm from the wrist point, across the arm.
    arm = unit(pts[WRIST] - pts[MIDDLE_MCP])
    if elbow is not None and np.hypot(*(elbow - pts[WRIST])) > seg_len:
        to_elbow = unit(elbow - pts[WRIST])
        if float(np.dot(to_elbow, arm)) > 0.5:
            arm = unit(arm + to_elbow)
    w_pt = pts[WRIST] + arm * WRIST_OFFSET_MM * by_width
    palm_span = float(np.hypot(*(pts[INDEX_MCP] - pts[LITTLE_MCP])))
    wrist_w = 0.95 * palm_span
    if palm_span > 4:
        nn = np.array([-arm[1], arm[0]])
        ts, prof = _profile(lab, w_pt, nn, 0.9 * palm_span, arm, 0.05 * palm_span)
        measured, strength = _edge_width(ts, prof, 0.3 * palm_span, 0.85 * palm_span)
        if 0.6 * palm_span <= measured <= 1.6 * palm_span and strength > 2.0:
            wrist_w = measured
    return Hand(
        side=side,
        facing=face_dir,
        score=det.score,
        landmarks=tuple((float(x), float(y)) for x, y in pts),
        ring_base=Point(float(mcp[0]), float(mcp[1]), det.score),
        ring_knuckle=Point(float(pip[0]), float(pip[1]), det.score),
        finger_width_px=float(width),
        finger_straight=bool(straight),
        wrist=Point(float(w_pt[0]), float(w_pt[1]), det.score),
        wrist_width_px=float(wrist_w),
        arm_dir=(float(arm[0]), float(arm[1])),
        scale=scale,
    )
