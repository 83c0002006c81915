"""Where the shared real photographs are: WORN_PHOTOS_DIR, else the nearest `shared/photos` above the repo.

Tests that use them skip when they are absent (a user's machine); CI always has them.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def _find() -> Path | None:
    if os.environ.get("WORN_PHOTOS_DIR"):
        return Path(os.environ["WORN_PHOTOS_DIR"])
    for parent in _REPO.parents:
        candidate = parent / "shared" / "photos"
        if candidate.is_dir():
            return candidate
    return None


#: The folder of shared photos, or None when this machine has none.
PHOTOS: Path | None = _find()
