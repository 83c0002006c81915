"""The shop side and the glue: Shopify client, tokens, state, queue, storage, worker, settings, scheduler."""

from connector.services import Services
from connector.settings import Settings, load_settings

__all__ = ["Services", "Settings", "load_settings"]
