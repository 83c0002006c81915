"""Make the small images the admin pages show, once, and keep them next to their originals."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from connector.storage import Storage
from renderer.errors import InputError

THUMB_SIDE = 640


def thumbnail(data: bytes, max_side: int = THUMB_SIDE) -> bytes:
    """Return `data` as a JPEG no larger than `max_side` on its long edge, upright, without metadata."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (max_side, max_side))  # let the JPEG decoder skip most of the pixels
            small = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InputError(f"image cannot be read for a thumbnail: {exc}") from None
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def thumb_key_for(key: str) -> str:
    """Return where the thumbnail of the object at `key` is kept."""
    stem, _, _ext = key.rpartition(".")
    return f"{stem or key}.thumb.jpg"


def ensure_thumb(storage: Storage, key: str, max_side: int = THUMB_SIDE) -> str:
    """Return the key of the thumbnail of `key`, making and storing it the first time."""
    target = thumb_key_for(key)
    if not storage.exists(target):
        storage.put(target, thumbnail(storage.get(key), max_side), "image/jpeg")
    return target
