"""`worn demo`: Worn end to end on one machine, driven by Shopify-style webhooks.

It starts the local Shopify (`worn dev-shop`, seeded) and Worn itself (`worn serve --worker`: web app,
scheduler, queue worker) on the embedded defaults (SQLite, local files, database queue, CPU renderer),
opens the app for the demo store as a merchant would, and creates new products in the store. From there
Shopify-style webhooks drive everything: verified delivery → render job → drafts. The demo approves the
drafts like a merchant, through the app's own JSON API, and waits until each image is READY on the
product. It prints a summary per product and exits. A second run finds its products and drafts and
changes nothing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from renderer.errors import WornError

SHOP = "worn-demo"
DOMAIN = f"{SHOP}.myshopify.com"
WAIT_DRAFTS_S = 150.0
WAIT_LIVE_S = 90.0


class DemoError(WornError):
    """The demo could not go on; the message says what failed and where its logs are."""


@dataclass(frozen=True)
class DemoProduct:
    """A new product the demo adds to the store: one of the renderer's sample photos, with its size."""

    title: str
    photo: str  # in renderer/samples
    product_type: str
    category: str  # Shopify taxonomy id
    size_key: str  # metafield custom.<size_key>
    size: tuple[float, str]  # dimension metafield value and unit


PRODUCTS = (
    DemoProduct(
        "Emerald drop pendant",
        "pendant_necklace_v.png",
        "Pendant necklace",
        "aa-6-5",
        "chain_length",
        (18, "in"),
    ),
    DemoProduct(
        "Garnet teardrop earrings", "drop_earrings.png", "Earrings", "aa-6-6", "drop_length", (3.5, "cm")
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `worn demo`'s options."""
    parser.add_argument("--port", type=int, default=8000, help="Worn's port (default 8000)")
    parser.add_argument("--shop-port", type=int, default=8081, help="the dev-shop's port (default 8081)")
    parser.add_argument(
        "--data-dir", type=Path, help="where the demo keeps everything (default DATA_DIR/demo)"
    )
    parser.add_argument("--short", action="store_true", help="one product instead of two (faster)")
    parser.add_argument(
        "--keep-running", action="store_true", help="stay up to explore in a browser (Ctrl-C)"
    )


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(what: str, check: Callable[[], Any], timeout: float, log: Path | None = None) -> Any:
    """Poll `check` until it returns something truthy; raise DemoError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            where = f"; see {log}" if log else ""
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}{where}")
        time.sleep(0.3)


class AppClient:
    """Talk to Worn's JSON API as the merchant's browser does, with session tokens the dev-shop mints."""

    def __init__(self, app_url: str, shop_url: str) -> None:
        self.app = httpx.Client(base_url=app_url, timeout=30)
        self.shop = httpx.Client(base_url=shop_url, timeout=30)
        self._token, self._minted = "", 0.0

    def _bearer(self) -> dict[str, str]:
        if time.monotonic() - self._minted > 30:  # Shopify's session tokens live a minute
            answer = self.shop.post(f"/_devshop/shops/{SHOP}/session-token", json={})
            answer.raise_for_status()
            self._token, self._minted = answer.json()["token"], time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}

    def get(self, path: str) -> Any:
        answer = self.app.get(path, headers=self._bearer())
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str) -> Any:
        answer = self.app.post(path, headers=self._bearer(), json={})
        if answer.status_code >= 400:
            raise DemoError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def close(self) -> None:
        self.app.close()
        self.shop.close()


def _sample(name: str) -> bytes:
    return resources.files("renderer").joinpath("samples", name).read_bytes()


def _ensure_product(client: AppClient, product: DemoProduct) -> tuple[dict[str, Any], bool]:
    """Return the store's product with this title, creating it (as the merchant) when it is not there."""
    existing = [
        p for p in client.shop.get(f"/_devshop/shops/{SHOP}/products").json() if p["title"] == product.title
    ]
    if existing:
        return existing[0], False
    value, unit = product.size
    photo = base64.b64encode(_sample(product.photo)).decode()
    size = {"value": value, "unit": unit}
    spec = {
        "title": product.title,
        "product_type": product.product_type,
        "category": f"gid://shopify/TaxonomyCategory/{product.category}",
        "tags": ["worn-demo"],
        "photos": [{"filename": product.photo, "alt": product.title, "content_base64": photo}],
        "metafields": [{"namespace": "custom", "key": product.size_key, "type": "dimension", "value": size}],
    }
    answer = client.shop.post(f"/_devshop/shops/{SHOP}/products", json=spec)
    if answer.status_code != 201:
        raise DemoError(f"the dev-shop refused the product {product.title!r}: {answer.text[:300]}")
    return answer.json(), True


def _worn_product(client: AppClient, title: str) -> dict[str, Any] | None:
    """Return Worn's review of the product with `title` once its drafts exist (or its render failed)."""
    page = client.get("/api/products?limit=100")
    match = next((item for item in page["items"] if item["title"] == title), None)
    if match is None:
        return None
    review = client.get(f"/api/products/{match['product_id']}")
    drafts = review["drafts"]["items"]
    if drafts and not review["rendering"]:
        return review
    return None


def _seconds(later: str | None, earlier: str | None) -> float | None:
    if not later or not earlier:
        return None
    return (dt.datetime.fromisoformat(later) - dt.datetime.fromisoformat(earlier)).total_seconds()


def _run_product(client: AppClient, product: DemoProduct, log: Path) -> dict[str, Any]:
    shop_product, created = _ensure_product(client, product)
    review = _wait(
        f"drafts of {product.title!r}", lambda: _worn_product(client, product.title), WAIT_DRAFTS_S, log
    )
    for draft in review["drafts"]["items"]:
        if draft["state"] == "awaiting_review" and draft["quality"]["passed"]:
            client.post(f"/api/drafts/{draft['id']}/approve")

    def live() -> dict[str, Any] | None:
        current = client.get(f"/api/products/{review['product']['id']}")
        approved = [d for d in current["drafts"]["items"] if d["state"] in ("approved", "written")]
        if approved and all(d["state"] == "written" for d in approved):
            return current
        failed = [d for d in current["drafts"]["items"] if d["state"] == "failed" and d["decided_at"]]
        if failed:
            raise DemoError(f"writing {product.title!r} to the store failed: {failed[0]['error']}")
        return None

    final = _wait(f"the images of {product.title!r} to be live", live, WAIT_LIVE_S, log)
    media = client.shop.get(f"/_devshop/shops/{SHOP}/products/{shop_product['id']}").json()["media"]
    return {"created": created, "shop_product": shop_product, "review": final, "media": media}


def _summary_row(result: dict[str, Any]) -> dict[str, Any]:
    review = result["review"]
    written = [d for d in review["drafts"]["items"] if d["state"] == "written"]
    drafted_at = min((d["created_at"] for d in review["drafts"]["items"]), default=None)
    live_at = max((d["write_back"]["updated_at"] for d in written if d["write_back"]), default=None)
    decided_at = min((d["decided_at"] for d in written if d["decided_at"]), default=None)
    quality = [d["quality"] for d in written]
    errors = [abs(q["scale_error"]) for q in quality if q["scale_error"] is not None]
    return {
        "product": review["product"]["title"],
        "kind": review["product"]["kind"],
        "plates": ", ".join(d["plate_id"] for d in written) or "none",
        "ssim": min((q["ssim"] for q in quality if q["ssim"] is not None), default=None),
        "delta_e": max((q["delta_e"] for q in quality if q["delta_e"] is not None), default=None),
        "size_error": max(errors, default=None),
        "webhook_to_draft_s": _seconds(drafted_at, result["shop_product"]["created_at"]),
        "approve_to_live_s": _seconds(live_at, decided_at),
        "images_on_product": sum(1 for m in result["media"] if m["created_by"] == "app"),
        "media": [
            {"gid": m["gid"], "alt": m["alt"], "status": m["status"], "created_by": m["created_by"]}
            for m in result["media"]
        ],
        "created_now": result["created"],
    }


def _table(rows: list[dict[str, Any]]) -> str:
    def number(value: float | None, form: str) -> str:
        return "–" if value is None else format(value, form)

    header = [
        "product",
        "kind",
        "plates",
        "SSIM (min)",
        "ΔE (max)",
        "size error",
        "webhook→draft",
        "approve→live",
    ]
    lines = [header] + [
        [
            row["product"],
            row["kind"] or "–",
            row["plates"],
            number(row["ssim"], ".4f"),
            number(row["delta_e"], ".2f"),
            number(row["size_error"], ".1%"),
            number(row["webhook_to_draft_s"], ".1f") + " s",
            number(row["approve_to_live_s"], ".1f") + " s",
        ]
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = [
        " | ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
    ]
    out.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(out)


def _contact_sheet(result: dict[str, Any], files: Path, out: Path) -> Path:
    """Write the product's source photo beside its written images, with their numbers."""
    import renderer

    review = result["review"]
    source = renderer.load_image(
        _sample(next(p.photo for p in PRODUCTS if p.title == review["product"]["title"]))
    )
    tiles: list[tuple[Any, list[str], bool | None]] = [
        (source.rgb, ["source photo", review["product"]["title"]], None)
    ]
    for draft in review["drafts"]["items"]:
        if draft["state"] != "written":
            continue
        key = draft["image_url"].split("/files/", 1)[1].split("?", 1)[0]
        image = renderer.load_image((files / key).read_bytes()).rgb
        q = draft["quality"]
        tiles.append(
            (
                image,
                [
                    f"{draft['model']}: live on the product",
                    f"SSIM {q['ssim']:.4f}  dE2000 {q['delta_e']:.2f}",
                    f"size {q['achieved_mm']:.1f} mm vs {q['stated_mm']:.1f} stated",
                ],
                True,
            )
        )
    path = out / f"{review['product']['title'].lower().replace(' ', '-')}-contact-sheet.jpg"
    path.write_bytes(renderer.encode_image(renderer.tile_sheet(tiles), "jpeg", 88))
    return path


def run(args: argparse.Namespace) -> int:
    """Run the demo; print the summary and where everything is."""
    from connector.cli import settings_from
    from connector.db import Database
    from connector.migrate import upgrade
    from devshop import DevShopConfig, start_in_thread

    for port in (args.port, args.shop_port):
        if not _port_free(port):
            raise DemoError(f"port {port} is taken; choose others with --port and --shop-port")
    settings = settings_from(args)
    home = (args.data_dir or settings.DATA_DIR / "demo").resolve()
    home.mkdir(parents=True, exist_ok=True)
    app_url, shop_url = f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.shop_port}"
    # The embedded defaults, whatever the environment says: SQLite, local files, the database queue.
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATA_DIR": str(home),
        "DATABASE_URL": "",
        "QUEUE_URL": "db",
        "STORAGE_URL": "",
        "SHOPIFY_APP_URL": app_url,
        "SHOPIFY_BASE_URL": shop_url,
        "SHOPIFY_API_KEY": settings.SHOPIFY_API_KEY,
        "SHOPIFY_API_SECRET": settings.SHOPIFY_API_SECRET,
        "LOG_FORMAT": "json",
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(home / "numba-cache")),
    }
    started = time.monotonic()
    db = Database(f"sqlite:///{home / 'worn.sqlite'}")
    upgrade(db)
    db.dispose()

    devshop = start_in_thread(
        DevShopConfig(
            api_key=settings.SHOPIFY_API_KEY,
            api_secret=settings.SHOPIFY_API_SECRET,
            app_webhook_url=f"{app_url}/webhooks",
            data_dir=home / "devshop",
            seed=True,
            media_processing_delay_s=0.5,
            webhook_retry_delays_s=(1, 2, 4, 8, 16, 32),
        ),
        port=args.shop_port,
    )
    log = home / "serve.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "webhooks.cli",
                "serve",
                "--port",
                str(args.port),
                "--workers",
                "1",
                "--worker",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    client = AppClient(app_url, shop_url)
    try:
        print(f"worn demo: dev-shop at {shop_url}, Worn at {app_url} (logs: {log})")

        def up() -> bool:
            if server.poll() is not None:
                raise DemoError(f"worn serve exited with {server.returncode}; see {log}")
            try:
                return client.app.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        _wait("Worn to start", up, 60, log)
        opened = client.app.get(f"/dev/open?shop={DOMAIN}", follow_redirects=True)  # installs the app
        if opened.status_code != 200:
            raise DemoError(f"opening Worn for {DOMAIN} failed: {opened.status_code}; see {log}")
        products = PRODUCTS[:1] if args.short else PRODUCTS
        results = []
        for product in products:
            print(f"worn demo: {product.title}: adding it to the store; webhooks take it from there ...")
            results.append(_run_product(client, product, log))
        rows = [_summary_row(result) for result in results]
        sheets = [_contact_sheet(result, home / "files", home) for result in results]
        (home / "summary.json").write_text(json.dumps(rows, indent=2))
        print()
        print(_table(rows))
        print()
        reused = [row["product"] for row in rows if not row["created_now"]]
        if reused:
            print(f"already in the store from an earlier run, nothing new made: {', '.join(reused)}")
        print(f"rendered images: {home / 'files'}")
        for sheet in sheets:
            print(f"contact sheet:   {sheet}")
        print(f"summary:         {home / 'summary.json'}")
        print(f"review by hand:  {app_url}/dev/open?shop={DOMAIN}   (the store: {shop_url}/)")
        print(f"worn demo: done in {time.monotonic() - started:.0f} s")
        if args.keep_running:
            print("worn demo: running until Ctrl-C")
            try:
                while server.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        devshop.stop()
