"""Give every caller a live offline access token for a shop, and make sure only one process refreshes it.

Shopify issues expiring offline tokens (60 minutes) with a rotating refresh token. This module keeps to:
- a token is refreshed a few minutes before it expires (TOKEN_REFRESH_MARGIN_SECONDS), or when Shopify
  rejected it, by whichever worker needs it first;
- the refresh runs while the shop's row is locked (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
  `BEGIN IMMEDIATE` serializes writers), so two processes never spend the same refresh token: the second
  one finds the new token when it gets the lock and uses it;
- nothing is stored until Shopify answered: when a refresh response is lost, the retry spends the same
  refresh token again, which Shopify accepts until the new one has been used;
- a legacy non-expiring token is exchanged for an expiring one (Shopify rejects them from 2027-01-01).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import shopify_app
from shopify_app import IdTokenDetails, TokenExchangeAccessToken
from sqlalchemy import select

from connector.httpclient import shopify_http
from connector.models import Shop, utcnow
from connector.retrying import Backoff
from connector.services import Services
from connector.settings import Settings
from connector.tokens import TokenSet, TokenStore
from renderer.errors import WornError

log = logging.getLogger(__name__)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
#: Network errors and 5xx from the token endpoint are retried with the same refresh token.
TOKEN_RETRY = Backoff(attempts=4, base=0.5, cap=4.0)

Clock = Callable[[], dt.datetime]


class AuthError(WornError):
    """Worn holds no usable token for a shop; `code` is stable, the message says what to do."""

    code = "auth_error"


class NotInstalled(AuthError):
    """The shop has no token: it never installed Worn, or uninstalled it."""

    code = "not_installed"


class InvalidSessionToken(AuthError):
    """The App Bridge session token is not valid for this app (expired, wrong signature or audience)."""

    code = "invalid_session_token"


class TokenExchangeFailed(AuthError):
    """Shopify refused or did not answer a token exchange."""

    code = "token_exchange_failed"


class ReauthorizationNeeded(AuthError):
    """The refresh token expired or was revoked: the merchant must open Worn in the admin again."""

    code = "reauthorization_needed"


@dataclass(frozen=True)
class RefreshReport:
    """What one pass of `refresh_due_tokens` did."""

    refreshed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (shop domain, error code)


def app_config(settings: Settings) -> shopify_app.AppConfig:
    """Return the app credentials in the form `shopifyapp` takes them."""
    return {
        "client_id": settings.SHOPIFY_API_KEY,
        "client_secret": settings.SHOPIFY_API_SECRET,
        "old_client_secret": settings.SHOPIFY_API_SECRET_OLD,
    }


def shop_handle(domain: str) -> str:
    """Return 'acme' for 'acme.myshopify.com' (shopifyapp builds the URLs from the handle)."""
    return domain.removesuffix(".myshopify.com")


def _margin(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS)


def _rebase(stamp: str | None, clock: Clock) -> dt.datetime | None:
    """Move an expiry that shopifyapp computed on the wall clock onto Worn's clock (the same in production).

    shopifyapp turns `expires_in` into a timestamp with `datetime.now()`; what matters is the lifetime, so the
    difference to the wall clock is added to `clock()`.
    """
    if not stamp:
        return None
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return clock() + (moment - dt.datetime.now(dt.UTC))


def _token_set(token: TokenExchangeAccessToken, clock: Clock) -> TokenSet:
    expires_at = _rebase(token.expires, clock)
    refresh_expires_at = _rebase(token.refresh_token_expires, clock) if token.refresh_token else None
    if refresh_expires_at is not None and refresh_expires_at <= clock() + dt.timedelta(seconds=1):
        refresh_expires_at = None  # the response carried no refresh_token_expires_in: unknown, not expired
    return TokenSet(
        access_token=token.token,
        expires_at=expires_at,
        refresh_token=token.refresh_token or None,
        refresh_expires_at=refresh_expires_at,
        scopes=token.scope or None,
    )


def _is_fresh(tokens: TokenSet, now: dt.datetime, margin: dt.timedelta, rejected: str | None) -> bool:
    return (
        tokens.expiring
        and not tokens.expires_within(margin.total_seconds(), now)
        and (rejected is None or tokens.access_token != rejected)
    )


# --- install: session token -> expiring offline token --------------------------------------------------


def verify_session_token(settings: Settings, token: str) -> IdTokenDetails:
    """Verify an App Bridge session token (signature, expiry, audience) with shopifyapp."""
    request: shopify_app.RequestInput = {
        "method": "GET",
        "headers": {"Authorization": f"Bearer {token}"},
        "url": f"{settings.SHOPIFY_APP_URL}/",
        "body": "",
    }
    result = shopify_app.verify_app_home_req(request, app_config(settings), "/auth/patch-id-token")
    if not result.ok or result.id_token is None:
        raise InvalidSessionToken(f"session token refused ({result.log.code}): {result.log.detail}")
    return result.id_token


def exchange_session_token(
    settings: Settings,
    id_token: IdTokenDetails | str,
    *,
    http: httpx.Client | None = None,
    clock: Clock = utcnow,
) -> tuple[str, TokenSet]:
    """Exchange an App Bridge session token for an expiring offline token; return (shop domain, tokens)."""
    details = verify_session_token(settings, id_token) if isinstance(id_token, str) else id_token
    domain = str(details.claims.get("dest", "")).removeprefix("https://").removeprefix("http://")
    client = http or shopify_http(settings)
    result = None
    for attempt in range(1, TOKEN_RETRY.attempts + 1):
        result = shopify_app.token_exchange(
            "offline", app_config(settings), id_token=details, expiring=True, http_client=client
        )
        if result.ok or result.log.code not in ("network_error", "rate_limit_exceeded"):
            break
        if attempt < TOKEN_RETRY.attempts:
            time.sleep(TOKEN_RETRY.delay(attempt))
    assert result is not None
    if not result.ok or result.access_token is None:
        raise TokenExchangeFailed(
            f"token exchange for {domain or 'the shop'} failed ({result.log.code}): {result.log.detail}"
        )
    return domain, _token_set(result.access_token, clock)


# --- refresh and legacy migration (the caller holds the shop's lock) -----------------------------------


def _refresh(settings: Settings, domain: str, tokens: TokenSet, http: httpx.Client, clock: Clock) -> TokenSet:
    """Spend the refresh token once (retrying the same one when the answer is lost); return the new set."""
    if not tokens.refresh_token:
        raise ReauthorizationNeeded(
            f"shop {domain}: its token cannot be refreshed (no refresh token); "
            "open Worn in the Shopify admin to authorize it again"
        )
    # expires="" makes shopifyapp refresh now: Worn decides when (its margin is wider than shopifyapp's 60 s).
    request = {
        "shop": shop_handle(domain),
        "refresh_token": tokens.refresh_token,
        "expires": "",
        "refresh_token_expires": "",
        "access_mode": "offline",
    }
    result = None
    for attempt in range(1, TOKEN_RETRY.attempts + 1):
        result = shopify_app.refresh_access_token(request, app_config(settings), http_client=http)
        if result.ok or result.log.code not in ("network_error", "server_error"):
            break
        log.warning(
            "token refresh for %s did not answer (%s); retrying with the same refresh token",
            domain,
            result.log.code,
        )
        if attempt < TOKEN_RETRY.attempts:
            time.sleep(TOKEN_RETRY.delay(attempt))
    assert result is not None
    if result.ok and result.access_token is not None:
        return _token_set(result.access_token, clock)
    if result.log.code == "invalid_grant":
        raise ReauthorizationNeeded(
            f"shop {domain}: Shopify no longer accepts Worn's refresh token; open Worn "
            "in the Shopify admin to authorize it again"
        )
    raise TokenExchangeFailed(f"shop {domain}: token refresh failed ({result.log.code}): {result.log.detail}")


def _migrate(settings: Settings, domain: str, legacy: str, http: httpx.Client, clock: Clock) -> TokenSet:
    """Exchange a legacy non-expiring offline token for an expiring one (shopifyapp has no call for this)."""
    body = {
        "client_id": settings.SHOPIFY_API_KEY,
        "client_secret": settings.SHOPIFY_API_SECRET,
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": legacy,
        "subject_token_type": OFFLINE_TOKEN,
        "requested_token_type": OFFLINE_TOKEN,
        "expiring": "1",
    }
    url = f"https://{domain}/admin/oauth/access_token"
    why = ""
    for attempt in range(1, TOKEN_RETRY.attempts + 1):
        try:
            response = http.post(url, json=body, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            why = f"network error ({type(exc).__name__})"
        else:
            if response.status_code == 200:
                return _token_set(_parse_token_response(domain, response.json()), clock)
            if response.status_code < 500 and response.status_code != 429:
                error = _error_code(response)
                raise TokenExchangeFailed(
                    f"shop {domain}: migrating its legacy token failed: HTTP {response.status_code} {error}"
                )
            why = f"HTTP {response.status_code}"
        if attempt < TOKEN_RETRY.attempts:
            time.sleep(TOKEN_RETRY.delay(attempt))
    raise TokenExchangeFailed(
        f"shop {domain}: migrating its legacy token failed after {TOKEN_RETRY.attempts} tries ({why})"
    )


def _error_code(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _parse_token_response(domain: str, data: Any) -> TokenExchangeAccessToken:
    if not isinstance(data, dict) or not data.get("access_token"):
        raise TokenExchangeFailed(f"shop {domain}: the token endpoint answered without an access_token")
    now = dt.datetime.now(dt.UTC)

    def stamp(seconds: Any) -> str | None:
        return None if seconds is None else (now + dt.timedelta(seconds=int(seconds))).isoformat()

    return TokenExchangeAccessToken(
        shop=shop_handle(domain),
        token=str(data["access_token"]),
        expires=stamp(data.get("expires_in")),
        scope=str(data.get("scope", "")),
        access_mode="offline",
        refresh_token=data.get("refresh_token"),
        refresh_token_expires=stamp(data.get("refresh_token_expires_in")),
        user=None,
    )


def _renew(
    services: Services,
    shop_id: int,
    *,
    rejected: str | None,
    margin: dt.timedelta,
    http: httpx.Client,
    clock: Clock,
) -> TokenSet:
    """Refresh or migrate the shop's token with its row locked; a token renewed meanwhile is used as is."""
    store = TokenStore(services.cipher)
    with services.db.session() as session:
        shop = session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update())
        tokens = store.load(shop) if shop is not None else None
        if shop is None or tokens is None or not shop.active:
            raise NotInstalled(f"shop {shop_id}: Worn holds no token for it (not installed, or uninstalled)")
        if _is_fresh(tokens, clock(), margin, rejected):
            return tokens  # another worker renewed it while this one waited for the lock
        if tokens.expiring:
            if tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= clock():
                raise ReauthorizationNeeded(
                    f"shop {shop.domain}: its refresh token expired on "
                    f"{tokens.refresh_expires_at:%Y-%m-%d}; open Worn in the "
                    "Shopify admin to authorize it again"
                )
            renewed = _refresh(services.settings, shop.domain, tokens, http, clock)
            log.info("refreshed the access token of %s (now valid until %s)", shop.domain, renewed.expires_at)
        else:
            renewed = _migrate(services.settings, shop.domain, tokens.access_token, http, clock)
            log.info("migrated the legacy token of %s to an expiring token", shop.domain)
        store.save(shop, renewed)
        return renewed


def access_token(
    services: Services,
    shop_id: int,
    *,
    rejected: str | None = None,
    http: httpx.Client | None = None,
    clock: Clock = utcnow,
) -> str:
    """Return a live access token for the shop, refreshing or migrating it first when needed.

    `rejected`: a token Shopify just answered 401 to; it is renewed unless another worker already did.
    """
    store = TokenStore(services.cipher)
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        tokens = store.load(shop) if shop is not None else None
        active = shop is not None and shop.active
    if tokens is None or not active:
        raise NotInstalled(f"shop {shop_id}: Worn holds no token for it (not installed, or uninstalled)")
    if _is_fresh(tokens, clock(), _margin(services.settings), rejected):
        return tokens.access_token
    client = http or shopify_http(services.settings)
    margin = _margin(services.settings)
    return _renew(services, shop_id, rejected=rejected, margin=margin, http=client, clock=clock).access_token


def refresh_due_tokens(
    services: Services,
    *,
    within: dt.timedelta = dt.timedelta(minutes=15),
    http: httpx.Client | None = None,
    clock: Clock = utcnow,
) -> RefreshReport:
    """Renew every active shop's token expiring within `within` (or legacy); a failure skips one shop."""
    now = clock()
    with services.db.session() as session:
        due = session.execute(
            select(Shop.id, Shop.domain).where(
                Shop.active.is_(True),
                Shop.access_token.is_not(None),
                (Shop.token_expiring.is_(False)) | (Shop.access_token_expires_at <= now + within),
            )
        ).all()
    refreshed: list[str] = []
    failed: list[tuple[str, str]] = []
    client = http or shopify_http(services.settings)
    margin = _margin(services.settings)
    for shop_id, domain in due:
        try:
            _renew(services, shop_id, rejected=None, margin=max(within, margin), http=client, clock=clock)
        except AuthError as exc:
            log.warning("could not renew the token of %s: %s", domain, exc)
            failed.append((domain, exc.code))
        else:
            refreshed.append(domain)
    return RefreshReport(tuple(refreshed), tuple(failed))
