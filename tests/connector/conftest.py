"""Fixtures for the connector: a dev-shop on a free port, Worn's services on a fresh database, installed shops.

Everything reaches the dev-shop over real HTTP through the production path: shopifyapp with the HTTP client
`connector.transport.make_http_client(SHOPIFY_BASE_URL)` builds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connector.services import Services
from connector.settings import Settings
from devshop import DevShopConfig, RunningDevShop, start_in_thread
from tests.connector.support import API_KEY, API_SECRET, DevShopControl, InstalledShop, install


def fast_config(**changes: object) -> DevShopConfig:
    """Return a dev-shop configuration for tests: Worn's test credentials, short delays, no seed."""
    values: dict[str, object] = dict(
        api_key=API_KEY,
        api_secret=API_SECRET,
        media_processing_delay_s=0.05,
        reorder_job_delay_s=0.05,
        webhook_retry_delays_s=(0.05, 0.1),
        seed=False,
    )
    values.update(changes)
    return DevShopConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def devshop() -> Iterator[RunningDevShop]:
    """Run one dev-shop for the module; every test gets its own shop in it."""
    running = start_in_thread(fast_config())
    yield running
    errors = list(running.core.scheduler.errors)
    running.stop()
    assert not errors, f"dev-shop background tasks failed: {errors}"


@pytest.fixture
def start_devshop() -> Iterator[Callable[..., RunningDevShop]]:
    """Return a starter of dev-shops of this test alone (own clock, own limits); stopped after it."""
    started: list[RunningDevShop] = []

    def start(**changes: object) -> RunningDevShop:
        running = start_in_thread(fast_config(**changes))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def control(devshop: RunningDevShop) -> Iterator[DevShopControl]:
    """Drive the dev-shop's control API; fault switches are reset after the test."""
    driver = DevShopControl(devshop)
    yield driver
    driver.reset_faults()


@pytest.fixture
def make_services(
    make_settings: Callable[..., Settings], database_url: str
) -> Iterator[Callable[..., Services]]:
    """Return a factory of Services on this test's database, pointed at a dev-shop; closed after the test."""
    made: list[Services] = []

    def factory(devshop: RunningDevShop, **overrides: object) -> Services:
        settings = make_settings(
            DATABASE_URL=database_url,
            SHOPIFY_API_KEY=API_KEY,
            SHOPIFY_API_SECRET=API_SECRET,
            SHOPIFY_BASE_URL=devshop.base_url,
            **overrides,
        )
        services = Services.from_settings(settings)
        made.append(services)
        return services

    yield factory
    for services in made:
        services.close()


@pytest.fixture
def services(make_services: Callable[..., Services], devshop: RunningDevShop) -> Services:
    """Return Worn's services on a fresh database (SQLite, then PostgreSQL), talking to the dev-shop."""
    return make_services(devshop)


@pytest.fixture
def shop(services: Services, control: DevShopControl) -> InstalledShop:
    """Return a new dev-shop shop with Worn installed through the production install path."""
    return install(services, control)
