"""Keep the merchant's plate photos: checked, stored by content hash under the shop's prefix."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from connector.fileurls import shop_prefix
from connector.shopstyle import plate_image_bytes
from connector.storage import Storage
from connector.styles import PlateSpec
from connector.thumbs import thumbnail
from renderer.errors import InputError

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 512
_FORMATS = ("JPEG", "PNG", "WEBP", "MPO")


@dataclass(frozen=True)
class StoredPlate:
    """A plate photo as stored: its key, the SHA-256 of the stored bytes and its size in pixels."""

    key: str
    sha256: str
    width: int
    height: int
    data: bytes = field(repr=False, default=b"")


def _decode(data: bytes, name: str) -> Image.Image:
    if not data:
        raise InputError(f"photo {name!r}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            f"photo {name!r}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // 10**6} MB limit"
        )
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in _FORMATS:
            raise InputError(f"photo {name!r}: {image.format} is not accepted; upload a JPEG, PNG or WebP")
        if image.width * image.height > MAX_PIXELS:
            raise InputError(
                f"photo {name!r}: {image.width}×{image.height} is over {MAX_PIXELS // 10**6} megapixels; "
                "upload a smaller copy"
            )
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InputError(f"photo {name!r}: not a readable image ({exc})") from None
    return image


def store_plate_photo(storage: Storage, shop_id: int, data: bytes, name: str = "photo") -> StoredPlate:
    """Check an uploaded photo and store it upright, as sRGB JPEG without metadata, at plates/<sha>.jpg.

    Metadata goes (a model's photo may carry where it was taken); the same photo uploaded twice lands on
    the same key.
    """
    image = _decode(data, name)
    upright = ImageOps.exif_transpose(image)
    if min(upright.size) < MIN_SIDE:
        raise InputError(
            f"photo {name!r}: {upright.width}×{upright.height} is too small; plates need at least "
            f"{MIN_SIDE} px on the short side"
        )
    if upright.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", upright.size, (255, 255, 255))
        rgba = upright.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        upright = background
    out = io.BytesIO()
    upright.convert("RGB").save(out, "JPEG", quality=92, optimize=True)
    encoded = out.getvalue()
    digest = hashlib.sha256(encoded).hexdigest()
    key = f"{shop_prefix(shop_id)}plates/{digest}.jpg"
    if not storage.exists(key):
        storage.put(key, encoded, "image/jpeg")
    return StoredPlate(key, digest, upright.width, upright.height, encoded)


def plate_thumb_key(storage: Storage, shop_id: int, plate: PlateSpec, styles_dir: object) -> str | None:
    """Return the key of the plate's thumbnail under the shop's prefix, making it the first time.

    Default plates live in packages, not in storage; their thumbnails are stored per shop like the rest,
    named by the picture's hash, so the pages load every plate the same way.
    """
    if plate.image is None:
        return None
    from pathlib import Path

    data: bytes | None = None
    digest = plate.sha256
    if digest is None:
        data = plate_image_bytes(plate, Path(str(styles_dir)), storage)
        digest = hashlib.sha256(data).hexdigest()
    key = f"{shop_prefix(shop_id)}plates/thumbs/{digest}.jpg"
    if not storage.exists(key):
        if data is None:
            data = plate_image_bytes(plate, Path(str(styles_dir)), storage)
        storage.put(key, thumbnail(data), "image/jpeg")
    return key
