"""Health endpoints for load balancers and `worn serve`: alive, and ready (the database answers)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app

from connector.db import DatabaseUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer 200 while the process serves requests (no I/O: the cheapest route, a load test's ceiling)."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when the database answers, 503 (with the reason) when it does not."""
    try:
        current_app.extensions["worn"].db.check()
    except DatabaseUnavailable as exc:
        log.error("not ready: %s", exc)  # the reason names the database: logged, not shown
        return Response("database unreachable\n", status=503, mimetype="text/plain")
    return Response("ready\n", mimetype="text/plain")
