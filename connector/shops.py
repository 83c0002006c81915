"""Find shops and read a shop's rows: every query here is scoped to one shop."""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from connector.db import insert_or_skip
from connector.models import Base, Shop, utcnow
from renderer.errors import InputError

_SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com$")
Row = TypeVar("Row", bound=Base)


def normalize_domain(value: str) -> str:
    """Return `value` as 'name.myshopify.com', or raise InputError naming it."""
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if "." not in domain:
        domain += ".myshopify.com"
    if not _SHOP_DOMAIN.match(domain):
        raise InputError(f"shop {value!r} is not a shop domain: expected NAME.myshopify.com")
    return domain


def shop_by_domain(session: Session, domain: str) -> Shop | None:
    """Return the shop with this domain, or None."""
    return session.scalar(select(Shop).where(Shop.domain == normalize_domain(domain)))


def get_or_create_shop(session: Session, domain: str) -> Shop:
    """Return the shop with this domain, creating its row on first sight."""
    shop = shop_by_domain(session, domain)
    if shop is None:
        shop = Shop(domain=normalize_domain(domain), active=True)
        session.add(shop)
        session.flush()
    return shop


def ensure_shop(session: Session, domain: str, *, active: bool = True) -> Shop:
    """Return the shop with this domain, creating it (`active` as given) when missing.

    Safe when two requests create the same shop at once: the insert does nothing on a conflict, and both
    read the one row back.
    """
    shop = shop_by_domain(session, domain)
    if shop is not None:
        return shop
    now = utcnow()
    session.execute(
        insert_or_skip(session, Shop)
        .values(domain=normalize_domain(domain), active=active)
        .values(installed_at=now, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["domain"])
    )
    shop = shop_by_domain(session, domain)
    assert shop is not None
    return shop


def owned(model: type[Row], shop_id: int) -> Select[Row]:
    """Return a SELECT of `model` rows that belong to `shop_id` (the start of every tenant query)."""
    return select(model).where(model.shop_id == shop_id)  # type: ignore[attr-defined]


def get_owned(session: Session, model: type[Row], shop_id: int, row_id: int) -> Row | None:
    """Return the row with `row_id` only when it belongs to `shop_id`; another shop's row is None."""
    return session.scalar(owned(model, shop_id).where(model.id == row_id))  # type: ignore[attr-defined, arg-type]
