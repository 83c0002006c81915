"""Helpers for the dev-shop tests: a webhook receiver, the production client, control API calls."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import shopify_app
from werkzeug.wrappers import Request, Response

from connector.transport import make_http_client
from devshop import DevShopConfig, RunningDevShop, start_in_thread

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef012"
API_VERSION = "2026-10"

# Every delay compressed: the suite must stay fast.
FAST = dict(
    api_key=API_KEY,
    api_secret=API_SECRET,
    media_processing_delay_s=0.05,
    reorder_job_delay_s=0.05,
    webhook_retry_delays_s=(0.05, 0.1),
    seed=False,
)

_shop_names = itertools.count(1)


@dataclass
class Received:
    """One request the receiver got: raw body bytes and headers exactly as sent."""

    body: bytes
    headers: dict[str, str]
    path: str
    at: float


@dataclass
class WebhookReceiver:
    """A real HTTP endpoint standing in for the app: records requests, answers as told."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data()
        if self.delay_s:
            time.sleep(self.delay_s)
        with self.lock:
            self.requests.append(Received(body, dict(request.headers), request.full_path, time.monotonic()))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response("ok" if status < 300 else "nope", status=status)(environ, start_response)

    def wait_for(
        self, count: int, timeout: float = 5.0, predicate: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        """Wait until ``count`` matching requests arrived; return them (fail the test otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = [r for r in self.requests if predicate is None or predicate(r)]
            if len(got) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert len(got) >= count, (
            f"expected {count} webhook requests, got {len(got)}: {[r.headers for r in got]}"
        )
        return got

    def topic(self, name: str) -> Callable[[Received], bool]:
        """Match requests of one topic."""
        return lambda r: r.headers.get("X-Shopify-Topic") == name


def start_devshop(**changes: Any) -> RunningDevShop:
    """Start a dev-shop with ``FAST`` settings plus ``changes`` (caller stops it)."""
    return start_in_thread(dataclasses.replace(DevShopConfig(**FAST), **changes))  # type: ignore[arg-type]


class ShopSession:
    """One installed shop, talking to the dev-shop through the production client code."""

    def __init__(self, devshop: RunningDevShop, handle: str, token: str) -> None:
        self.devshop = devshop
        self.handle = handle
        self.domain = f"{handle}.myshopify.com"
        self.token = token
        self.http = make_http_client(devshop.base_url)

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run ``query`` with shopifyapp's admin_graphql_request, exactly as production does."""
        return shopify_app.admin_graphql_request(
            query,
            shop=self.handle,
            access_token=self.token,
            api_version=API_VERSION,
            variables=variables,
            http_client=self.http,
            **kwargs,
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``query`` and return its data, failing on any error."""
        result = self.gql(query, variables)
        assert result.ok, (result.log, result.response.body)
        return result.data

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the control API for this shop (path relative to /_devshop/shops/{handle})."""
        return httpx.request(method, f"{self.devshop.base_url}/_devshop/shops/{self.handle}{path}", **kwargs)


def control(devshop: RunningDevShop, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Call the dev-shop's control API."""
    return httpx.request(method, f"{devshop.base_url}/_devshop{path}", timeout=30, **kwargs)


def new_shop(devshop: RunningDevShop, seed: bool = False) -> str:
    """Create a fresh shop and return its handle."""
    handle = f"shop-{next(_shop_names)}-{int(time.time() * 1000) % 100000}"
    response = control(devshop, "POST", "/shops", json={"handle": handle, "seed": seed})
    assert response.status_code == 201, response.text
    return handle


def exchange_offline_token(devshop: RunningDevShop, handle: str) -> shopify_app.TokenExchangeResult:
    """Install the app the production way: App Bridge session token -> verify -> token exchange."""
    minted = control(devshop, "POST", f"/shops/{handle}/session-token").json()["token"]
    app = shopify_app.ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)
    verified = app.verify_app_home_req(
        {
            "method": "GET",
            "headers": {"Authorization": f"Bearer {minted}"},
            "url": f"https://app.example.com/?shop={handle}.myshopify.com&embedded=1",
            "body": "",
        },
        app_home_patch_id_token_path="/auth/patch-id-token",
    )
    assert verified.ok, verified.log
    return app.exchange_using_token_exchange(
        "offline", id_token=verified.id_token, http_client=make_http_client(devshop.base_url)
    )


def settle(devshop: RunningDevShop, timeout: float = 5.0) -> None:
    """Wait for the dev-shop's background work (media processing, jobs, deliveries)."""
    response = control(devshop, "POST", "/settle", json={"timeout_s": timeout})
    assert response.status_code == 200, response.text


def jpeg_bytes(color: tuple[int, int, int] = (200, 160, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    """Return a small real JPEG."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()
