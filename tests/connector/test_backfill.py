"""Backfill a 500-product catalog: interrupted (stop, limit, Ctrl-C) and resumed, every jewelry product queued once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.backfill import BackfillCounts, run_backfill
from connector.models import BackfillRun, Product, RenderJob
from connector.queue import RENDER
from connector.services import Services
from devshop import RunningDevShop, start_in_thread
from tests.connector.conftest import fast_config
from tests.connector.support import DevShopControl, InstalledShop

CATALOG = 500


@pytest.fixture(scope="module")
def devshop() -> Iterator[RunningDevShop]:
    """A dev-shop on Shopify's Enterprise rate (2000 points/s): these tests walk catalogs, not the bucket."""
    running = start_in_thread(fast_config(throttle_restore_rate=2000.0))
    yield running
    running.stop()


@pytest.fixture
def catalog(control: DevShopControl, shop: InstalledShop) -> InstalledShop:
    """Fill the shop with 500 products (an existing catalog: no webhooks for them)."""
    created = control.call("POST", f"/shops/{shop.handle}/products/generate", json={"count": CATALOG})
    assert created["created"] == CATALOG
    return shop


def jobs_per_product(services: Services, shop_id: int) -> dict[str, int]:
    with services.db.session() as session:
        return dict(
            session.execute(
                select(Product.product_gid, func.count(RenderJob.id))
                .join(RenderJob, RenderJob.product_id == Product.id)
                .where(Product.shop_id == shop_id)
                .group_by(Product.product_gid)
            ).all()
        )


def decisions(services: Services, shop_id: int) -> dict[str, str]:
    with services.db.session() as session:
        return dict(
            session.execute(
                select(Product.product_gid, Product.decision).where(Product.shop_id == shop_id)
            ).all()
        )


def check_every_jewelry_product_queued_once(
    services: Services, shop: InstalledShop, counts: BackfillCounts
) -> None:
    decided = decisions(services, shop.id)
    assert len(decided) == CATALOG == counts.seen
    rendered = [gid for gid, decision in decided.items() if decision == "jewelry"]
    assert rendered and jobs_per_product(services, shop.id) == {gid: 1 for gid in rendered}
    assert counts.queued == len(rendered) == services.queue.depth(RENDER)  # one message per job
    assert counts.seen == counts.queued + sum(counts.skipped.values())
    assert counts.skipped.get("not_jewelry", 0) > 0 and counts.skipped.get("no_plate", 0) > 0
    assert counts.jewelry == CATALOG - counts.skipped.get("not_jewelry", 0)


def test_backfill_stopped_mid_page_then_by_limit_resumes_and_queues_each_jewelry_product_once(
    services: Services, catalog: InstalledShop
) -> None:
    stop = threading.Event()

    def stop_after_77(counts: BackfillCounts) -> None:
        if counts.seen == 77:  # in the middle of the fourth page
            stop.set()

    first = run_backfill(services, catalog.domain, page_size=25, stop_event=stop, on_product=stop_after_77)
    assert first.state == "interrupted" and first.counts.seen == 77
    second = run_backfill(services, catalog.handle, page_size=25, limit=200)
    assert second.run_id == first.run_id and second.state == "interrupted" and second.counts.seen == 277
    third = run_backfill(services, catalog.handle, page_size=25)
    assert third.run_id == first.run_id and third.state == "done"
    check_every_jewelry_product_queued_once(services, catalog, third.counts)

    # A finished walk starts over when run again, and finds nothing left to queue.
    again = run_backfill(services, catalog.handle, page_size=40)
    assert again.run_id != first.run_id and again.state == "done" and again.counts.queued == 0
    assert again.counts.skipped.get("unchanged") == third.counts.queued
    with services.db.session() as session:
        states = [run.state for run in session.scalars(select(BackfillRun).order_by(BackfillRun.id))]
    assert states == ["done", "done"]


def test_backfill_of_some_kinds_only(services: Services, catalog: InstalledShop) -> None:
    result = run_backfill(services, catalog.handle, kinds=["earrings"], page_size=40)
    assert result.state == "done" and result.counts.seen == CATALOG
    with services.db.session() as session:
        kinds = set(
            session.scalars(
                select(Product.kind)
                .join(RenderJob, RenderJob.product_id == Product.id)
                .where(Product.shop_id == catalog.id)
            )
        )
    assert kinds == {"earrings"} and result.counts.queued > 0
    assert any(reason.startswith("kind necklace not selected") for reason in result.counts.skipped)


def test_backfill_refuses_bad_input_by_name(services: Services, shop: InstalledShop) -> None:
    from renderer.errors import InputError

    with pytest.raises(InputError, match="--kind hat: expected one of necklace"):
        run_backfill(services, shop.handle, kinds=["hat"])
    with pytest.raises(InputError, match=r"shop nobody\.myshopify\.com has not installed Worn"):
        run_backfill(services, "nobody")


def test_worn_backfill_ctrl_c_then_rerun_resumes(
    services: Services, catalog: InstalledShop, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one database is enough for the command line; the walk itself runs on both above")
    env = {
        **os.environ,
        "DATA_DIR": str(services.settings.DATA_DIR),
        "DATABASE_URL": services.settings.database_url,
        "SHOPIFY_API_KEY": services.settings.SHOPIFY_API_KEY,
        "SHOPIFY_API_SECRET": services.settings.SHOPIFY_API_SECRET,
        "SHOPIFY_BASE_URL": str(services.settings.SHOPIFY_BASE_URL),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [
        sys.executable,
        "-m",
        "webhooks.cli",
        "backfill",
        "--shop",
        catalog.handle,
        "--page-size",
        "25",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        seen = ""
        while not any(int(n) >= 60 for n in re.findall(r"(\d+) products", seen[-300:])):
            chunk = process.stderr.read(1)  # the progress bar, until 60 products went by
            assert chunk, f"backfill ended early: {seen[-500:]}"
            seen += chunk
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert (
        "SIGINT received" in err
        and "worn backfill: interrupted" in out
        and "run the same command again" in out
    )

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "worn backfill: done" in done.stdout and f"seen {CATALOG}," in done.stdout
    with services.db.session() as session:
        run = session.scalar(select(BackfillRun))
        assert run is not None and run.state == "done"
    check_every_jewelry_product_queued_once(services, catalog, BackfillCounts.from_dict(run.counts))
