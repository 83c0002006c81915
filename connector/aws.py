"""Make boto3 clients the same way for every AWS service Worn uses (any endpoint: AWS, moto, MinIO)."""

from __future__ import annotations

import os
from typing import Any


def client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """Return a boto3 client with standard retries and short connect timeouts."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30),
    )
