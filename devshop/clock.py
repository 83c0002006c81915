"""Tell the simulator's time: the wall clock plus an offset that tests can move forward."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """A shiftable clock; everything time-based in the dev-shop (tokens, media, retries) reads it."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """Return the simulated current time (aware, UTC)."""
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def timestamp(self) -> float:
        """Return the simulated current time as POSIX seconds."""
        return self.now().timestamp()

    @property
    def offset_s(self) -> float:
        """Return how far the simulated time is ahead of the wall clock, in seconds."""
        with self._lock:
            return self._offset.total_seconds()

    def advance(self, seconds: float) -> datetime:
        """Move the simulated time forward (never back, so issued tokens stay ordered)."""
        if seconds < 0:
            raise ValueError(f"the dev-shop clock only moves forward; got advance of {seconds} s")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        self._notify()
        return self.now()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every shift (the scheduler re-checks what became due)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()


def iso_utc(moment: datetime) -> str:
    """Format a time the way the Admin GraphQL API does: ``2025-08-22T10:27:38Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or an offset); a date alone means midnight UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
