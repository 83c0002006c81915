"""The decision path shared by webhooks, reconciliation and backfill, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from connector.intake import IntakeResult, mark_deleted, process_product
from connector.models import Draft, Product, RenderJob, Shop, StyleVersion, WriteBack
from connector.queue import RENDER, SqsQueue
from connector.services import Services
from connector.shops import ensure_shop
from connector.snapshot import ProductSnapshot
from renderer.errors import InputError
from tests.webhooks import payloads
from tests.webhooks.conftest import counts

T0 = dt.datetime(2025, 8, 22, 10, 0, tzinfo=dt.UTC)


def later(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def run(
    services: Services, body: dict[str, Any], *, shop: str = payloads.SHOP, source: str = "webhook"
) -> IntakeResult:
    with services.db.session() as session:
        row = ensure_shop(session, shop)
        return process_product(services, session, row, ProductSnapshot.from_rest(body), source=source)


def jobs(services: Services) -> list[tuple[int, str, str]]:
    with services.db.session() as session:
        return [(j.id, j.state, j.trigger) for j in session.scalars(select(RenderJob).order_by(RenderJob.id))]


def messages(services: Services) -> list[dict[str, Any]]:
    received = services.queue.receive(RENDER, max_messages=50)
    for message in received:
        services.queue.ack(message)
    return [m.body for m in received]


def test_a_new_jewelry_product_queues_one_render(services: Services) -> None:
    result = run(services, payloads.product(1, updated_at=T0))
    assert result.code == "queued" and result.kind == "necklace" and result.job_id is not None
    assert "category Apparel & Accessories > Jewelry > Necklaces" in result.detail
    assert messages(services) == [{"render_job": result.job_id}]
    with services.db.session() as session:
        product = session.scalars(select(Product)).one()
        assert (product.kind, product.decision, product.shopify_updated_at) == ("necklace", "jewelry", T0)
        assert product.source_fingerprint == result.fingerprint
        assert [m["gid"] for m in product.source_media or []] == ["gid://shopify/MediaImage/2"]
        job = session.get(RenderJob, result.job_id)
        assert job is not None and job.state == "queued" and job.trigger == "webhook"
        shop = session.scalars(select(Shop)).one()
        assert (
            job.idempotency_key
            == f"{shop.id}:gid://shopify/Product/1:{result.fingerprint}:{shop.style_version_id}:necklace"
        )
        version = session.get(StyleVersion, shop.style_version_id)
        assert version is not None and version.name == "studio"  # the default style, frozen for the shop


def test_the_same_update_twice_queues_once(services: Services) -> None:
    first = run(services, payloads.product(1, updated_at=T0))
    again = run(services, payloads.product(1, updated_at=T0, title="Renamed"))
    assert (first.code, again.code) == ("queued", "unchanged")
    assert len(jobs(services)) == 1 and len(messages(services)) == 1


def test_an_older_snapshot_is_stale(services: Services) -> None:
    run(services, payloads.product(1, updated_at=later(5), media=[payloads.media_image(9, file="new.jpg")]))
    old = run(
        services, payloads.product(1, updated_at=later(1), media=[payloads.media_image(8, file="old.jpg")])
    )
    assert old.code == "stale" and "older than" in old.detail
    assert len(jobs(services)) == 1
    with services.db.session() as session:
        assert session.scalars(select(Product)).one().shopify_updated_at == later(5)


def test_within_one_second_the_trigger_time_orders_deliveries(services: Services) -> None:
    """updated_at has whole seconds: two photo changes in one second are ordered by X-Shopify-Triggered-At."""
    first = ProductSnapshot.from_rest(
        payloads.product(1, updated_at=T0, media=[payloads.media_image(8, file="a.jpg")])
    )
    second = ProductSnapshot.from_rest(
        payloads.product(1, updated_at=T0, media=[payloads.media_image(9, file="b.jpg")])
    )
    triggered = T0 + dt.timedelta(milliseconds=300)

    def decide(snapshot: ProductSnapshot, when: dt.datetime | None) -> IntakeResult:
        with services.db.session() as session:
            shop = ensure_shop(session, payloads.SHOP)
            return process_product(services, session, shop, snapshot, source="webhook", triggered_at=when)

    assert decide(second, triggered + dt.timedelta(milliseconds=400)).code == "queued"
    late = decide(first, triggered)
    assert late.code == "stale" and "triggered at" in late.detail
    # a read without a trigger time (reconciliation) of the same second is taken as current
    assert decide(second, None).code == "unchanged"


def add_written_media(services: Services, media_gid: str, *, draft_state: str = "written") -> None:
    """Record what a finished write-back leaves: a job, its draft and the MediaImage GID Shopify returned."""
    with services.db.session() as session:
        product = session.scalars(select(Product)).one()
        job = session.scalars(select(RenderJob)).first()
        assert job is not None
        job.state = "done"
        draft = Draft(
            shop_id=product.shop_id, product_id=product.id, job_id=job.id, plate_id="grace", state=draft_state
        )
        session.add(draft)
        session.flush()
        session.add(
            WriteBack(
                shop_id=product.shop_id,
                product_id=product.id,
                draft_id=draft.id,
                state="done",
                media_gid=media_gid,
            )
        )


def test_loop_guard_worn_media_starts_nothing(services: Services) -> None:
    source = payloads.media_image(11, position=1)
    run(services, payloads.product(1, updated_at=T0, media=[source]))
    add_written_media(services, "gid://shopify/MediaImage/500")
    ours = payloads.media_image(
        500, position=2, file="worn-grace.jpg", alt="Pearl Drop Necklace, worn by Grace"
    )
    result = run(services, payloads.product(1, updated_at=later(1), media=[source, ours]))
    assert result.code == "unchanged", result.detail
    # Worn's image first (position 0), still unchanged: order of Worn's own images does not matter
    result = run(
        services,
        payloads.product(1, updated_at=later(2), media=[{**ours, "position": 1}, {**source, "position": 2}]),
    )
    assert result.code == "unchanged"
    assert len(jobs(services)) == 1


def test_a_new_source_photo_supersedes_pending_work(services: Services) -> None:
    first = run(services, payloads.product(1, updated_at=T0, media=[payloads.media_image(11)]))
    with services.db.session() as session:
        product = session.scalars(select(Product)).one()
        done = RenderJob(
            shop_id=product.shop_id,
            product_id=product.id,
            idempotency_key="old-done",
            source_fingerprint="x",
            state="done",
        )
        failed = RenderJob(
            shop_id=product.shop_id,
            product_id=product.id,
            idempotency_key="old-failed",
            source_fingerprint="y",
            state="failed",
        )
        session.add_all([done, failed])
        session.flush()
        session.add_all(
            [
                Draft(shop_id=product.shop_id, product_id=product.id, job_id=done.id, plate_id="grace"),
                Draft(
                    shop_id=product.shop_id,
                    product_id=product.id,
                    job_id=done.id,
                    plate_id="eileen",
                    state="approved",
                ),
            ]
        )
    second = run(
        services,
        payloads.product(1, updated_at=later(1), media=[payloads.media_image(12, file="retouched.jpg")]),
    )
    assert second.code == "queued" and second.job_id != first.job_id
    assert (second.superseded_jobs, second.superseded_drafts) == (2, 1)
    with services.db.session() as session:
        by_key = {j.idempotency_key: j.state for j in session.scalars(select(RenderJob))}
        drafts = {d.plate_id: d.state for d in session.scalars(select(Draft))}
    assert by_key["old-done"] == "done" and by_key["old-failed"] == "superseded"
    assert sorted(by_key.values()).count("queued") == 1
    assert drafts == {"grace": "superseded", "eileen": "approved"}


def test_photos_going_back_revive_the_job_that_never_ran(services: Services) -> None:
    a = [payloads.media_image(11, file="a.jpg")]
    b = [payloads.media_image(12, file="b.jpg")]
    first = run(services, payloads.product(1, updated_at=T0, media=a))
    run(services, payloads.product(1, updated_at=later(1), media=b))
    back = run(services, payloads.product(1, updated_at=later(2), media=a))
    assert back.code == "queued" and back.job_id == first.job_id and "queued again" in back.detail
    assert [state for _, state, _ in jobs(services)] == ["queued", "superseded"]
    assert [m["render_job"] for m in messages(services)] == [first.job_id, jobs(services)[1][0], first.job_id]


def test_photos_going_back_after_a_finished_render_render_again(services: Services) -> None:
    a = [payloads.media_image(11, file="a.jpg")]
    first = run(services, payloads.product(1, updated_at=T0, media=a))
    with services.db.session() as session:
        session.get(RenderJob, first.job_id).state = "done"  # type: ignore[union-attr]
    run(services, payloads.product(1, updated_at=later(1), media=[payloads.media_image(12, file="b.jpg")]))
    back = run(services, payloads.product(1, updated_at=later(2), media=a))
    assert back.code == "queued" and back.job_id not in (first.job_id, None)
    # the very same update again (a second subscription, a reconciliation) makes nothing new
    assert run(services, payloads.product(1, updated_at=later(2), media=a)).code == "unchanged"
    assert len(jobs(services)) == 3


def test_a_product_recategorised_with_the_same_photo_renders_again_as_its_new_kind(
    services: Services,
) -> None:
    first = run(services, payloads.product(1, updated_at=T0, kind="earrings", title="Pearl Drop"))
    assert (first.code, first.kind) == ("queued", "earrings")
    with services.db.session() as session:
        product = session.scalars(select(Product)).one()
        session.add(
            Draft(shop_id=product.shop_id, product_id=product.id, job_id=first.job_id, plate_id="grace")
        )
    # The merchant fixes the category; the photo is the same one.
    fixed = run(services, payloads.product(1, updated_at=later(1), kind="necklace", title="Pearl Drop"))
    assert (fixed.code, fixed.kind, fixed.fingerprint) == ("queued", "necklace", first.fingerprint)
    assert fixed.job_id != first.job_id and (fixed.superseded_jobs, fixed.superseded_drafts) == (1, 1)
    assert [state for _, state, _ in jobs(services)] == ["superseded", "queued"]
    with services.db.session() as session:
        assert session.scalars(select(Product.kind)).one() == "necklace"
        assert session.scalars(select(Draft.state)).one() == "superseded"
    # The loop guard still holds for the new kind: the same snapshot again starts nothing.
    again = run(services, payloads.product(1, updated_at=later(2), kind="necklace", title="Pearl Drop"))
    assert again.code == "unchanged" and len(jobs(services)) == 2
    assert [m["render_job"] for m in messages(services)] == [first.job_id, fixed.job_id]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"kind": None, "title": "Linen Summer Dress"}, "not_jewelry"),
        ({"kind": "watch", "title": "Chronograph"}, "unsupported_kind"),
        ({"kind": "ring", "title": "Gold Ring"}, "no_plate"),  # studio has no hand plate
        ({"status": "archived"}, "archived"),
        ({"media": [payloads.media_image(3, status="PROCESSING")]}, "no_photo"),
        ({"media": []}, "no_photo"),
    ],
)
def test_skipped_products_are_recorded_with_the_reason(
    services: Services, changes: dict[str, Any], code: str
) -> None:
    result = run(services, payloads.product(1, updated_at=T0, **changes))
    assert result.code == code and result.job_id is None and result.detail
    with services.db.session() as session:
        product = session.scalars(select(Product)).one()
        assert (product.decision, product.decision_detail) == (code, result.detail)
    assert jobs(services) == [] and messages(services) == []


def test_a_photo_becoming_ready_queues_then(services: Services) -> None:
    assert (
        run(
            services, payloads.product(1, updated_at=T0, media=[payloads.media_image(3, status="PROCESSING")])
        ).code
        == "no_photo"
    )
    assert (
        run(services, payloads.product(1, updated_at=later(1), media=[payloads.media_image(3)])).code
        == "queued"
    )


def test_a_product_that_stops_being_jewelry_drops_its_pending_job(services: Services) -> None:
    run(services, payloads.product(1, updated_at=T0))
    result = run(services, payloads.product(1, updated_at=later(1), kind=None, title="Gift card"))
    assert result.code == "not_jewelry" and result.superseded_jobs == 1
    assert [state for _, state, _ in jobs(services)] == ["superseded"]
    # jewelry again with the same photo: its render is due again
    assert run(services, payloads.product(1, updated_at=later(2))).code == "queued"


def test_an_inactive_shop_gets_nothing(services: Services) -> None:
    with services.db.session() as session:
        ensure_shop(session, payloads.SHOP, active=False)
    assert run(services, payloads.product(1)).code == "shop_inactive"
    assert jobs(services) == []


def test_deletion_supersedes_and_late_updates_are_stale(services: Services) -> None:
    run(services, payloads.product(1, updated_at=T0))
    with services.db.session() as session:
        result = mark_deleted(
            session, ensure_shop(session, payloads.SHOP), "gid://shopify/Product/1", when=later(2)
        )
    assert result.code == "deleted" and result.superseded_jobs == 1
    assert run(services, payloads.product(1, updated_at=later(1))).code == "stale"
    # a delete that overtook the create: the create, older, is stale too
    with services.db.session() as session:
        mark_deleted(session, ensure_shop(session, payloads.SHOP), "gid://shopify/Product/2", when=later(3))
    assert run(services, payloads.product(2, updated_at=later(1))).code == "stale"


def test_nothing_is_sent_when_the_caller_rolls_back(services: Services) -> None:
    with pytest.raises(RuntimeError), services.db.session() as session:
        shop = ensure_shop(session, payloads.SHOP)
        process_product(
            services, session, shop, ProductSnapshot.from_rest(payloads.product(1)), source="backfill"
        )
        raise RuntimeError("the caller failed after deciding")
    assert counts(services) == (0, 0, 0)
    # the same session object can decide again and commit: only then is the message sent
    result = run(services, payloads.product(1), source="backfill")
    assert result.code == "queued" and jobs(services)[0][2] == "backfill"
    assert messages(services) == [{"render_job": result.job_id}]


def test_unknown_source_is_refused(services: Services) -> None:
    with pytest.raises(
        InputError, match="source 'cron': expected one of webhook, reconcile, backfill, manual"
    ):
        run(services, payloads.product(1), source="cron")


def test_a_queue_outage_after_commit_keeps_the_job_for_recovery(
    services: Services, aws: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A real SQS endpoint whose queues do not exist: every send fails after the database committed.
    services.queue = SqsQueue(f"missing-{uuid.uuid4().hex[:6]}-", endpoint_url=aws, region="us-east-1")
    with caplog.at_level(logging.ERROR, logger="connector.outbox"):
        result = run(services, payloads.product(1))
    assert result.code == "queued"
    assert "queue send failed after commit" in caplog.text
    cutoff = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with services.db.session() as session:
        stuck = session.scalars(
            select(RenderJob.id).where(RenderJob.state == "queued", RenderJob.updated_at < cutoff)
        ).all()
    assert stuck == [result.job_id]  # what the scheduler's recovery finds and sends again


@pytest.mark.postgres
def test_concurrent_identical_decisions_make_one_job(make_settings: Any, pg_url: str) -> None:
    """Eight threads decide on the same new product of a new shop at once (PostgreSQL, row locks)."""
    backends = Services.from_settings(make_settings(DATABASE_URL=pg_url))
    barrier = threading.Barrier(8)
    results: list[IntakeResult] = []
    errors: list[BaseException] = []

    def decide() -> None:
        try:
            barrier.wait()
            results.append(run(backends, payloads.product(1, updated_at=T0)))
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=decide) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert sorted(r.code for r in results) == ["queued"] + ["unchanged"] * 7
        assert len(jobs(backends)) == 1 and len(messages(backends)) == 1
        with backends.db.session() as session:
            assert len(session.scalars(select(StyleVersion)).all()) == 1
            assert len(session.scalars(select(Shop)).all()) == 1
    finally:
        backends.close()
