"""``python -m devshop --port N`` (what ``worn dev-shop`` runs) starts seeded and says where to look."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from renderer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_starts_seeded_on_the_given_port_and_prints_where_to_look() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPIFY_API_SECRET": "cli-secret-0123456789abcdef0123456"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devshop",
            "--port",
            str(port),
            "--webhook-url",
            "http://127.0.0.1:9/webhooks",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("Point Worn"):
                break
        banner = "".join(lines)
        assert f"Worn dev-shop running at http://127.0.0.1:{port}" in banner
        assert "worn-demo.myshopify.com (17 products)" in banner
        assert f"http://127.0.0.1:{port}/admin/api/2026-10/graphql.json" in banner
        assert "webhooks to   http://127.0.0.1:9/webhooks" in banner
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "Aurora Gold Chain Necklace" in page.text
    finally:
        process.terminate()
        process.communicate(timeout=10)  # drains and closes the pipe


def test_options_build_the_config() -> None:
    import argparse

    from devshop import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--retry-delays",
            "1,2.5",
            "--faults",
            '{"webhook_drop_rate": 0.5}',
            "--no-seed",
            "--media-delay",
            "0.2",
        ]
    )
    config = config_from_args(args)
    assert config.webhook_retry_delays_s == (1.0, 2.5) and config.faults.webhook_drop_rate == 0.5
    assert (config.seed, config.media_processing_delay_s) == (False, 0.2)
    bad = parser.parse_args(["--faults", '{"webhook_drop_rate": 5}'])
    with pytest.raises(ConfigError, match="webhook_drop_rate"):
        config_from_args(bad)


def test_bad_options_exit_with_a_message() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "devshop", "--api-version", "2026-11"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2 and "api_version" in done.stderr
