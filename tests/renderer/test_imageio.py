"""Decoding every kind of input photo safely, encoding outputs, fingerprinting plates."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from renderer.errors import ImageDecodeError, InputError
from renderer.imageio import content_hash, encode_image, load_image
from tests.renderer.iccgen import linear_rgb_profile


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _arrow(w: int = 60, h: int = 40) -> np.ndarray:
    """An asymmetric picture: a red block at the top-left, blue at the bottom-right."""
    a = np.full((h, w, 3), 255, np.uint8)
    a[: h // 3, : w // 3] = (255, 0, 0)
    a[-h // 3 :, -w // 3 :] = (0, 0, 255)
    return a


def test_zero_bytes_are_refused_naming_the_problem() -> None:
    with pytest.raises(ImageDecodeError, match="empty") as exc:
        load_image(b"")
    assert exc.value.code == "empty"


def test_random_bytes_are_refused_as_unreadable() -> None:
    with pytest.raises(ImageDecodeError, match="not an image format") as exc:
        load_image(b"this is not a photo at all, just text" * 10)
    assert exc.value.code == "unreadable"


def test_truncated_jpeg_is_refused_as_corrupt() -> None:
    data = _save(Image.fromarray(_arrow(400, 300)), "JPEG", quality=90)
    with pytest.raises(ImageDecodeError, match="corrupt") as exc:
        load_image(data[: len(data) // 3])
    assert exc.value.code == "corrupt"


def test_non_bytes_are_refused() -> None:
    with pytest.raises(InputError, match="bytes"):
        load_image("photo.jpg")  # type: ignore[arg-type]


def test_sixty_megapixel_jpeg_is_downscaled_while_decoding() -> None:
    big = np.zeros((6000, 10000, 3), np.uint8)
    big[:, :5000] = (200, 30, 30)
    data = _save(Image.fromarray(big), "JPEG", quality=60)
    del big
    loaded = load_image(data)
    w, h = loaded.size
    assert w * h <= 25_000_000
    assert w / h == pytest.approx(10000 / 6000, rel=0.01)
    assert any("downscaled from 10000×6000 (60.0 MP)" in n for n in loaded.notes)
    assert tuple(loaded.pixels[h // 2, w // 4]) == pytest.approx((200, 30, 30), abs=6)


def test_sixty_megapixel_png_is_downscaled_after_decoding() -> None:
    big = np.full((6000, 10000), 90, np.uint8)
    data = _save(Image.fromarray(big), "PNG", compress_level=1)
    del big
    loaded = load_image(data, max_pixels=12_000_000)
    assert loaded.size[0] * loaded.size[1] <= 12_000_000
    assert any("downscaled" in n for n in loaded.notes)


def test_decompression_bomb_header_is_refused_unread() -> None:
    png = bytearray(_save(Image.new("L", (8, 8)), "PNG"))
    # Rewrite the IHDR to claim 30000×30000 (900 MP) and fix its CRC.
    png[16:24] = struct.pack(">II", 30000, 30000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    with pytest.raises(ImageDecodeError) as exc:
        load_image(bytes(png))
    assert exc.value.code == "too_large"
    assert "bomb" in str(exc.value)


def test_cmyk_jpeg_becomes_rgb() -> None:
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in CMYK
    loaded = load_image(_save(im, "JPEG", quality=95))
    assert loaded.pixels.shape == (32, 32, 3)
    r, g, b = loaded.pixels[16, 16]
    assert r > 200 and g < 60 and b < 60
    assert any("CMYK" in n for n in loaded.notes)


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped() -> None:
    a = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    ok, enc = cv2.imencode(".png", a)
    assert ok
    loaded = load_image(enc.tobytes())
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (64, 64, 3)
    assert loaded.pixels[0, 0, 0] == 0 and loaded.pixels[-1, -1, 0] == 255
    assert loaded.pixels[32, 0, 0] == pytest.approx(128, abs=2)
    assert any("16-bit" in n for n in loaded.notes)


def test_sixteen_bit_rgb_png_keeps_its_colours() -> None:
    a = np.zeros((16, 16, 3), np.uint16)
    a[:, :, 2] = 65535  # red in OpenCV's BGR order
    a[:, :, 1] = 32768
    _, enc = cv2.imencode(".png", a)
    loaded = load_image(enc.tobytes())
    assert tuple(loaded.pixels[8, 8]) == pytest.approx((255, 128, 0), abs=2)


def test_palette_png_with_transparency_becomes_rgba() -> None:
    im = Image.new("P", (20, 20), 0)
    im.putpalette([255, 255, 255, 200, 150, 0] + [0] * 762)
    im.paste(1, (5, 5, 15, 15))
    data = _save(im, "PNG", transparency=0)
    loaded = load_image(data)
    assert loaded.has_alpha
    assert loaded.pixels[0, 0, 3] == 0 and loaded.pixels[10, 10, 3] == 255
    assert tuple(loaded.pixels[10, 10, :3]) == (200, 150, 0)
    assert any("palette" in n for n in loaded.notes)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_use_the_first_frame_and_say_so(fmt: str) -> None:
    frames = [Image.new("RGB", (24, 24), c) for c in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    data = _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(data)
    assert loaded.pixels[12, 12, 0] > 200 and loaded.pixels[12, 12, 1] < 60
    assert any("3 frames: the first frame" in n for n in loaded.notes)


def test_heic_is_read_through_pillow_heif() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(_arrow(64, 48))).save(buf, format="HEIF", quality=95)
    loaded = load_image(buf.getvalue())
    assert loaded.format == "HEIF"
    assert loaded.size == (64, 48)
    assert loaded.pixels[4, 4, 0] > 180 and loaded.pixels[4, 4, 2] < 90


@pytest.mark.parametrize(("orientation", "rot"), [(3, 2), (6, 3), (8, 1)])
def test_exif_rotated_photos_are_turned_upright(orientation: int, rot: int) -> None:
    upright = _arrow(60, 40)
    # Store the pixels as a camera would (rotated) and let the EXIF tag say how to undo it.
    stored = np.ascontiguousarray(np.rot90(upright, k=-rot))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _save(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    loaded = load_image(data)
    assert loaded.size == (60, 40)
    assert loaded.pixels[3, 3, 0] > 200 and loaded.pixels[3, 3, 2] < 60  # red stays top-left
    assert loaded.pixels[-3, -3, 2] > 200 and loaded.pixels[-3, -3, 0] < 60
    assert any(f"EXIF orientation {orientation}" in n for n in loaded.notes)


def test_icc_profile_is_converted_to_srgb() -> None:
    im = Image.new("RGB", (8, 8), (128, 128, 128))
    loaded = load_image(_save(im, "PNG", icc_profile=linear_rgb_profile()))
    # Linear 0.5 is sRGB ≈ 188: the grey must brighten, not be taken as sRGB 128.
    assert loaded.pixels[4, 4, 0] == pytest.approx(188, abs=2)
    assert any("Linear RGB (test)" in n for n in loaded.notes)


def test_fully_opaque_alpha_is_dropped() -> None:
    im = Image.new("RGBA", (8, 8), (10, 20, 30, 255))
    loaded = load_image(_save(im, "PNG"))
    assert not loaded.has_alpha


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_encode_image_round_trips_and_carries_no_exif(fmt: str) -> None:
    rgb = _arrow(64, 48)
    data = encode_image(rgb, fmt, 92)
    im = Image.open(io.BytesIO(data))
    assert im.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
    assert len(im.getexif()) == 0
    assert im.info.get("icc_profile")
    back = load_image(data)
    assert np.abs(back.pixels.astype(int) - rgb.astype(int)).mean() < 4


def test_encode_image_refuses_bad_arguments() -> None:
    with pytest.raises(InputError, match="tiff"):
        encode_image(_arrow(), "tiff", 90)
    with pytest.raises(InputError, match="quality"):
        encode_image(_arrow(), "jpeg", 0)
    with pytest.raises(InputError, match="uint8"):
        encode_image(_arrow().astype(np.float32), "png", 90)


def test_content_hash_is_stable_and_distinguishes_content() -> None:
    a = _arrow()
    assert content_hash(a) == content_hash(a.copy())
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert content_hash(a) != content_hash(b)
    assert content_hash(b"abc") == content_hash(bytearray(b"abc"))
    assert content_hash(a) != content_hash(a.reshape(40, 60, 3).transpose(1, 0, 2).copy())
    with pytest.raises(InputError):
        content_hash("abc")  # type: ignore[arg-type]
