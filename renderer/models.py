"""Hold the MediaPipe models once per process: building them is slow, running them is fast.

Only what MediaPipe 0.10.21's wheel carries is used (nothing is downloaded): face mesh
with iris refinement, pose with model_complexity=1 (0 and 2 try to download), hands, selfie
segmentation. MediaPipe graphs are not thread-safe, so each runs under its own lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

# MediaPipe's C++ logging goes to stderr before absl is set up; keep it to warnings and worse.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _Model:
    """One lazily built MediaPipe solution with a lock around `process`."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._model: Any = None
        self._lock = threading.Lock()

    def process(self, rgb: np.ndarray) -> Any:
        """Run the model on a contiguous uint8 RGB image and return MediaPipe's result."""
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model.process(np.ascontiguousarray(rgb))


def _solutions() -> Any:
    import mediapipe as mp  # imported on first use: it takes a second and pulls in its native library

    return mp.solutions


FACE_MESH = _Model(
    lambda: _solutions().face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
    )
)
POSE = _Model(
    lambda: _solutions().pose.Pose(
        static_image_mode=True, model_complexity=1, enable_segmentation=False, min_detection_confidence=0.5
    )
)
HANDS = _Model(
    lambda: _solutions().hands.Hands(
        static_image_mode=True, max_num_hands=2, model_complexity=1, min_detection_confidence=0.5
    )
)
SELFIE = _Model(lambda: _solutions().selfie_segmentation.SelfieSegmentation(model_selection=0))


def warm_up() -> None:
    """Build every model now (a worker calls this at start so the first job is not slow)."""
    blank = np.zeros((64, 64, 3), np.uint8)
    for model in (FACE_MESH, POSE, HANDS, SELFIE):
        model.process(blank)
