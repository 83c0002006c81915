"""Describe a model plate and what its analysis found: anchors, scale, masks, which kinds it can carry.

Everything here is plain data: PlateAnalysis round-trips through `to_dict()` / `from_dict()` (JSON
ready, masks as small PNGs in base64) so the caller can cache it by the plate's content hash.
Coordinates are plate pixels, x to the right and y down. "left"/"right" in anchor names are the
person's own sides (MediaPipe's convention), so a frontal photo shows the left earlobe on the right.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from renderer.errors import InputError
from renderer.kinds import KINDS, check_kind

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Point:
    """A point on the plate in pixels, with how sure the analysis is of it (0..1)."""

    x: float
    y: float
    confidence: float = 1.0

    @property
    def xy(self) -> np.ndarray:
        """Return the point as a float array [x, y]."""
        return np.array([self.x, self.y], np.float64)

    def to_list(self) -> list[float]:
        """Return [x, y, confidence] rounded for JSON."""
        return [round(self.x, 2), round(self.y, 2), round(self.confidence, 3)]

    @classmethod
    def from_list(cls, v: Any) -> Point:
        """Rebuild from `to_list()` output."""
        return cls(float(v[0]), float(v[1]), float(v[2]) if len(v) > 2 else 1.0)


@dataclass(frozen=True)
class Scale:
    """Pixels per millimetre on part of the plate, and what body measure it came from.

    source: "iris" (11.7 mm), "ipd" (63 mm between pupils), "finger_width" (18 mm across the ring
    finger), "hand_landmarks" (MediaPipe's metric hand model); detail says how it was cross-checked.
    """

    px_per_mm: float
    source: str
    confidence: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "px_per_mm": round(self.px_per_mm, 5),
            "source": self.source,
            "confidence": round(self.confidence, 3),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scale:
        """Rebuild from `to_dict()` output."""
        return cls(float(d["px_per_mm"]), str(d["source"]), float(d["confidence"]), str(d.get("detail", "")))


@dataclass(frozen=True)
class Hand:
    """One detected hand and the anchors a ring or bracelet needs on it.

    side: the person's "left"/"right" hand; facing: "back" (dorsal side to the camera) or "palm".
    ring_base/ring_knuckle: ring finger MCP and PIP joints; finger_width_px: across the ring finger
    between them. wrist: where a bracelet sits (a little up the forearm from the wrist joint);
    wrist_width_px: across the wrist there; arm_dir: unit vector from the hand toward the elbow.
    """

    side: str
    facing: str
    score: float
    landmarks: tuple[tuple[float, float], ...]
    ring_base: Point
    ring_knuckle: Point
    finger_width_px: float
    finger_straight: bool
    wrist: Point
    wrist_width_px: float
    arm_dir: tuple[float, float]
    scale: Scale

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "side": self.side,
            "facing": self.facing,
            "score": round(self.score, 3),
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
            "ring_base": self.ring_base.to_list(),
            "ring_knuckle": self.ring_knuckle.to_list(),
            "finger_width_px": round(self.finger_width_px, 2),
            "finger_straight": self.finger_straight,
            "wrist": self.wrist.to_list(),
            "wrist_width_px": round(self.wrist_width_px, 2),
            "arm_dir": [round(self.arm_dir[0], 5), round(self.arm_dir[1], 5)],
            "scale": self.scale.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hand:
        """Rebuild from `to_dict()` output."""
        return cls(
            str(d["side"]),
            str(d["facing"]),
            float(d["score"]),
            tuple((float(x), float(y)) for x, y in d["landmarks"]),
            Point.from_list(d["ring_base"]),
            Point.from_list(d["ring_knuckle"]),
            float(d["finger_width_px"]),
            bool(d["finger_straight"]),
            Point.from_list(d["wrist"]),
            float(d["wrist_width_px"]),
            (float(d["arm_dir"][0]), float(d["arm_dir"][1])),
            Scale.from_dict(d["scale"]),
        )


@dataclass(frozen=True)
class Capability:
    """Whether a plate can carry a kind; when not, a stable `code` and a message saying why."""

    kind: str
    ok: bool
    code: str = "ok"
    message: str = ""
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "confidence": round(self.confidence, 3),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Capability:
        """Rebuild from `to_dict()` output."""
        return cls(str(d["kind"]), bool(d["ok"]), str(d["code"]), str(d["message"]), float(d["confidence"]))


def encode_mask(mask: np.ndarray | None, max_side: int = 384) -> str | None:
    """Return a soft mask (float 0..1 or uint8) as base64 PNG, shrunk to `max_side`."""
    if mask is None:
        return None
    m = mask if mask.dtype == np.uint8 else np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8)
    h, w = m.shape
    s = min(1.0, max_side / max(h, w))
    if s < 1.0:
        m = cv2.resize(m, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", m)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("PNG encoding of a mask failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def decode_mask(data: str | None) -> np.ndarray | None:
    """Return the uint8 mask stored by `encode_mask`."""
    if data is None:
        return None
    buf = np.frombuffer(base64.b64decode(data), np.uint8)
    m = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if m is None:
        raise InputError("plate analysis holds a mask that is not a PNG")
    return m


@dataclass(frozen=True)
class PlateAnalysis:
    """What MediaPipe found on a plate, turned into anchors, scales and per-kind capabilities.

    width/height: the plate's size; content_hash: of the pixels analysed. anchors: named points (see
    module doc); face_scale: px/mm around the face and neck (None without a face); hands: detected
    hands with their own scale (a raised hand is nearer the camera than the face). capabilities: one per
    canonical kind. person_mask/hair_mask: uint8 0..255 at up to 384 px, upsampled by the user.
    face_yaw_deg: head turn; notes/timings: how the analysis went.
    """

    width: int
    height: int
    content_hash: str
    anchors: dict[str, Point]
    face_scale: Scale | None
    hands: tuple[Hand, ...]
    capabilities: dict[str, Capability]
    person_mask: np.ndarray | None = None
    hair_mask: np.ndarray | None = None
    face_yaw_deg: float | None = None
    skin_lab: tuple[float, float, float] | None = None
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def px_per_mm(self) -> float | None:
        """Return the plate's main scale: the face's, else the best hand's, else None."""
        if self.face_scale is not None:
            return self.face_scale.px_per_mm
        if self.hands:
            return max(self.hands, key=lambda h: h.scale.confidence).scale.px_per_mm
        return None

    def capability(self, kind: str) -> Capability:
        """Return whether this plate can carry `kind`, and why not."""
        return self.capabilities[check_kind(kind)]

    def mask_at(self, name: str, width: int, height: int) -> np.ndarray | None:
        """Return the named mask ("person" or "hair") as float32 0..1 at the given size."""
        m = {"person": self.person_mask, "hair": self.hair_mask}[name]
        if m is None:
            return None
        if m.shape != (height, width):
            m = cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
        return m.astype(np.float32) / 255.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (masks as base64 PNG)."""
        return {
            "format": FORMAT_VERSION,
            "width": self.width,
            "height": self.height,
            "content_hash": self.content_hash,
            "anchors": {k: p.to_list() for k, p in sorted(self.anchors.items())},
            "face_scale": self.face_scale.to_dict() if self.face_scale else None,
            "hands": [h.to_dict() for h in self.hands],
            "capabilities": {k: c.to_dict() for k, c in self.capabilities.items()},
            "person_mask": encode_mask(self.person_mask),
            "hair_mask": encode_mask(self.hair_mask),
            "face_yaw_deg": None if self.face_yaw_deg is None else round(self.face_yaw_deg, 2),
            "skin_lab": None if self.skin_lab is None else [round(v, 3) for v in self.skin_lab],
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlateAnalysis:
        """Rebuild from `to_dict()` output; raise InputError on a different format or a missing key."""
        if d.get("format") != FORMAT_VERSION:
            raise InputError(f"plate analysis format {d.get('format')!r} is not {FORMAT_VERSION}; re-analyse")
        try:
            caps = {k: Capability.from_dict(v) for k, v in d["capabilities"].items()}
            missing = [k for k in KINDS if k not in caps]
            if missing:
                raise InputError(f"plate analysis lacks capabilities for {missing}; re-analyse the plate")
            return cls(
                width=int(d["width"]),
                height=int(d["height"]),
                content_hash=str(d["content_hash"]),
                anchors={k: Point.from_list(v) for k, v in d["anchors"].items()},
                face_scale=Scale.from_dict(d["face_scale"]) if d.get("face_scale") else None,
                hands=tuple(Hand.from_dict(h) for h in d["hands"]),
                capabilities=caps,
                person_mask=decode_mask(d.get("person_mask")),
                hair_mask=decode_mask(d.get("hair_mask")),
                face_yaw_deg=None if d.get("face_yaw_deg") is None else float(d["face_yaw_deg"]),
                skin_lab=None if d.get("skin_lab") is None else _triple(d["skin_lab"]),
                notes=tuple(str(n) for n in d.get("notes", [])),
                timings={str(k): float(v) for k, v in d.get("timings", {}).items()},
            )
        except KeyError as exc:
            raise InputError(f"plate analysis lacks the key {exc.args[0]!r}; re-analyse the plate") from None


def _triple(v: Any) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


@dataclass(frozen=True)
class Plate:
    """A photo of a model from the house style.

    id: the style's name for it; image: uint8 RGB H×W×3; kinds: the kinds the style allows on it;
    analysis: the cached PlateAnalysis (render() analyses the plate itself when it is None).
    """

    id: str
    image: np.ndarray
    kinds: frozenset[str] = frozenset(KINDS)
    analysis: PlateAnalysis | None = None

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            desc = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
            raise InputError(f"plate {self.id!r}: image must be a uint8 H×W×3 RGB array, not {desc}")
        object.__setattr__(self, "kinds", frozenset(check_kind(k) for k in self.kinds))
        if self.analysis is not None and (self.analysis.width, self.analysis.height) != (
            img.shape[1],
            img.shape[0],
        ):
            raise InputError(
                f"plate {self.id!r}: its analysis is of a "
                f"{self.analysis.width}×{self.analysis.height} image, "
                f"the image is {img.shape[1]}×{img.shape[0]}; re-analyse it"
            )
