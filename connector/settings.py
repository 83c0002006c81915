"""Read Worn's settings from the environment and an optional settings file, once, with clear errors."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    AWSSecretsManagerSettingsSource,
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from renderer.errors import ConfigError

# The app credentials Worn uses against its own simulator (`worn dev-shop`) when none are configured. They
# are refused in production, where they would let anyone sign a webhook.
DEV_API_KEY = "worn-dev-app"
DEV_API_SECRET = "worn-dev-secret-for-the-local-dev-shop-only"

_API_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
_DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Hold every setting Worn reads; each has a safe default for a single machine."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    ENVIRONMENT: Literal["development", "production"] = "development"

    SHOPIFY_API_KEY: str = DEV_API_KEY
    SHOPIFY_API_SECRET: str = DEV_API_SECRET
    SHOPIFY_API_SECRET_OLD: str | None = None
    SHOPIFY_API_VERSION: str = "2026-10"
    SHOPIFY_APP_URL: str = "http://127.0.0.1:8000"
    # Where `https://{shop}.myshopify.com` requests go instead (the dev-shop, or a corporate proxy).
    SHOPIFY_BASE_URL: str | None = None

    DATA_DIR: Path = _DEFAULT_DATA_DIR
    DATABASE_URL: str = ""
    QUEUE_URL: str = "db"
    STORAGE_URL: str = ""
    TOKEN_ENCRYPTION_KEY: str = ""
    MODELS_DIR: Path | None = None
    # torch.compile on the GPU worker: none, regional (the UNet's repeated blocks) or full (see README).
    GPU_COMPILE: Literal["none", "regional", "full"] = "none"
    STYLES_DIR: Path = Path(__file__).resolve().parent.parent / "config" / "house-styles"
    DEFAULT_STYLE: str = "studio"

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["auto", "json", "text"] = "auto"

    WEBHOOK_MAX_BODY_BYTES: int = Field(default=2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # inline: a product delivery is decided inside the request (the answer carries the decision);
    # deferred: the request verifies and records it, and `worn serve`'s background process decides it
    # moments later (on PostgreSQL about twice the deliveries per second; see README, Benchmarks).
    WEBHOOK_PROCESSING: Literal["inline", "deferred"] = "inline"
    QUEUE_VISIBILITY_SECONDS: int = Field(default=300, ge=1, le=43200)
    QUEUE_MAX_ATTEMPTS: int = Field(default=5, ge=1, le=100)
    RECONCILE_MINUTES: int = Field(default=10, ge=1, le=1440)
    # Refresh an expiring offline token this long before it expires (Shopify's tokens live 60 minutes).
    TOKEN_REFRESH_MARGIN_SECONDS: int = Field(default=300, ge=60, le=1800)
    # Limits on downloading a product's source photo from Shopify's CDN.
    SOURCE_PHOTO_MAX_BYTES: int = Field(default=20 * 1024 * 1024, ge=64 * 1024, le=200 * 1024 * 1024)
    SOURCE_PHOTO_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0, le=300)
    # Retries of one Admin API call (THROTTLED, 429, 5xx, network): how many, and the first wait (doubling).
    SHOPIFY_MAX_RETRIES: int = Field(default=6, ge=0, le=20)
    SHOPIFY_RETRY_BASE_SECONDS: float = Field(default=1.0, ge=0.01, le=60)
    # How long a write-back waits for Shopify to finish processing an image before it retries later.
    MEDIA_READY_TIMEOUT_SECONDS: float = Field(default=120.0, ge=1, le=3600)

    @field_validator("SHOPIFY_API_SECRET", "SHOPIFY_API_SECRET_OLD")
    @classmethod
    def _secret_length(cls, value: str | None) -> str | None:
        # Shopify's client secrets are 32+ characters; a shorter one is a typo, and too weak for HS256.
        if value is not None and len(value.encode("utf-8")) < 32:
            raise ValueError("expected the app's client secret from the Dev Dashboard (32+ characters)")
        return value

    @field_validator("SHOPIFY_API_VERSION")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if not _API_VERSION.match(value):
            raise ValueError("expected a quarterly version such as 2026-10 (YYYY-01/04/07/10) or 'unstable'")
        return value

    @field_validator("SHOPIFY_APP_URL", "SHOPIFY_BASE_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http(s) URL such as https://worn.example.com")
        return value.rstrip("/")

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("expected sqlite:///path/to/file.db or postgresql://user@host:5432/db")
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver Worn ships with.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("QUEUE_URL")
    @classmethod
    def _queue_url(cls, value: str) -> str:
        if value != "db" and not value.startswith("sqs://"):
            raise ValueError(
                "expected 'db' (a table in DATABASE_URL) or sqs://NAME-PREFIX[?region=..&endpoint=..]"
            )
        return value

    @field_validator("STORAGE_URL")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        if value and not (value.startswith(("s3://", "file://")) or "://" not in value):
            raise ValueError(
                "expected a folder path, file:///folder or s3://bucket/prefix[?endpoint=..&region=..]"
            )
        if value.startswith("s3://") and not urlsplit(value).netloc:
            raise ValueError("expected a bucket name after s3://")
        return value

    @field_validator("TOKEN_ENCRYPTION_KEY")
    @classmethod
    def _token_key(cls, value: str) -> str:
        from connector.crypto import validate_keys

        if value:
            validate_keys(value)
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.ENVIRONMENT != "production":
            return self
        missing = []
        if self.SHOPIFY_API_KEY == DEV_API_KEY:
            missing.append("SHOPIFY_API_KEY")
        if self.SHOPIFY_API_SECRET == DEV_API_SECRET:
            missing.append("SHOPIFY_API_SECRET")
        if not self.TOKEN_ENCRYPTION_KEY:
            missing.append("TOKEN_ENCRYPTION_KEY")
        if not self.SHOPIFY_APP_URL or not self.SHOPIFY_APP_URL.startswith("https://"):
            missing.append("SHOPIFY_APP_URL (https)")
        if missing:
            raise ValueError("production needs these set explicitly: " + ", ".join(missing))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read, strongest first: explicit overrides, environment, AWS Secrets Manager, settings file."""
        sources = [init_settings, env_settings]
        secret_id = os.environ.get("WORN_SECRETS_ID")
        if secret_id:
            # One JSON secret whose keys are setting names (SHOPIFY_API_SECRET, TOKEN_ENCRYPTION_KEY, ...),
            # so secrets never sit in a Lambda's environment variables.
            sources.append(
                AWSSecretsManagerSettingsSource(
                    settings_cls, secret_id, endpoint_url=os.environ.get("WORN_SECRETS_ENDPOINT") or None
                )
            )
        return (*sources, dotenv_settings)

    # Derived values -------------------------------------------------------------------------------------

    @cached_property
    def database_url(self) -> str:
        """Return DATABASE_URL, or the SQLite file inside DATA_DIR when none is set."""
        return self.DATABASE_URL or f"sqlite:///{(self.DATA_DIR / 'worn.sqlite').resolve()}"

    @cached_property
    def storage_url(self) -> str:
        """Return STORAGE_URL, or the local `files` folder inside DATA_DIR when none is set."""
        return self.STORAGE_URL or str((self.DATA_DIR / "files").resolve())

    @property
    def is_dev_shop(self) -> bool:
        """Say whether Worn talks to the local simulator rather than to Shopify."""
        return self.SHOPIFY_BASE_URL is not None


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not key:  # a rule across several settings
        return f"settings: {message}"
    value = error.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {_mask(key, value)!r})"
    return f"setting {key}: {message}{shown}"


def _mask(key: str, value: object) -> object:
    if any(word in key for word in ("SECRET", "KEY", "TOKEN", "PASSWORD")):
        return "***"
    return value


def load_settings(settings_file: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Build the settings from the environment, a settings file (dotenv format) and explicit overrides.

    The file comes from `settings_file` or the WORN_SETTINGS_FILE variable; environment variables win over
    it and explicit overrides win over both. Raise ConfigError with one line per wrong setting.
    """
    path = settings_file or os.environ.get("WORN_SETTINGS_FILE")
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"setting WORN_SETTINGS_FILE: no such file {str(path)!r}")
    try:
        return Settings(_env_file=path, **overrides)  # type: ignore[call-arg, arg-type]
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(error) for error in exc.errors())) from None
    except Exception as exc:  # the secrets store (boto3) failed: say which secret and why
        if os.environ.get("WORN_SECRETS_ID") and type(exc).__module__.startswith(("botocore", "boto3")):
            raise ConfigError(
                f"setting WORN_SECRETS_ID: secret {os.environ['WORN_SECRETS_ID']!r}: {exc}"
            ) from None
        raise
