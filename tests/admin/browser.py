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
from flask import Flask, Response, jsonify, request
from PIL import Image, ImageDraw, ImageFilter
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


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


def token_mint(mint: Callable[[str, str], str], photos: dict[str, bytes]) -> Flask:
    """Return a small server speaking the dev-shop's session-token control route and serving photos.

    It stands in for `worn dev-shop` (another branch, not yet on main) for exactly two things the pages
    need from it: minting session tokens (`POST /_devshop/shops/<handle>/session-token`) and serving the
    products' photos. The app talks to it over HTTP as it will to the dev-shop.
    """
    app = Flask("devshop-token-mint")

    @app.post("/_devshop/shops/<handle>/session-token")
    def session_token(handle: str) -> Response:
        body = request.get_json(silent=True) or {}
        return jsonify({"token": mint(f"{handle}.myshopify.com", str(body.get("user_id", 1)))})

    @app.get("/photos/<name>")
    def photo(name: str) -> Response:
        if name not in photos:
            return Response(status=404)
        return Response(photos[name], mimetype="image/jpeg")

    return app


def pendant_photo(size: int = 1200) -> bytes:
    """Draw a product photo: a gold chain with a pendant on a white, softly shaded background."""
    scale = 2
    s = size * scale
    image = Image.new("RGB", (s, s), (250, 250, 248))
    shade = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shade).ellipse([s * 0.2, s * 0.55, s * 0.8, s * 0.95], fill=40)
    image.paste((226, 224, 220), mask=shade.filter(ImageFilter.GaussianBlur(s // 20)))
    draw = ImageDraw.Draw(image)
    gold, light = (196, 152, 64), (240, 210, 140)
    cx, top, bottom = s / 2, s * 0.12, s * 0.62
    for i in range(0, 181, 2):  # a U-shaped chain of small links
        t = i / 180
        x = cx + (t - 0.5) * s * 0.62
        y = top + (1 - (2 * t - 1) ** 2) * (bottom - top)
        r = s * 0.006
        draw.ellipse([x - r * 1.4, y - r, x + r * 1.4, y + r], outline=gold, width=max(2, int(r * 0.6)))
    py = bottom + s * 0.02
    draw.polygon([(cx, py), (cx + s * 0.07, py + s * 0.12), (cx, py + s * 0.22), (cx - s * 0.07, py + s * 0.12)],
                 fill=gold)
    draw.polygon([(cx, py + s * 0.03), (cx + s * 0.045, py + s * 0.12), (cx, py + s * 0.19),
                  (cx - s * 0.045, py + s * 0.12)], fill=(40, 90, 170))
    draw.ellipse([cx - s * 0.012, py + s * 0.07, cx + s * 0.005, py + s * 0.09], fill=light)
    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
    return out.getvalue()


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
    """Save a screenshot of `page` to docs/screenshots/NAME.png, reduced to a small palette PNG."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.getElementById('toasts')?.replaceChildren()")  # passing messages are not the page
    raw = page.screenshot(full_page=full_page)
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
    path = SCREENSHOTS / f"{name}.png"
    small.save(path, optimize=True)
    return path
