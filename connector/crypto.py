"""Encrypt shop tokens at rest with Fernet (AES-128-CBC + HMAC), keys rotatable."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from renderer.errors import ConfigError, WornError


class TokenDecryptError(WornError):
    """A stored token cannot be decrypted: TOKEN_ENCRYPTION_KEY changed without keeping the old key."""


def validate_keys(value: str) -> list[Fernet]:
    """Parse a comma-separated list of Fernet keys (the first encrypts, all decrypt); raise on a bad one."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError("expected one or more Fernet keys separated by commas")
    fernets = []
    for index, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ValueError(
                f"key {index} is not a Fernet key (32 url-safe base64 bytes); make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from None
    return fernets


class TokenCipher:
    """Encrypt and decrypt short secrets; old keys keep decrypting after a rotation."""

    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet(validate_keys(keys))

    def encrypt(self, plaintext: str) -> bytes:
        """Return the ciphertext of `plaintext`."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        """Return the plaintext, or raise TokenDecryptError."""
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError(
                "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY; restore the previous key "
                "(list it after the new one, comma-separated) or reinstall the app on the shop"
            ) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt `ciphertext` under the first (newest) key."""
        return self._fernet.rotate(ciphertext)


def local_key(data_dir: Path) -> str:
    """Return the development key kept in DATA_DIR/token.key, creating it (mode 0600) on first use."""
    path = data_dir / "token.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def cipher_for(settings: object) -> TokenCipher:
    """Build the cipher from TOKEN_ENCRYPTION_KEY, or from the local key file in development."""
    key = getattr(settings, "TOKEN_ENCRYPTION_KEY", "")
    if key:
        return TokenCipher(key)
    if getattr(settings, "ENVIRONMENT", "development") == "production":
        raise ConfigError("setting TOKEN_ENCRYPTION_KEY: required in production")
    return TokenCipher(local_key(Path(getattr(settings, "DATA_DIR"))))  # noqa: B009
