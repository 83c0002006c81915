"""Refuse bad input from the merchant's pages with an error that names the field: cursors, limits, choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from renderer.errors import InputError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class FieldError(InputError):
    """One input is wrong; `field` names it (a dotted path for nested values)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_cursor(value: Any, field: str = "cursor") -> int | None:
    """Return the position a `next_cursor` pointed at, or None for the first page."""
    if value is None or value == "":
        return None
    text = str(value)
    if not text.isdigit() or len(text) > 19 or int(text) < 1:
        raise FieldError(field, f"expected the next_cursor of a previous page, got {text[:40]!r}")
    return int(text)


def parse_limit(value: Any, field: str = "limit", default: int = DEFAULT_LIMIT) -> int:
    """Return a page size from 1 to MAX_LIMIT (the default when not given)."""
    if value is None or value == "":
        return default
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise FieldError(field, f"expected a whole number from 1 to {MAX_LIMIT}, got {text[:40]!r}")
    return int(text)


def parse_choice(value: Any, choices: Iterable[str], field: str, default: str) -> str:
    """Return `value` when it is one of `choices` (the default when not given)."""
    options = tuple(choices)
    if value is None or value == "":
        return default
    if value not in options:
        raise FieldError(field, f"expected one of {', '.join(options)}, got {str(value)[:40]!r}")
    return str(value)


def parse_text(value: Any, field: str, *, max_length: int, required: bool = False) -> str | None:
    """Return a trimmed string of at most `max_length` characters (None when optional and empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldError(field, "is required")
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {type(value).__name__}")
    text = value.strip().replace("\x00", "")
    if len(text) > max_length:
        raise FieldError(field, f"expected at most {max_length} characters, got {len(text)}")
    return text
