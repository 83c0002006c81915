"""A local Shopify simulator that speaks the Admin API subset Worn uses (``worn dev-shop``)."""

from devshop.app import create_app
from devshop.cli import add_arguments, config_from_args
from devshop.config import DevShopConfig, FaultSwitches
from devshop.core import DevShop
from devshop.server import RunningDevShop, serve, start_in_thread

__all__ = [
    "DevShop",
    "DevShopConfig",
    "FaultSwitches",
    "RunningDevShop",
    "add_arguments",
    "config_from_args",
    "create_app",
    "serve",
    "start_in_thread",
]
