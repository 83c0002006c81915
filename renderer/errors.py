"""The one exception base of Worn, shared by every package (renderer is the lowest layer)."""

from __future__ import annotations


class WornError(Exception):
    """Base of every error Worn raises on purpose; the message tells the reader what to do."""


class InputError(WornError):
    """Refuse bad input early: the message names the input, the value and what was expected."""


class ConfigError(WornError):
    """Stop on a wrong or missing setting: the message names the setting and what is expected."""
