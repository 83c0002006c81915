"""Install by token exchange, refresh before expiry and after a 401, one refresh for two processes, legacy migration."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
import shopify_app
from sqlalchemy import update

from connector import auth
from connector.admin import AdminClient
from connector.install import install_from_session_token
from connector.models import Shop, utcnow
from connector.services import Services
from connector.settings import load_settings
from connector.shops import get_or_create_shop
from connector.tokens import TokenSet, TokenStore
from connector.transport import ShopifyBaseUrlTransport
from devshop import RunningDevShop, start_in_thread
from tests.connector.conftest import fast_config
from tests.connector.support import API_KEY, DevShopControl, InstalledShop, install


@pytest.fixture
def own_devshop() -> Iterator[RunningDevShop]:
    """A dev-shop of this test alone: its clock moves."""
    running = start_in_thread(fast_config())
    yield running
    running.stop()


def is_token_refresh(request: httpx.Request) -> bool:
    if not request.url.path.endswith("/admin/oauth/access_token"):
        return False
    return json.loads(request.content or b"{}").get("grant_type") == "refresh_token"


class DropRefreshResponses(httpx.BaseTransport):
    """Let a refresh reach the dev-shop, then lose its answer (the connection drops on the way back)."""

    def __init__(self, inner: httpx.BaseTransport, drop: int) -> None:
        self.inner, self.drop, self.dropped = inner, drop, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if is_token_refresh(request) and self.dropped < self.drop:
            response.read()
            response.close()
            self.dropped += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class SlowRefresh(httpx.BaseTransport):
    """Hold every refresh request for `delay` seconds before sending it (a slow network)."""

    def __init__(self, inner: httpx.BaseTransport, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if is_token_refresh(request):
            time.sleep(self.delay)
        return self.inner.handle_request(request)


def stored(services: Services, shop_id: int) -> tuple[TokenSet, int]:
    with services.db.session() as session:
        row = session.get(Shop, shop_id)
        assert row is not None
        tokens = TokenStore(services.cipher).load(row)
        assert tokens is not None
        return tokens, row.token_version


def make_due(services: Services, shop_id: int, seconds: float = 60) -> None:
    """Move the stored expiry to `seconds` from now: inside the refresh margin."""
    with services.db.session() as session:
        session.execute(
            update(Shop)
            .where(Shop.id == shop_id)
            .values(access_token_expires_at=utcnow() + dt.timedelta(seconds=seconds))
        )


def works(devshop: RunningDevShop, domain: str, token: str) -> bool:
    """Say whether the dev-shop accepts `token` for an Admin API call."""
    with httpx.Client(transport=ShopifyBaseUrlTransport(devshop.base_url)) as client:
        result = shopify_app.admin_graphql_request(
            "{ shop { name } }",
            shop=domain.removesuffix(".myshopify.com"),
            access_token=token,
            api_version="2026-10",
            max_retries=0,
            http_client=client,
        )
    return result.ok


def test_install_exchanges_the_session_token_for_an_expiring_offline_token(
    services: Services, control: DevShopControl, devshop: RunningDevShop
) -> None:
    shop = install(services, control)
    tokens, version = stored(services, shop.id)
    assert tokens.expiring and tokens.refresh_token and tokens.refresh_token.startswith("shprt_")
    remaining = tokens.expires_at - utcnow()  # type: ignore[operator]
    assert dt.timedelta(minutes=59) < remaining <= dt.timedelta(minutes=60)
    assert tokens.scopes == "read_products,write_products,read_files,write_files"
    assert works(devshop, shop.domain, tokens.access_token)
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert (
            row is not None and row.active and row.style_version_id is not None
        )  # a house style to render with
        assert row.name  # read from the shop through the Admin API
    # Opening the app again keeps the live token: no second exchange, no churn.
    install_from_session_token(services, control.session_token(shop.handle))
    assert stored(services, shop.id) == (tokens, version)


def test_a_bad_session_token_is_refused_with_its_reason(services: Services, control: DevShopControl) -> None:
    handle = control.new_shop()
    with pytest.raises(auth.InvalidSessionToken, match="expired_id_token"):
        install_from_session_token(services, control.session_token(handle, age_s=600))
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": f"https://{handle}.myshopify.com/admin",
            "dest": f"https://{handle}.myshopify.com",
            "aud": API_KEY,
            "sub": "1",
            "exp": now + 60,
            "nbf": now,
            "iat": now,
            "jti": "x",
            "sid": "y",
        },
        "not-the-app-secret-0123456789abcdef",
        algorithm="HS256",
    )
    with pytest.raises(auth.InvalidSessionToken, match="invalid_id_token"):
        install_from_session_token(services, forged)


def test_token_is_refreshed_a_few_minutes_before_it_expires(
    make_services: Callable[..., Services], own_devshop: RunningDevShop
) -> None:
    services = make_services(own_devshop)
    control = DevShopControl(own_devshop)
    shop = install(services, control)
    first, version = stored(services, shop.id)
    assert auth.access_token(services, shop.id) == first.access_token  # fresh: no refresh
    assert control.refresh_grants(shop.handle) == []

    # 57 minutes later, on both clocks: inside the 5-minute margin.
    control.advance_clock(57 * 60)

    def later() -> dt.datetime:
        return utcnow() + dt.timedelta(minutes=57)

    token = auth.access_token(services, shop.id, clock=later)
    renewed, new_version = stored(services, shop.id)
    assert token == renewed.access_token != first.access_token
    assert renewed.refresh_token != first.refresh_token and new_version == version + 1
    assert len(control.refresh_grants(shop.handle)) == 1
    assert auth.access_token(services, shop.id, clock=later) == token  # fresh again: no second refresh
    client = AdminClient(services, shop.id, shop.domain, clock=later)
    assert client.query("shop_info")["shop"]["myshopifyDomain"] == shop.domain
    assert client.stats.refreshed == 0 and len(control.refresh_grants(shop.handle)) == 1


def test_a_token_shopify_rejects_is_refreshed_once_and_the_call_succeeds(
    make_services: Callable[..., Services], own_devshop: RunningDevShop
) -> None:
    services = make_services(own_devshop)
    control = DevShopControl(own_devshop)
    shop = install(services, control)
    control.advance_clock(2 * 3600)  # expired at Shopify; Worn's clock does not know
    client = AdminClient(services, shop.id, shop.domain)
    assert client.query("shop_info")["shop"]["myshopifyDomain"] == shop.domain
    assert client.stats.refreshed == 1 and client.stats.requests == 2
    assert len(control.refresh_grants(shop.handle)) == 1


def test_a_lost_refresh_response_is_recovered_with_the_same_refresh_token(
    services: Services, control: DevShopControl, devshop: RunningDevShop
) -> None:
    shop = install(services, control)
    before, _ = stored(services, shop.id)
    make_due(services, shop.id)
    transport = DropRefreshResponses(ShopifyBaseUrlTransport(devshop.base_url), drop=1)
    with httpx.Client(transport=transport) as client:
        token = auth.access_token(services, shop.id, http=client)
    assert transport.dropped == 1
    grants = control.refresh_grants(shop.handle)
    # Both grants came from the original refresh token: Shopify kept it valid after the lost answer.
    assert len(grants) == 2 and {g.parent for g in grants} == {before.refresh_token}
    after, _ = stored(services, shop.id)
    assert after.access_token == token and works(devshop, shop.domain, token)
    assert after.refresh_token == max(grants, key=lambda g: g.created_at).token


def _refresh_in_another_process(settings: dict[str, Any], shop_id: int, start: Any, results: Any) -> None:
    services = Services.from_settings(load_settings(**settings))
    transport = SlowRefresh(ShopifyBaseUrlTransport(settings["SHOPIFY_BASE_URL"]), delay=0.5)
    try:
        with httpx.Client(transport=transport) as client:
            start.wait(30)
            results.put(("ok", auth.access_token(services, shop_id, http=client)))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(("error", repr(exc)))
    finally:
        services.close()


def test_two_workers_refreshing_at_once_spend_the_refresh_token_once(
    services: Services, control: DevShopControl, devshop: RunningDevShop
) -> None:
    shop = install(services, control)
    make_due(services, shop.id)
    settings = {
        key: str(getattr(services.settings, key))
        for key in ("DATA_DIR", "DATABASE_URL", "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "SHOPIFY_BASE_URL")
    }
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_refresh_in_another_process, args=(settings, shop.id, start, results))
        for _ in range(2)
    ]
    for process in workers:
        process.start()
    time.sleep(3)  # let both import and connect; then release them together
    start.set()
    outcomes = [results.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(30)
        assert process.exitcode == 0
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    tokens = {token for _, token in outcomes}
    assert len(tokens) == 1  # the second worker used the token the first one got
    assert len(control.refresh_grants(shop.handle)) == 1
    assert works(devshop, shop.domain, tokens.pop())


def test_a_legacy_token_is_migrated_to_an_expiring_one(
    services: Services, control: DevShopControl, devshop: RunningDevShop
) -> None:
    handle = control.new_shop()
    legacy = control.legacy_token(handle)
    with services.db.session() as session:
        row = get_or_create_shop(session, handle)
        TokenStore(services.cipher).save(row, TokenSet(legacy, scopes="read_products"))
        shop_id = row.id
    assert works(devshop, f"{handle}.myshopify.com", legacy)
    token = auth.access_token(services, shop_id)
    migrated, _ = stored(services, shop_id)
    assert token == migrated.access_token != legacy
    assert migrated.expiring and migrated.refresh_token
    assert works(devshop, f"{handle}.myshopify.com", token)
    assert not works(devshop, f"{handle}.myshopify.com", legacy)  # Shopify retires the legacy token


def test_refresh_due_tokens_renews_only_what_expires_soon(
    services: Services, control: DevShopControl
) -> None:
    due, fresh = install(services, control), install(services, control)
    make_due(services, due.id, seconds=10 * 60)  # outside the 5-minute margin, inside 15 minutes
    before_fresh = stored(services, fresh.id)
    report = auth.refresh_due_tokens(services, within=dt.timedelta(minutes=15))
    assert report.refreshed == (due.domain,) and report.failed == ()
    assert len(control.refresh_grants(due.handle)) == 1 and control.refresh_grants(fresh.handle) == []
    assert stored(services, fresh.id) == before_fresh
    # Run again at once (another scheduler in another process): nothing is due any more.
    assert auth.refresh_due_tokens(services, within=dt.timedelta(minutes=15)).refreshed == ()


def test_a_revoked_refresh_token_asks_the_merchant_to_authorize_again(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    control.call("POST", f"/shops/{shop.handle}/webhooks", json={"topic": "app/uninstalled"})
    make_due(services, shop.id)
    with pytest.raises(auth.ReauthorizationNeeded, match="open Worn in the Shopify admin"):
        auth.access_token(services, shop.id)
    report = auth.refresh_due_tokens(services)
    assert report.failed == ((shop.domain, "reauthorization_needed"),)
