"""Decode image bytes safely into sRGB numpy arrays, encode them back, and fingerprint them."""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from renderer.errors import ImageDecodeError, InputError

DEFAULT_MAX_PIXELS = 25_000_000  # what a decoded image may hold; larger ones are downscaled on decode
BOMB_PIXELS = 200_000_000  # header sizes above this are refused before any pixel is decoded
_FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP"}

_heif_lock = threading.Lock()
_heif_registered = False
_srgb_profile: ImageCms.ImageCmsProfile | None = None


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: `pixels` is uint8 H×W×3 (RGB) or H×W×4 (RGBA, straight alpha), in sRGB.

    format: what the bytes were (JPEG, PNG, HEIF…); source_size: (width, height) as stored, before
    orientation and downscaling; notes: every conversion made, in words, for the report.
    """

    pixels: np.ndarray
    format: str
    source_size: tuple[int, int]
    notes: tuple[str, ...] = ()

    @property
    def has_alpha(self) -> bool:
        """Say whether the image carries real transparency."""
        return self.pixels.shape[2] == 4

    @property
    def rgb(self) -> np.ndarray:
        """Return the RGB pixels (transparency dropped)."""
        return np.ascontiguousarray(self.pixels[:, :, :3])

    @property
    def size(self) -> tuple[int, int]:
        """Return (width, height) of the decoded pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def _register_heif() -> None:
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
            except ImportError:  # HEIC stays unsupported; the error below says so
                pass
            _heif_registered = True


def _srgb() -> ImageCms.ImageCmsProfile:
    global _srgb_profile
    if _srgb_profile is None:
        _srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _srgb_profile


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError("too_large", f"image refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        head = data[:12]
        hint = " (looks like HEIC/HEIF, which this install cannot read)" if b"ftyp" in head else ""
        raise ImageDecodeError(
            "unreadable",
            f"image data ({len(data)} bytes, starting {head!r}) is not an image format Worn can read{hint}; "
            "expected JPEG, PNG, WebP, GIF, TIFF or HEIC",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError("corrupt", f"image data ({len(data)} bytes) is corrupt: {exc}") from None


def _limit_size(im: Image.Image, max_pixels: int, notes: list[str]) -> Image.Image:
    w, h = im.size
    if w * h > BOMB_PIXELS:
        raise ImageDecodeError(
            "too_large",
            f"image of {w}×{h} ({w * h / 1e6:.0f} MP) exceeds the {BOMB_PIXELS / 1e6:.0f} MP "
            "decompression-bomb limit; upload a photo under that size",
        )
    if w * h <= max_pixels:
        return im
    if im.format == "JPEG":
        # Decode at 1/2, 1/4 or 1/8 scale inside libjpeg: the full image never sits in memory.
        scale = (max_pixels / (w * h)) ** 0.5
        im.draft(im.mode, (max(1, int(w * scale)), max(1, int(h * scale))))
    return im


def _to_array(im: Image.Image, notes: list[str]) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.uint32 if mode == "I" else np.uint16)
        peak = 65535 if a.max() > 255 else 255
        a8 = (a.astype(np.float64) * (255.0 / peak) + 0.5).astype(np.uint8)
        notes.append(f"{16 if peak == 65535 else 8}-bit grayscale ({mode}) reduced to 8-bit RGB")
        return np.repeat(a8[:, :, None], 3, axis=2)
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a8 = np.clip(a / max(a.max(), 1e-9) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        notes.append("floating-point image scaled to 8-bit RGB")
        return np.repeat(a8[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if mode == "P" and has_alpha:
        notes.append("palette image with transparency converted to RGBA")
    elif mode == "P":
        notes.append("palette image converted to RGB")
    elif mode in ("1", "L", "LA"):
        notes.append(f"grayscale ({mode}) converted to RGB")
    out = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    if has_alpha and out[:, :, 3].min() == 255:
        return np.ascontiguousarray(out[:, :, :3])
    return out


def load_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode image bytes into sRGB pixels, applying EXIF orientation and the embedded ICC profile.

    Handles JPEG (CMYK too), PNG (16-bit, palette with transparency), WebP, GIF and other animations
    (first frame, noted), TIFF and HEIC (through pillow-heif). An image above `max_pixels` is
    downscaled while decoding (noted); one whose header claims more than 200 MP is refused unread.
    Raises ImageDecodeError (an InputError) naming the problem for empty, corrupt or unknown data.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(f"image data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageDecodeError("empty", "image data is empty (0 bytes); expected the bytes of a photo")
    if max_pixels < 1:
        raise InputError(f"max_pixels must be positive, not {max_pixels}")
    _register_heif()
    notes: list[str] = []
    im = _open(data)
    fmt = im.format or "unknown"
    source_size = im.size
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    if n_frames > 1:
        im.seek(0)
        notes.append(f"animated {fmt} with {n_frames} frames: the first frame was used")
    try:
        im = _limit_size(im, max_pixels, notes)
        im.load()
    except ImageDecodeError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError("corrupt", f"{fmt} image data ({len(data)} bytes) is corrupt: {exc}") from None
    icc = im.info.get("icc_profile")
    orientation = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
    try:
        im = ImageOps.exif_transpose(im) or im
    except (OSError, ValueError, SyntaxError) as exc:
        notes.append(f"EXIF orientation could not be applied ({exc})")
    else:
        if orientation not in (1, None):
            notes.append(f"rotated upright from EXIF orientation {orientation}")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            desc = (ImageCms.getProfileDescription(src) or "embedded profile").strip()
            is_srgb = desc.lower().startswith("srgb") and "linear" not in desc.lower()
            if not is_srgb or im.mode == "CMYK":
                out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
                converted = ImageCms.profileToProfile(im, src, _srgb(), outputMode=out_mode)
                im = converted if converted is not None else im
                notes.append(f"colours converted from ICC profile {desc!r} to sRGB")
        except (OSError, ImageCms.PyCMSError) as exc:
            notes.append(f"embedded ICC profile unreadable ({exc}); colours taken as sRGB")
    if im.mode == "CMYK":
        notes.append("CMYK converted to RGB without a profile (none embedded)")
        im = im.convert("RGB")
    pixels = _to_array(im, notes)
    h, w = pixels.shape[:2]
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0))
    if pixels.shape[1] * pixels.shape[0] < source_size[0] * source_size[1]:
        notes.append(
            f"downscaled from {source_size[0]}×{source_size[1]} "
            f"({source_size[0] * source_size[1] / 1e6:.1f} MP) "
            f"to {pixels.shape[1]}×{pixels.shape[0]} to stay under {max_pixels / 1e6:.0f} MP"
        )
    return LoadedImage(np.ascontiguousarray(pixels), fmt, source_size, tuple(notes))


def encode_image(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> bytes:
    """Encode an RGB uint8 array as JPEG, PNG or WebP bytes tagged sRGB, with no EXIF.

    `quality` (1-100) drives JPEG and WebP; PNG is lossless and ignores it.
    """
    key = (fmt or "").lower()
    if key not in _FORMATS:
        raise InputError(f"output format {fmt!r} is not one of jpeg, png, webp")
    if not 1 <= int(quality) <= 100:
        raise InputError(f"output quality {quality!r} must be between 1 and 100")
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"image to encode must be uint8 H×W×3, not {arr.dtype} {arr.shape}")
    im = Image.fromarray(np.ascontiguousarray(arr[:, :, :3]))
    buf = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if _FORMATS[key] == "JPEG":
        im.save(buf, "JPEG", quality=int(quality), icc_profile=icc)
    elif _FORMATS[key] == "PNG":
        im.save(buf, "PNG", compress_level=4, icc_profile=icc)
    else:
        im.save(buf, "WEBP", quality=int(quality), method=4, icc_profile=icc)
    return buf.getvalue()


def content_hash(image: bytes | np.ndarray) -> str:
    """Return a stable SHA-256 hex digest of image bytes, or of an array's shape, dtype and pixels."""
    h = hashlib.sha256()
    if isinstance(image, np.ndarray):
        h.update(f"{image.shape}|{image.dtype.str}|".encode())
        h.update(np.ascontiguousarray(image).tobytes())
    elif isinstance(image, bytes | bytearray | memoryview):
        h.update(bytes(image))
    else:
        raise InputError(f"content_hash takes bytes or a numpy array, not {type(image).__name__}")
    return h.hexdigest()
