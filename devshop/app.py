"""Create the dev-shop's Flask application."""

from __future__ import annotations

from flask import Flask

from devshop import admin_api, control, page, staged
from devshop.config import DevShopConfig
from devshop.core import DevShop
from devshop.seed import seed_shop


def create_app(config: DevShopConfig | None = None) -> Flask:
    """Build the simulator for ``config``: its state, background workers and HTTP routes.

    The DevShop behind the app is ``app.extensions["devshop"]``; call its ``close()`` when done.
    """
    config = config or DevShopConfig()
    core = DevShop(config)
    if config.seed and config.seed_shop not in core.store.shops:
        seed_shop(core, config.seed_shop, config.seed_photos_dir)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["devshop"] = core
    for module in (admin_api, staged, control, page):
        app.register_blueprint(module.bp)
    return app
