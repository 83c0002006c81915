"""Serve a shop's stored images at `/files/<key>?exp=..&sig=..` when storage is a local folder.

The signature (connector/fileurls.py) is the only credential: the page that got the URL was authenticated
when the URL was minted, and only for a key under its own shop's prefix. Expired or altered links get 403.
With S3 storage the pages get presigned S3 URLs instead and this route serves nothing.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, abort, request

from connector.fileurls import FILES_PATH, FileSigner
from connector.storage import KeyMissing, StorageError, check_key, content_type_of
from webhooks.session import services

bp = Blueprint("files", __name__)

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@bp.get(FILES_PATH + "<path:key>")
def serve(key: str) -> Response:
    """Return the image stored under `key` if the link's signature and expiry hold."""
    svc = services()
    expires = request.args.get("exp", "")
    reason = FileSigner.from_settings(svc.settings).check(key, expires, request.args.get("sig", ""))
    if reason is not None:
        return Response(f"403 Forbidden: {reason}\n", status=403, mimetype="text/plain")
    try:
        check_key(key)
    except StorageError:
        abort(404)
    # Only images under a shop's prefix are ever linked; refusing the rest keeps this route narrow.
    if not key.startswith("shops/") or not key.lower().endswith(_IMAGE_SUFFIXES):
        abort(404)
    try:
        data = svc.storage.get(key)
    except KeyMissing:
        abort(404)
    response = Response(data, mimetype=content_type_of(key))
    max_age = max(0, min(86400, int(expires) - int(time.time())))
    response.headers["Cache-Control"] = f"private, max-age={max_age}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
