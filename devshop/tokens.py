"""Issue, rotate and check Admin API tokens like Shopify's ``/admin/oauth/access_token``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from devshop.clock import Clock, parse_iso
from devshop.config import DevShopConfig
from devshop.session_tokens import SessionTokenError, verify_session_token
from devshop.store import AccessToken, RefreshToken, Shop, Store

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN = "urn:shopify:params:oauth:token-type:online-access-token"
ONLINE_TOKEN_TTL_S = 86399

INVALID_TOKEN_MESSAGE = "[API] Invalid API key or access token (unrecognized login or wrong password)"
LEGACY_TOKEN_MESSAGE = (
    "[API] Non-expiring access tokens are no longer accepted for the Admin API. Migrate to expiring offline "
    "access tokens: https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens"
)


@dataclass(frozen=True)
class OAuthResult:
    """An answer of the token endpoint: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


def _error(status: int, code: str, description: str) -> OAuthResult:
    return OAuthResult(status, {"error": code, "error_description": description})


class TokenAuthority:
    """Everything about Admin API credentials for the one app the dev-shop serves."""

    def __init__(self, store: Store, clock: Clock, config: DevShopConfig) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self._legacy_cutoff = parse_iso(config.legacy_tokens_rejected_from)

    @property
    def scope(self) -> str:
        """Return the granted scopes as Shopify lists them (comma-separated)."""
        return ",".join(self._config.scopes)

    def token_endpoint(self, shop: Shop, params: dict[str, Any]) -> OAuthResult:
        """Answer a POST to ``/admin/oauth/access_token`` for ``shop``."""
        if (
            params.get("client_id") != self._config.api_key
            or params.get("client_secret") != self._config.api_secret
        ):
            return _error(
                401,
                "invalid_client",
                "Client authentication failed: unknown client_id or wrong client_secret.",
            )
        grant = params.get("grant_type")
        if grant == TOKEN_EXCHANGE:
            return self._token_exchange(shop, params)
        if grant == "refresh_token":
            return self._refresh(shop, str(params.get("refresh_token") or ""))
        return _error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")

    def mint_legacy_token(self, shop: Shop) -> AccessToken:
        """Issue a non-expiring offline token, as an app installed before expiring tokens has."""
        with self._store.lock:
            return self._issue_access(shop, "offline", expiring=False)

    def authenticate(self, shop: Shop, token: str) -> tuple[AccessToken | None, str]:
        """Return the access token record if ``token`` may call the Admin API of ``shop``."""
        with self._store.lock:
            record = self._store.access_tokens.get(token)
            if record is None or record.revoked or record.shop != shop.handle or not shop.installed:
                return None, INVALID_TOKEN_MESSAGE
            now = self._clock.now()
            if record.expires_at is not None and record.expires_at <= now:
                return None, INVALID_TOKEN_MESSAGE
            if record.expires_at is None and record.mode == "offline" and now >= self._legacy_cutoff:
                return None, LEGACY_TOKEN_MESSAGE
            return record, ""

    def revoke_shop(self, shop: Shop) -> None:
        """Revoke every token of ``shop`` (the app was uninstalled)."""
        with self._store.lock:
            for record in self._store.access_tokens.values():
                if record.shop == shop.handle:
                    record.revoked = True
            for refresh in self._store.refresh_tokens.values():
                if refresh.shop == shop.handle:
                    refresh.retired = True
            self._store.save()

    def _token_exchange(self, shop: Shop, params: dict[str, Any]) -> OAuthResult:
        subject_type = params.get("subject_token_type")
        requested = params.get("requested_token_type")
        expiring = str(params.get("expiring", "0")) == "1"
        subject = str(params.get("subject_token") or "")
        if requested not in (OFFLINE_TOKEN, ONLINE_TOKEN):
            return _error(400, "invalid_request", f"requested_token_type {requested!r} is not supported.")
        with self._store.lock:
            if subject_type == OFFLINE_TOKEN:
                return self._migrate(shop, subject, requested, expiring)
            if subject_type != ID_TOKEN:
                return _error(
                    400, "invalid_request", f"subject_token_type {subject_type!r} is not supported."
                )
            try:
                claims = verify_session_token(
                    subject, self._config.api_key, self._config.api_secret, shop.domain
                )
            except SessionTokenError as exc:
                return _error(400, "invalid_subject_token", str(exc))
            # Under Shopify-managed installation, opening the app (which yields an ID token) installs it.
            shop.installed = True
            mode = "online" if requested == ONLINE_TOKEN else "offline"
            return self._grant(shop, mode, expiring=expiring or mode == "online", user_id=int(claims["sub"]))

    def _migrate(self, shop: Shop, subject: str, requested: str, expiring: bool) -> OAuthResult:
        legacy = self._store.access_tokens.get(subject)
        if legacy is None or legacy.revoked or legacy.shop != shop.handle or legacy.expires_at is not None:
            return _error(
                400,
                "invalid_subject_token",
                "subject_token is not a non-expiring offline token of this shop.",
            )
        if requested != OFFLINE_TOKEN or not expiring:
            return _error(
                400, "invalid_request", "Migration must request an expiring offline token (expiring=1)."
            )
        legacy.revoked = True  # the non-expiring token stops working once exchanged
        return self._grant(shop, "offline", expiring=True)

    def _refresh(self, shop: Shop, token: str) -> OAuthResult:
        with self._store.lock:
            record = self._store.refresh_tokens.get(token)
            now = self._clock.now()
            if record is None or record.shop != shop.handle or record.retired:
                return _error(
                    400, "invalid_grant", "The refresh token is invalid, revoked or already replaced."
                )
            if record.expires_at <= now:
                return _error(400, "invalid_grant", "The refresh token has expired.")
            window = timedelta(seconds=self._config.refresh_recovery_window_s)
            if record.first_used_at is not None and now > record.first_used_at + window:
                return _error(400, "invalid_grant", "The refresh token's recovery period has ended.")
            if record.first_used_at is None:
                record.first_used_at = now
            # Using a refresh token retires the one it replaced; this one stays valid (2026-08-28
            # change) until the app starts using the replacement issued now.
            if record.parent is not None and record.parent in self._store.refresh_tokens:
                self._store.refresh_tokens[record.parent].retired = True
            return self._grant(shop, "offline", expiring=True, parent=record.token)

    def _grant(
        self, shop: Shop, mode: str, *, expiring: bool, user_id: int | None = None, parent: str | None = None
    ) -> OAuthResult:
        access = self._issue_access(shop, mode, expiring=expiring, user_id=user_id)
        body: dict[str, Any] = {"access_token": access.token, "scope": access.scope}
        if mode == "online":
            body.update(
                expires_in=ONLINE_TOKEN_TTL_S,
                associated_user_scope=access.scope,
                associated_user={
                    "id": user_id,
                    "first_name": "Dev",
                    "last_name": "Staff",
                    "email": f"staff{user_id}@{shop.handle}.example",
                    "account_owner": user_id == 1,
                    "locale": "en",
                    "collaborator": False,
                    "email_verified": True,
                },
            )
        elif expiring:
            now = self._clock.now()
            refresh = RefreshToken(
                token="shprt_" + secrets.token_hex(16),
                shop=shop.handle,
                created_at=now,
                expires_at=now + timedelta(seconds=self._config.refresh_token_ttl_s),
                parent=parent,
            )
            self._store.refresh_tokens[refresh.token] = refresh
            body.update(
                expires_in=self._config.access_token_ttl_s,
                refresh_token=refresh.token,
                refresh_token_expires_in=self._config.refresh_token_ttl_s,
            )
        self._store.save()
        return OAuthResult(200, body)

    def _issue_access(
        self, shop: Shop, mode: str, *, expiring: bool, user_id: int | None = None
    ) -> AccessToken:
        now = self._clock.now()
        if mode == "online":
            ttl: int | None = ONLINE_TOKEN_TTL_S
        else:
            ttl = self._config.access_token_ttl_s if expiring else None
        record = AccessToken(
            token=("shpua_" if mode == "online" else "shpat_") + secrets.token_hex(16),
            shop=shop.handle,
            scope=self.scope,
            mode=mode,
            created_at=now,
            expires_at=None if ttl is None else now + timedelta(seconds=ttl),
            user_id=user_id,
        )
        self._store.access_tokens[record.token] = record
        self._store.save()
        return record
