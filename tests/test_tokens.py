"""Tokens are encrypted at rest: the raw token never reaches the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from connector.crypto import TokenCipher, TokenDecryptError, cipher_for, local_key
from connector.db import Database
from connector.shops import get_or_create_shop, shop_by_domain
from connector.tokens import TokenSet, TokenStore

ACCESS = "shpat_" + "a1b2c3d4" * 4
REFRESH = "shprt_" + "z9y8x7w6" * 4


def test_raw_tokens_never_reach_the_database(db: Database) -> None:
    store = TokenStore(TokenCipher(Fernet.generate_key().decode()))
    expires = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    with db.session() as session:
        shop = get_or_create_shop(session, "acme.myshopify.com")
        store.save(shop, TokenSet(ACCESS, expires, REFRESH, expires + dt.timedelta(days=30), "read_products"))
    with db.session() as session:
        shop = shop_by_domain(session, "acme")
        assert shop is not None
        assert store.load(shop) == TokenSet(
            ACCESS, expires, REFRESH, expires + dt.timedelta(days=30), "read_products"
        )
        assert ACCESS not in repr(shop) and ACCESS not in repr(store.load(shop))
        dump = session.execute(text("SELECT * FROM shops")).all()
    assert ACCESS not in str(dump) and REFRESH not in str(dump)
    db.dispose()
    if db.dialect == "sqlite":  # and not in any byte of the file either
        path = Path(db.url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                data = file.read_bytes()
                assert ACCESS.encode() not in data and REFRESH.encode() not in data


def test_drop_forgets_tokens(db: Database) -> None:
    store = TokenStore(TokenCipher(Fernet.generate_key().decode()))
    with db.session() as session:
        shop = get_or_create_shop(session, "acme")
        store.save(shop, TokenSet(ACCESS))
        version = shop.token_version
        store.drop(shop)
        assert store.load(shop) is None
        assert shop.token_version == version + 1


def test_key_rotation_keeps_old_tokens_readable() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    ciphertext = TokenCipher(old).encrypt(ACCESS)
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(ciphertext) == ACCESS
    assert TokenCipher(new).decrypt(rotated.rotate(ciphertext)) == ACCESS
    with pytest.raises(TokenDecryptError, match="restore the previous key"):
        TokenCipher(new).decrypt(ciphertext)


def test_development_key_is_generated_once_and_private(tmp_path: Path, make_settings) -> None:  # type: ignore[no-untyped-def]
    key = local_key(tmp_path)
    assert local_key(tmp_path) == key
    assert (tmp_path / "token.key").stat().st_mode & 0o777 == 0o600
    settings = make_settings(DATA_DIR=tmp_path)
    assert cipher_for(settings).decrypt(TokenCipher(key).encrypt("x")) == "x"
