"""Leave a shop cleanly: stop on uninstall, erase everything of it on `shop/redact`.

Worn stores no customer data (no names, emails, addresses or orders: only products, their photos and the
images Worn made), so `customers/data_request` and `customers/redact` have nothing to export or erase.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from connector.models import SHOP_TABLES, RenderJob, Shop, utcnow
from connector.outbox import send_on_commit
from connector.queue import MAINTENANCE
from connector.services import Services
from connector.tokens import TokenStore
from renderer.errors import InputError

log = logging.getLogger(__name__)

#: The maintenance message that asks a worker to run `redact_shop(services, body["redact_shop"])`.
REDACT_SHOP = "redact_shop"

NO_CUSTOMER_DATA = "Worn stores no customer data: nothing to export or erase"


@dataclass(frozen=True)
class ComplianceResult:
    """What a compliance or uninstall step did: a stable code and the detail in words."""

    code: str
    detail: str


@dataclass(frozen=True)
class RedactResult:
    """What `redact_shop` erased: rows per table and stored files."""

    shop_id: int
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0

    @property
    def total_rows(self) -> int:
        """Return how many rows were deleted in all."""
        return sum(self.rows.values())


def storage_prefix(shop_id: int) -> str:
    """Return the storage prefix under which every file of the shop lives."""
    return f"shops/{shop_id}/"


def _stop(services: Services, session: Session, shop: Shop, when: dt.datetime) -> int:
    """Mark the shop inactive, forget its tokens and cancel its pending render jobs; return how many."""
    shop.active = False
    shop.uninstalled_at = shop.uninstalled_at or when
    TokenStore(services.cipher).drop(shop)
    return session.execute(  # type: ignore[no-any-return]
        update(RenderJob)
        .where(RenderJob.shop_id == shop.id, RenderJob.state.in_(("queued", "failed")))
        .values(state="cancelled", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]


def uninstall_shop(
    services: Services, session: Session, shop: Shop, *, when: dt.datetime | None = None
) -> ComplianceResult:
    """Handle `app/uninstalled`: the shop goes inactive, its tokens are dropped, its pending jobs cancelled.

    Its data stays until `shop/redact` (Shopify sends it 48 hours later), so a quick reinstall loses nothing.
    """
    cancelled = _stop(services, session, shop, when or utcnow())
    detail = f"shop {shop.domain} marked inactive, tokens dropped, {cancelled} pending job(s) cancelled"
    return ComplianceResult("uninstalled", detail)


def request_redaction(services: Services, session: Session, shop: Shop) -> ComplianceResult:
    """Handle `shop/redact`: stop the shop as on uninstall, and queue the erasure as a maintenance job.

    The message `{"redact_shop": shop.id}` is sent after the caller commits; a worker runs `redact_shop`.
    """
    _stop(services, session, shop, utcnow())
    # No shop_id on the message: the database queue would delete it with the shop's rows, under the worker.
    send_on_commit(session, services.queue, MAINTENANCE, {REDACT_SHOP: shop.id}, shop_id=None)
    return ComplianceResult("redaction_queued", f"erasure of shop {shop.domain} (id {shop.id}) queued")


def redact_shop(services: Services, shop_id: int) -> RedactResult:
    """Delete every row and every stored file of the shop; running it again finds nothing and is harmless.

    Rows go first, in one transaction (children before parents, then the shop itself), so no worker can
    find the shop afterwards; then every object under `shops/{shop_id}/` in storage (local or S3).
    """
    if isinstance(shop_id, bool) or not isinstance(shop_id, int) or shop_id <= 0:
        raise InputError(f"shop id {shop_id!r}: expected a positive whole number")
    rows: dict[str, int] = {}
    with services.db.session() as session:
        for model in SHOP_TABLES:
            statement = delete(model).where(model.shop_id == shop_id)  # type: ignore[attr-defined]
            deleted = session.execute(statement.execution_options(synchronize_session=False))
            rows[model.__tablename__] = deleted.rowcount  # type: ignore[attr-defined]
        rows[Shop.__tablename__] = session.execute(
            delete(Shop).where(Shop.id == shop_id).execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    files = services.storage.delete_prefix(storage_prefix(shop_id))
    result = RedactResult(shop_id, {name: n for name, n in rows.items() if n}, files)
    log.info(
        "shop %s redacted: %s row(s), %s file(s)", shop_id, result.total_rows, files, extra={"shop": shop_id}
    )
    return result
