"""Route the Shopify client to another base URL (the dev-shop), the way a proxy would.

``shopifyapp`` builds ``https://{shop}.myshopify.com/...`` URLs itself and accepts an injected
``httpx.Client``. The transport here sends those requests to the configured base URL instead and
keeps the original ``Host`` header, so the server still sees which shop was addressed. Every other
host (staged upload targets, CDN, S3) goes out unchanged.
"""

from __future__ import annotations

import httpx

from renderer.errors import ConfigError

SHOPIFY_HOST_SUFFIX = ".myshopify.com"


def _parse_base_url(base_url: str) -> httpx.URL:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(
            f"Shopify base URL override must be an http(s) URL like http://127.0.0.1:8081, "
            f"got {base_url!r} ({exc})"
        ) from exc
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ConfigError(
            f"Shopify base URL override must be an http(s) URL like http://127.0.0.1:8081 "
            f"(no query or fragment), got {base_url!r}"
        )
    return url


class ShopifyBaseUrlTransport(httpx.BaseTransport):
    """Rewrite requests for ``*.myshopify.com`` to ``base_url``, keeping their ``Host`` header."""

    def __init__(self, base_url: str, inner: httpx.BaseTransport | None = None) -> None:
        self._base = _parse_base_url(base_url)
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, redirected when it addresses a shop."""
        if request.url.host.endswith(SHOPIFY_HOST_SUFFIX):
            # httpx set the Host header from the original URL when it built the request, so
            # changing only the URL routes the bytes while the server still sees the shop's host.
            prefix = self._base.raw_path.rstrip(b"/")
            request.url = request.url.copy_with(
                scheme=self._base.scheme,
                host=self._base.host,
                port=self._base.port,
                raw_path=prefix + request.url.raw_path,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


def make_http_client(shopify_base_url: str | None, timeout: float = 30.0) -> httpx.Client:
    """Return the HTTP client for Shopify calls: plain, or routed to ``shopify_base_url`` when set."""
    if not shopify_base_url:
        return httpx.Client(timeout=timeout)
    return httpx.Client(timeout=timeout, transport=ShopifyBaseUrlTransport(shopify_base_url))
