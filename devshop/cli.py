"""Parse ``dev-shop`` command-line options into a DevShopConfig and serve it."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from devshop.config import SHOPIFY_RETRY_DELAYS_S, DevShopConfig, FaultSwitches
from devshop.server import serve
from renderer.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the dev-shop options to ``parser`` (the ``worn dev-shop`` subcommand reuses this)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8081, help="port to listen on (default 8081; 0 = any free port)"
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("DEVSHOP_WEBHOOK_URL"),
        help="where to POST webhooks, e.g. http://127.0.0.1:8000/webhooks",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("SHOPIFY_API_KEY", "devshop-api-key"),
        help="the app's API key (default: $SHOPIFY_API_KEY)",
    )
    parser.add_argument(
        "--api-secret",
        default=os.environ.get("SHOPIFY_API_SECRET", "devshop-api-secret-0123456789abcdef"),
        help="the app's API secret, signs webhooks and session tokens (default: $SHOPIFY_API_SECRET)",
    )
    parser.add_argument("--api-version", default=os.environ.get("SHOPIFY_API_VERSION", "2026-10"))
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep state here across runs (default: memory)"
    )
    parser.add_argument("--no-seed", action="store_true", help="start without the seeded demo shop")
    parser.add_argument(
        "--seed-photos",
        type=Path,
        default=None,
        help="directory of product photos named by kind (necklace*, ring*, ...)",
    )
    parser.add_argument("--public-url", default="", help="URL the app and browsers use to reach the dev-shop")
    parser.add_argument("--media-delay", type=float, default=1.0, help="seconds until new media is READY")
    parser.add_argument(
        "--retry-delays",
        default=None,
        help="comma-separated webhook retry delays in seconds (default: Shopify's, about 4 h)",
    )
    parser.add_argument(
        "--faults",
        default=None,
        help='initial fault switches as JSON, e.g. {"webhook_drop_rate": 0.2, "webhook_out_of_order": true}',
    )


def config_from_args(args: argparse.Namespace) -> DevShopConfig:
    """Turn parsed options into a validated DevShopConfig."""
    faults = FaultSwitches()
    if args.faults:
        try:
            changes = json.loads(args.faults)
        except ValueError as exc:
            raise ConfigError(
                f"--faults must be a JSON object of fault switches, got {args.faults!r}"
            ) from exc
        if not isinstance(changes, dict):
            raise ConfigError(f"--faults must be a JSON object of fault switches, got {args.faults!r}")
        faults = faults.merged(changes)
    delays: tuple[float, ...] = SHOPIFY_RETRY_DELAYS_S
    if args.retry_delays:
        try:
            delays = tuple(float(d) for d in args.retry_delays.split(","))
        except ValueError as exc:
            raise ConfigError(
                f"--retry-delays must be comma-separated seconds like 1,2,4, got {args.retry_delays!r}"
            ) from exc
    config = DevShopConfig(
        api_key=args.api_key,
        api_secret=args.api_secret,
        app_webhook_url=args.webhook_url,
        api_version=args.api_version,
        public_url=args.public_url,
        media_processing_delay_s=args.media_delay,
        webhook_retry_delays_s=delays,
        data_dir=args.data_dir,
        seed=not args.no_seed,
        seed_photos_dir=args.seed_photos,
        faults=faults,
    )
    config.validate()
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m devshop [options]``."""
    parser = argparse.ArgumentParser(prog="dev-shop", description="A local Shopify simulator for Worn.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        parser.error(str(exc))
    serve(args.host, args.port, config)
    return 0
