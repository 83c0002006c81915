"""The one place Worn calls the Admin GraphQL API: pinned version, throttle-aware, retried, typed errors.

Every call goes through `shopifyapp.admin_graphql_request` with Worn's HTTP client (routed to the dev-shop
when SHOPIFY_BASE_URL is set). shopifyapp is asked for no retries of its own (`max_retries=0`): this module
retries THROTTLED, 429, 5xx and network errors under one declared `Backoff`, so a retry is never doubled and
every wait is counted. Before each request it consults a per-shop estimate of the leaky bucket (read from
`extensions.cost.throttleStatus`) and waits when the next query would not fit, instead of running it dry.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import httpx
import shopify_app

from connector import auth
from connector.httpclient import shopify_http
from connector.models import Shop
from connector.retrying import Backoff
from connector.services import Services
from connector.settings import Settings
from renderer.errors import WornError

log = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> Backoff:
    """Return the retry policy of one Admin API call (THROTTLED, 429, 5xx, network errors).

    The defaults (6 retries from 1 s, doubling, capped at 20 s) ride out about a minute of trouble.
    """
    base = settings.SHOPIFY_RETRY_BASE_SECONDS
    return Backoff(
        attempts=settings.SHOPIFY_MAX_RETRIES + 1, base=base, cap=max(base, 20.0), factor=2.0, jitter=0.25
    )


#: Assumed cost of an operation before Shopify told us its requestedQueryCost.
DEFAULT_COST = 50.0


# --- errors ----------------------------------------------------------------------------------------------


class AdminError(WornError):
    """A call to the Admin API failed; `code` is stable, the message names the shop and the operation."""

    code = "admin_error"
    retryable = False

    def __init__(self, message: str, *, shop: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.shop = shop
        self.operation = operation


@dataclass(frozen=True)
class UserError:
    """One entry of a mutation's userErrors: the input field path and Shopify's message."""

    field: tuple[str, ...]
    message: str
    code: str | None = None

    def __str__(self) -> str:
        where = ".".join(self.field) if self.field else "input"
        return f"{where}: {self.message}" + (f" ({self.code})" if self.code else "")


class UserErrors(AdminError):
    """Shopify refused a mutation's input (userErrors); retrying the same input will not help."""

    code = "user_errors"

    def __init__(self, errors: list[UserError], *, shop: str, operation: str) -> None:
        self.errors = tuple(errors)
        shown = "; ".join(str(error) for error in errors)
        super().__init__(f"{operation} on {shop} was refused: {shown}", shop=shop, operation=operation)

    def has_code(self, *codes: str) -> bool:
        """Say whether any error carries one of `codes`."""
        return any(error.code in codes for error in self.errors)


class GraphQLErrors(AdminError):
    """The request itself was wrong (invalid query, cost too high): a bug in Worn, not a passing fault."""

    code = "graphql_errors"


class AccessDenied(AdminError):
    """The app lacks a scope the call needs (HTTP 403 or ACCESS_DENIED): the merchant must grant it."""

    code = "access_denied"


class Unauthorized(AdminError):
    """Shopify rejected the shop's token even after a refresh: the merchant must open Worn again."""

    code = "unauthorized"


class AdminUnavailable(AdminError):
    """Shopify stayed throttled, failing or unreachable through every retry; try the job again later."""

    code = "admin_unavailable"
    retryable = True


# --- the leaky bucket, as far as Worn can see it ---------------------------------------------------------


@dataclass
class _Bucket:
    maximum: float
    available: float
    restore_rate: float
    at: float


class ThrottleState:
    """Per-shop estimates of Shopify's cost bucket, shared by every client in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._costs: dict[str, float] = {}

    def wait_before(self, shop: str, operation: str) -> float:
        """Return how long to wait so `operation` fits in the bucket, and reserve its cost."""
        with self._lock:
            bucket = self._buckets.get(shop)
            if bucket is None:
                return 0.0
            cost = min(self._costs.get(operation, DEFAULT_COST), bucket.maximum)
            now = self._clock()
            available = min(bucket.maximum, bucket.available + (now - bucket.at) * bucket.restore_rate)
            wait = 0.0 if available >= cost else (cost - available) / bucket.restore_rate
            # Reserve the points now so parallel callers in this process queue up behind this one.
            bucket.available, bucket.at = available - cost, now
            return wait

    def record(self, shop: str, operation: str, cost: dict[str, Any]) -> float | None:
        """Take in `extensions.cost`; return the wait a THROTTLED answer asks for, if it tells."""
        status = cost.get("throttleStatus") or {}
        requested = cost.get("requestedQueryCost")
        with self._lock:
            if isinstance(requested, int | float):
                self._costs[operation] = float(requested)
            try:
                bucket = _Bucket(
                    float(status["maximumAvailable"]),
                    float(status["currentlyAvailable"]),
                    float(status["restoreRate"]),
                    self._clock(),
                )
            except (KeyError, TypeError, ValueError):
                return None
            if bucket.restore_rate <= 0:
                return None
            self._buckets[shop] = bucket
        if isinstance(requested, int | float):
            return max(0.0, (float(requested) - bucket.available) / bucket.restore_rate)
        return None

    def cost_of(self, operation: str) -> float | None:
        """Return the requestedQueryCost Shopify last reported for `operation`."""
        with self._lock:
            return self._costs.get(operation)

    def forget(self, shop: str | None = None) -> None:
        """Drop the estimates of one shop (or all)."""
        with self._lock:
            if shop is None:
                self._buckets.clear()
                self._costs.clear()
            else:
                self._buckets.pop(shop, None)


THROTTLE = ThrottleState()


@cache
def operation(name: str) -> str:
    """Return the text of the named GraphQL operation (`connector/gql/NAME.graphql`)."""
    try:
        return (resources.files("connector.gql") / f"{name}.graphql").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no GraphQL operation {name!r} in connector/gql") from None


# --- the client ------------------------------------------------------------------------------------------


@dataclass
class CallStats:
    """What a client did: HTTP requests sent, retries, THROTTLED answers, and every wait with its reason."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    refreshed: int = 0
    waits: list[tuple[str, float]] = field(default_factory=list)

    @property
    def waited_s(self) -> float:
        """Return the seconds spent waiting in all."""
        return sum(seconds for _, seconds in self.waits)


@dataclass(frozen=True)
class _Failure:
    reason: str
    delay: float


class AdminClient:
    """Call the Admin API of one shop with its offline token, the pinned API version and the retry policy."""

    def __init__(
        self,
        services: Services,
        shop_id: int,
        domain: str,
        *,
        http: httpx.Client | None = None,
        retry: Backoff | None = None,
        throttle: ThrottleState = THROTTLE,
        sleep: Callable[[float], None] = time.sleep,
        clock: auth.Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.services = services
        self.shop_id = shop_id
        self.domain = domain
        self.http = http or shopify_http(services.settings)
        self.retry = retry or retry_policy(services.settings)
        self.throttle = throttle
        self.stats = CallStats()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    @classmethod
    def for_shop(cls, services: Services, shop: Shop, **kwargs: Any) -> AdminClient:
        """Return a client for `shop` (only its id and domain are read)."""
        return cls(services, shop.id, shop.domain, **kwargs)

    def __repr__(self) -> str:
        return f"AdminClient({self.domain!r})"

    def _access_token(self, rejected: str | None = None) -> str:
        kwargs: dict[str, Any] = {"http": self.http, "rejected": rejected}
        if self._clock is not None:
            kwargs["clock"] = self._clock
        return auth.access_token(self.services, self.shop_id, **kwargs)

    def _wait(self, reason: str, seconds: float) -> None:
        if seconds <= 0:
            return
        self.stats.waits.append((reason, seconds))
        log.debug("waiting %.2f s before calling %s (%s)", seconds, self.domain, reason)
        self._sleep(seconds)

    def query(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the named query; return its `data`."""
        return self._execute(name, variables)

    def mutate(self, name: str, variables: dict[str, Any], payload: str) -> dict[str, Any]:
        """Run the named mutation; return its `payload` object, or raise UserErrors when it has any."""
        data = self._execute(name, variables)
        result = data.get(payload)
        if not isinstance(result, dict):
            raise GraphQLErrors(
                f"{name} on {self.domain}: the answer has no {payload!r} object",
                shop=self.domain,
                operation=name,
            )
        errors = [
            UserError(
                tuple(str(part) for part in (item.get("field") or [])),
                str(item.get("message", "")),
                item.get("code"),
            )
            for key in ("userErrors", "mediaUserErrors")
            for item in (result.get(key) or [])
        ]
        if errors:
            raise UserErrors(errors, shop=self.domain, operation=name)
        return result

    def _execute(self, name: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        text = operation(name)
        token = self._access_token()  # a cheap read; renews the token when it is due
        refreshed = False
        failures = 0
        while True:
            self._wait("bucket estimate", self.throttle.wait_before(self.domain, name))
            self.stats.requests += 1
            result = shopify_app.admin_graphql_request(
                text,
                shop=auth.shop_handle(self.domain),
                access_token=token,
                api_version=self.services.settings.SHOPIFY_API_VERSION,
                variables=variables,
                max_retries=0,  # retries are this module's, declared in `self.retry`
                http_client=self.http,
            )
            raw = result.http_logs[-1].res if result.http_logs else result.response
            body = _json(raw.body)
            cost = (
                body.get("extensions", {}).get("cost") if isinstance(body.get("extensions"), dict) else None
            )
            throttle_wait = self.throttle.record(self.domain, name, cost) if isinstance(cost, dict) else None
            if result.ok:
                return result.data or {}
            if result.log.code == "unauthorized":
                if refreshed:
                    raise Unauthorized(
                        f"{self.domain} rejected Worn's access token even after a refresh; open Worn in the "
                        "Shopify admin to authorize it again",
                        shop=self.domain,
                        operation=name,
                    )
                refreshed = True
                self.stats.refreshed += 1
                token = self._access_token(rejected=token)
                continue
            failure = self._classify(name, result, raw, body, throttle_wait, failures + 1)
            failures += 1
            if failures >= self.retry.attempts:
                raise AdminUnavailable(
                    f"{name} on {self.domain} failed {failures} times ({failure.reason}); the job will be "
                    "retried later",
                    shop=self.domain,
                    operation=name,
                )
            self.stats.retries += 1
            log.info(
                "%s on %s: %s; retry %d in %.1f s", name, self.domain, failure.reason, failures, failure.delay
            )
            self._wait(failure.reason, failure.delay)

    def _classify(
        self,
        name: str,
        result: shopify_app.GQLResult,
        raw: shopify_app.Res,
        body: dict[str, Any],
        throttle_wait: float | None,
        retry: int,
    ) -> _Failure:
        """Say how long to wait before retrying, or raise the typed error of a failure that will not pass."""
        code = result.log.code
        backoff = self.retry.delay(retry, self._rng)
        if code == "graphql_errors":
            errors = body.get("errors")
            codes = _error_codes(errors)
            if "THROTTLED" in codes:
                self.stats.throttled += 1
                # Wait what the bucket needs to refill for this query, and never less than half the
                # backoff: a THROTTLED answer that claims a full bucket must not become a tight loop.
                wait = max(throttle_wait or 0.0, backoff / 2)
                return _Failure("throttled", wait * (1 + self._rng.uniform(0, self.retry.jitter)))
            if "INTERNAL_SERVER_ERROR" in codes:
                return _Failure("internal server error", backoff)
            message = _error_messages(errors)
            if "ACCESS_DENIED" in codes:
                raise AccessDenied(
                    f"{name} on {self.domain}: access denied ({message}); the app needs the "
                    "read/write_products and read/write_files scopes",
                    shop=self.domain,
                    operation=name,
                )
            raise GraphQLErrors(f"{name} on {self.domain}: {message}", shop=self.domain, operation=name)
        status = raw.status
        if status == 429 or code == "rate_limited":
            self.stats.throttled += 1
            retry_after = _retry_after(raw.headers)
            return _Failure("HTTP 429", retry_after if retry_after is not None else backoff)
        if code == "network_error":
            return _Failure("network error", backoff)
        if status >= 500:
            return _Failure(f"HTTP {status}", backoff)
        if status == 403:
            raise AccessDenied(
                f"{name} on {self.domain}: HTTP 403; the app needs the read/write_products and "
                "read/write_files scopes",
                shop=self.domain,
                operation=name,
            )
        raise GraphQLErrors(
            f"{name} on {self.domain}: HTTP {status} ({result.log.detail})", shop=self.domain, operation=name
        )


def _json(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_codes(errors: Any) -> set[str]:
    if not isinstance(errors, list):
        return set()
    return {
        str(error.get("extensions", {}).get("code"))
        for error in errors
        if isinstance(error, dict) and isinstance(error.get("extensions"), dict)
    }


def _error_messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:500]
    return "unknown error"


def _retry_after(headers: dict[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None
