"""The transport routes *.myshopify.com to the base URL, keeps Host, and leaves other hosts alone."""

from __future__ import annotations

import httpx
import pytest
from devshop_support import WebhookReceiver

from connector.transport import ShopifyBaseUrlTransport, make_http_client
from renderer.errors import ConfigError


def test_shop_requests_go_to_the_base_url_with_the_shop_host(receiver: WebhookReceiver) -> None:
    base = receiver.url.rsplit("/", 1)[0]
    with make_http_client(base) as client:
        response = client.post("https://demo.myshopify.com/admin/api/2026-10/graphql.json?x=1", json={"q": 1})
    assert response.status_code == 200
    [seen] = receiver.requests
    assert seen.headers["Host"] == "demo.myshopify.com"
    assert seen.path == "/admin/api/2026-10/graphql.json?x=1"
    assert seen.body == b'{"q":1}'


def test_a_base_url_path_prefixes_the_shop_path(receiver: WebhookReceiver) -> None:
    base = receiver.url.rsplit("/", 1)[0] + "/proxy/"
    with make_http_client(base) as client:
        client.get("https://demo.myshopify.com/admin/oauth/access_token")
    assert receiver.requests[0].path == "/proxy/admin/oauth/access_token?"


def test_other_hosts_are_not_rewritten() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    transport = ShopifyBaseUrlTransport("http://127.0.0.1:1", inner=httpx.MockTransport(record))
    with httpx.Client(transport=transport) as client:
        client.put("https://shopify-staged-uploads.storage.googleapis.com/tmp/x.jpg", content=b"x")
        client.get("https://cdn.shopify.com/s/files/1/a.jpg")
        client.get("https://evil-myshopify.com.example/")
    assert [str(r.url) for r in sent] == [
        "https://shopify-staged-uploads.storage.googleapis.com/tmp/x.jpg",
        "https://cdn.shopify.com/s/files/1/a.jpg",
        "https://evil-myshopify.com.example/",
    ]


def test_without_an_override_the_client_is_plain() -> None:
    with make_http_client(None, timeout=3.0) as client:
        assert not isinstance(client._transport, ShopifyBaseUrlTransport)
        assert client.timeout.read == 3.0


@pytest.mark.parametrize("bad", ["127.0.0.1:8081", "ftp://host", "http://", "http://h/?q=1"])
def test_bad_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        make_http_client(bad)
