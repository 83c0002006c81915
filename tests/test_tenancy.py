"""Every row belongs to a shop; reads never cross shops; a shop's deletion takes all of its rows, only its."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from connector.db import Database
from connector.models import SHOP_TABLES, Base, Draft, Product, RenderJob, Shop, StyleVersion
from connector.shops import get_or_create_shop, get_owned, normalize_domain, owned


def test_every_table_but_shops_has_a_shop_column() -> None:
    tables = {table.name for table in Base.metadata.sorted_tables} - {"shops"}
    assert tables == {model.__tablename__ for model in SHOP_TABLES}
    for model in SHOP_TABLES:
        assert "shop_id" in model.__table__.c, model.__tablename__


def seed(db: Database, domain: str) -> int:
    with db.session() as session:
        shop = get_or_create_shop(session, domain)
        product = Product(shop_id=shop.id, product_gid="gid://shopify/Product/1", title="Chain")
        session.add(product)
        session.flush()
        job = RenderJob(
            shop_id=shop.id, product_id=product.id, idempotency_key=f"{domain}:1", source_fingerprint="f"
        )
        session.add(job)
        session.flush()
        session.add(Draft(shop_id=shop.id, product_id=product.id, job_id=job.id, plate_id="grace"))
        session.add(StyleVersion(shop_id=shop.id, name="studio", content_hash="h", document={}))
        return shop.id


def test_reads_are_scoped_and_deletion_cascades_to_one_shop_only(db: Database) -> None:
    acme, other = seed(db, "acme"), seed(db, "other")
    with db.session() as session:
        acme_draft = session.scalars(owned(Draft, acme)).one()
        assert get_owned(session, Draft, acme, acme_draft.id) is not None
        assert get_owned(session, Draft, other, acme_draft.id) is None
        session.execute(delete(Shop).where(Shop.id == acme))
    with db.session() as session:
        for model in SHOP_TABLES:
            assert session.scalar(select(func.count()).select_from(model).where(model.shop_id == acme)) == 0
        assert session.scalar(select(func.count()).select_from(Draft).where(Draft.shop_id == other)) == 1


def test_shop_domains_are_normalized_and_checked() -> None:
    assert normalize_domain("https://Acme.myshopify.com/") == "acme.myshopify.com"
    assert normalize_domain("acme") == "acme.myshopify.com"
    import pytest

    from renderer.errors import InputError

    with pytest.raises(InputError, match="not a shop domain"):
        normalize_domain("evil.com/../x")
