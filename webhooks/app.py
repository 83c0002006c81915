"""Build the Flask app: the one place where Worn's HTTP surface is wired to its backends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from connector.services import Services
from connector.settings import Settings, load_settings


def create_app(test_config: Mapping[str, Any] | None = None, services: Services | None = None) -> Flask:
    """Return Worn's Flask app.

    `services` are the backends to use; without them they are built from the settings (environment and
    settings file), with any keys of `test_config` that name a setting as overrides. The other keys of
    `test_config` go to Flask's config. Nothing is connected before the first request needs it.
    """
    config = dict(test_config or {})
    if services is None:
        overrides = {key: config.pop(key) for key in list(config) if key in Settings.model_fields}
        services = Services.from_settings(load_settings(**overrides))
    app = Flask(__name__)
    app.config.from_mapping(config)
    app.extensions["worn"] = services

    from webhooks import admin, health, shopify

    app.register_blueprint(shopify.bp)
    app.register_blueprint(health.bp)
    app.register_error_handler(HTTPException, _plain_error)
    admin.init_app(app)  # the admin pages, their JSON API (JSON errors under /api) and signed files
    return app


def services_of(app: Flask) -> Services:
    """Return the backends an app was built with."""
    return app.extensions["worn"]  # type: ignore[no-any-return]


def _plain_error(error: HTTPException) -> Response:
    # Short text, never an HTML page: the callers are Shopify, load balancers and scripts.
    response = Response(f"{error.code} {error.name}: {error.description}\n", mimetype="text/plain")
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response
