"""Stage uploads like Shopify's signed Google Cloud Storage targets, hosted by the simulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from devshop.catalog import UserErrors
from devshop.clock import Clock
from devshop.config import DevShopConfig
from devshop.store import Shop, StagedUpload, Store

bp = Blueprint("staged", __name__)

TARGET_LIFETIME = timedelta(days=1)
IMAGE_RESOURCES = {"IMAGE", "PRODUCT_IMAGE", "COLLECTION_IMAGE", "SHOP_IMAGE", "FILE"}
SIZED_RESOURCES = {"VIDEO", "MODEL_3D"}


def _xml_error(status: int, code: str, message: str) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
    body += "</Error>"
    return Response(body, status=status, content_type="application/xml; charset=UTF-8")


class StagedUploads:
    """Create staged targets and accept the bytes uploaded to them."""

    def __init__(
        self, store: Store, clock: Clock, config: DevShopConfig, public_url: Callable[[], str]
    ) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self._public_url = public_url

    def signature(self, text: str) -> str:
        """Sign ``text`` with a key derived from the app secret (stable across restarts)."""
        key = hashlib.sha256(("devshop-staged:" + self._config.api_secret).encode()).digest()
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def create(
        self, shop: Shop, inputs: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]] | None, UserErrors]:
        """Run ``stagedUploadsCreate``: one target per input, or user errors and no targets."""
        errors = UserErrors()
        for i, item in enumerate(inputs):
            if not item["filename"].strip():
                errors.add(["input", str(i), "filename"], "Filename can't be blank")
            if item["resource"] in IMAGE_RESOURCES - {"FILE"} and not item["mimeType"].startswith("image/"):
                errors.add(
                    ["input", str(i), "mimeType"], f"Mime type {item['mimeType']!r} is not an image type."
                )
            if item["resource"] in SIZED_RESOURCES and item.get("fileSize") is None:
                errors.add(
                    ["input", str(i), "fileSize"], "File size is required for video and 3D model uploads."
                )
            if item.get("fileSize") is not None and int(item["fileSize"]) > self._config.max_upload_bytes:
                errors.add(
                    ["input", str(i), "fileSize"], f"File size exceeds {self._config.max_upload_bytes} bytes."
                )
        if errors:
            return None, errors
        targets = []
        with self._store.lock:
            for item in inputs:
                upload = StagedUpload(
                    id=uuid.uuid4().hex,
                    shop=shop.handle,
                    filename=item["filename"],
                    mime_type=item["mimeType"],
                    resource=item["resource"],
                    http_method=item.get("httpMethod") or "PUT",
                    created_at=self._clock.now(),
                )
                self._store.staged[upload.id] = upload
                targets.append(self._target(upload))
            self._store.save()
        return targets, errors

    def _target(self, upload: StagedUpload) -> dict[str, Any]:
        base = self._public_url()
        resource_url = f"{base}/_staged/{upload.id}/{quote(upload.filename)}"
        if upload.http_method == "PUT":
            query = (
                f"X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Expires={int(TARGET_LIFETIME.total_seconds())}"
                f"&X-Goog-Signature={self.signature(upload.id)}"
            )
            return {
                "url": f"{resource_url}?{query}",
                "resourceUrl": resource_url,
                "parameters": [
                    {"name": "content_type", "value": upload.mime_type},
                    {"name": "acl", "value": "private"},
                ],
            }
        key = f"tmp/{upload.shop}/{upload.id}/{upload.filename}"
        policy = base64.b64encode(json.dumps({"key": key, "upload": upload.id}).encode()).decode()
        return {
            "url": f"{base}/_staged/",
            "resourceUrl": resource_url,
            "parameters": [
                {"name": "Content-Type", "value": upload.mime_type},
                {"name": "success_action_status", "value": "201"},
                {"name": "acl", "value": "private"},
                {"name": "key", "value": key},
                {"name": "x-goog-date", "value": self._clock.now().strftime("%Y%m%dT%H%M%SZ")},
                {"name": "x-goog-credential", "value": "devshop-staged-uploads/auto/storage/goog4_request"},
                {"name": "x-goog-algorithm", "value": "GOOG4-HMAC-SHA256"},
                {"name": "x-goog-signature", "value": self.signature(policy)},
                {"name": "policy", "value": policy},
            ],
        }

    def accept(self, upload_id: str, data: bytes, content_type: str | None) -> Response:
        """Store uploaded bytes for ``upload_id`` after the checks a signed target makes."""
        with self._store.lock:
            upload = self._store.staged.get(upload_id)
            if upload is None:
                return _xml_error(404, "NoSuchUpload", "The staged upload target does not exist.")
            if self._clock.now() > upload.created_at + TARGET_LIFETIME:
                return _xml_error(400, "ExpiredToken", "The staged upload target has expired.")
            if (content_type or "").split(";")[0].strip().lower() != upload.mime_type.lower():
                return _xml_error(
                    403,
                    "SignatureDoesNotMatch",
                    f"Content-Type {content_type!r} does not match the signed {upload.mime_type!r}.",
                )
            if len(data) > self._config.max_upload_bytes:
                return _xml_error(
                    400, "EntityTooLarge", f"Upload exceeds {self._config.max_upload_bytes} bytes."
                )
            upload.blob = self._store.blobs.put(data)
            upload.size = len(data)
            self._store.save()
        return Response("", status=200)


def _service() -> StagedUploads:
    return current_app.extensions["devshop"].staged


@bp.put("/_staged/<upload_id>/<path:filename>")
def put_upload(upload_id: str, filename: str) -> Response:
    """Accept a PUT to a signed target (the bytes are the body)."""
    service = _service()
    if not hmac.compare_digest(request.args.get("X-Goog-Signature", ""), service.signature(upload_id)):
        return _xml_error(403, "SignatureDoesNotMatch", "The request signature is missing or wrong.")
    return service.accept(upload_id, request.get_data(), request.headers.get("Content-Type"))


@bp.post("/_staged/")
def post_upload() -> Response:
    """Accept a multipart POST to a bucket target (form fields first, the file last)."""
    service = _service()
    policy = request.form.get("policy", "")
    if not policy or not hmac.compare_digest(
        request.form.get("x-goog-signature", ""), service.signature(policy)
    ):
        return _xml_error(403, "SignatureDoesNotMatch", "The policy signature is missing or wrong.")
    signed = json.loads(base64.b64decode(policy))
    if request.form.get("key") != signed["key"]:
        return _xml_error(403, "AccessDenied", "The key field does not match the signed policy.")
    file = request.files.get("file")
    if file is None:
        return _xml_error(400, "InvalidArgument", "The form has no 'file' field.")
    response = service.accept(signed["upload"], file.read(), request.form.get("Content-Type"))
    if response.status_code != 200:
        return response
    body = f"<?xml version='1.0' encoding='UTF-8'?><PostResponse><Key>{signed['key']}</Key></PostResponse>"
    status = int(request.form.get("success_action_status", "204"))
    return Response(body if status == 201 else "", status=status, content_type="application/xml")


@bp.get("/_staged/<upload_id>/<path:filename>")
def get_upload(upload_id: str, filename: str) -> Response:
    """Refuse reads: staged objects are private (acl=private), not public image URLs."""
    return _xml_error(403, "AccessDenied", "Anonymous caller does not have storage.objects.get access.")
