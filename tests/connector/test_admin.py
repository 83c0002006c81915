"""The Admin API client: throttling and 5xx ride through with measured waits, errors come out typed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.admin import (
    AdminClient,
    AdminUnavailable,
    GraphQLErrors,
    ThrottleState,
    Unauthorized,
    UserErrors,
)
from connector.models import utcnow
from connector.retrying import Backoff
from connector.services import Services
from connector.shops import get_or_create_shop
from connector.tokens import TokenSet, TokenStore
from devshop import RunningDevShop
from tests.connector.support import DevShopControl, InstalledShop, gid, install

QUICK = Backoff(attempts=5, base=0.2, cap=2.0, factor=2.0, jitter=0.2)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Run on SQLite only: the database plays no part in these (tokens are read, nothing else)."""
    return sqlite_url


def product_gid(control: DevShopControl, shop: InstalledShop) -> str:
    return gid("Product", control.create_product(shop.handle)["id"])


def test_throttled_answers_are_waited_out_and_retried(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = product_gid(control, shop)
    before = control.shop(shop.handle)["stats"].get("graphql_throttled", 0)
    control.faults(graphql_throttle_next=3)
    client = AdminClient.for_shop(services, SimpleNamespace(id=shop.id, domain=shop.domain), retry=QUICK)
    node = client.query("product", {"id": product})["product"]
    assert node["id"] == product
    assert client.stats.throttled == 3 and client.stats.requests == 4
    waits = [seconds for reason, seconds in client.stats.waits if reason == "throttled"]
    # Never a tight loop: each wait is at least half the declared backoff, and they grow.
    assert len(waits) == 3 and waits[0] >= 0.1 * 0.8 and waits[0] < waits[1] < waits[2]
    assert control.shop(shop.handle)["stats"]["graphql_throttled"] - before == 3


def test_an_empty_bucket_is_waited_for_as_long_as_it_takes_to_refill(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = product_gid(control, shop)
    client = AdminClient(services, shop.id, shop.domain, retry=QUICK)
    client.query("product", {"id": product})
    cost = client.throttle.cost_of("product")
    assert cost is not None and cost > 100  # media, metafields and variants connections
    control.drain_bucket(shop.handle, 0)
    client.query("product", {"id": product})
    assert client.stats.throttled == 1 and client.stats.requests == 3
    ((reason, seconds),) = client.stats.waits
    # The dev-shop restores 100 points/s: the wait is what this query's cost needs, not a guess.
    assert reason == "throttled" and (cost - 10) / 100 <= seconds <= cost / 100 * 1.25


def test_the_client_waits_before_the_bucket_runs_dry(
    make_services: Callable[..., Services], start_devshop: Callable[..., RunningDevShop]
) -> None:
    running = start_devshop(throttle_restore_rate=10)
    services = make_services(running)
    control = DevShopControl(running)
    shop = install(services, control)
    product = product_gid(control, shop)
    client = AdminClient(services, shop.id, shop.domain, throttle=ThrottleState(), retry=QUICK)
    client.query("product", {"id": product})
    cost = client.throttle.cost_of("product")
    assert cost is not None
    control.drain_bucket(shop.handle, cost + 15)  # room for one query; then 10 points/s come back
    for _ in range(5):
        client.query("product", {"id": product})
    # Each query needs `cost` points in the bucket: the client paced itself instead of being throttled.
    assert control.shop(shop.handle)["stats"].get("graphql_throttled", 0) == 0
    assert client.stats.throttled == 0 and client.stats.requests == 6
    ahead = [seconds for reason, seconds in client.stats.waits if reason == "bucket estimate"]
    assert ahead and all(s > 0 for s in ahead)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_growing_waits(
    services: Services, control: DevShopControl, shop: InstalledShop, status: int
) -> None:
    control.faults(graphql_error_next=2, graphql_error_status=status)
    client = AdminClient(services, shop.id, shop.domain, retry=QUICK)
    assert client.query("shop_info")["shop"]["myshopifyDomain"] == shop.domain
    assert client.stats.requests == 3 and client.stats.retries == 2
    waits = [seconds for reason, seconds in client.stats.waits if reason == f"HTTP {status}"]
    assert len(waits) == 2 and 0.16 <= waits[0] < waits[1] <= 0.48


def test_retries_are_bounded_then_the_failure_says_so(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    control.faults(graphql_error_next=10, graphql_error_status=503)
    client = AdminClient(services, shop.id, shop.domain, retry=Backoff(attempts=3, base=0.05, cap=0.1))
    with pytest.raises(AdminUnavailable, match=r"shop_info on .* failed 3 times \(HTTP 503\)") as caught:
        client.query("shop_info")
    assert caught.value.retryable and client.stats.requests == 3


def test_network_errors_are_retried_then_reported(
    make_services: Callable[..., Services], services: Services, control: DevShopControl
) -> None:
    shop = install(services, control)
    unreachable = make_services(SimpleNamespace(base_url="http://127.0.0.1:9"))  # nothing listens on port 9
    client = AdminClient(unreachable, shop.id, shop.domain, retry=Backoff(attempts=3, base=0.05, cap=0.1))
    with pytest.raises(AdminUnavailable, match="network error"):
        client.query("shop_info")
    assert client.stats.requests == 3 and len(client.stats.waits) == 2


def test_user_errors_come_out_typed_with_field_and_message(services: Services, shop: InstalledShop) -> None:
    client = AdminClient(services, shop.id, shop.domain)
    with pytest.raises(UserErrors) as caught:
        client.mutate(
            "staged_uploads_create",
            {"input": [{"filename": " ", "mimeType": "image/jpeg", "resource": "IMAGE"}]},
            "stagedUploadsCreate",
        )
    (error,) = caught.value.errors
    assert error.field == ("input", "0", "filename") and error.message == "Filename can't be blank"
    assert "input.0.filename: Filename can't be blank" in str(caught.value)
    assert client.stats.requests == 1  # refused input is not retried


def test_a_query_over_the_cost_limit_is_a_bug_not_retried(
    make_services: Callable[..., Services], start_devshop: Callable[..., RunningDevShop]
) -> None:
    running = start_devshop(max_query_cost=100)
    services = make_services(running)
    shop = install(services, DevShopControl(running))
    client = AdminClient(services, shop.id, shop.domain)
    with pytest.raises(GraphQLErrors, match="exceeds the single query max cost"):
        client.query("product", {"id": gid("Product", 1)})
    assert client.stats.requests == 1


def test_a_token_rejected_after_a_refresh_is_a_clear_error(
    services: Services, control: DevShopControl, devshop: RunningDevShop, shop: InstalledShop
) -> None:
    store = devshop.core.store
    with store.lock:
        store.shops[shop.handle].installed = False  # every token is refused, a refresh still answers
    client = AdminClient(services, shop.id, shop.domain)
    with pytest.raises(Unauthorized, match="even after a refresh"):
        client.query("shop_info")
    assert client.stats.refreshed == 1 and client.stats.requests == 2


@pytest.fixture
def rate_limited_server() -> Iterator[SimpleNamespace]:
    """A GraphQL endpoint that answers HTTP 429 with Retry-After once, then data."""
    state = SimpleNamespace(calls=0, url="")

    def app(environ: dict, start_response: Callable) -> Iterator[bytes]:
        Request(environ).get_data()
        state.calls += 1
        if state.calls == 1:
            response = Response(
                '{"errors":"Exceeded 2 calls per second"}',
                status=429,
                headers={"Retry-After": "1.0"},
                content_type="application/json",
            )
        else:
            body = {"data": {"shop": {"name": "Acme", "myshopifyDomain": "acme.myshopify.com"}}}
            response = Response(json.dumps(body), content_type="application/json")
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def test_http_429_waits_what_retry_after_says(
    make_services: Callable[..., Services], rate_limited_server: SimpleNamespace
) -> None:
    services = make_services(SimpleNamespace(base_url=rate_limited_server.url))
    with services.db.session() as session:
        row = get_or_create_shop(session, "acme")
        TokenStore(services.cipher).save(row, TokenSet("shpat_test", utcnow().replace(year=2100), "shprt_x"))
        shop_id = row.id
    client = AdminClient(services, shop_id, "acme.myshopify.com")
    assert client.query("shop_info")["shop"]["name"] == "Acme"
    assert client.stats.waits == [("HTTP 429", 1.0)] and rate_limited_server.calls == 2
