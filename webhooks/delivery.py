"""A Shopify webhook delivery as Worn records it: who sent which topic, when, under which id.

The same for an HTTPS delivery (headers) and an EventBridge event (`detail.metadata`), so both go down one
processing path. Header names are case-insensitive (HTTP/2 lowercases them).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from connector.shops import normalize_domain
from connector.snapshot import parse_time
from renderer.errors import InputError

log = logging.getLogger(__name__)

TOPIC = "X-Shopify-Topic"
HMAC = "X-Shopify-Hmac-Sha256"
SHOP = "X-Shopify-Shop-Domain"
API_VERSION = "X-Shopify-API-Version"
WEBHOOK_ID = "X-Shopify-Webhook-Id"
EVENT_ID = "X-Shopify-Event-Id"
TRIGGERED_AT = "X-Shopify-Triggered-At"
NAME = "X-Shopify-Name"

#: What shopify-app-js requires of a signed delivery (its `missing_headers` check).
REQUIRED = (TOPIC, HMAC, SHOP, API_VERSION, WEBHOOK_ID)

_TOPIC = re.compile(r"^[a-z0-9_]+(?:/[a-z0-9_]+){1,3}$")
_VERSION = re.compile(r"^(?:\d{4}-\d{2}|unstable)$")
_ID = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces: UUIDs and Shopify's composite ids


class HeaderError(InputError):
    """A delivery's headers are missing or malformed; the message names the header and the value."""


@dataclass(frozen=True)
class Delivery:
    """One delivery of one topic for one shop, identified by its webhook id (retries reuse it)."""

    topic: str
    shop_domain: str
    webhook_id: str
    api_version: str
    event_id: str | None = None
    triggered_at: dt.datetime | None = None
    source: str = "https"  # https | eventbridge


def missing_headers(headers: Mapping[str, str], names: tuple[str, ...] = REQUIRED) -> list[str]:
    """Return the names of the required headers absent or empty in `headers` (case-insensitive)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return [name for name in names if not str(lowered.get(name.lower(), "")).strip()]


def delivery_from_headers(headers: Mapping[str, str], *, source: str = "https") -> Delivery:
    """Read a delivery from its headers; raise HeaderError naming the first missing or malformed one.

    The optional headers (event id, triggered at) are kept only when well formed: a bad one is logged and
    dropped rather than refusing a delivery Shopify would retry in vain.
    """
    lowered = {key.lower(): str(value) for key, value in headers.items()}
    required = [TOPIC, SHOP, API_VERSION, WEBHOOK_ID]
    absent = missing_headers(lowered, tuple(required))
    if absent:
        raise HeaderError(f"missing header(s): {', '.join(absent)}")
    topic, version = lowered[TOPIC.lower()].strip(), lowered[API_VERSION.lower()].strip()
    webhook_id = lowered[WEBHOOK_ID.lower()].strip()
    if not _TOPIC.match(topic):
        raise HeaderError(f"header {TOPIC}: expected a topic such as products/update, got {topic!r:.100}")
    if not _VERSION.match(version):
        raise HeaderError(f"header {API_VERSION}: expected a version such as 2026-10, got {version!r:.100}")
    if not _ID.match(webhook_id):
        expected = "expected 1 to 255 printable characters without spaces"
        raise HeaderError(f"header {WEBHOOK_ID}: {expected}, got {webhook_id!r:.100}")
    try:
        domain = normalize_domain(lowered[SHOP.lower()])
    except InputError as exc:
        raise HeaderError(f"header {SHOP}: {exc}") from None

    event_id = lowered.get(EVENT_ID.lower(), "").strip() or None
    if event_id is not None and not _ID.match(event_id):
        log.warning("ignoring malformed %s %r", EVENT_ID, event_id[:100])
        event_id = None
    triggered_at = None
    if lowered.get(TRIGGERED_AT.lower(), "").strip():
        try:
            triggered_at = parse_time(lowered[TRIGGERED_AT.lower()], f"header {TRIGGERED_AT}")
        except InputError as exc:
            log.warning("ignoring %s", exc)
    return Delivery(topic, domain, webhook_id, version, event_id, triggered_at, source)
