"""Deliver signed webhooks to the app from a background queue, retrying like Shopify does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from devshop.clock import Clock, iso_utc
from devshop.config import DevShopConfig
from devshop.faults import Faults
from devshop.scheduler import Scheduler

USER_AGENT = "Shopify-Captain-Hook"
MAX_LOG_ENTRIES = 10_000


@dataclass
class Delivery:
    """One webhook delivery: retries and duplicates reuse its ``webhook_id`` and body."""

    webhook_id: str
    event_id: str
    topic: str
    shop_domain: str
    api_version: str
    url: str | None
    body: bytes
    hmac: str
    triggered_at: str
    attempts: int = 0

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers Shopify sends with this delivery."""
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": self.hmac,
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Triggered-At": self.triggered_at,
            "X-Shopify-Event-Id": self.event_id,
        }


def sign(body: bytes, secret: str) -> str:
    """Return base64(HMAC-SHA256(secret, body)), the X-Shopify-Hmac-Sha256 value."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


class WebhookSender:
    """Queue deliveries, send them on worker threads, retry failures, and log every attempt."""

    def __init__(self, config: DevShopConfig, clock: Clock, scheduler: Scheduler, faults: Faults) -> None:
        self._config = config
        self._clock = clock
        self._scheduler = scheduler
        self._faults = faults
        self.webhook_url = config.app_webhook_url
        self._client = httpx.Client(
            timeout=httpx.Timeout(config.webhook_timeout_s, connect=config.webhook_connect_timeout_s),
            follow_redirects=False,  # Shopify counts a 3xx as a failed delivery.
        )
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._held: list[Delivery] = []

    def send(
        self, shop_domain: str, topic: str, payload: dict[str, Any], event_id: str | None = None
    ) -> Delivery:
        """Queue ``payload`` for ``topic``; return the delivery (its ids are in the headers)."""
        # Shopify serialises compactly and in UTF-8; the HMAC covers exactly these bytes.
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        now = self._clock.now()
        delivery = Delivery(
            webhook_id=str(uuid.uuid4()),
            event_id=event_id or str(uuid.uuid4()),
            topic=topic,
            shop_domain=shop_domain,
            api_version=self._config.api_version,
            url=self.webhook_url,  # retries go to the address configured at trigger time
            body=body,
            hmac=sign(body, self._config.api_secret),
            triggered_at=now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z",
        )
        switches = self._faults.switches
        if self._faults.fire(None, "webhook_drop_rate"):
            self._record(
                delivery, outcome="dropped", status=None, error=None, latency_ms=0.0, duplicate=False
            )
            return delivery
        if switches.webhook_out_of_order:
            with self._lock:
                self._held.append(delivery)
                first = len(self._held) == 1
            if first:
                self._scheduler.call_later(
                    switches.webhook_reorder_window_s + switches.webhook_delay_s, self._flush_held
                )
            return delivery
        self._scheduler.call_later(switches.webhook_delay_s, lambda: self._attempt(delivery))
        return delivery

    def log(self, shop_domain: str | None = None, topic: str | None = None) -> list[dict[str, Any]]:
        """Return the logged attempts, oldest first, optionally for one shop and/or topic."""
        with self._lock:
            entries = list(self._log)
        return [
            e
            for e in entries
            if (shop_domain is None or e["shop"] == shop_domain) and (topic is None or e["topic"] == topic)
        ]

    def close(self) -> None:
        """Release the HTTP client."""
        self._client.close()

    def _flush_held(self) -> None:
        with self._lock:
            batch, self._held = self._held, []
        # Newest first, sent one after the other so the app really sees them out of order.
        for delivery in reversed(batch):
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery, duplicate: bool = False) -> None:
        if delivery.url is None:
            self._record(
                delivery,
                outcome="no_address",
                status=None,
                error="app_webhook_url is not set",
                latency_ms=0.0,
                duplicate=duplicate,
            )
            return
        if not duplicate:
            delivery.attempts += 1
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        response_text = ""
        try:
            response = self._client.post(delivery.url, content=delivery.body, headers=delivery.headers())
            status = response.status_code
            response_text = response.text[:500]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        ok = status is not None and 200 <= status < 300
        self._record(
            delivery,
            outcome="delivered" if ok else "failed",
            status=status,
            error=error,
            latency_ms=latency_ms,
            duplicate=duplicate,
            response_text=response_text,
        )
        if duplicate:
            return
        if ok:
            if self._faults.fire(None, "webhook_duplicate_rate"):
                self._scheduler.call_later(0.0, lambda: self._attempt(delivery, duplicate=True))
            return
        delays = self._config.webhook_retry_delays_s
        if delivery.attempts <= len(delays):
            self._scheduler.call_later(delays[delivery.attempts - 1], lambda: self._attempt(delivery))
        else:
            self._record(
                delivery,
                outcome="gave_up",
                status=None,
                error=f"failed {delivery.attempts} times",
                latency_ms=0.0,
                duplicate=False,
            )

    def _record(
        self,
        delivery: Delivery,
        *,
        outcome: str,
        status: int | None,
        error: str | None,
        latency_ms: float,
        duplicate: bool,
        response_text: str = "",
    ) -> None:
        entry = {
            "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id,
            "topic": delivery.topic,
            "shop": delivery.shop_domain,
            "url": delivery.url,
            "attempt": delivery.attempts,
            "duplicate": duplicate,
            "outcome": outcome,
            "status": status,
            "error": error,
            "latency_ms": round(latency_ms, 2),
            "at": iso_utc(self._clock.now()),
            "triggered_at": delivery.triggered_at,
            "response": response_text,
            "payload": json.loads(delivery.body),
        }
        with self._lock:
            self._log.append(entry)
            if len(self._log) > MAX_LOG_ENTRIES:
                del self._log[: len(self._log) - MAX_LOG_ENTRIES]
