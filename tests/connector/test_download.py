"""The source photo is downloaded only from Shopify (or the dev-shop), within size and time limits, as an image."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.products import SourcePhotoError, allowed_source, download_photo
from connector.settings import Settings

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000


def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
    request = Request(environ)
    path = request.path
    if path == "/ok.jpg":
        response = Response(JPEG, content_type="image/jpeg")
    elif path == "/page.html":
        response = Response(b"<html>", content_type="text/html")
    elif path == "/big.jpg":
        response = Response(JPEG * 200, content_type="image/jpeg")  # ~400 kB, no lying Content-Length
    elif path == "/redirect-home":
        response = Response(status=302, headers={"Location": "/ok.jpg"})
    elif path == "/redirect-away":
        response = Response(status=302, headers={"Location": "https://evil.example.com/x.jpg"})
    elif path == "/busy.jpg":
        response = Response(b"", status=503)
    elif path == "/slow.jpg":

        def trickle() -> Iterator[bytes]:
            for _ in range(40):
                time.sleep(0.05)
                yield b"\x00" * 100

        response = Response(trickle(), content_type="image/jpeg", direct_passthrough=True)
    else:
        response = Response(b"", status=404)
    return response(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], server: str) -> Settings:
    return make_settings(
        SHOPIFY_BASE_URL=server, SOURCE_PHOTO_MAX_BYTES=100_000, SOURCE_PHOTO_TIMEOUT_SECONDS=1.0
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def test_only_shopify_hosts_are_allowed(make_settings: Callable[..., Settings]) -> None:
    plain = make_settings()
    assert allowed_source(
        "https://cdn.shopify.com/s/files/1/0/files/chain.jpg?v=1", plain, "acme.myshopify.com"
    )
    assert allowed_source("https://acme.myshopify.com/cdn/shop/files/chain.jpg", plain, "acme.myshopify.com")
    assert not allowed_source("http://cdn.shopify.com/s/files/chain.jpg", plain, "acme.myshopify.com")
    assert not allowed_source("https://cdn.shopify.com.evil.io/chain.jpg", plain, "acme.myshopify.com")
    assert not allowed_source("https://other.myshopify.com/cdn/shop/files/x.jpg", plain, "acme.myshopify.com")
    assert not allowed_source("https://acme.myshopify.com/admin/x.jpg", plain, "acme.myshopify.com")
    assert not allowed_source("http://127.0.0.1:9/x.jpg", plain, "acme.myshopify.com")  # no dev-shop set


def test_downloads_an_image_and_follows_redirects_on_allowed_hosts(
    settings: Settings, server: str, http: httpx.Client
) -> None:
    assert download_photo(settings, f"{server}/ok.jpg", shop_domain="a.myshopify.com", http=http) == (
        JPEG,
        "image/jpeg",
    )
    assert (
        download_photo(settings, f"{server}/redirect-home", shop_domain="a.myshopify.com", http=http)[0]
        == JPEG
    )


@pytest.mark.parametrize(
    ("path", "message", "retryable"),
    [
        ("/page.html", "is text/html, not an image", False),
        ("/big.jpg", "larger than 100 kB", False),
        ("/redirect-away", "not on Shopify's CDN", False),
        ("/missing.jpg", "HTTP 404", False),
        ("/busy.jpg", "HTTP 503", True),
        ("/slow.jpg", "took longer than 1 s", True),
    ],
)
def test_refusals_name_the_photo_and_the_reason(
    settings: Settings, server: str, http: httpx.Client, path: str, message: str, retryable: bool
) -> None:
    with pytest.raises(SourcePhotoError, match=message) as caught:
        download_photo(settings, f"{server}{path}", shop_domain="a.myshopify.com", http=http)
    assert caught.value.retryable is retryable
    assert path in str(caught.value) or "evil" in str(caught.value)
