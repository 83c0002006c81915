"""Run the dev-shop as a real HTTP server: blocking for the CLI, in a thread for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from devshop.app import create_app
from devshop.config import DevShopConfig
from devshop.core import DevShop


@dataclass
class RunningDevShop:
    """A dev-shop serving on a background thread; ``base_url`` is where to reach it."""

    base_url: str
    app: Flask
    core: DevShop
    _server: BaseWSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving, stop background work and save the state."""
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
        self.core.close()

    def __enter__(self) -> RunningDevShop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(config: DevShopConfig, host: str, port: int) -> tuple[Flask, DevShop, BaseWSGIServer, str]:
    app = create_app(replace(config, seed=False))  # seed once the public URL is known (image URLs)
    core: DevShop = app.extensions["devshop"]
    server = make_server(host, port, app, threaded=True)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base_url = f"http://{shown_host}:{server.server_port}"
    core.public_url = config.public_url.rstrip("/") or base_url
    if config.seed and config.seed_shop not in core.store.shops:
        from devshop.seed import seed_shop

        seed_shop(core, config.seed_shop, config.seed_photos_dir)
    return app, core, server, base_url


def start_in_thread(config: DevShopConfig, host: str = "127.0.0.1", port: int = 0) -> RunningDevShop:
    """Start a dev-shop on ``host:port`` (0 = a free port) in a daemon thread and return it."""
    app, core, server, base_url = _bind(config, host, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="devshop-http", daemon=True
    )
    thread.start()
    return RunningDevShop(base_url=base_url, app=app, core=core, _server=server, _thread=thread)


def _print(text: str) -> None:
    print(text, flush=True)


def serve(host: str, port: int, config: DevShopConfig, announce: Callable[[str], None] = _print) -> None:
    """Serve the dev-shop on ``host:port`` until interrupted, after printing where to look."""
    _, core, server, base_url = _bind(config, host, port)
    announce(banner(core, base_url))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        core.close()


def banner(core: DevShop, base_url: str) -> str:
    """Describe a running dev-shop: its shops, page, endpoints and where webhooks go."""
    lines = [f"Worn dev-shop running at {base_url}"]
    for shop in core.store.shops.values():
        count = len(core.store.shop_products(shop.handle))
        lines.append(f"  shop          {shop.domain} ({count} products)")
    example = next(iter(core.store.shops.values()), None)
    host = example.domain if example else "<shop>.myshopify.com"
    lines += [
        f"  page          {core.public_url}/",
        f"  Admin GraphQL {core.public_url}/admin/api/{core.config.api_version}/graphql.json  (Host: {host})",
        f"  token endpoint {core.public_url}/admin/oauth/access_token",
        f"  control API   {core.public_url}/_devshop/  (shops, products, faults, clock, deliveries)",
        f"  webhooks to   {core.sender.webhook_url or 'nowhere: pass --webhook-url'}",
        f"  app API key   {core.config.api_key}",
        f"Point Worn's Shopify base URL override at {core.public_url} to use it.",
    ]
    return "\n".join(lines)
