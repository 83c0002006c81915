"""Count what a GPU worker gets done per second, overall and over its recent batches, for its log."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Throughput:
    """Accumulate items done, items failed and busy seconds; report rates as a JSON-ready dict.

    ``window`` is how many recent records ``recent_per_second`` looks at: the overall rate hides a worker
    that has just slowed down (a model swap, a thermal throttle), the recent one shows it.
    """

    def __init__(self, window: int = 50) -> None:
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an integer >= 1, got {window!r}")
        self._lock = threading.Lock()
        self._recent: deque[tuple[int, float]] = deque(maxlen=window)
        self.items = 0
        self.failed = 0
        self.seconds = 0.0

    def record(self, items: int, seconds: float, *, ok: bool = True) -> None:
        """Add a batch of ``items`` that took ``seconds``; a failed batch counts as failed items."""
        if not isinstance(items, int) or items < 0:
            raise ValueError(f"items must be an integer >= 0, got {items!r}")
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self.seconds += seconds
            if ok:
                self.items += items
                self._recent.append((items, seconds))
            else:
                self.failed += items
                self._recent.append((0, seconds))

    @contextmanager
    def measure(self, items: int = 1) -> Iterator[None]:
        """Time the block and record it: done when it returns, failed when it raises (and re-raise)."""
        began = time.perf_counter()
        try:
            yield
        except BaseException:
            self.record(items, time.perf_counter() - began, ok=False)
            raise
        self.record(items, time.perf_counter() - began)

    @property
    def per_second(self) -> float:
        """Return items done per busy second since the start (0 before any work)."""
        with self._lock:
            return self.items / self.seconds if self.seconds > 0 else 0.0

    @property
    def recent_per_second(self) -> float:
        """Return items done per busy second over the last ``window`` records."""
        with self._lock:
            seconds = sum(entry[1] for entry in self._recent)
            return sum(entry[0] for entry in self._recent) / seconds if seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """Return the counters and rates, rounded for a log line."""
        return {
            "items": self.items,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 3),
            "recent_per_second": round(self.recent_per_second, 3),
        }
