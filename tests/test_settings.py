"""Settings: safe defaults, environment and file, and one clear line per wrong value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.settings import DEV_API_SECRET, load_settings
from renderer.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_work_on_one_machine(tmp_path: Path) -> None:
    settings = load_settings(DATA_DIR=tmp_path)
    assert settings.database_url == f"sqlite:///{(tmp_path / 'worn.sqlite').resolve()}"
    assert settings.storage_url == str((tmp_path / "files").resolve())
    assert settings.QUEUE_URL == "db"
    assert settings.SHOPIFY_API_VERSION == "2026-10"
    assert settings.STYLES_DIR == ROOT / "config" / "house-styles"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "worn.env"
    file.write_text("QUEUE_MAX_ATTEMPTS=7\nSHOPIFY_API_VERSION=2026-07\n")
    monkeypatch.setenv("SHOPIFY_API_VERSION", "2027-01")
    settings = load_settings(file)
    assert settings.QUEUE_MAX_ATTEMPTS == 7
    assert settings.SHOPIFY_API_VERSION == "2027-01"
    monkeypatch.setenv("WORN_SETTINGS_FILE", str(file))
    assert load_settings().QUEUE_MAX_ATTEMPTS == 7


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/worn")
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/worn"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@localhost/worn", "setting DATABASE_URL: expected sqlite:///"),
        ("QUEUE_URL", "redis://localhost", "setting QUEUE_URL: expected 'db'"),
        ("STORAGE_URL", "gs://bucket", "setting STORAGE_URL: expected a folder path"),
        ("STORAGE_URL", "s3://", "setting STORAGE_URL: expected a bucket name"),
        ("SHOPIFY_API_VERSION", "2026-05", "setting SHOPIFY_API_VERSION: expected a quarterly version"),
        ("SHOPIFY_APP_URL", "ftp://x", "setting SHOPIFY_APP_URL: expected an http(s) URL"),
        ("QUEUE_MAX_ATTEMPTS", "0", "setting QUEUE_MAX_ATTEMPTS: Input should be greater than or equal to 1"),
        (
            "QUEUE_VISIBILITY_SECONDS",
            "soon",
            "setting QUEUE_VISIBILITY_SECONDS: Input should be a valid integer",
        ),
        ("LOG_LEVEL", "LOUD", "setting LOG_LEVEL: Input should be 'DEBUG'"),
        ("WEBHOOK_PROCESSING", "later", "setting WEBHOOK_PROCESSING: Input should be 'inline' or 'deferred'"),
        ("GPU_COMPILE", "max", "setting GPU_COMPILE: Input should be 'none', 'regional' or 'full'"),
        ("TOKEN_ENCRYPTION_KEY", "hunter2", "setting TOKEN_ENCRYPTION_KEY: key 1 is not a Fernet key"),
        ("SHOPIFY_API_SECRET", "short", "setting SHOPIFY_API_SECRET: expected the app's client secret"),
    ],
)
def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(expected)
    assert "\n" not in message
    if name in ("TOKEN_ENCRYPTION_KEY", "SHOPIFY_API_SECRET"):
        assert value not in message  # secrets are never echoed


def test_production_refuses_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(
        ConfigError, match="production needs these set explicitly: SHOPIFY_API_KEY, SHOPIFY_API_SECRET"
    ):
        load_settings()
    monkeypatch.setenv("SHOPIFY_API_KEY", "k")
    monkeypatch.setenv("SHOPIFY_API_SECRET", "shpss_" + "0123456789abcdef" * 2)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SHOPIFY_APP_URL", "https://worn.example.com")
    settings = load_settings()
    assert settings.SHOPIFY_API_SECRET != DEV_API_SECRET


def test_missing_settings_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.env")


def test_cli_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://x", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "webhooks.cli", "migrate"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "worn migrate: setting DATABASE_URL: expected sqlite:///path/to/file.db or "
        "postgresql://user@host:5432/db (got 'mysql://x')"
    ]
    assert "Traceback" not in result.stderr


def test_secrets_come_from_aws_secrets_manager(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import boto3

    key = Fernet.generate_key().decode()
    boto3.client("secretsmanager", endpoint_url=aws).create_secret(
        Name="worn/prod",
        SecretString=json.dumps(
            {"SHOPIFY_API_SECRET": "from-the-vault-" + "x" * 32, "TOKEN_ENCRYPTION_KEY": key}
        ),
    )
    monkeypatch.setenv("WORN_SECRETS_ID", "worn/prod")
    monkeypatch.setenv("WORN_SECRETS_ENDPOINT", aws)
    settings = load_settings()
    assert settings.SHOPIFY_API_SECRET == "from-the-vault-" + "x" * 32
    assert settings.TOKEN_ENCRYPTION_KEY == key
    monkeypatch.setenv("SHOPIFY_API_SECRET", "env-wins-" + "y" * 32)
    assert load_settings().SHOPIFY_API_SECRET == "env-wins-" + "y" * 32
    monkeypatch.setenv("WORN_SECRETS_ID", "worn/missing")
    with pytest.raises(ConfigError, match="setting WORN_SECRETS_ID: secret 'worn/missing'"):
        load_settings()
