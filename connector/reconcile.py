"""Keep Worn in step with the shops: catch lost webhooks, recover stuck jobs, expire old drafts.

Every function here is one pass that is safe to run at any time, in any number of processes at once (the
scheduler in `worn serve`, or a scheduled Lambda): what it feeds in goes through the same idempotent decision
path as a webhook (`connector.intake.process_product`), and what it re-queues is handled idempotently.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from connector import auth
from connector.admin import AdminClient, AdminError
from connector.intake import process_product
from connector.logs import log_context
from connector.models import Draft, QueueMessage, RenderJob, Shop, StyleVersion, WriteBack, utcnow
from connector.products import snapshot_of
from connector.queue import RENDER, WRITEBACK, DbQueue
from connector.services import Services
from connector.styles import parse_style

log = logging.getLogger(__name__)

#: Products updated this long before the watermark are looked at again: Shopify's updated_at has second
#: precision and its clock is not Worn's. Seeing a product twice is harmless (the intake is idempotent).
OVERLAP = dt.timedelta(minutes=2)
#: Products per page: a page costs 2 + 24 points per product, under Shopify's 1000-point limit per query.
PAGE_SIZE = 25
MAX_PAGE_SIZE = 40
EXPIRABLE = ("awaiting_review", "rejected", "superseded", "failed")
UNFINISHED_WRITE_BACK = ("queued", "staged", "uploaded", "attaching", "attached", "ready")

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class ShopReconcile:
    """One shop's reconciliation: products looked at, what the intake decided, and the new watermark."""

    shop: str
    seen: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    watermark: dt.datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class StuckReport:
    """Jobs and write-backs that had lost their message and were sent again."""

    render_jobs: tuple[int, ...] = ()
    write_backs: tuple[int, ...] = ()


def iso(moment: dt.datetime) -> str:
    """Format a time for Shopify's search syntax (UTC, seconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO 8601 time from the Admin API (Z or an offset)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def product_pages(
    client: AdminClient,
    *,
    query: str | None,
    sort_key: str,
    page_size: int = PAGE_SIZE,
    after: str | None = None,
) -> Iterator[tuple[list[dict[str, Any]], str | None, bool]]:
    """Yield (products, end cursor, has next page) for each page of `products(query:)`, following cursors."""
    while True:
        variables = {"first": page_size, "after": after, "query": query, "sortKey": sort_key}
        page = client.query("products_page", variables)["products"]
        info = page.get("pageInfo") or {}
        after = info.get("endCursor")
        more = bool(info.get("hasNextPage")) and after is not None
        yield list(page.get("nodes") or []), after, more
        if not more:
            return


# --- products updated since the watermark ----------------------------------------------------------------


def reconcile_shop(services: Services, shop_id: int, *, client: AdminClient | None = None) -> ShopReconcile:
    """Feed every product of the shop updated since its watermark through the intake; advance the watermark.

    Pages come sorted by updatedAt, so after each page the watermark moves to the newest time seen: an
    interrupted pass resumes where it stopped.
    """

    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        if shop is None or not shop.active:
            return ShopReconcile(str(shop_id), error="not installed")
        domain = shop.domain
        since = shop.reconciled_at or shop.installed_at
        client = client or AdminClient.for_shop(services, shop)
    outcomes: dict[str, int] = {}
    seen = 0
    watermark = since
    query = f"updated_at:>'{iso(since - OVERLAP)}'"
    for nodes, _cursor, _more in product_pages(client, query=query, sort_key="UPDATED_AT"):
        for node in nodes:
            snapshot = snapshot_of(client, node)
            with services.db.session() as session:
                shop = session.get(Shop, shop_id)
                assert shop is not None
                result = process_product(services, session, shop, snapshot, source="reconcile")
            outcomes[result.code] = outcomes.get(result.code, 0) + 1
            seen += 1
            if node.get("updatedAt"):
                watermark = max(watermark, parse_time(node["updatedAt"]))
        with services.db.session() as session:
            shop = session.get(Shop, shop_id)
            if shop is not None and (shop.reconciled_at is None or shop.reconciled_at < watermark):
                shop.reconciled_at = watermark
    if seen:
        log.info("reconciled %s: %d product(s) updated since %s: %s", domain, seen, iso(since), outcomes)
    return ShopReconcile(domain, seen, outcomes, watermark)


def reconcile_all(services: Services) -> list[ShopReconcile]:
    """Reconcile every installed shop; a shop that fails is reported and the others go on."""
    with services.db.session() as session:
        shops = session.execute(
            select(Shop.id, Shop.domain).where(Shop.active.is_(True), Shop.access_token.is_not(None))
        ).all()
    reports = []
    for shop_id, domain in shops:
        try:
            with log_context(shop=domain):
                reports.append(reconcile_shop(services, shop_id))
        except (AdminError, auth.AuthError) as exc:
            log.warning("reconciling %s failed: %s", domain, exc)
            reports.append(ShopReconcile(domain, error=f"{exc.code}: {exc}"))
    return reports


# --- stuck jobs ------------------------------------------------------------------------------------------


def _live_ids(services: Services, queue: str, key: str) -> set[int] | None:
    """Return the ids named by the queue's live messages, or None when the backend cannot list them (SQS)."""
    if not isinstance(services.queue, DbQueue):
        return None
    with services.db.session() as session:
        bodies = session.scalars(
            select(QueueMessage.body).where(QueueMessage.queue == queue, QueueMessage.state == "ready")
        )
        return {int(body[key]) for body in bodies if isinstance(body, dict) and key in body}


def requeue_stuck(services: Services, *, clock: Clock = utcnow) -> StuckReport:
    """Send again the render jobs and write-backs whose message was lost (or whose worker died).

    Stuck means: unfinished, untouched for twice the visibility timeout, and no live message names it (on
    SQS, which cannot be listed, staleness alone decides; a duplicate message is harmless).
    """
    stale = clock() - dt.timedelta(seconds=2 * services.settings.QUEUE_VISIBILITY_SECONDS)
    live_jobs = _live_ids(services, RENDER, "render_job")
    live_write_backs = _live_ids(services, WRITEBACK, "write_back_id")
    jobs: list[tuple[int, int]] = []
    write_backs: list[tuple[int, int]] = []
    with services.db.session() as session:
        for job in session.scalars(
            select(RenderJob).where(RenderJob.state.in_(("queued", "running")), RenderJob.updated_at < stale)
        ):
            if live_jobs is not None and job.id in live_jobs:
                continue
            job.state, job.last_error = "queued", "re-queued: its message was lost or its worker stopped"
            jobs.append((job.id, job.shop_id))
        for write_back in session.scalars(
            select(WriteBack).where(WriteBack.state.in_(UNFINISHED_WRITE_BACK), WriteBack.updated_at < stale)
        ):
            if live_write_backs is not None and write_back.id in live_write_backs:
                continue
            write_back.last_error = "re-queued: its message was lost or its worker stopped"
            write_backs.append((write_back.id, write_back.shop_id))
    # Sent after the commit: on SQLite a send inside the open write transaction would wait for it.
    for job_id, shop_id in jobs:
        services.queue.send(RENDER, {"render_job": job_id}, shop_id=shop_id)
    for write_back_id, shop_id in write_backs:
        services.queue.send(WRITEBACK, {"write_back_id": write_back_id}, shop_id=shop_id)
    if jobs or write_backs:
        log.warning("re-queued %d stuck render job(s) and %d write-back(s)", len(jobs), len(write_backs))
    return StuckReport(tuple(j for j, _ in jobs), tuple(w for w, _ in write_backs))


# --- old drafts ------------------------------------------------------------------------------------------


def expire_drafts(services: Services, *, clock: Clock = utcnow) -> int:
    """Expire drafts nobody approved within their style's draft_ttl_days, and delete their files."""
    now = clock()
    expired = 0
    with services.db.session() as session:
        versions = {
            version.id: parse_style(version.document, f"style version {version.id}").approval.draft_ttl_days
            for version in session.scalars(select(StyleVersion))
        }
    for version_id, ttl_days in versions.items():
        cutoff = now - dt.timedelta(days=ttl_days)
        with services.db.session() as session:
            drafts = session.scalars(
                select(Draft).where(
                    Draft.style_version_id == version_id,
                    Draft.state.in_(EXPIRABLE),
                    Draft.created_at < cutoff,
                )
            ).all()
            keys = [key for d in drafts for key in (d.image_key, d.thumb_key) if key]
            for draft in drafts:
                draft.state, draft.image_key, draft.thumb_key = "expired", None, None
                draft.error = draft.error or f"expired after {ttl_days} days without a decision"
            expired += len(drafts)
        for key in keys:  # after the commit: a file may outlive its row for a moment, never the reverse
            services.storage.delete(key)
    if expired:
        log.info("expired %d draft(s)", expired)
    return expired


def run_maintenance(services: Services) -> dict[str, Any]:
    """Run every periodic task once (what the scheduled Lambda calls); return a summary."""
    tokens = auth.refresh_due_tokens(services)
    stuck = requeue_stuck(services)
    shops = reconcile_all(services)
    return {
        "tokens_refreshed": len(tokens.refreshed),
        "token_failures": [f"{domain}: {code}" for domain, code in tokens.failed],
        "requeued_jobs": len(stuck.render_jobs),
        "requeued_write_backs": len(stuck.write_backs),
        "reconciled_products": sum(report.seen for report in shops),
        "reconcile_failures": [f"{report.shop}: {report.error}" for report in shops if report.error],
        "expired_drafts": expire_drafts(services),
    }
