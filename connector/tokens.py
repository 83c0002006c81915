"""Keep each shop's offline access token and refresh token, encrypted at rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connector.crypto import TokenCipher
from connector.models import Shop


@dataclass(frozen=True)
class TokenSet:
    """An offline access token with its expiry and rotating refresh token (None for a legacy token)."""

    access_token: str
    expires_at: dt.datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: dt.datetime | None = None
    scopes: str | None = None

    @property
    def expiring(self) -> bool:
        """Say whether this is an expiring token (False: a legacy token that must be migrated)."""
        return self.expires_at is not None

    def expires_within(self, seconds: float, now: dt.datetime) -> bool:
        """Say whether the access token expires within `seconds` of `now`."""
        return self.expires_at is not None and self.expires_at - now <= dt.timedelta(seconds=seconds)

    def __repr__(self) -> str:  # never shows the tokens themselves
        return f"TokenSet(expires_at={self.expires_at}, refresh={'yes' if self.refresh_token else 'no'})"


class TokenStore:
    """Read and write a shop's tokens through the cipher; the database only ever sees ciphertext."""

    def __init__(self, cipher: TokenCipher) -> None:
        self.cipher = cipher

    def save(self, shop: Shop, tokens: TokenSet) -> None:
        """Store `tokens` on `shop` (the caller commits) and bump its token version."""
        shop.access_token = self.cipher.encrypt(tokens.access_token)
        shop.access_token_expires_at = tokens.expires_at
        shop.refresh_token = self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
        shop.refresh_token_expires_at = tokens.refresh_expires_at
        shop.token_expiring = tokens.expiring
        shop.scopes = tokens.scopes or shop.scopes
        shop.token_version = (shop.token_version or 0) + 1

    def load(self, shop: Shop) -> TokenSet | None:
        """Return the shop's tokens, or None when it has none (not installed, or uninstalled)."""
        if shop.access_token is None:
            return None
        return TokenSet(
            access_token=self.cipher.decrypt(shop.access_token),
            expires_at=shop.access_token_expires_at,
            refresh_token=self.cipher.decrypt(shop.refresh_token) if shop.refresh_token else None,
            refresh_expires_at=shop.refresh_token_expires_at,
            scopes=shop.scopes,
        )

    def drop(self, shop: Shop) -> None:
        """Forget the shop's tokens (uninstall)."""
        shop.access_token = None
        shop.access_token_expires_at = None
        shop.refresh_token = None
        shop.refresh_token_expires_at = None
        shop.token_version = (shop.token_version or 0) + 1
