"""Pure imaging: a product photo and the store's model plates in, on-model images and a quality report out."""

from renderer.errors import ConfigError, InputError, WornError

__all__ = ["ConfigError", "InputError", "WornError"]
