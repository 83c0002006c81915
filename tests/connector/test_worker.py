"""The worker: failing jobs are retried with backoff then dead-lettered with their reason; it keeps going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.models import Draft, Product, RenderJob, Shop, WriteBack
from connector.queue import MAINTENANCE, RENDER, WRITEBACK, RetryPolicy
from connector.services import Services
from connector.worker import Worker
from devshop import RunningDevShop
from tests.connector.support import DevShopControl, InstalledShop, install
from tests.connector.test_writeback import approve, make_draft, make_product

FAST_RETRY = RetryPolicy(max_attempts=3, base=0.05, cap=0.1, factor=1.0)


def render_job(services: Services, shop: InstalledShop, product_id: int, fingerprint: str = "f1") -> int:
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None
        job = RenderJob(
            shop_id=shop.id,
            product_id=product_id,
            style_version_id=row.style_version_id,
            idempotency_key=f"{shop.id}:{product_id}:{fingerprint}",
            source_fingerprint=fingerprint,
        )
        session.add(job)
        session.flush()
        return job.id


def job_row(services: Services, job_id: int) -> RenderJob:
    with services.db.session() as session:
        job = session.get(RenderJob, job_id)
        assert job is not None
        return job


def test_a_failing_job_is_retried_then_dead_lettered_with_its_reason_and_the_worker_goes_on(
    make_services: Callable[..., Services], devshop: RunningDevShop, control: DevShopControl
) -> None:
    services = make_services(
        devshop, QUEUE_MAX_ATTEMPTS=3, SHOPIFY_MAX_RETRIES=1, SHOPIFY_RETRY_BASE_SECONDS=0.05
    )
    shop = install(services, control)
    doomed = make_product(services, shop, control.create_product(shop.handle)["id"])
    doomed_job = render_job(services, shop, doomed)
    services.queue.send(RENDER, {"render_job": doomed_job})

    control.faults(graphql_error_next=6, graphql_error_status=503)  # 3 deliveries x 2 tries each
    worker = Worker(services, retry=FAST_RETRY, idle_wait=0.05)
    outcomes = [worker.handle(services.queue.receive(RENDER, wait=2)[0]) for _ in range(3)]
    assert outcomes == ["retried", "retried", "dead"]
    failed = job_row(services, doomed_job)
    assert failed.state == "failed" and failed.last_error is not None
    assert failed.last_error.startswith("gave up after 3 attempts") and "HTTP 503" in failed.last_error
    (dead,) = services.queue.dead_letters(RENDER)
    assert dead.body == {"render_job": doomed_job} and "HTTP 503" in (dead.last_error or "")

    # The worker is still alive: the next job (its product was deleted in Shopify) is handled.
    gone = make_product(services, shop, 999_999_999)
    gone_job = render_job(services, shop, gone)
    services.queue.send(RENDER, {"render_job": gone_job})
    stats = worker.run(once=True)
    assert stats.outcomes == {"retried": 2, "dead": 1, "cancelled": 1}
    assert job_row(services, gone_job).state == "cancelled"
    assert "no longer exists" in (job_row(services, gone_job).last_error or "")


def test_a_job_that_cannot_succeed_is_dead_lettered_at_once(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    job = render_job(services, shop, make_product(services, shop, control.create_product(shop.handle)["id"]))
    control.call(
        "POST", f"/shops/{shop.handle}/webhooks", json={"topic": "app/uninstalled"}
    )  # tokens revoked
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None
        row.access_token_expires_at = row.installed_at  # due: the refresh is refused
    services.queue.send(RENDER, {"render_job": job})
    stats = Worker(services, retry=FAST_RETRY).run(once=True)
    assert stats.outcomes == {"dead": 1}  # one delivery: a revoked grant does not pass by retrying
    assert "open Worn in the Shopify admin" in (job_row(services, job).last_error or "")
    assert job_row(services, job).state == "failed"


def test_redelivered_and_superseded_jobs_are_skipped(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product_id = make_product(services, shop, control.create_product(shop.handle)["id"])
    done, superseded = (
        render_job(services, shop, product_id, "a"),
        render_job(services, shop, product_id, "b"),
    )
    with services.db.session() as session:
        session.get(RenderJob, done).state = "done"  # type: ignore[union-attr]
        session.get(RenderJob, superseded).state = "superseded"  # type: ignore[union-attr]
    for job in (done, superseded, done):
        services.queue.send(RENDER, {"render_job": job})
    stats = Worker(services).run(once=True)
    assert stats.outcomes == {"skipped": 3} and services.queue.depth(RENDER) == 0


def test_write_back_and_maintenance_messages(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = control.create_product(shop.handle)
    control.settle()
    product_id = make_product(services, shop, product["id"])
    write_back = approve(services, make_draft(services, shop, product_id))
    services.queue.send(WRITEBACK, {"write_back_id": write_back})
    services.queue.send(WRITEBACK, {"write_back_id": write_back})  # delivered twice
    stats = Worker(services, queues=[WRITEBACK]).run(once=True)
    assert stats.outcomes == {"done": 1, "already_done": 1}
    assert len(control.app_media(shop.handle, product["id"])) == 1

    other = install(services, control)
    services.queue.send(MAINTENANCE, {"redact_shop": shop.id})
    assert Worker(services).run(once=True).outcomes == {"redacted": 1}
    with services.db.session() as session:
        assert session.get(Shop, shop.id) is None and session.get(Shop, other.id) is not None
        assert session.scalars(select(Draft)).all() == [] and session.scalars(select(WriteBack)).all() == []
        assert session.scalars(select(Product).where(Product.shop_id == shop.id)).all() == []
    assert list(services.storage.keys(f"shops/{shop.id}/")) == []


def test_worn_worker_stops_cleanly_on_sigterm(services: Services, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(services.settings.DATA_DIR),
        "DATABASE_URL": services.settings.database_url,
        "SHOPIFY_API_SECRET": services.settings.SHOPIFY_API_SECRET,
        "LOG_FORMAT": "text",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "webhooks.cli", "worker", "--idle", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        started = False
        assert process.stderr is not None
        while time.monotonic() < deadline and not started:
            line = process.stderr.readline()
            started = "worker started" in line
        assert started, "the worker never logged that it started"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "SIGTERM received" in err and "worn worker: 0 message(s): nothing to do" in out


@pytest.mark.parametrize("queues", ["render,nope", ""])
def test_worn_worker_refuses_unknown_queues(queues: str) -> None:
    from webhooks.cli import main

    assert main(["worker", "--queues", queues, "--once"]) == 2
