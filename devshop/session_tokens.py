"""Mint and check App Bridge session (ID) tokens: HS256 JWTs signed with the app's secret.

Session tokens live on the wall clock, not on the simulator's shiftable clock: the app checks
them with the wall clock (shopifyapp, PyJWT), and they are minted for a request in progress, so
advancing ``/_devshop/clock`` (to age access tokens) must not make fresh session tokens look
issued in the future. Tests get an expired one by backdating it (``age_s``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import jwt

REQUIRED_CLAIMS = ("iss", "dest", "aud", "sub", "exp", "nbf", "iat", "jti", "sid")
LEEWAY_S = 10  # Shopify's libraries allow ten seconds of clock skew


class SessionTokenError(Exception):
    """Raised when a session token is not one Shopify would accept; the message says why."""


def mint_session_token(
    api_key: str,
    api_secret: str,
    shop_domain: str,
    *,
    user_id: int = 1,
    ttl_s: int = 60,
    age_s: int = 0,
) -> tuple[str, dict[str, Any]]:
    """Return a session token for ``shop_domain`` and its claims, as App Bridge would.

    ``age_s`` backdates the token (a token older than its ``ttl_s`` is already expired).
    """
    issued = int(time.time()) - age_s
    claims = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": api_key,
        "sub": str(user_id),
        "exp": issued + ttl_s,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": secrets.token_hex(16),
    }
    return jwt.encode(claims, api_secret, algorithm="HS256"), claims


def verify_session_token(token: str, api_key: str, api_secret: str, shop_domain: str) -> dict[str, Any]:
    """Return the claims of a valid token for ``shop_domain``, or raise SessionTokenError."""
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            audience=api_key,
            # Checked below with Shopify's ten seconds of leeway and a message saying which failed.
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "require": list(REQUIRED_CLAIMS),
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise SessionTokenError("Session token signature does not match the app's secret") from exc
    except jwt.InvalidAudienceError as exc:
        raise SessionTokenError("Session token audience is not this app's API key") from exc
    except jwt.PyJWTError as exc:
        raise SessionTokenError(f"Session token is malformed: {exc}") from exc
    now = time.time()
    if claims["exp"] + LEEWAY_S < now:
        raise SessionTokenError("Session token has expired")
    if claims["nbf"] - LEEWAY_S > now:
        raise SessionTokenError("Session token is not valid yet")
    if claims["dest"] != f"https://{shop_domain}" or claims["iss"] != f"https://{shop_domain}/admin":
        raise SessionTokenError(f"Session token was issued for {claims['dest']!r}, not https://{shop_domain}")
    return claims
