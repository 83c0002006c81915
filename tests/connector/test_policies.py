"""The declared policies: backoff with jitter, the leaky-bucket estimate, where a written image goes."""

from __future__ import annotations

import random

import pytest

from connector.admin import ThrottleState
from connector.fingerprint import WORN_ALT_MARKER
from connector.retrying import Backoff
from connector.writeback import alt_text, target_position


def test_backoff_grows_is_capped_and_jittered_within_bounds() -> None:
    policy = Backoff(attempts=6, base=1.0, cap=8.0, factor=2.0, jitter=0.25)
    assert policy.schedule() == [1.0, 2.0, 4.0, 8.0, 8.0]
    rng = random.Random(7)
    for retry, raw in enumerate(policy.schedule(), start=1):
        waits = [policy.delay(retry, rng) for _ in range(200)]
        assert min(waits) >= raw * 0.75 and max(waits) <= raw * 1.25
        assert max(waits) - min(waits) > raw * 0.2  # really spread, not a constant


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(attempts=0, base=1, cap=2),
        dict(attempts=3, base=5, cap=1),
        dict(attempts=3, base=1, cap=2, jitter=1.0),
    ],
)
def test_backoff_refuses_nonsense(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cost(available: float, requested: float = 50, maximum: float = 1000, rate: float = 50) -> dict:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": requested,
        "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate},
    }


def test_bucket_estimate_waits_before_running_dry_and_queues_parallel_callers() -> None:
    clock = FakeMonotonic()
    state = ThrottleState(clock)
    assert state.wait_before("a.myshopify.com", "product") == 0.0  # nothing known yet: go
    state.record("a.myshopify.com", "product", cost(available=120, requested=100))
    assert state.wait_before("a.myshopify.com", "product") == 0.0  # 120 >= 100, reserves 100
    # 20 left: the next 100-point query must wait for 80 points at 50/s.
    assert state.wait_before("a.myshopify.com", "product") == pytest.approx(1.6)
    # A third caller queues behind the second one's reservation.
    assert state.wait_before("a.myshopify.com", "product") == pytest.approx(3.6)
    clock.now += 10  # the bucket refills at the restore rate, up to its maximum
    assert state.wait_before("a.myshopify.com", "product") == 0.0
    assert state.wait_before("b.myshopify.com", "product") == 0.0  # per shop


def test_throttled_answer_says_how_long_the_bucket_needs() -> None:
    state = ThrottleState(FakeMonotonic())
    assert state.record(
        "a.myshopify.com", "products_page", cost(available=10, requested=260, rate=100)
    ) == pytest.approx(2.5)
    assert state.record("a.myshopify.com", "x", {"requestedQueryCost": 5}) is None  # no throttleStatus


def media(gid: int, alt: str = "") -> dict:
    return {"id": f"gid://shopify/MediaImage/{gid}", "alt": alt}


def test_target_position_per_style() -> None:
    ours = "gid://shopify/MediaImage/9"
    listing = [media(1), media(2), media(7, "old" + WORN_ALT_MARKER), media(9, "new" + WORN_ALT_MARKER)]
    assert target_position("first", listing, ours, {ours}) == 0
    assert target_position("last", listing, ours, {ours}) == 3
    assert target_position(1, listing, ours, {ours}) == 1
    assert target_position(40, listing, ours, {ours}) == 3
    # after_source: right after the shop's own photos, before Worn's earlier images.
    assert target_position("after_source", listing, ours, {ours, "gid://shopify/MediaImage/7"}) == 2
    assert target_position("after_source", [media(9, "x")], ours, {ours}) == 0


def test_alt_text_ends_with_the_marker_the_loop_guard_looks_for() -> None:
    from connector.settings import load_settings
    from connector.styles import load_styles

    style = load_styles(load_settings().STYLES_DIR)["studio"]
    alt = alt_text(style, title="Gold chain", plate_id="grace", kind="necklace", shop="Acme")
    assert alt == "Gold chain, worn by Grace" + WORN_ALT_MARKER
    long = alt_text(style, title="x" * 900, plate_id="nobody", kind="necklace", shop="Acme")
    assert len(long) <= 512 and long.endswith(WORN_ALT_MARKER)
