"""Record the merchant's decisions on drafts: approve (which queues the write-back), reject, approve all.

Idempotent: a double click finds the work already done and says so (`already_approved`) instead of doing it
twice. The state change is a conditional UPDATE, so of two concurrent clicks only one moves the draft, and
`WriteBack.draft_id` is unique besides. The write-back message goes out only after the commit
(`connector.outbox`); the connector's worker performs the write-back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Update, update
from sqlalchemy.orm import Session

from connector.models import Draft, Product, Shop, StyleVersion, WriteBack, utcnow
from connector.outbox import send_after_commit
from connector.queue import WRITEBACK, Queue
from connector.review import style_of
from connector.shops import get_owned, owned
from connector.styles import HouseStyle, PlateSpec, parse_style


def rows_changed(session: Session, statement: Update) -> int:
    """Run an UPDATE and return how many rows it changed (the test of a conditional state change)."""
    result = cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False)))
    return int(result.rowcount)


def write_back_message(write_back_id: int) -> dict[str, int]:
    """Return the WRITEBACK queue message that asks a worker to perform write-back `write_back_id`."""
    return {"write_back_id": int(write_back_id)}


@dataclass(frozen=True)
class Decision:
    """What a decision on one draft did; `code` is stable for the pages and the tests."""

    code: str  # approved | already_approved | rejected | already_rejected | not_found | conflict
    draft_id: int
    state: str | None = None
    write_back_id: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class BulkDecision:
    """What approving every awaiting draft of a product did."""

    code: str  # approved | nothing_to_approve | not_found
    product_id: int
    approved: tuple[int, ...] = ()
    write_backs: tuple[int, ...] = ()
    detail: str = ""


def _alt_text(style: HouseStyle | None, product: Product, plate: PlateSpec | None, shop: Shop) -> str | None:
    if style is None:
        return None
    values = {
        "title": product.title or "",
        "model": (plate.model if plate else "") or "a model",
        "kind": product.kind or "jewelry",
        "shop": shop.name or shop.domain,
        "plate": plate.id if plate else "",
    }
    return style.write_back.alt_template.format(**values)[:512]


def _position(style: HouseStyle | None) -> int | None:
    if style is None or not isinstance(style.write_back.position, int):
        return None
    return style.write_back.position


def _draft_style(session: Session, draft: Draft, shop: Shop) -> HouseStyle | None:
    # The style version that made the draft decides its alt text and position, not a later edit.
    if draft.style_version_id is not None:
        version = session.get(StyleVersion, draft.style_version_id)
        if version is not None and version.shop_id == shop.id:
            return parse_style(version.document, f"style version {version.id}")
    return style_of(session, shop)


def _approve_one(session: Session, queue: Queue, shop: Shop, draft: Draft, user: str) -> Decision:
    moved = rows_changed(
        session,
        update(Draft)
        .where(
            Draft.id == draft.id, Draft.shop_id == shop.id, Draft.state.in_(("awaiting_review", "rejected"))
        )
        .values(state="approved", decided_by=user[:100], decided_at=utcnow(), updated_at=utcnow()),
    )
    existing = session.scalar(owned(WriteBack, shop.id).where(WriteBack.draft_id == draft.id))
    if not moved:
        session.refresh(draft)
        if draft.state in ("approved", "written") or (draft.state == "failed" and existing is not None):
            return Decision("already_approved", draft.id, draft.state, existing.id if existing else None)
        return Decision("conflict", draft.id, draft.state, None, f"a {draft.state} draft cannot be approved")
    if existing is not None:  # approved once before (never happens through this module; be safe)
        return Decision("already_approved", draft.id, "approved", existing.id)
    product = session.get(Product, draft.product_id)
    style = _draft_style(session, draft, shop)
    plate = next((p for p in style.plates if p.id == draft.plate_id), None) if style else None
    write_back = WriteBack(
        shop_id=shop.id,
        product_id=draft.product_id,
        draft_id=draft.id,
        state="queued",
        alt=_alt_text(style, product, plate, shop) if product else None,
        position=_position(style),
    )
    session.add(write_back)
    session.flush()
    send_after_commit(session, queue, WRITEBACK, write_back_message(write_back.id), shop_id=shop.id)
    session.refresh(draft)
    return Decision("approved", draft.id, "approved", write_back.id)


def approve(session: Session, queue: Queue, shop_id: int, draft_id: int, user: str) -> Decision:
    """Approve a draft: record who, create its write-back (state queued) and queue it after the commit.

    Idempotent: approving an approved draft returns `already_approved` with the same write-back; a
    concurrent double click finds the draft already moved (the state change is a conditional UPDATE) and
    `WriteBack.draft_id` is unique, so there is never a second write-back.
    """
    draft = get_owned(session, Draft, shop_id, draft_id)
    shop = session.get(Shop, shop_id)
    if draft is None or shop is None:
        return Decision("not_found", draft_id)
    return _approve_one(session, queue, shop, draft, user)


def reject(session: Session, shop_id: int, draft_id: int, user: str, reason: str | None = None) -> Decision:
    """Reject a draft awaiting review (idempotent; an approved draft is not un-approved here)."""
    draft = get_owned(session, Draft, shop_id, draft_id)
    if draft is None:
        return Decision("not_found", draft_id)
    moved = rows_changed(
        session,
        update(Draft)
        .where(Draft.id == draft.id, Draft.shop_id == shop_id, Draft.state == "awaiting_review")
        .values(
            state="rejected",
            decided_by=user[:100],
            decided_at=utcnow(),
            error=f"rejected: {reason}" if reason else None,
            updated_at=utcnow(),
        ),
    )
    session.refresh(draft)
    if moved:
        return Decision("rejected", draft.id, "rejected")
    if draft.state == "rejected":
        return Decision("already_rejected", draft.id, "rejected")
    return Decision("conflict", draft.id, draft.state, None, f"a {draft.state} draft cannot be rejected")


def approve_all(session: Session, queue: Queue, shop_id: int, product_id: int, user: str) -> BulkDecision:
    """Approve every draft of the product that awaits review; a second call finds nothing left to do."""
    product = get_owned(session, Product, shop_id, product_id)
    shop = session.get(Shop, shop_id)
    if product is None or shop is None:
        return BulkDecision("not_found", product_id)
    drafts = list(
        session.scalars(
            owned(Draft, shop_id)
            .where(Draft.product_id == product.id, Draft.state == "awaiting_review")
            .order_by(Draft.id)
        )
    )
    results = [_approve_one(session, queue, shop, draft, user) for draft in drafts]
    done = [r for r in results if r.code == "approved"]
    if not done:
        return BulkDecision("nothing_to_approve", product.id, detail="no draft of this product awaits review")
    return BulkDecision(
        "approved",
        product.id,
        tuple(r.draft_id for r in done),
        tuple(r.write_back_id for r in done if r.write_back_id is not None),
    )
