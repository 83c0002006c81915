"""One page of a list the merchant's pages show: newest first, continued by an opaque cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first; pass `next_cursor` back for the next (None: no more)."""

    items: tuple[T, ...]
    next_cursor: str | None


def page_of(rows: Sequence[T], limit: int, cursor_of: Callable[[T], Any]) -> Page[T]:
    """Return the first `limit` of `rows` (fetched as limit + 1) and the cursor after them, if more."""
    more = len(rows) > limit
    shown = tuple(rows[:limit])
    return Page(shown, str(cursor_of(shown[-1])) if more and shown else None)
