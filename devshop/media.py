"""Process new media like Shopify: UPLOADED, then PROCESSING, then READY or FAILED."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
from PIL import Image, UnidentifiedImageError

from devshop.clock import Clock
from devshop.config import DevShopConfig
from devshop.faults import Faults
from devshop.scheduler import Scheduler
from devshop.store import Media, Store

# Formats Shopify accepts for product images that Pillow can read here.
ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}


@dataclass(frozen=True)
class Decoded:
    """What processing learned about an image, or why it failed (``error_code`` set)."""

    blob: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    error_code: str | None = None
    error_message: str | None = None


def decode_image(data: bytes, max_bytes: int, max_megapixels: float) -> Decoded:
    """Check that ``data`` is an image Shopify would accept and read its size."""
    if len(data) > max_bytes:
        return Decoded(
            error_code="INVALID_IMAGE_FILE_SIZE",
            error_message=f"Image is {len(data)} bytes; the limit is {max_bytes} bytes.",
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt not in ACCEPTED_FORMATS:
                return Decoded(
                    error_code="UNSUPPORTED_IMAGE_FILE_TYPE",
                    error_message=f"Image format {fmt or 'unknown'} is not supported.",
                )
            if width * height > max_megapixels * 1_000_000:
                return Decoded(
                    error_code="INVALID_IMAGE_RESOLUTION",
                    error_message=f"Image is {width}x{height}; the limit is {max_megapixels:g} megapixels.",
                )
            img.load()  # a truncated or corrupt file fails here, not at open()
    except UnidentifiedImageError:
        return Decoded(
            error_code="UNSUPPORTED_IMAGE_FILE_TYPE", error_message="File is not a readable image."
        )
    except (OSError, ValueError, SyntaxError) as exc:
        return Decoded(
            error_code="IMAGE_PROCESSING_FAILURE", error_message=f"Image could not be processed: {exc}"
        )
    return Decoded(mime_type=ACCEPTED_FORMATS[fmt], width=width, height=height)


class MediaProcessor:
    """Move media through Shopify's processing states on the simulator's clock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        scheduler: Scheduler,
        config: DevShopConfig,
        faults: Faults,
        on_settled: Callable[[Media], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._scheduler = scheduler
        self._config = config
        self._faults = faults
        self._on_settled = on_settled

    def start(self, media_id: int) -> None:
        """Schedule processing of a media item that was just created as UPLOADED."""
        override = self._faults.switches.media_processing_delay_s
        delay = self._config.media_processing_delay_s if override is None else override
        self._scheduler.call_later(delay / 2, lambda: self._to_processing(media_id))
        self._scheduler.call_later(delay, lambda: self.finish(media_id))

    def finish(self, media_id: int) -> None:
        """Fetch and check the media's source now and settle it as READY or FAILED."""
        with self._store.lock:
            media = self._store.media.get(media_id)
            if media is None or media.status in ("READY", "FAILED"):
                return
            source = media.original_source
        if self._faults.fire("media_fail_next", None):
            result = Decoded(
                error_code="IMAGE_PROCESSING_FAILURE", error_message="Processing failed (injected fault)."
            )
        else:
            data, error = self._read_source(source)
            if data is None:
                result = Decoded(error_code="IMAGE_DOWNLOAD_FAILURE", error_message=error)
            else:
                result = decode_image(data, self._config.max_upload_bytes, self._config.max_image_megapixels)
                if result.error_code is None:
                    result = Decoded(
                        blob=self._store.blobs.put(data),
                        mime_type=result.mime_type,
                        width=result.width,
                        height=result.height,
                    )
        with self._store.lock:
            media = self._store.media.get(media_id)
            if media is None or media.status in ("READY", "FAILED"):
                return  # deleted (fileDelete) while it was processing
            media.updated_at = self._clock.now().replace(microsecond=0)
            if result.error_code is None:
                media.status = "READY"
                media.blob, media.mime_type = result.blob, result.mime_type
                media.width, media.height = result.width, result.height
                media.errors = []
            else:
                media.status = "FAILED"
                media.errors = [
                    {
                        "code": result.error_code,
                        "message": result.error_message or "",
                        "details": result.error_message or "",
                    }
                ]
            self._on_settled(media)

    def _to_processing(self, media_id: int) -> None:
        with self._store.lock:
            media = self._store.media.get(media_id)
            if media is not None and media.status == "UPLOADED":
                media.status = "PROCESSING"
                media.updated_at = self._clock.now().replace(microsecond=0)

    def _read_source(self, source: str) -> tuple[bytes | None, str]:
        """Return the bytes behind an ``originalSource`` (or None and why not)."""
        if source.startswith("blob:"):
            data = self._store.blobs.get(source[5:])
            return data, "" if data is not None else "The stored file is missing."
        parsed = urlparse(source)
        parts = parsed.path.strip("/").split("/")
        if parts[0] == "_staged" and len(parts) >= 2:
            # A staged target of this simulator, whatever host name the app used to reach it.
            with self._store.lock:
                staged = self._store.staged.get(parts[1])
            if staged is not None:
                if staged.blob is None:
                    return None, "Nothing was uploaded to the staged upload target."
                return self._store.blobs.get(staged.blob), ""
        try:
            with httpx.Client(timeout=10.0, follow_redirects=True) as client:
                response = client.get(source)
        except httpx.HTTPError as exc:
            return None, f"Could not download the image: {type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return None, f"Could not download the image: HTTP {response.status_code}."
        return response.content, ""
