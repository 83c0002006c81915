"""Serve the dev-shop's home page: every shop's products with their media thumbnails."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from devshop.control import product_json, shop_json

bp = Blueprint("page", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    """List shops and products so a person can see what the app wrote (auto-refreshes)."""
    core = current_app.extensions["devshop"]
    with core.store.lock:
        shops = [
            {**shop_json(shop), "products": [product_json(p) for p in core.store.shop_products(shop.handle)]}
            for shop in core.store.shops.values()
        ]
    return render_template(
        "devshop_index.html",
        shops=shops,
        public_url=core.public_url,
        api_version=core.config.api_version,
        webhook_url=core.sender.webhook_url,
    )
