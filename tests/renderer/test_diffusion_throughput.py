"""The worker's throughput counter: items per busy second, overall and recent, failures apart."""

from __future__ import annotations

import pytest

from renderer.diffusion import Throughput


def test_rates_count_done_items_over_busy_seconds():
    counter = Throughput(window=2)
    assert counter.per_second == 0.0 and counter.recent_per_second == 0.0
    counter.record(4, 2.0)
    counter.record(2, 2.0)
    counter.record(1, 4.0)  # a slow batch: the recent rate shows it before the overall one does

    assert counter.items == 7 and counter.seconds == pytest.approx(8.0)
    assert counter.per_second == pytest.approx(7 / 8)
    assert counter.recent_per_second == pytest.approx(3 / 6)
    assert counter.summary() == {
        "items": 7,
        "failed": 0,
        "seconds": 8.0,
        "per_second": 0.875,
        "recent_per_second": 0.5,
    }


def test_a_failed_batch_counts_its_time_and_items_as_failed_and_the_error_propagates():
    counter = Throughput()
    with counter.measure(3):
        pass
    with pytest.raises(RuntimeError, match="out of memory"), counter.measure(2):
        raise RuntimeError("CUDA out of memory")

    assert counter.items == 3 and counter.failed == 2
    assert counter.seconds > 0
    assert counter.summary()["failed"] == 2


@pytest.mark.parametrize(("items", "seconds"), [(-1, 1.0), (1.5, 1.0), (1, -0.1)])
def test_bad_records_are_refused(items, seconds):
    with pytest.raises(ValueError, match="must be"):
        Throughput().record(items, seconds)


def test_window_is_checked():
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        Throughput(window=0)
