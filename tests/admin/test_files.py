"""Signed image URLs: the local `/files/` route checks signature, expiry and prefix; S3 gets presigned URLs;
a URL is only minted for the asking shop's own keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from flask.testing import FlaskClient

from connector.fileurls import FileSigner, FileUrls
from connector.services import Services
from connector.settings import Settings
from connector.storage import LocalStorage, make_storage
from renderer.errors import InputError
from tests.admin.factory import SECRET, jpeg

SIGNER = FileSigner(SECRET)


def test_a_signed_url_serves_the_image_until_it_expires(client: FlaskClient, services: Services) -> None:
    key = "shops/7/drafts/1/1/grace.jpg"
    services.storage.put(key, jpeg(), "image/jpeg")
    urls = FileUrls(services.storage, SIGNER)
    url = urls.url(7, key)
    response = client.get(url)
    assert response.status_code == 200 and response.data == services.storage.get(key)
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"].startswith("private, max-age=")
    # The same image keeps its URL for a while, so the browser's cache works.
    assert urls.url(7, key) == url
    # An hour-and-a-bit later it has expired.
    late = urls.url(7, key, now=time.time() - 3 * 3600)
    assert client.get(late).status_code == 403


def test_tampered_links_are_refused(client: FlaskClient, services: Services) -> None:
    mine, theirs = "shops/7/plates/a.jpg", "shops/8/plates/b.jpg"
    services.storage.put(mine, jpeg(), "image/jpeg")
    services.storage.put(theirs, jpeg(), "image/jpeg")
    url = urlsplit(FileUrls(services.storage, SIGNER).url(7, mine))
    query = parse_qs(url.query)
    exp, sig = query["exp"][0], query["sig"][0]
    cases = {
        "another key, same signature": f"/files/{theirs}?exp={exp}&sig={sig}",
        "later expiry": f"{url.path}?exp={int(exp) + 3600}&sig={sig}",
        "no signature": f"{url.path}?exp={exp}",
        "bad expiry": f"{url.path}?exp=tomorrow&sig={sig}",
        "signed with another secret": f"{url.path}?exp={exp}&sig={FileSigner('x' * 40).signature(mine, int(exp))}",
    }
    for case, path in cases.items():
        assert client.get(path).status_code == 403, case


def test_only_images_under_a_shops_prefix_are_served(client: FlaskClient, services: Services) -> None:
    for key in ("config/secret.jpg", "shops/7/notes.txt"):
        services.storage.put(key, b"not for you")
        expires = int(time.time()) + 600
        assert client.get(f"/files/{key}?exp={expires}&sig={SIGNER.signature(key, expires)}").status_code == 404
    expires = int(time.time()) + 600
    missing = "shops/7/plates/gone.jpg"
    assert client.get(f"/files/{missing}?exp={expires}&sig={SIGNER.signature(missing, expires)}").status_code == 404


def test_urls_are_only_minted_for_the_shops_own_keys(tmp_path: object) -> None:
    urls = FileUrls(LocalStorage(tmp_path), SIGNER)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not belong to shop 7"):
        urls.url(7, "shops/8/plates/a.jpg")
    with pytest.raises(InputError):
        urls.url(7, "shops/70/plates/a.jpg")
    assert urls.url(7, None) is None


def test_the_old_secret_keeps_links_working_during_a_rotation() -> None:
    old = FileSigner("the-old-secret-0123456789abcdef0123")
    rotated = FileSigner("the-new-secret-0123456789abcdef0123", "the-old-secret-0123456789abcdef0123")
    expires = int(time.time()) + 60
    assert rotated.check("shops/1/a.jpg", str(expires), old.signature("shops/1/a.jpg", expires)) is None


def test_s3_storage_gets_presigned_urls(aws: str, make_settings: Callable[..., Settings]) -> None:
    boto3.client("s3", endpoint_url=aws).create_bucket(Bucket="worn-files")
    storage = make_storage(f"s3://worn-files/prod?endpoint={aws}")
    key = "shops/7/drafts/1/1/grace.jpg"
    storage.put(key, jpeg(), "image/jpeg")
    url = FileUrls(storage, SIGNER).url(7, key)
    assert url is not None and url.startswith(f"{aws}/worn-files/prod/shops/7/")
    assert "X-Amz-Signature=" in url or "Signature=" in url
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == storage.get(key)
