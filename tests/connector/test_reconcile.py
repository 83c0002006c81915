"""Reconciliation catches the deliveries the simulator dropped; stuck jobs come back; old drafts expire."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from connector import reconcile
from connector.models import Draft, Product, QueueMessage, RenderJob, Shop, WriteBack
from connector.queue import RENDER, WRITEBACK
from connector.scheduler import start_scheduler
from connector.services import Services
from devshop import RunningDevShop
from tests.connector.support import DevShopControl, InstalledShop, install
from tests.connector.test_writeback import approve, make_draft, make_product
from webhooks.app import create_app


@pytest.fixture
def serve_receiver() -> Iterator[Callable[[Services], str]]:
    """Return a starter of Worn's real webhook receiver (the Flask app) on a free port; gives its URL."""
    servers = []

    def start(services: Services) -> str:
        server = make_server("127.0.0.1", 0, create_app({"TESTING": True}, services=services), threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/webhooks"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def jobs_by_product(services: Services, shop_id: int) -> dict[str, int]:
    with services.db.session() as session:
        rows = session.execute(
            select(Product.product_gid, func.count(RenderJob.id))
            .join(RenderJob, RenderJob.product_id == Product.id)
            .where(Product.shop_id == shop_id)
            .group_by(Product.product_gid)
        ).all()
    return {gid: n for gid, n in rows}


def create_batch(control: DevShopControl, shop: InstalledShop, tag: str) -> tuple[list[str], list[str]]:
    """Create 3 jewelry products and 1 T-shirt; return (jewelry GIDs, other GIDs)."""
    jewelry = [
        control.create_product(shop.handle, title=f"{tag} gold chain {i}", product_type="Necklace")["gid"]
        for i in range(2)
    ] + [control.create_product(shop.handle, title=f"{tag} hoops", product_type="Earrings")["gid"]]
    other = [control.create_product(shop.handle, title=f"{tag} T-shirt", product_type="Shirts")["gid"]]
    return jewelry, other


def test_reconciliation_catches_the_deliveries_the_simulator_dropped(
    make_services: Callable[..., Services],
    start_devshop: Callable[..., RunningDevShop],
    serve_receiver: Callable[[Services], str],
) -> None:
    # The dev-shop delivers to Worn's real receiver, which shares the database with reconciliation.
    running = start_devshop()
    services = make_services(running)
    control = DevShopControl(running)
    control.call("PUT", "/app", json={"webhook_url": serve_receiver(services)})
    shop = install(services, control)

    delivered, delivered_other = create_batch(control, shop, "Kept")
    control.settle()
    assert set(jobs_by_product(services, shop.id)) == set(delivered)  # webhooks did their job

    control.faults(webhook_drop_rate=1.0)  # from here on every delivery is lost
    lost, lost_other = create_batch(control, shop, "Lost")
    control.settle()
    control.reset_faults()
    outcomes = [d.get("outcome") for d in control.call("GET", f"/deliveries?shop={shop.handle}&payload=0")]
    assert outcomes.count("dropped") >= 4, outcomes  # a create per product, an update per ready photo
    assert set(jobs_by_product(services, shop.id)) == set(delivered)

    report = reconcile.reconcile_shop(services, shop.id)
    assert report.seen == 8 and report.error is None
    assert report.outcomes.get("queued") == 3 and report.outcomes.get("not_jewelry") == 2
    assert jobs_by_product(services, shop.id) == {gid: 1 for gid in delivered + lost}
    assert services.queue.depth(RENDER) == 6  # one message per job
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None and row.reconciled_at is not None
        watermark = row.reconciled_at

    again = reconcile.reconcile_shop(services, shop.id)  # nothing new: nothing queued twice
    assert "queued" not in again.outcomes and again.watermark is not None and again.watermark >= watermark
    assert jobs_by_product(services, shop.id) == {gid: 1 for gid in delivered + lost}
    assert not set(jobs_by_product(services, shop.id)) & set(delivered_other + lost_other)


def test_reconcile_all_reports_a_failing_shop_and_goes_on(
    services: Services, control: DevShopControl, devshop: RunningDevShop
) -> None:
    good, broken = install(services, control), install(services, control)
    control.create_product(good.handle, title="Pearl earrings", product_type="Earrings")
    control.settle()
    store = devshop.core.store
    with store.lock:
        store.shops[broken.handle].installed = False  # Shopify refuses every call for this one
    reports = {report.shop: report for report in reconcile.reconcile_all(services)}
    assert reports[good.domain].outcomes == {"queued": 1}
    assert reports[broken.domain].error is not None and "unauthorized" in reports[broken.domain].error


def test_stuck_render_jobs_and_write_backs_are_sent_again(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = control.create_product(shop.handle)
    product_id = make_product(services, shop, product["id"])
    write_back_id = approve(services, make_draft(services, shop, product_id, fingerprint="f1"))
    with services.db.session() as session:
        lost = session.scalar(select(RenderJob).where(RenderJob.product_id == product_id))
        assert lost is not None
        lost.state = "queued"
        live = RenderJob(
            shop_id=shop.id,
            product_id=product_id,
            idempotency_key="live",
            source_fingerprint="f2",
            state="queued",
        )
        dead = RenderJob(
            shop_id=shop.id,
            product_id=product_id,
            idempotency_key="dead-worker",
            source_fingerprint="f3",
            state="running",
        )
        session.add_all([live, dead])
        session.flush()
        ids = lost.id, live.id, dead.id
    services.queue.send(RENDER, {"render_job": ids[1]}, shop_id=shop.id)  # this one still has its message
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with services.db.session() as session:
        session.execute(update(RenderJob).where(RenderJob.id.in_(ids)).values(updated_at=old))
        session.execute(update(WriteBack).where(WriteBack.id == write_back_id).values(updated_at=old))

    report = reconcile.requeue_stuck(services)
    assert sorted(report.render_jobs) == sorted([ids[0], ids[2]]) and report.write_backs == (write_back_id,)
    with services.db.session() as session:
        bodies = [m.body for m in session.scalars(select(QueueMessage))]
        assert session.get(RenderJob, ids[2]).state == "queued"  # type: ignore[union-attr]
    assert sorted(b["render_job"] for b in bodies if "render_job" in b) == sorted(ids)
    assert [b["write_back_id"] for b in bodies if "write_back_id" in b] == [write_back_id]
    # Just re-sent: the next pass leaves them alone.
    assert reconcile.requeue_stuck(services) == reconcile.StuckReport()
    assert services.queue.depth(WRITEBACK) == 1


def test_drafts_nobody_decided_on_expire_with_their_files(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product_id = make_product(services, shop, control.create_product(shop.handle)["id"])
    old_waiting = make_draft(services, shop, product_id, fingerprint="a")
    old_approved = make_draft(services, shop, product_id, fingerprint="b")
    approve(services, old_approved)
    young = make_draft(services, shop, product_id, fingerprint="c")
    with services.db.session() as session:
        session.execute(
            update(Draft)
            .where(Draft.id.in_([old_waiting, old_approved]))
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
        )
        key = session.get(Draft, old_waiting).image_key  # type: ignore[union-attr]
    assert services.storage.exists(key)

    assert reconcile.expire_drafts(services) == 1  # the studio style keeps drafts 30 days
    with services.db.session() as session:
        states = {d.id: (d.state, d.image_key) for d in session.scalars(select(Draft))}
    assert states[old_waiting] == ("expired", None) and not services.storage.exists(key)
    assert states[old_approved][0] == "approved" and states[young][0] == "awaiting_review"
    assert services.storage.exists(states[young][1])
    assert reconcile.expire_drafts(services) == 0


def test_the_scheduler_runs_every_pass_on_its_interval(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    control.create_product(shop.handle, title="Silver drops", product_type="Earrings")
    control.settle()
    scheduler = start_scheduler(services, start=False)
    intervals = {job.id: job.trigger.interval for job in scheduler.get_jobs()}
    assert intervals == {
        "reconcile": dt.timedelta(minutes=services.settings.RECONCILE_MINUTES),
        "refresh-tokens": dt.timedelta(minutes=5),
        "requeue-stuck": dt.timedelta(minutes=5),
        "expire-drafts": dt.timedelta(minutes=60),
    }
    scheduler = start_scheduler(services, first_run_in=0.1)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not jobs_by_product(services, shop.id):
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert len(jobs_by_product(services, shop.id)) == 1  # the reconcile pass found the earrings
