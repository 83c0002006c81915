"""Logs: JSON lines with the ids of the work in hand, and never a secret."""

from __future__ import annotations

import io
import json
import logging

from connector.logs import configure_logging, log_context


def test_json_lines_carry_context_ids_and_hide_secrets() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "auto", secrets=("my-app-secret",), stream=stream)
    log = logging.getLogger("worn.test")
    with log_context(shop="acme.myshopify.com", delivery="wh-1"):
        with log_context(job=42):
            log.info("token exchange answered access_token=shpat_0123456789abcdef using my-app-secret")
        log.warning("header X-Shopify-Access-Token: shpua_secretsecretsecret")
    log.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (
        lines[0]["shop"] == "acme.myshopify.com" and lines[0]["delivery"] == "wh-1" and lines[0]["job"] == 42
    )
    assert "job" not in lines[1] and lines[1]["level"] == "warning"
    assert "shop" not in lines[2]
    text = stream.getvalue()
    for secret in ("shpat_0123456789abcdef", "my-app-secret", "shpua_secretsecretsecret"):
        assert secret not in text
    assert "access_token=***" in text


def test_text_format_for_people() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "text", stream=stream)
    with log_context(shop="acme"):
        logging.getLogger("worn.test").info("hello")
    assert stream.getvalue().rstrip().endswith("worn.test: hello  [shop=acme]")
