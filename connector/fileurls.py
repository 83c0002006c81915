"""Hand the merchant's browser short-lived URLs for a shop's stored images.

S3 storage gives presigned GET URLs. Local storage has no URLs of its own, so the app serves its files at
`/files/<key>?exp=..&sig=..`, where `sig` is an HMAC of the key and the expiry with a key derived from the
app secret. A URL is only ever minted for a key under the shop's own prefix (`shops/{shop_id}/`), so a
signature proves the key was handed to that shop's page. Expiry times are rounded up to the next hour so
the same image keeps the same URL for a while and the browser's cache works.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

from connector.settings import Settings
from connector.storage import Storage, check_key
from renderer.errors import InputError

FILES_PATH = "/files/"
_BUCKET_S = 3600
_PURPOSE = b"worn signed file urls v1"


def shop_prefix(shop_id: int) -> str:
    """Return the storage prefix under which every object of the shop lives."""
    return f"shops/{int(shop_id)}/"


def _derived(secret: str) -> bytes:
    # A key of its own, so a file signature can never be mistaken for a webhook or session signature.
    return hmac.new(secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()


class FileSigner:
    """Sign and check `/files/` URLs with the app secret (and the previous one during a rotation)."""

    def __init__(self, secret: str, old_secret: str | None = None) -> None:
        self._keys = [_derived(secret)] + ([_derived(old_secret)] if old_secret else [])

    @classmethod
    def from_settings(cls, settings: Settings) -> FileSigner:
        """Build the signer from SHOPIFY_API_SECRET (and SHOPIFY_API_SECRET_OLD)."""
        return cls(settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_OLD)

    def signature(self, key: str, expires: int) -> str:
        """Return the hex signature of `key` valid until the Unix time `expires`."""
        return hmac.new(self._keys[0], f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def check(self, key: str, expires: str, signature: str, *, now: float | None = None) -> str | None:
        """Return None when the signature is valid and unexpired, else the reason it is refused."""
        if not expires.isdigit() or len(expires) > 12:
            return "exp is not a Unix time"
        if int(expires) < (time.time() if now is None else now):
            return "the link has expired"
        message = f"{key}\n{int(expires)}".encode()
        for secret in self._keys:
            expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature):
                return None
        return "the signature does not match"


class FileUrls:
    """Mint image URLs for one shop's pages: S3 presigned, or the app's signed `/files/` route."""

    def __init__(self, storage: Storage, signer: FileSigner, *, base: str = "", lifetime: int = 3600) -> None:
        self.storage = storage
        self.signer = signer
        self.base = base.rstrip("/")
        self.lifetime = lifetime

    def url(self, shop_id: int, key: str | None, *, now: float | None = None) -> str | None:
        """Return a GET URL for `key`, which must lie under the shop's prefix; None for no key."""
        if key is None:
            return None
        check_key(key)
        if not key.startswith(shop_prefix(shop_id)):
            raise InputError(f"file {key!r} does not belong to shop {shop_id}")
        moment = time.time() if now is None else now
        # Round up to a whole hour past the lifetime: stable URLs within the hour, never under `lifetime`.
        expires = (int(moment + self.lifetime) // _BUCKET_S + 1) * _BUCKET_S
        presigned = self.storage.presigned_url(key, expires=int(expires - moment))
        if presigned is not None:
            return presigned
        query = urlencode({"exp": expires, "sig": self.signer.signature(key, expires)})
        return f"{self.base}{FILES_PATH}{quote(key)}?{query}"
