"""Helpers of the browser tests: Chromium through Playwright, live HTTP servers, scenes and screenshots."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

import pytest
from PIL import Image
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The tests screenshot every page into var/screenshots; with WORN_UPDATE_SCREENSHOTS=1 they refresh the
# committed ones in docs/screenshots (what README.md shows) instead.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    _ROOT / "docs" / "screenshots"
    if os.environ.get("WORN_UPDATE_SCREENSHOTS") == "1"
    else _ROOT / "var" / "screenshots"
)


def require_chromium() -> None:
    """Skip when Debian's Chromium is missing on a developer's machine; fail in CI, where it must be."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"Chromium is required in CI at {CHROMIUM} (apt-get install chromium)")
    pytest.skip(f"Chromium not installed at {CHROMIUM}")


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class LiveServer:
    """A WSGI app served over real HTTP on 127.0.0.1 (threaded), for the browser."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def portrait(data: bytes, width: int = 800, height: int = 1000) -> bytes:
    """Return `data` cropped to a 4:5 portrait of `width`×`height` as JPEG."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    ratio = width / height
    w, h = image.size
    if w / h > ratio:
        new_w = int(h * ratio)
        image = image.crop(((w - new_w) // 2, 0, (w - new_w) // 2 + new_w, h))
    else:
        new_h = int(w / ratio)
        image = image.crop((0, 0, w, new_h))
    out = io.BytesIO()
    image.resize((width, height), Image.Resampling.LANCZOS).save(out, "JPEG", quality=88)
    return out.getvalue()


def save_screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of `page` to SCREENSHOTS/NAME.png, reduced to a small palette PNG."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.getElementById('toasts')?.replaceChildren()")  # passing messages are not the page
    raw = page.screenshot(full_page=full_page)
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    path = SCREENSHOTS / f"{name}.png"
    small.save(path, optimize=True)
    return path
