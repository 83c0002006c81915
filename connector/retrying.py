"""Declare how a call is retried: how many tries, how the wait grows, how much jitter spreads it."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """At most `attempts` tries; the wait before retry n is base * factor**(n-1), capped, +/- jitter.

    Jitter spreads the retries of many workers hit by the same outage, so they do not come back in step.
    """

    attempts: int
    base: float
    cap: float
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < self.base or self.factor < 1:
            raise ValueError(f"invalid backoff {self!r}: need attempts >= 1, 0 <= base <= cap, factor >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"invalid backoff jitter {self.jitter!r}: expected a fraction in [0, 1)")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Return the wait in seconds before retry number `retry` (1 for the first retry)."""
        raw = min(self.cap, self.base * self.factor ** max(0, retry - 1))
        spread = raw * self.jitter
        return max(0.0, raw + (rng or random).uniform(-spread, spread))

    def schedule(self) -> list[float]:
        """Return the waits without jitter, for messages and documentation."""
        return [min(self.cap, self.base * self.factor ** (n - 1)) for n in range(1, self.attempts)]
