"""Decide, switch by switch, whether the simulator misbehaves right now."""

from __future__ import annotations

import random
import threading
from typing import Any

from devshop.config import FaultSwitches


class Faults:
    """The live fault switches, with a seeded random source so a run can be repeated."""

    def __init__(self, switches: FaultSwitches) -> None:
        switches.validate()
        self._lock = threading.Lock()
        self._initial = switches
        self._switches = switches
        self._rng = random.Random(switches.seed)

    @property
    def switches(self) -> FaultSwitches:
        """Return the current switches (a snapshot)."""
        with self._lock:
            return self._switches

    def update(self, changes: dict[str, Any]) -> FaultSwitches:
        """Apply ``changes`` (validated; unknown names refused) and return the new switches."""
        with self._lock:
            self._switches = self._switches.merged(changes)
            if "seed" in changes:
                self._rng = random.Random(self._switches.seed)
            return self._switches

    def reset(self) -> FaultSwitches:
        """Return to the switches the dev-shop was started with."""
        with self._lock:
            self._switches = self._initial
            self._rng = random.Random(self._initial.seed)
            return self._switches

    def fire(self, counter: str | None, rate: str | None) -> bool:
        """Say whether a fault fires now: a pending ``counter`` first, then the ``rate`` roll."""
        with self._lock:
            if counter is not None:
                pending = getattr(self._switches, counter)
                if pending > 0:
                    self._switches = self._switches.merged({counter: pending - 1})
                    return True
            if rate is not None:
                probability = getattr(self._switches, rate)
                return probability > 0 and self._rng.random() < probability
            return False
