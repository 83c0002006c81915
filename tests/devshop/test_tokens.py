"""Session tokens, token exchange, expiry, rotation and legacy migration behave like Shopify's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import shopify_app
from devshop_support import API_KEY, API_SECRET, ShopSession, control, exchange_offline_token, new_shop

from connector.transport import make_http_client
from devshop import RunningDevShop

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"


def _token_endpoint(devshop: RunningDevShop, handle: str, **body: object) -> httpx.Response:
    client = make_http_client(devshop.base_url)
    payload = {"client_id": API_KEY, "client_secret": API_SECRET, **body}
    return client.post(f"https://{handle}.myshopify.com/admin/oauth/access_token", json=payload)


def _session_token(devshop: RunningDevShop, handle: str, **body: object) -> str:
    return control(devshop, "POST", f"/shops/{handle}/session-token", json=body).json()["token"]


def _due(result: shopify_app.TokenExchangeResult) -> dict:
    """The stored token as the connector keeps it, marked due so shopifyapp refreshes now."""
    token = result.access_token
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "shop": token.shop,
        "refresh_token": token.refresh_token,
        "expires": past,
        "refresh_token_expires": token.refresh_token_expires,
        "access_mode": "offline",
    }


def test_session_token_claims_are_shopify_shaped(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    minted = control(devshop, "POST", f"/shops/{handle}/session-token").json()
    claims = jwt.decode(minted["token"], API_SECRET, algorithms=["HS256"], audience=API_KEY)
    assert claims["iss"] == f"https://{handle}.myshopify.com/admin"
    assert claims["dest"] == f"https://{handle}.myshopify.com"
    assert claims["aud"] == API_KEY and claims["sub"] == "1"
    assert claims["exp"] - claims["iat"] == 60 and claims["nbf"] == claims["iat"]
    assert len(claims["jti"]) == 36 and len(claims["sid"]) == 32
    assert jwt.get_unverified_header(minted["token"])["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            minted["token"], "not-the-secret-0123456789abcdef012", algorithms=["HS256"], audience=API_KEY
        )


def test_token_exchange_gives_an_expiring_offline_token(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    result = exchange_offline_token(devshop, handle)
    assert result.ok, result.log
    token = result.access_token
    assert token.token.startswith("shpat_") and token.refresh_token
    assert token.scope == "read_products,write_products,read_files,write_files"
    expires = datetime.fromisoformat(token.expires.replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(minutes=60)
    raw = _token_endpoint(
        devshop,
        handle,
        grant_type=TOKEN_EXCHANGE,
        subject_token=_session_token(devshop, handle),
        subject_token_type=ID_TOKEN,
        requested_token_type=OFFLINE,
        expiring="1",
    ).json()
    assert raw["expires_in"] == 3600 and raw["refresh_token_expires_in"] == 90 * 86400


def test_access_token_expires_after_an_hour_and_refresh_rotates(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    app = shopify_app.ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)
    first = exchange_offline_token(devshop, handle)
    session = ShopSession(devshop, handle, first.access_token.token)
    assert session.gql("{ shop { name } }").ok
    control(devshop, "POST", "/clock", json={"advance_s": 3601})
    assert session.gql("{ shop { name } }").log.code == "unauthorized"

    http = make_http_client(devshop.base_url)
    second = app.refresh_token_exchanged_access_token(_due(first), http_client=http)
    assert second.ok, second.log
    assert second.access_token.token != first.access_token.token
    assert second.access_token.refresh_token != first.access_token.refresh_token
    assert ShopSession(devshop, handle, second.access_token.token).gql("{ shop { name } }").ok

    # The response of that refresh was "lost": the first refresh token still works ...
    retry = app.refresh_token_exchanged_access_token(_due(first), http_client=http)
    assert retry.ok, retry.log
    # ... until the app uses a replacement, which retires it.
    third = app.refresh_token_exchanged_access_token(_due(second), http_client=http)
    assert third.ok, third.log
    stale = app.refresh_token_exchanged_access_token(_due(first), http_client=http)
    assert (stale.ok, stale.log.code) == (False, "invalid_grant")


def test_refresh_tokens_expire_after_ninety_days(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    first = exchange_offline_token(devshop, handle)
    control(devshop, "POST", "/clock", json={"advance_s": 90 * 86400 + 1})
    response = _token_endpoint(
        devshop, handle, grant_type="refresh_token", refresh_token=first.access_token.refresh_token
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_forged_and_foreign_session_tokens_get_400(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    other = new_shop(devshop)
    expired = _session_token(devshop, handle, age_s=120)
    forged = jwt.encode(
        jwt.decode(_session_token(devshop, handle), options={"verify_signature": False}),
        "forged-secret-0123456789abcdef0123",
        algorithm="HS256",
    )
    foreign = _session_token(devshop, other)
    for subject in (expired, forged, foreign, "not-a-jwt"):
        response = _token_endpoint(
            devshop,
            handle,
            grant_type=TOKEN_EXCHANGE,
            subject_token=subject,
            subject_token_type=ID_TOKEN,
            requested_token_type=OFFLINE,
            expiring="1",
        )
        assert response.status_code == 400, subject
        assert response.json()["error"] == "invalid_subject_token"


def test_shopifyapp_reports_an_expired_session_token_as_invalid(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    token = _session_token(devshop, handle, age_s=120)
    claims = jwt.decode(token, options={"verify_signature": False})
    app = shopify_app.ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)
    result = app.exchange_using_token_exchange(
        "offline",
        id_token={"exchangeable": True, "token": token, "claims": claims},
        http_client=make_http_client(devshop.base_url),
    )
    assert (result.ok, result.log.code) == (False, "invalid_subject_token")


def test_wrong_client_credentials_are_refused(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    response = _token_endpoint(
        devshop, handle, client_secret="wrong", grant_type="refresh_token", refresh_token="x"
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_non_expiring_tokens_and_their_migration(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    legacy = _token_endpoint(
        devshop,
        handle,
        grant_type=TOKEN_EXCHANGE,
        subject_token=_session_token(devshop, handle),
        subject_token_type=ID_TOKEN,
        requested_token_type=OFFLINE,
    ).json()
    assert "expires_in" not in legacy and "refresh_token" not in legacy
    session = ShopSession(devshop, handle, legacy["access_token"])
    control(devshop, "POST", "/clock", json={"advance_s": 7200})
    assert session.gql("{ shop { name } }").ok  # does not expire

    migrated = _token_endpoint(
        devshop,
        handle,
        grant_type=TOKEN_EXCHANGE,
        subject_token=legacy["access_token"],
        subject_token_type=OFFLINE,
        requested_token_type=OFFLINE,
        expiring="1",
    )
    assert migrated.status_code == 200, migrated.text
    assert migrated.json()["expires_in"] == 3600 and migrated.json()["refresh_token"]
    assert session.gql("{ shop { name } }").log.code == "unauthorized"  # the legacy token is revoked
    assert ShopSession(devshop, handle, migrated.json()["access_token"]).gql("{ shop { name } }").ok
    again = _token_endpoint(
        devshop,
        handle,
        grant_type=TOKEN_EXCHANGE,
        subject_token=legacy["access_token"],
        subject_token_type=OFFLINE,
        requested_token_type=OFFLINE,
        expiring="1",
    )
    assert again.status_code == 400


def test_non_expiring_tokens_stop_working_in_2027(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    legacy = control(devshop, "POST", f"/shops/{handle}/legacy-token").json()["access_token"]
    session = ShopSession(devshop, handle, legacy)
    assert session.gql("{ shop { name } }").ok
    now = datetime.fromisoformat(control(devshop, "GET", "/clock").json()["now"].replace("Z", "+00:00"))
    cutoff = datetime(2027, 1, 1, tzinfo=UTC)
    if now < cutoff:
        control(devshop, "POST", "/clock", json={"advance_s": (cutoff - now).total_seconds() + 1})
    result = session.gql("{ shop { name } }")
    assert result.log.code == "unauthorized"
    assert "Non-expiring access tokens are no longer accepted" in result.http_logs[0].res.body


def test_online_tokens_carry_the_user(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    response = _token_endpoint(
        devshop,
        handle,
        grant_type=TOKEN_EXCHANGE,
        subject_token=_session_token(devshop, handle, user_id=42),
        subject_token_type=ID_TOKEN,
        requested_token_type="urn:shopify:params:oauth:token-type:online-access-token",
    )
    body = response.json()
    assert body["access_token"].startswith("shpua_") and body["associated_user"]["id"] == 42
    assert body["expires_in"] == 86399 and "refresh_token" not in body


def test_session_tokens_stay_on_the_wall_clock_when_the_clock_is_advanced(devshop: RunningDevShop) -> None:
    handle = new_shop(devshop)
    control(devshop, "POST", "/clock", json={"advance_s": 7200})
    # Minted after the shift, the token is still valid for an app checking with the wall clock ...
    result = exchange_offline_token(devshop, handle)
    assert result.ok, result.log
    # ... and the access token it bought expires on the simulator's clock.
    session = ShopSession(devshop, handle, result.access_token.token)
    assert session.gql("{ shop { name } }").ok
    control(devshop, "POST", "/clock", json={"advance_s": 3601})
    assert session.gql("{ shop { name } }").log.code == "unauthorized"
