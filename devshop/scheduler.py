"""Run work later, on the simulator's clock: media processing, reorder jobs, webhook retries."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from devshop.clock import Clock

log = logging.getLogger(__name__)


class Scheduler:
    """A timer thread that hands due tasks to a small worker pool.

    Due times are in simulated seconds, so advancing the clock makes pending work due at once
    (an access token and a media item age the same way).
    """

    def __init__(self, clock: Clock, workers: int = 4) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._stopped = False
        self.errors: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="devshop-work")
        self._thread = threading.Thread(target=self._loop, name="devshop-scheduler", daemon=True)
        clock.on_change(self._wake)
        self._thread.start()

    def call_later(self, delay_s: float, task: Callable[[], None]) -> None:
        """Run ``task`` on a worker once ``delay_s`` simulated seconds have passed."""
        due = self._clock.timestamp() + max(0.0, delay_s)
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (due, next(self._seq), task))
            self._cond.notify()

    def settle(self, timeout_s: float) -> dict[str, int]:
        """Wait until nothing runs and nothing is due before the deadline; report what is left."""
        deadline_wall = time.monotonic() + timeout_s
        deadline_sim = self._clock.timestamp() + timeout_s
        with self._cond:
            while True:
                due_soon = sum(1 for due, _, _ in self._heap if due <= deadline_sim)
                if self._running == 0 and due_soon == 0:
                    return {"running": 0, "due": 0, "scheduled_later": len(self._heap), "settled": 1}
                remaining = deadline_wall - time.monotonic()
                if remaining <= 0:
                    return {
                        "running": self._running,
                        "due": due_soon,
                        "scheduled_later": len(self._heap) - due_soon,
                        "settled": 0,
                    }
                self._cond.wait(min(remaining, 0.05))

    def stop(self) -> None:
        """Stop the timer thread and the workers; scheduled tasks are abandoned."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _loop(self) -> None:
        with self._cond:
            while not self._stopped:
                now = self._clock.timestamp()
                if self._heap and self._heap[0][0] <= now:
                    _, _, task = heapq.heappop(self._heap)
                    self._running += 1
                    self._pool.submit(self._run, task)
                    continue
                wait = (self._heap[0][0] - now) if self._heap else None
                self._cond.wait(wait)

    def _run(self, task: Callable[[], None]) -> None:
        try:
            task()
        except Exception:
            # Kept for the control API's health report: a broken simulator must not look healthy.
            log.exception("dev-shop background task failed")
            self.errors.append(traceback.format_exc(limit=8))
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
