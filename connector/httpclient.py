"""Share one HTTP client per process for every call to Shopify (Admin API, token endpoint, CDN, uploads).

The client comes from `connector.transport.make_http_client`, which routes `https://{shop}.myshopify.com`
to SHOPIFY_BASE_URL when that is set (the dev-shop, or a corporate proxy): the production path either way.
"""

from __future__ import annotations

import os
import threading

import httpx

from connector.settings import Settings

_LOCK = threading.Lock()
_CLIENTS: dict[tuple[int, str | None], httpx.Client] = {}


def shopify_http(settings: Settings) -> httpx.Client:
    """Return this process's HTTP client for Shopify (one per base URL; a forked child gets its own)."""
    from connector.transport import make_http_client

    key = (os.getpid(), settings.SHOPIFY_BASE_URL)
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None or client.is_closed:
            client = _CLIENTS[key] = make_http_client(settings.SHOPIFY_BASE_URL)
        return client


def close_all() -> None:
    """Close every client this process opened (at shutdown)."""
    with _LOCK:
        for key, client in list(_CLIENTS.items()):
            if key[0] == os.getpid():
                client.close()
            del _CLIENTS[key]
