"""Authenticate the admin pages and their API with App Bridge session tokens, verified by `shopifyapp`.

Three ways a request arrives (../shared/reference/shopify-platform.md §4.3, §6):
- **API fetches** carry `Authorization: Bearer <session token>`. `shopify_app.verify_app_home_req` checks
  the HS256 signature (the old secret too during a rotation), expiry with 10 s leeway, and the audience. A
  missing, expired or forged token gets 401 with `X-Shopify-Retry-Invalid-Session-Request: 1` (App Bridge
  then retries with a fresh token) and no data. The shop is the token's `dest`, never a parameter.
- **Document loads** carry the token as the `id_token` query parameter. Without one, or with a stale one,
  the browser is sent to the patch-ID-token page, which lets App Bridge fetch a fresh token and reload.
- **Plain browser against `worn dev-shop`** (no Shopify admin, no CDN): the page starts with a token the
  dev-shop minted and renews it at `/dev/session-token`, which asks the dev-shop for a new one. That route
  exists only when SHOPIFY_BASE_URL points at a dev-shop and ENVIRONMENT is development; it is never
  registered in production.

Every HTML response carries the shop's own `Content-Security-Policy: frame-ancestors`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
import shopify_app
from flask import Blueprint, Response, abort, current_app, jsonify, request
from shopify_app import AppConfig, RequestInput
from sqlalchemy.orm import Session

from connector.auth import AuthError
from connector.install import install_from_session_token
from connector.services import Services
from connector.settings import Settings
from connector.shops import normalize_domain, shop_by_domain
from renderer.errors import InputError

log = logging.getLogger(__name__)

RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
PATCH_ID_TOKEN_PATH = "/auth/patch-id-token"
DEV_TOKEN_PATH = "/dev/session-token"
DEV_OPEN_PATH = "/dev/open"
#: Claims Shopify always sets; shopifyapp checks the signature, expiry and audience, Worn also these.
REQUIRED_CLAIMS = ("iss", "dest", "aud", "sub", "exp")
#: How old a dev-shop session may be and still be renewed (a working day, like an admin session).
DEV_RENEW_MAX_AGE_S = 12 * 3600
SERVICES_KEY = "worn"  # where create_app keeps the Services (webhooks/app.py)


@dataclass(frozen=True)
class ShopSession:
    """Who is asking: the shop (from the token's `dest`), the staff user (`sub`) and the token itself."""

    shop_id: int
    domain: str
    user: str
    token: str
    expires_at: int


def services() -> Services:
    """Return the backends of the running app."""
    return current_app.extensions[SERVICES_KEY]  # type: ignore[no-any-return]


def app_config(settings: Settings) -> AppConfig:
    """Return shopifyapp's AppConfig for Worn's credentials (with the old secret during a rotation)."""
    return {
        "client_id": settings.SHOPIFY_API_KEY,
        "client_secret": settings.SHOPIFY_API_SECRET,
        "old_client_secret": settings.SHOPIFY_API_SECRET_OLD or None,
    }


def dev_tokens_enabled(settings: Settings) -> bool:
    """Say whether the dev-shop token renewal route exists: a dev-shop configured, and not production."""
    return settings.is_dev_shop and settings.ENVIRONMENT == "development"


def frame_ancestors(domain: str | None) -> str:
    """Return the CSP that lets only the shop's admin frame Worn's pages (nobody when the shop is unknown)."""
    if domain is None:
        return "frame-ancestors 'none';"
    return f"frame-ancestors https://{domain} https://admin.shopify.com;"


def query_shop() -> str | None:
    """Return the `shop` query parameter when it is a shop domain, else None."""
    value = request.args.get("shop")
    if not value:
        return None
    try:
        return normalize_domain(value)
    except InputError:
        return None


def claims_shop(claims: dict[str, Any]) -> str | None:
    """Return the shop domain of verified claims, or None when they are not a Shopify admin session's.

    `dest` names the shop and `iss` its admin; they must agree (as ShopifyAPI checks), so a token issued
    for one shop can never stand for another.
    """
    if any(not claims.get(name) for name in REQUIRED_CLAIMS):
        return None
    dest, iss = urlsplit(str(claims["dest"])), urlsplit(str(claims["iss"]))
    if dest.scheme != "https" or iss.scheme != "https" or not dest.hostname or dest.hostname != iss.hostname:
        return None
    if iss.path.rstrip("/") != "/admin":
        return None
    try:
        return normalize_domain(dest.hostname)
    except InputError:
        return None


def request_input() -> RequestInput:
    """Return the current request as shopifyapp's RequestInput (the body is never needed here)."""
    return {"method": request.method, "headers": dict(request.headers), "url": request.url, "body": ""}


def unauthorized(code: str, *, retry: bool = True) -> NoReturn:
    """Stop the request with 401, no data, and (for fetches) App Bridge's retry header."""
    response = jsonify({"error": {"code": code, "message": "the session token is missing or invalid"}})
    response.status_code = 401
    if retry:
        response.headers[RETRY_HEADER] = "1"
    abort(response)


def _shop_session(session: Session, domain: str, claims: dict[str, Any], token: str) -> ShopSession | None:
    shop = shop_by_domain(session, domain)
    if shop is None or not shop.active:
        return None
    return ShopSession(shop.id, shop.domain, str(claims["sub"]), token, int(claims["exp"]))


def fetch_session() -> ShopSession:
    """Authenticate an API fetch by its Bearer token, or stop it with 401 (or 403 for an uninstalled shop)."""
    if not request.headers.get("Authorization"):
        # shopifyapp treats a request without the header as a document load; an API call has no such excuse.
        unauthorized("missing_authorization")
    settings = services().settings
    result = shopify_app.verify_app_home_req(request_input(), app_config(settings), PATCH_ID_TOKEN_PATH)
    if not result.ok or result.id_token is None:
        unauthorized(result.log.code)
    claims = dict(result.id_token.claims)
    domain = claims_shop(claims)
    if domain is None:
        unauthorized("invalid_claims")
    with services().db.session() as session:
        found = _shop_session(session, domain, claims, result.id_token.token)
    if found is None:
        response = jsonify(
            {"error": {"code": "not_installed", "message": "open Worn from the Shopify admin"}}
        )
        response.status_code = 403
        abort(response)
    return found


@dataclass(frozen=True)
class DocumentAuth:
    """A verified document load: the session and the headers shopifyapp asks the page to carry."""

    session: ShopSession
    headers: dict[str, str]


def document_session() -> DocumentAuth | Response:
    """Authenticate a page load by its `id_token`, installing the shop on its first visit.

    Returns the session, or the response to send instead: a redirect to the patch-ID-token page when the
    token is missing or stale, 401 when it is for another app.
    """
    svc = services()
    result = shopify_app.verify_app_home_req(request_input(), app_config(svc.settings), PATCH_ID_TOKEN_PATH)
    if not result.ok or result.id_token is None:
        if result.response.status == 302:
            # shopifyapp builds an absolute URL from the request's host; keep only the path and query so a
            # proxy in front of the app cannot turn it into another origin.
            location = urlsplit(result.response.headers["Location"])
            return _redirect(f"{location.path}?{location.query}")
        return error_page(401, "This page can only be opened from the Shopify admin.", query_shop())
    claims = dict(result.id_token.claims)
    domain = claims_shop(claims)
    if domain is None:
        return error_page(401, "This session does not belong to a Shopify store.", None)
    asked = request.args.get("shop")
    if asked and query_shop() != domain:
        # The admin names the shop in the URL and signs it in the token; if they disagree, trust neither.
        return error_page(401, "This session belongs to another store.", query_shop())
    try:
        # The first visit exchanges the session token for the shop's offline token and gives it a house
        # style; later visits find a live token and do nothing (connector/install.py).
        shop = install_from_session_token(svc, result.id_token)
    except AuthError as exc:
        log.warning("installing %s failed: %s", domain, exc)
        return error_page(
            502, f"Worn could not connect to your store yet ({exc.code}). Reload to try again.", domain
        )
    found = ShopSession(shop.id, shop.domain, str(claims["sub"]), result.id_token.token, int(claims["exp"]))
    # shopifyapp's document headers: the frame-ancestors policy, and inside the admin the CDN preloads.
    headers = dict(result.response.headers)
    headers["Content-Security-Policy"] = frame_ancestors(domain)
    if svc.settings.is_dev_shop:
        headers.pop("Link", None)  # no App Bridge outside the admin (see webhooks/admin.py)
    return DocumentAuth(found, headers)


def _redirect(location: str) -> Response:
    response = Response(status=302)
    response.headers["Location"] = location
    return response


def error_page(status: int, message: str, domain: str | None) -> Response:
    """Return a small HTML error page with the shop's frame-ancestors policy."""
    from flask import render_template

    response = Response(render_template("error.html", message=message, status=status), status=status)
    response.headers["Content-Security-Policy"] = frame_ancestors(domain)
    return response


# --- dev-shop token renewal (never in production) --------------------------------------------------------

dev_bp = Blueprint("devtokens", __name__)


@dev_bp.post(DEV_TOKEN_PATH)
def renew_dev_token() -> Response:
    """Return a fresh session token from the dev-shop for the shop and user of an earlier one.

    shopifyapp refuses expired tokens, which is right everywhere else; renewing one is the point here, so
    this route checks the signature and audience with PyJWT itself and ignores only the expiry (up to
    DEV_RENEW_MAX_AGE_S). A browser can only renew a session the app signed for it.
    """
    svc = services()
    settings = svc.settings
    if not dev_tokens_enabled(settings):  # the blueprint is not even registered then; be doubly sure
        abort(404)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        unauthorized("missing_authorization", retry=False)
    try:
        claims = jwt.decode(
            header.removeprefix("Bearer "),
            settings.SHOPIFY_API_SECRET,
            algorithms=["HS256"],
            audience=settings.SHOPIFY_API_KEY,
            options={"verify_exp": False, "require": [*REQUIRED_CLAIMS, "iat"]},
        )
    except jwt.PyJWTError:
        unauthorized("invalid_id_token", retry=False)
    domain = claims_shop(claims)
    if domain is None or time.time() - int(claims["iat"]) > DEV_RENEW_MAX_AGE_S:
        unauthorized("session_too_old", retry=False)
    sub = str(claims["sub"])
    token = _mint_at_dev_shop(settings, domain, int(sub) if sub.isdigit() else None)
    if isinstance(token, Response):
        return token
    return jsonify({"token": token, "server_time": int(time.time() * 1000)})


def _mint_at_dev_shop(settings: Settings, domain: str, user_id: int | None) -> str | Response:
    handle = domain.removesuffix(".myshopify.com")
    try:
        answer = httpx.post(
            f"{settings.SHOPIFY_BASE_URL}/_devshop/shops/{handle}/session-token",
            json={"user_id": user_id} if user_id is not None else {},
            timeout=5.0,
        )
        answer.raise_for_status()
        return str(answer.json()["token"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        response = jsonify({"error": {"code": "dev_shop_unreachable", "message": f"dev-shop: {exc}"}})
        response.status_code = 502
        return response


@dev_bp.get(DEV_OPEN_PATH)
def open_from_dev_shop() -> Response:
    """Open Worn for a dev-shop store in a plain browser, as clicking the app in the admin would.

    The dev-shop's control API mints session tokens for anyone who can reach it; this only saves the demo
    a step. Like the renewal route it exists only against a dev-shop in development.
    """
    settings = services().settings
    if not dev_tokens_enabled(settings):
        abort(404)
    domain = query_shop()
    if domain is None:
        return error_page(400, "Name the store: /dev/open?shop=NAME.myshopify.com", None)
    token = _mint_at_dev_shop(settings, domain, None)
    if isinstance(token, Response):
        return error_page(502, f"The dev-shop did not answer for {domain}: is it running?", domain)
    return _redirect(f"/app?{urlencode({'shop': domain, 'id_token': token})}")
