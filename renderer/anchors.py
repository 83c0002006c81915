"""Derive face and neck anchors, the face's scale, and skin and hair masks from raw landmarks.

Body measures used for scale (reference/imaging.md §4.3): the visible iris is 11.7 mm across, adult
pupils are 63 mm apart. Earlobes are not in MediaPipe's face mesh: the piercing point sits just outside
the jaw contour (mesh points 132/361), about a tenth of the pupil distance outward, which matches the
hand-labelled photos in the tests to within ~8 mm.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from renderer.plates import Point, Scale

IRIS_MM = 11.7
IPD_MM = 63.0

# Face mesh indices (MediaPipe 478-point mesh with iris refinement).
IRIS_RIGHT, IRIS_LEFT = 468, 473  # person's right eye shows on the image's left
IRIS_RIGHT_RING, IRIS_LEFT_RING = (469, 470, 471, 472), (474, 475, 476, 477)
FACE_EDGE_RIGHT, FACE_EDGE_LEFT = 234, 454
JAW_RIGHT, JAW_LEFT = 132, 361
CHIN, NOSE_TIP, FOREHEAD = 152, 1, 10
CHEEKS = (50, 101, 36, 205, 280, 330, 266, 425, 4, 5)
# Pose indices.
EAR_LEFT, EAR_RIGHT, SHOULDER_LEFT, SHOULDER_RIGHT = 7, 8, 11, 12
HIP_LEFT, HIP_RIGHT, ANKLE_LEFT, ANKLE_RIGHT, KNEE_LEFT, KNEE_RIGHT = 23, 24, 27, 28, 25, 26


def unit(v: np.ndarray) -> np.ndarray:
    """Return v / |v| (v unchanged when it is zero)."""
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else v


def face_frame(face: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the face's (u: person's right eye → left eye, v: down the face, ipd in px)."""
    right, left = face[IRIS_RIGHT], face[IRIS_LEFT]
    u = unit(left - right)
    v = np.array([-u[1], u[0]])
    if np.dot(face[CHIN] - (right + left) / 2, v) < 0:
        v = -v
    return u, v, float(np.hypot(*(left - right)))


def face_yaw_deg(face: np.ndarray) -> float:
    """Estimate the head's turn from how the nose sits between the two face edges (0 = frontal)."""
    u, _, _ = face_frame(face)
    a = float(np.dot(face[NOSE_TIP] - face[FACE_EDGE_RIGHT], u))
    b = float(np.dot(face[FACE_EDGE_LEFT] - face[NOSE_TIP], u))
    if a + b <= 1e-6:
        return 90.0
    return math.degrees(math.asin(max(-1.0, min(1.0, (a - b) / (a + b)))))


def face_scale(face: np.ndarray) -> Scale:
    """Return px/mm around the face from the pupils' distance (frontal) or the iris (turned)."""
    _, _, ipd = face_frame(face)
    yaw = face_yaw_deg(face)
    diam = []
    for ring in (IRIS_RIGHT_RING, IRIS_LEFT_RING):
        p = face[list(ring)]
        diam.append(max(np.hypot(*(p[0] - p[2])), np.hypot(*(p[1] - p[3]))))
    iris_px = float(np.mean(diam))
    by_iris = iris_px / IRIS_MM
    by_ipd = ipd / max(math.cos(math.radians(min(abs(yaw), 60.0))), 0.5) / IPD_MM
    agree = abs(by_iris - by_ipd) / max(by_ipd, 1e-9)
    detail = (
        f"iris {iris_px:.1f} px → {by_iris:.3f} px/mm; pupils {ipd:.1f} px apart → {by_ipd:.3f} px/mm "
        f"(yaw {yaw:.0f}°); they differ by {agree:.0%}"
    )
    conf = 0.85 if agree < 0.15 else 0.65
    if abs(yaw) <= 20.0:
        return Scale(by_ipd, "ipd", conf, detail)
    return Scale(by_iris, "iris", conf * 0.9, detail)


def earlobes(face: np.ndarray, pose: np.ndarray | None, width: int, height: int) -> dict[str, Point]:
    """Return the piercing points of both earlobes, with a confidence that drops when an ear is hidden."""
    u, _, ipd = face_frame(face)
    yaw = face_yaw_deg(face)
    nose = face[NOSE_TIP]
    out = {}
    for name, jaw, edge, sign, pose_idx in (
        ("earlobe_right", JAW_RIGHT, FACE_EDGE_RIGHT, -1.0, EAR_RIGHT),
        ("earlobe_left", JAW_LEFT, FACE_EDGE_LEFT, 1.0, EAR_LEFT),
    ):
        p = face[jaw] + sign * 0.10 * ipd * u
        half = abs(float(np.dot(face[edge] - nose, u)))
        other = abs(float(np.dot(face[FACE_EDGE_LEFT if sign < 0 else FACE_EDGE_RIGHT] - nose, u)))
        conf = 0.9
        if half < 0.45 * other:  # the head is turned away from this side: the ear is behind the face
            conf = 0.1
        elif abs(yaw) > 35:
            conf = 0.5
        if pose is not None and pose[pose_idx, 2] < 0.5:
            conf = min(conf, 0.3)
        if not (0 <= p[0] < width and 0 <= p[1] < height):
            conf = 0.0
        out[name] = Point(float(p[0]), float(p[1]), conf)
    return out


def _point(p: np.ndarray, confidence: float) -> Point:
    return Point(float(p[0]), float(p[1]), confidence)


def _runs_across(mask: np.ndarray, y: int, x_center: float) -> tuple[int, int] | None:
    """Return the [left, right] columns of the mask run through x_center on row y."""
    row = mask[y]
    xc = round(x_center)
    if not (0 <= xc < row.size) or not row[xc]:
        return None
    left = xc
    while left > 0 and row[left - 1]:
        left -= 1
    right = xc
    while right < row.size - 1 and row[right + 1]:
        right += 1
    return left, right


def neck_anchors(
    face: np.ndarray, pose: np.ndarray, person: np.ndarray | None, px_per_mm: float
) -> dict[str, Point]:
    """Return neck sides and base, sternal notch, collarbones and shoulders from face, pose and mask.

    The sternal notch sits on the body's axis a little above the shoulder joints (at least 45 mm below
    the chin); a chain leaves the front of the neck 25 mm above it, at the neck's sides. The neck is
    0.85 of the lower jaw's width (mesh points 132-361) unless the person mask shows a plausible neck
    there (between 0.6 and 1.0 of that width): collars, hair and coarse masks are wider.
    """
    chin = face[CHIN]
    sh_r, sh_l = pose[SHOULDER_RIGHT, :2], pose[SHOULDER_LEFT, :2]
    sh_conf = float(min(pose[SHOULDER_RIGHT, 2], pose[SHOULDER_LEFT, 2]))
    u = unit(sh_l - sh_r)
    v = np.array([-u[1], u[0]])
    if v[1] < 0:
        v = -v
    sh_mid = (sh_r + sh_l) / 2
    jaw_w = float(np.hypot(*(face[JAW_LEFT] - face[JAW_RIGHT])))
    # The body's axis runs from the chin's foot down through the middle of the shoulders.
    depth = max(float(np.dot(sh_mid - chin, v)) - 10.0 * px_per_mm, 45.0 * px_per_mm)
    axis_x = float(np.dot(chin - sh_mid, u))  # the chin's offset along the shoulder line
    notch = sh_mid + u * axis_x * 0.5 + v * (depth - float(np.dot(sh_mid - chin, v)))
    support = notch - v * 25.0 * px_per_mm
    half, conf = 0.85 * jaw_w / 2, 0.6
    if person is not None:
        y = round(support[1])
        if 0 <= y < person.shape[0]:
            run = _runs_across(person > 0.5, y, support[0])
            if run and 0.6 * jaw_w <= run[1] - run[0] + 1 <= 1.0 * jaw_w:
                half, conf = (run[1] - run[0] + 1) / 2, 0.85
                support = np.array([(run[0] + run[1]) / 2, support[1]])
    right, left = support - u * half, support + u * half
    c = conf * sh_conf
    return {
        "shoulder_right": Point(float(sh_r[0]), float(sh_r[1]), sh_conf),
        "shoulder_left": Point(float(sh_l[0]), float(sh_l[1]), sh_conf),
        "neck_right": Point(float(right[0]), float(right[1]), c),
        "neck_left": Point(float(left[0]), float(left[1]), c),
        "neck_base": Point(float(support[0]), float(support[1]), c),
        "sternum_top": Point(float(notch[0]), float(notch[1]), c),
        "sternum_bottom": _point(notch + v * 150.0 * px_per_mm, c),
        "collarbone_right": _point(notch + 0.8 * (sh_r - notch) - v * 8 * px_per_mm, c),
        "collarbone_left": _point(notch + 0.8 * (sh_l - notch) - v * 8 * px_per_mm, c),
        "chin": Point(float(chin[0]), float(chin[1]), 0.95),
    }


# --- skin and hair ------------------------------------------------------------------------------


def _gaussian(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    if len(samples) < 20:
        return None
    mean = samples.mean(axis=0)
    cov = np.cov(samples.T) + np.eye(3) * 4.0  # floor: a few Lab units of spread
    return mean, np.linalg.inv(cov)


def mahalanobis(lab: np.ndarray, model: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return the Mahalanobis distance of every Lab pixel to a Gaussian colour model."""
    mean, icov = model
    d = lab.reshape(-1, 3) - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, icov, d), 0)).reshape(lab.shape[:2])


def patch_samples(lab: np.ndarray, points: np.ndarray, radius: int) -> np.ndarray:
    """Return the Lab pixels of square patches around `points`."""
    h, w = lab.shape[:2]
    out = []
    for x, y in np.round(points).astype(int):
        x0, x1 = max(0, x - radius), min(w, x + radius + 1)
        y0, y1 = max(0, y - radius), min(h, y + radius + 1)
        if x0 < x1 and y0 < y1:
            out.append(lab[y0:y1, x0:x1].reshape(-1, 3))
    return np.concatenate(out) if out else np.zeros((0, 3), np.float32)


def skin_model_from_face(lab: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return a Gaussian Lab model of the skin sampled on the cheeks and nose."""
    _, _, ipd = face_frame(face)
    return _gaussian(patch_samples(lab, face[list(CHEEKS)], max(1, round(ipd * 0.04))))


def hair_mask(
    lab: np.ndarray, face: np.ndarray, person: np.ndarray | None, skin: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray | None:
    """Return a 0..1 mask of the hair around the head, or None when no hair colour can be sampled.

    Hair is sampled at the temples (beside the face at eye level); the mask keeps only pixels of that
    colour, inside the person, and connected to where it was sampled, so a dark collar is not hair.
    """
    if person is None or skin is None:
        return None
    u, v, ipd = face_frame(face)
    pts = []
    for edge, sign in ((FACE_EDGE_RIGHT, -1.0), (FACE_EDGE_LEFT, 1.0)):
        for up in (0.0, 0.25, 0.5):
            for out in (0.12, 0.25):
                base = face[edge] + sign * out * ipd * u
                pts.append(base - v * up * ipd)
    pts_arr = np.array(pts)
    r = max(1, round(ipd * 0.05))
    samples = patch_samples(lab, pts_arr, r)
    h, w = lab.shape[:2]
    keep = []
    for x, y in np.round(pts_arr).astype(int):
        x0, x1, y0, y1 = max(0, x - r), min(w, x + r + 1), max(0, y - r), min(h, y + r + 1)
        if x0 < x1 and y0 < y1:
            keep.append(person[y0:y1, x0:x1].reshape(-1) > 0.5)
    if not keep:
        return None
    inside = np.concatenate(keep)
    samples = samples[inside]
    if len(samples) < 20:
        return None
    samples = samples[mahalanobis(samples.reshape(-1, 1, 3), skin).ravel() > 3.0]
    model = _gaussian(samples)
    if model is None or np.linalg.det(np.linalg.inv(model[1])) ** (1 / 3) > 150:
        return None  # the temples show no one colour (hat, glasses, backdrop): no hair model
    # Hair stays within reach of the head: a box of ±1.8 face widths, down to two face heights.
    face_w = float(np.hypot(*(face[FACE_EDGE_LEFT] - face[FACE_EDGE_RIGHT])))
    x_lo = max(0, int(face[FOREHEAD][0] - 1.8 * face_w))
    x_hi = min(w, int(face[FOREHEAD][0] + 1.8 * face_w))
    y_lo = max(0, int(face[FOREHEAD][1] - 1.0 * face_w))
    y_hi = min(h, int(face[CHIN][1] + 0.6 * face_w))  # around the ears and the sides of the neck
    if x_lo >= x_hi or y_lo >= y_hi:
        return None
    sub = lab[y_lo:y_hi, x_lo:x_hi]
    cand = (mahalanobis(sub, model) < 3.0) & (person[y_lo:y_hi, x_lo:x_hi] > 0.5)
    cand &= mahalanobis(sub, skin) > 2.5
    # Hair never covers the face itself here: keep the face mesh's outline clear.
    hull = cv2.convexHull(np.round(face[:468] - [x_lo, y_lo]).astype(np.int32))
    face_area = np.zeros(cand.shape, np.uint8)
    cv2.fillConvexPoly(face_area, hull, (1,))
    cand &= face_area == 0
    _n, labels = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
    seeds = set()
    for x, y in np.round(pts_arr).astype(int):
        if y_lo <= y < y_hi and x_lo <= x < x_hi and labels[y - y_lo, x - x_lo] > 0:
            seeds.add(int(labels[y - y_lo, x - x_lo]))
    if not seeds:
        return None
    full = np.zeros((h, w), np.float32)
    full[y_lo:y_hi, x_lo:x_hi] = np.isin(labels, list(seeds)).astype(np.float32)
    return cv2.GaussianBlur(full, (0, 0), max(0.8, ipd * 0.01))
