"""Record the merchant's decisions on drafts: approve (which queues the write-back), reject, approve all.

Idempotent: a double click finds the work already done and says so (`already_approved`) instead of doing it
twice. The state change is a conditional UPDATE, so of two concurrent clicks only one moves the draft, and
`WriteBack.draft_id` is unique besides. The write-back row is made by `connector.writeback.approve_draft`
and its message goes out with the commit (`connector.outbox`); the connector's worker performs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Update, update
from sqlalchemy.orm import Session

from connector.models import Draft, Product, Shop, StyleVersion, WriteBack, utcnow
from connector.outbox import send_on_commit
from connector.queue import WRITEBACK, Queue
from connector.shops import get_owned, owned
from connector.writeback import approve_draft

log = logging.getLogger(__name__)


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


def _refusal(session: Session, draft: Draft) -> str | None:
    """Say why the draft cannot go to the product at all (no image, or its style version is gone)."""
    if draft.image_key is None:
        return "this draft has no image (its render did not pass its checks)"
    version = (
        get_owned(session, StyleVersion, draft.shop_id, draft.style_version_id)
        if draft.style_version_id is not None
        else None
    )
    if version is None:
        return "the house style version that made this draft is gone; render the product again"
    return None


def _approve_one(session: Session, queue: Queue, shop: Shop, draft: Draft, user: str) -> Decision:
    refusal = _refusal(session, draft)
    if refusal is not None and draft.state in ("awaiting_review", "rejected"):
        return Decision("conflict", draft.id, draft.state, None, refusal)
    # The conditional UPDATE is the lock: of two concurrent clicks only one moves the draft.
    moved = rows_changed(
        session,
        update(Draft)
        .where(
            Draft.id == draft.id, Draft.shop_id == shop.id, Draft.state.in_(("awaiting_review", "rejected"))
        )
        .values(state="approved", decided_by=user[:100], decided_at=utcnow(), updated_at=utcnow()),
    )
    session.refresh(draft)
    if not moved:
        existing = session.scalar(owned(WriteBack, shop.id).where(WriteBack.draft_id == draft.id))
        if draft.state in ("approved", "written") or (draft.state == "failed" and existing is not None):
            return Decision("already_approved", draft.id, draft.state, existing.id if existing else None)
        return Decision("conflict", draft.id, draft.state, None, f"a {draft.state} draft cannot be approved")
    # The connector makes the write-back row: alt text from the draft's style version, with Worn's marker
    # (the loop guard's second line of defence).
    write_back = approve_draft(session, draft, decided_by=user[:100])
    send_on_commit(session, queue, WRITEBACK, write_back_message(write_back.id), shop_id=shop.id)
    log.info("draft %s approved by user %s; write-back %s queued", draft.id, user, write_back.id)
    return Decision("approved", draft.id, draft.state, write_back.id)


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
        log.info("draft %s rejected by user %s%s", draft.id, user, f": {reason}" if reason else "")
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
