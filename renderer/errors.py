"""The one exception base of Worn, shared by every package (renderer is the lowest layer)."""

from __future__ import annotations


class WornError(Exception):
    """Base of every error Worn raises on purpose; the message tells the reader what to do."""


class InputError(WornError):
    """Refuse bad input early: the message names the input, the value and what was expected."""


class ConfigError(WornError):
    """Stop on a wrong or missing setting: the message names the setting and what is expected."""


class ImageDecodeError(InputError):
    """Refuse image bytes that cannot be decoded safely (corrupt, empty, too large, unsupported)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CutoutError(InputError):
    """Refuse a product photo from which no clean matte of the piece can be cut.

    `code` is stable (``busy_background``, ``person_in_photo``, ``no_piece``, ``touches_edges``,
    ``no_clear_background``, ``unclear_matte``) so callers can show or count the reason.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
