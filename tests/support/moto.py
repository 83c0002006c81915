"""A moto server (AWS emulator) on 127.0.0.1, reached by boto3 over real HTTP."""

from __future__ import annotations

import socket

import httpx


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset(endpoint: str) -> None:
    """Wipe every bucket and queue the server holds."""
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
