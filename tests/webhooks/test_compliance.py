"""Uninstall stops a shop; shop/redact erases every row and file of it and nothing of another shop."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest
from sqlalchemy import func, select

from connector.compliance import REDACT_SHOP, redact_shop, request_redaction, storage_prefix, uninstall_shop
from connector.intake import process_product
from connector.models import (
    SHOP_TABLES,
    BackfillRun,
    Draft,
    PlateAnalysisCache,
    Product,
    QueueMessage,
    RenderJob,
    Shop,
    WebhookDelivery,
    WriteBack,
)
from connector.outbox import pending_messages
from connector.queue import MAINTENANCE, RENDER, SqsQueue
from connector.services import Services
from connector.settings import Settings
from connector.shops import ensure_shop
from connector.snapshot import ProductSnapshot
from connector.tokens import TokenSet, TokenStore
from renderer.errors import InputError
from tests.webhooks import payloads


def seed_shop(services: Services, domain: str) -> int:
    """Give a shop a row in every table and files in storage, as weeks of use would."""
    with services.db.session() as session:
        shop = ensure_shop(session, domain)
        TokenStore(services.cipher).save(
            shop, TokenSet("shpat_" + "a" * 32, refresh_token="shprt_" + "b" * 32)
        )
        result = process_product(
            services, session, shop, ProductSnapshot.from_rest(payloads.product(1)), source="webhook"
        )
        product = session.scalars(select(Product).where(Product.shop_id == shop.id)).one()
        draft = Draft(
            shop_id=shop.id,
            product_id=product.id,
            job_id=result.job_id,
            plate_id="grace",
            image_key=f"shops/{shop.id}/drafts/1/grace.jpg",
        )
        session.add(draft)
        session.flush()
        session.add_all(
            [
                WriteBack(
                    shop_id=shop.id,
                    product_id=product.id,
                    draft_id=draft.id,
                    media_gid="gid://shopify/MediaImage/9",
                ),
                WebhookDelivery(shop_id=shop.id, webhook_id=f"w-{domain}", topic="products/update"),
                PlateAnalysisCache(shop_id=shop.id, content_hash="h", analysis={"iris_mm": 11.7}),
                BackfillRun(shop_id=shop.id),
            ]
        )
        shop_id = shop.id
    for key in ("drafts/1/grace.jpg", "drafts/1/grace-thumb.jpg", "plates/hand.jpg"):
        services.storage.put(f"shops/{shop_id}/{key}", b"\xff\xd8 jpeg bytes")
    return shop_id


def rows_of(services: Services, shop_id: int) -> dict[str, int]:
    with services.db.session() as session:
        out = {
            model.__tablename__: session.scalar(
                select(func.count()).select_from(model).where(model.shop_id == shop_id)
            )
            or 0  # type: ignore[attr-defined]
            for model in SHOP_TABLES
        }
        out["shops"] = session.scalar(select(func.count()).select_from(Shop).where(Shop.id == shop_id)) or 0
    return out


@pytest.fixture(params=["local", "s3"])
def storage_services(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], database_url: str
) -> Iterator[Services]:
    if request.param == "local":
        settings = make_settings(DATABASE_URL=database_url)
    else:
        endpoint = request.getfixturevalue("aws")
        bucket = f"worn-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        settings = make_settings(
            DATABASE_URL=database_url, STORAGE_URL=f"s3://{bucket}/worn?endpoint={endpoint}&region=us-east-1"
        )
    backends = Services.from_settings(settings)
    yield backends
    backends.close()


def test_redact_erases_one_shop_entirely_and_nothing_else(storage_services: Services) -> None:
    services = storage_services
    gone, kept = seed_shop(services, "closing-shop"), seed_shop(services, "staying-shop")
    services.queue.send(RENDER, {"render_job": 1}, shop_id=gone)
    before_kept = rows_of(services, kept)
    assert all(
        rows_of(services, gone)[name] >= 1
        for name in (
            "products",
            "render_jobs",
            "drafts",
            "write_backs",
            "webhook_deliveries",
            "plate_analyses",
            "style_versions",
            "backfill_runs",
            "queue_messages",
            "shops",
        )
    )

    result = redact_shop(services, gone)
    assert result.files == 3 and result.rows["shops"] == 1 and result.rows["products"] == 1
    assert set(rows_of(services, gone).values()) == {0}
    assert list(services.storage.keys(storage_prefix(gone))) == []
    assert rows_of(services, kept) == before_kept
    assert len(list(services.storage.keys(storage_prefix(kept)))) == 3

    again = redact_shop(services, gone)  # the worker may run it twice: nothing left, no error
    assert (again.total_rows, again.files) == (0, 0)


def test_redact_refuses_a_bad_id(services: Services) -> None:
    with pytest.raises(InputError, match="shop id '7': expected a positive whole number"):
        redact_shop(services, "7")  # type: ignore[arg-type]


def test_uninstall_stops_the_shop_keeps_its_data(services: Services) -> None:
    shop_id = seed_shop(services, "leaving")
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        result = uninstall_shop(services, session, shop)
    assert result.code == "uninstalled" and "1 pending job(s) cancelled" in result.detail
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None and shop.active is False and shop.uninstalled_at is not None
        assert TokenStore(services.cipher).load(shop) is None and shop.refresh_token is None
        assert session.scalars(select(RenderJob.state)).all() == ["cancelled"]
    assert rows_of(services, shop_id)["products"] == 1


def test_shop_redact_request_queues_the_erasure_with_the_commit(services: Services) -> None:
    shop_id = seed_shop(services, "redacted")
    with pytest.raises(RuntimeError), services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        request_redaction(services, session, shop)
        # the database queue takes the message inside the transaction...
        assert session.connection().execute(select(func.count()).select_from(QueueMessage)).scalar() == 2
        raise RuntimeError("...so a rollback takes it back")
    assert services.queue.depth(MAINTENANCE) == 0
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        assert request_redaction(services, session, shop).code == "redaction_queued"
    [message] = services.queue.receive(MAINTENANCE)
    assert message.body == {REDACT_SHOP: shop_id}
    redact_shop(services, message.body[REDACT_SHOP])
    assert services.queue.ack(message)  # the message outlives the shop's rows
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(QueueMessage)) == 0


def test_with_sqs_the_erasure_is_sent_after_the_commit(services: Services, aws: str) -> None:
    shop_id = seed_shop(services, "redacted-sqs")
    sqs = SqsQueue(f"worn-{uuid.uuid4().hex[:6]}-", endpoint_url=aws, region="us-east-1", create=True)
    sqs.create_queues()
    services.queue = sqs
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        request_redaction(services, session, shop)
        assert pending_messages(session) == [(MAINTENANCE, {REDACT_SHOP: shop_id})]  # not sent yet
        assert sqs.receive(MAINTENANCE) == []
    [message] = sqs.receive(MAINTENANCE)
    assert message.body == {REDACT_SHOP: shop_id}
