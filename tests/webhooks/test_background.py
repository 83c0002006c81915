"""`worn serve`'s background process: the queue worker and the scheduler run beside the web workers."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from connector.models import Shop
from connector.queue import MAINTENANCE
from connector.services import Services
from connector.settings import Settings
from connector.shops import get_or_create_shop
from webhooks.background import Background


def wait_for(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_in_the_background_process_takes_jobs_and_stops_cleanly(
    make_settings,
    database_url: str,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings: Settings = make_settings(DATABASE_URL=database_url, STORAGE_URL=str(tmp_path / "files"))
    services = Services.from_settings(settings)
    with services.db.session() as session:
        shop_id = get_or_create_shop(session, "leaving").id
    services.storage.put(f"shops/{shop_id}/drafts/1/grace.jpg", b"jpeg")
    services.queue.send(MAINTENANCE, {"redact_shop": shop_id})

    background = Background(settings, scheduler=True, worker=True)
    background.start()
    process = background._process
    try:
        assert wait_for(lambda: services.queue.depth(MAINTENANCE) == 0), (
            "the background worker never took the job"
        )
        with services.db.session() as session:
            assert session.scalar(select(Shop).where(Shop.id == shop_id)) is None
        assert list(services.storage.keys(f"shops/{shop_id}/")) == []
        assert process.is_alive()
    finally:
        background.stop()
        services.close()
    assert not process.is_alive()
    assert process.exitcode == 0  # it finished on SIGTERM, it was not killed


def test_nothing_starts_when_both_are_off(make_settings) -> None:  # type: ignore[no-untyped-def]
    background = Background(make_settings(), scheduler=False, worker=False)
    background.start()
    assert background._process is None
    background.stop()
