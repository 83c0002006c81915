"""Hold the dev-shop's settings and its fault switches as plain, validated dataclasses."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderer.errors import ConfigError

API_VERSION_PATTERN = re.compile(r"^(\d{4})-(01|04|07|10)$")

# Shopify's documented retry policy is 8 retries over about 4 hours with exponential backoff.
SHOPIFY_RETRY_DELAYS_S = (60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 7680.0)

DEFAULT_SCOPES = ("read_products", "write_products", "read_files", "write_files")


@dataclass
class FaultSwitches:
    """Faults the simulator injects, each off by default; rates are probabilities from 0 to 1.

    The ``*_next`` counters fire on the next N occasions and then switch themselves off, which
    makes a test deterministic; the ``*_rate`` switches fire at random (seeded by ``seed``).
    """

    webhook_duplicate_rate: float = 0.0
    webhook_drop_rate: float = 0.0
    webhook_delay_s: float = 0.0
    webhook_out_of_order: bool = False
    webhook_reorder_window_s: float = 0.3
    graphql_throttle_next: int = 0
    graphql_throttle_rate: float = 0.0
    graphql_error_next: int = 0
    graphql_error_rate: float = 0.0
    graphql_error_status: int = 503
    media_processing_delay_s: float | None = None
    media_fail_next: int = 0
    seed: int = 0

    def validate(self) -> None:
        """Refuse values outside their range, naming the switch, the value and the range."""
        for name in (
            "webhook_duplicate_rate",
            "webhook_drop_rate",
            "graphql_throttle_rate",
            "graphql_error_rate",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"fault switch {name} must be a probability from 0 to 1, got {value!r}")
        for name in ("webhook_delay_s", "webhook_reorder_window_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"fault switch {name} must be a number of seconds >= 0, got {value!r}")
        if self.media_processing_delay_s is not None and (
            not isinstance(self.media_processing_delay_s, int | float) or self.media_processing_delay_s < 0
        ):
            raise ConfigError(
                f"fault switch media_processing_delay_s must be null or seconds >= 0, "
                f"got {self.media_processing_delay_s!r}"
            )
        for name in ("graphql_throttle_next", "graphql_error_next", "media_fail_next", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"fault switch {name} must be a whole number >= 0, got {value!r}")
        if not isinstance(self.webhook_out_of_order, bool):
            raise ConfigError(
                f"fault switch webhook_out_of_order must be true or false, got {self.webhook_out_of_order!r}"
            )
        if self.graphql_error_status not in (500, 502, 503, 504):
            raise ConfigError(
                "fault switch graphql_error_status must be one of 500, 502, 503, 504, "
                f"got {self.graphql_error_status!r}"
            )

    def merged(self, changes: dict[str, Any]) -> FaultSwitches:
        """Return a copy with ``changes`` applied; unknown names are refused, not ignored."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown fault switch(es) {unknown}; known switches are {sorted(known)}")
        updated = dataclasses.replace(self, **changes)
        updated.validate()
        return updated

    def to_dict(self) -> dict[str, Any]:
        """Return the switches as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass
class DevShopConfig:
    """Configure one dev-shop: the app it serves, its timings, where it keeps state, its faults.

    ``api_key``/``api_secret`` are the app's SHOPIFY_API_KEY/SHOPIFY_API_SECRET: the simulator
    signs webhooks and session tokens with the secret and accepts token exchange for the key.
    ``public_url`` is where browsers and the app reach the simulator (image URLs and staged
    upload targets point there); when empty the server fills it in from its bound address.
    """

    api_key: str = "devshop-api-key"
    api_secret: str = "devshop-api-secret-0123456789abcdef"
    app_webhook_url: str | None = None
    api_version: str = "2026-10"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    public_url: str = ""
    media_processing_delay_s: float = 1.0
    reorder_job_delay_s: float = 0.5
    webhook_retry_delays_s: tuple[float, ...] = SHOPIFY_RETRY_DELAYS_S
    webhook_connect_timeout_s: float = 1.0
    webhook_timeout_s: float = 5.0
    webhook_concurrency: int = 4
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 90 * 24 * 3600
    refresh_recovery_window_s: int = 30 * 24 * 3600
    session_token_ttl_s: int = 60
    legacy_tokens_rejected_from: str = "2027-01-01T00:00:00Z"
    throttle_maximum_available: float = 2000.0
    throttle_restore_rate: float = 100.0
    max_query_cost: int = 1000
    max_media_per_product: int = 250
    max_upload_bytes: int = 20 * 1024 * 1024
    max_image_megapixels: float = 25.0
    data_dir: Path | None = None
    seed: bool = True
    seed_photos_dir: Path | None = None
    seed_shop: str = "worn-demo"
    faults: FaultSwitches = field(default_factory=FaultSwitches)

    def validate(self) -> None:
        """Refuse a configuration that cannot work, naming the setting and what it expects."""
        if not self.api_key or not self.api_secret:
            raise ConfigError(
                "dev-shop api_key and api_secret must be non-empty (the app's SHOPIFY_API_KEY/SECRET)"
            )
        if not API_VERSION_PATTERN.match(self.api_version):
            raise ConfigError(
                f"dev-shop api_version must look like 2026-10 (YYYY-01/04/07/10), got {self.api_version!r}"
            )
        if self.app_webhook_url is not None and not re.match(r"^https?://[^/\s]+", self.app_webhook_url):
            raise ConfigError(
                f"dev-shop app_webhook_url must be an http(s) URL, got {self.app_webhook_url!r}"
            )
        for name in (
            "media_processing_delay_s",
            "reorder_job_delay_s",
            "webhook_connect_timeout_s",
            "webhook_timeout_s",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"dev-shop {name} must be >= 0 seconds, got {getattr(self, name)!r}")
        if any(d < 0 for d in self.webhook_retry_delays_s):
            raise ConfigError(
                f"dev-shop webhook_retry_delays_s must all be >= 0, got {self.webhook_retry_delays_s!r}"
            )
        if self.webhook_concurrency < 1:
            raise ConfigError(f"dev-shop webhook_concurrency must be >= 1, got {self.webhook_concurrency!r}")
        if self.throttle_maximum_available <= 0 or self.throttle_restore_rate <= 0:
            raise ConfigError("dev-shop throttle_maximum_available and throttle_restore_rate must be > 0")
        if self.seed_photos_dir is not None and not Path(self.seed_photos_dir).is_dir():
            raise ConfigError(f"dev-shop seed_photos_dir {str(self.seed_photos_dir)!r} is not a directory")
        if not re.match(r"^[a-z0-9][a-z0-9-]*$", self.seed_shop):
            raise ConfigError(
                f"dev-shop seed_shop must be a shop handle like 'worn-demo', got {self.seed_shop!r}"
            )
        self.faults.validate()
