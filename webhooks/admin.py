"""Serve the embedded admin pages: Home, Product review, House style, Jobs, and the patch-ID-token page.

Each page is a small HTML document, authenticated by its `id_token` (webhooks/session.py), whose script
loads the data it shows from the JSON API (webhooks/api.py) with a fresh session token on every call.
Inside the Shopify admin the page uses App Bridge (`shopify.idToken()`) and Polaris web components from
Shopify's CDN. Against `worn dev-shop` in a plain browser neither is loaded (App Bridge would send a page
that is not framed by the admin back to the admin); the same HTML and a small stylesheet of Worn's own
carry the look, and the page renews its token through the dev-shop.
"""

from __future__ import annotations

import json
import time
from typing import Any

import shopify_app
from flask import Blueprint, Flask, Response, render_template, request, url_for

from webhooks import api, files, jsonapi, style_api
from webhooks.session import (
    DEV_OPEN_PATH,
    DEV_TOKEN_PATH,
    PATCH_ID_TOKEN_PATH,
    SERVICES_KEY,
    DocumentAuth,
    app_config,
    dev_bp,
    dev_tokens_enabled,
    document_session,
    error_page,
    frame_ancestors,
    query_shop,
    request_input,
    services,
)

bp = Blueprint(
    "admin",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/app/static",
)

APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
POLARIS_URL = "https://cdn.shopify.com/shopifycloud/polaris.js"
PAGES = (
    ("home", "/app", "Home"),
    ("style", "/app/style", "House style"),
    ("jobs", "/app/jobs", "Jobs"),
)


def init_app(app: Flask) -> None:
    """Register the admin pages, their API and the signed file route (and the dev-shop token route)."""
    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(style_api.bp)
    app.register_blueprint(files.bp)
    if dev_tokens_enabled(app.extensions[SERVICES_KEY].settings):
        app.register_blueprint(dev_bp)
    jsonapi.init_app(app)


def _embedded() -> bool:
    # Against the dev-shop there is no Shopify admin to embed in; App Bridge would redirect there.
    return not services().settings.is_dev_shop


def _page(template: str, page: str, auth: DocumentAuth | Response, **context: Any) -> Response:
    if isinstance(auth, Response):
        return auth
    settings = services().settings
    config = {
        "page": page,
        "shop": auth.session.domain,
        "apiKey": settings.SHOPIFY_API_KEY,
        "idToken": auth.session.token,
        "embedded": _embedded(),
        "devTokenUrl": DEV_TOKEN_PATH if dev_tokens_enabled(settings) else None,
        "reopenUrl": f"{DEV_OPEN_PATH}?shop={auth.session.domain}" if dev_tokens_enabled(settings) else None,
        "devShopUrl": settings.SHOPIFY_BASE_URL if dev_tokens_enabled(settings) else None,
        "adminUrl": f"https://{auth.session.domain}/admin",
        "serverTime": int(time.time() * 1000),
        **context,
    }
    html = render_template(
        template,
        page=page,
        pages=PAGES,
        shop=auth.session.domain,
        api_key=settings.SHOPIFY_API_KEY,
        embedded=config["embedded"],
        app_bridge_url=APP_BRIDGE_URL,
        polaris_url=POLARIS_URL,
        config_json=json.dumps(config).replace("</", "<\\/"),
        **context,
    )
    response = Response(html, mimetype="text/html")
    response.headers.update(auth.headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"  # the URL carries the session token
    return response


@bp.get("/app")
def home() -> Response:
    """Show what awaits review, the counts per state and what needs attention."""
    return _page("home.html", "home", document_session())


@bp.get("/app/products/<int:product_id>")
def product(product_id: int) -> Response:
    """Show a product's source photo beside each of its drafts, with the decisions to make."""
    return _page("product.html", "product", document_session(), product_id=product_id)


@bp.get("/app/style")
def style() -> Response:
    """Show and edit the house style: plates, look, output, approval, write-back, jewelry rules."""
    return _page("style.html", "style", document_session())


@bp.get("/app/jobs")
def jobs() -> Response:
    """Show the render and write-back jobs, with retry and re-render."""
    return _page("jobs.html", "jobs", document_session())


@bp.get(PATCH_ID_TOKEN_PATH)
def patch_id_token() -> Response:
    """Let App Bridge fetch a fresh session token and reload the page that needed one.

    shopifyapp checks the parameters and gives the headers; Worn checks that `shop` is a shop domain (it
    goes into the frame-ancestors policy) and that the page to reload is one of its own paths. Against
    the dev-shop, where there is no App Bridge, the page renews the token the browser held before.
    """
    shop = query_shop()
    reload_path = request.args.get("shopify-reload", "")
    if shop is None or not reload_path.startswith("/") or reload_path.startswith("//") or "\\" in reload_path:
        return error_page(400, "This link is incomplete: open Worn from the Shopify admin.", shop)
    settings = services().settings
    result = shopify_app.app_home_patch_id_token(request_input(), app_config(settings))
    if not result.ok:
        return error_page(result.response.status, "This link is incomplete.", shop)
    html = render_template(
        "patch_id_token.html",
        api_key=settings.SHOPIFY_API_KEY,
        app_bridge_url=APP_BRIDGE_URL,
        embedded=_embedded(),
        shop=shop,
        reload_path=reload_path,
        dev_token_url=DEV_TOKEN_PATH if dev_tokens_enabled(settings) else None,
        # Outside the admin, a dev-shop store is opened again through the dev-only entry.
        home_url=f"{DEV_OPEN_PATH}?shop={shop}"
        if dev_tokens_enabled(settings)
        else url_for("admin.home", shop=shop),
    )
    response = Response(html, mimetype="text/html")
    response.headers.update(result.response.headers)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = frame_ancestors(shop)
    response.headers["Cache-Control"] = "no-store"
    return response
