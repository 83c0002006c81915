"""Walk a shop's whole catalog once and queue what needs rendering; stop any time, resume where it stopped.

Products go through the same decision path as webhooks (`connector.intake.process_product`), so a product
already rendered, not jewelry, or without a photo is counted and skipped with its reason, and a product is
never queued twice. The position is saved in a `BackfillRun` after every page.

Cursor pagination, not a bulk operation: the dev-shop (and every test) speaks the paginated query, pages are
small and cheap (cost ~ page size x media), and the progress of a bulk operation cannot be resumed page by
page. Shopify caps one paginated walk at 25,000 objects, so the walk is split into windows of `id:>LAST`,
each well under that cap.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from connector.admin import AdminClient
from connector.intake import process_product, shop_style
from connector.jewelry import classify
from connector.models import BackfillRun, Shop, utcnow
from connector.products import snapshot_of
from connector.reconcile import MAX_PAGE_SIZE, PAGE_SIZE, product_pages
from connector.services import Services
from connector.shops import normalize_domain, shop_by_domain
from connector.styles import KINDS
from renderer.errors import InputError

log = logging.getLogger(__name__)

WINDOW = 20_000  # products per pagination window, under Shopify's 25,000-object cap


@dataclass
class BackfillCounts:
    """What the walk saw: products, jewelry among them, jobs queued, and skips by reason."""

    seen: int = 0
    jewelry: int = 0
    queued: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the counts as JSON data (stored on the BackfillRun)."""
        return {
            "seen": self.seen,
            "jewelry": self.jewelry,
            "queued": self.queued,
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BackfillCounts:
        """Rebuild counts saved by `to_dict`."""
        data = data or {}
        return cls(
            int(data.get("seen", 0)),
            int(data.get("jewelry", 0)),
            int(data.get("queued", 0)),
            {str(k): int(v) for k, v in (data.get("skipped") or {}).items()},
        )

    def line(self) -> str:
        """Return a one-line summary."""
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items())) or "none"
        return f"seen {self.seen}, jewelry {self.jewelry}, queued {self.queued}; skipped: {skipped}"


@dataclass(frozen=True)
class BackfillResult:
    """How a backfill ended: done or interrupted, with its run id and counts."""

    run_id: int
    state: str
    counts: BackfillCounts


@dataclass
class _Position:
    after: str | None = None  # the cursor inside the current window
    window_from: int = 0  # numeric product id the current window starts after
    window_seen: int = 0
    last_id: int = 0

    def dump(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def load(cls, text: str | None) -> _Position:
        return cls(**json.loads(text)) if text else cls()


def _numeric_id(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


def _start_run(services: Services, shop_id: int, filters: dict[str, Any], restart: bool) -> tuple[int, bool]:
    """Return (run id, resumed): the shop's unfinished run with the same filters, or a new one."""
    with services.db.session() as session:
        open_runs = session.scalars(
            select(BackfillRun)
            .where(BackfillRun.shop_id == shop_id, BackfillRun.state != "done")
            .order_by(BackfillRun.id.desc())
        ).all()
        for run in open_runs:
            if restart or run.filters != filters:
                run.state, run.finished_at = "abandoned", utcnow()
            else:
                run.state = "running"
                return run.id, True
        run = BackfillRun(
            shop_id=shop_id, filters=filters, counts=BackfillCounts().to_dict(), state="running"
        )
        session.add(run)
        session.flush()
        return run.id, False


def run_backfill(
    services: Services,
    shop: str,
    *,
    kinds: Iterable[str] | None = None,
    limit: int | None = None,
    page_size: int = PAGE_SIZE,
    restart: bool = False,
    stop_event: threading.Event | None = None,
    on_product: Callable[[BackfillCounts], None] | None = None,
    client: AdminClient | None = None,
) -> BackfillResult:
    """Walk the catalog of `shop`, queue jewelry that needs renders; resume an unfinished run (not `restart`).

    `kinds`: only queue these kinds (others are counted as skipped); `limit`: stop after this many products
    in all (a later run resumes after them); `stop_event`: stop cleanly after the current product.
    """
    wanted = sorted(set(kinds or ()))
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise InputError(f"--kind {', '.join(unknown)}: expected one of {', '.join(KINDS)}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(
            f"--page-size {page_size}: expected 1 to {MAX_PAGE_SIZE} (a bigger page costs more "
            "than Shopify's 1000-point limit for one query)"
        )
    if limit is not None and limit < 1:
        raise InputError(f"--limit {limit}: expected a positive number of products")
    with services.db.session() as session:
        row = shop_by_domain(session, shop)
        if row is None or not row.active or row.access_token is None:
            raise InputError(f"shop {normalize_domain(shop)} has not installed Worn (no token)")
        shop_id = row.id
        client = client or AdminClient.for_shop(services, row)
    filters = {"kinds": wanted}
    run_id, resumed = _start_run(services, shop_id, filters, restart)
    with services.db.session() as session:
        run = session.get(BackfillRun, run_id)
        assert run is not None
        position = _Position.load(run.cursor)
        counts = BackfillCounts.from_dict(run.counts)
    if resumed:
        log.info(
            "resuming backfill %d of %s after product %d (%s)", run_id, shop, position.last_id, counts.line()
        )
    budget = limit
    state = "done"
    stop = stop_event or threading.Event()
    while True:
        query = f"id:>{position.window_from}" if position.window_from else None
        window_done = True
        for nodes, cursor, more in product_pages(
            client, query=query, sort_key="ID", page_size=page_size, after=position.after
        ):
            for node in nodes:
                if (budget is not None and budget <= 0) or stop.is_set():
                    state = "interrupted"
                    break
                numeric = _numeric_id(node["id"])
                if numeric <= position.last_id:
                    continue  # already counted before an interruption inside this page
                snapshot = snapshot_of(client, node)
                counts.seen += 1
                with services.db.session() as session:
                    shop_row = session.get(Shop, shop_id)
                    assert shop_row is not None
                    style, _version = shop_style(services, session, shop_row)
                    found = classify(snapshot, style)
                    if found.code != "not_jewelry":
                        counts.jewelry += 1
                    if wanted and found.renders and found.kind not in wanted:
                        code = f"kind {found.kind} not selected"
                    else:
                        code = process_product(services, session, shop_row, snapshot, source="backfill").code
                if code == "queued":
                    counts.queued += 1
                else:
                    counts.skipped[code] = counts.skipped.get(code, 0) + 1
                position.last_id = numeric
                position.window_seen += 1
                if budget is not None:
                    budget -= 1
                if on_product is not None:
                    on_product(counts)
            if state == "interrupted":
                _save(services, run_id, position, counts, "interrupted")
                break
            position.after = cursor if more else None
            _save(services, run_id, position, counts, "running")
            if more and position.window_seen >= WINDOW:
                # Start a new window after the last product: Shopify stops one walk at 25,000 objects.
                position.window_from, position.window_seen, position.after = position.last_id, 0, None
                window_done = False
                break
        if state == "interrupted" or window_done:
            break
    if state == "done":
        _save(services, run_id, position, counts, "done")
    return BackfillResult(run_id, state, counts)


def _save(services: Services, run_id: int, position: _Position, counts: BackfillCounts, state: str) -> None:
    with services.db.session() as session:
        run = session.get(BackfillRun, run_id)
        if run is not None:
            run.cursor, run.counts, run.state = position.dump(), counts.to_dict(), state
            if state in ("done", "interrupted"):
                run.finished_at = utcnow()
