"""Put one approved draft on its product exactly once, resuming after any failure from the recorded step.

The steps, each recorded on the `WriteBack` row before the next one starts:

    queued --stagedUploadsCreate--> staged --PUT/POST bytes--> uploaded --(snapshot media)--> attaching
    attaching --productUpdate(media)--> attached --poll until READY--> ready --reorder, replace--> done

The dangerous window is `attaching`: productUpdate may have created the image although Worn never heard
back. A retry in that state first looks on the product for media that was not there in the snapshot and
carries this write-back's alt text, and adopts it instead of creating a second copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connector.admin import AdminClient, UserErrors
from connector.fingerprint import WORN_ALT_MARKER
from connector.models import Draft, Product, RenderJob, Shop, StyleVersion, WriteBack, utcnow
from connector.queue import WRITEBACK
from connector.retrying import Backoff
from connector.services import Services
from connector.shops import get_owned
from connector.storage import content_type_of
from connector.styles import HouseStyle, parse_style
from renderer.errors import WornError

log = logging.getLogger(__name__)

#: Polling a media's processing state and a reorder job: quick at first, then every few seconds.
POLL = Backoff(attempts=1000, base=0.5, cap=5.0, factor=1.6, jitter=0.1)
UPLOAD_TIMEOUT_S = 120.0
FINAL_STATES = ("done", "failed", "cancelled", "removed")
# userErrors that mean "the file is already gone from the product": the removal already happened.
GONE = ("FILE_DOES_NOT_EXIST", "REFERENCE_TARGET_DOES_NOT_EXIST", "MEDIA_DOES_NOT_EXIST")


class WriteBackError(WornError):
    """A write-back step failed; `retryable` says whether the job should be tried again later."""

    code = "write_back"

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class WriteBackBusy(WriteBackError):
    """Another worker holds this write-back; the message comes back when its lease runs out."""

    code = "write_back_busy"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retryable=True)
        self.retry_after = retry_after


@dataclass(frozen=True)
class WriteBackResult:
    """How a write-back ended (done, already_done, cancelled, failed), with its media GID if any."""

    code: str
    detail: str = ""
    media_gid: str | None = None


@dataclass
class _Context:
    """What the steps need, read once at the start of a run (ids and values, never live ORM objects)."""

    write_back_id: int
    shop_id: int
    product_id: int
    product_gid: str
    draft_id: int
    image_key: str
    plate_id: str
    alt: str
    fingerprint: str
    style: HouseStyle


# --- queueing ------------------------------------------------------------------------------------------


def alt_text(style: HouseStyle, *, title: str, plate_id: str, kind: str, shop: str) -> str:
    """Return the alt text for an image of `plate_id` (from the style's template) with Worn's marker."""
    plate = next((p for p in style.plates if p.id == plate_id), None)
    model = (plate.model if plate is not None else "") or plate_id
    text = style.write_back.alt_template.format(
        title=title, model=model, kind=kind, shop=shop, plate=plate_id
    )
    return text.strip()[:500] + WORN_ALT_MARKER


def approve_draft(session: Session, draft: Draft, *, decided_by: str) -> WriteBack:
    """Approve `draft` and create its write-back row (idempotent); the caller commits, then `enqueue`s it."""
    if draft.state not in ("awaiting_review", "approved", "failed"):
        raise WriteBackError(
            f"draft {draft.id} is {draft.state}; only a draft awaiting review can be approved",
            retryable=False,
        )
    existing = session.scalar(select(WriteBack).where(WriteBack.draft_id == draft.id))
    if draft.state == "failed" and draft.image_key is None:
        raise WriteBackError(f"draft {draft.id} has no image (its render was not offered)", retryable=False)
    draft.state, draft.decided_by, draft.decided_at, draft.error = "approved", decided_by, utcnow(), None
    if existing is not None:
        if existing.state in ("failed", "cancelled"):
            existing.state, existing.last_error = "queued", None  # approved again: try again from the start
        return existing
    product = session.get(Product, draft.product_id)
    shop = session.get(Shop, draft.shop_id)
    version = session.get(StyleVersion, draft.style_version_id) if draft.style_version_id else None
    if product is None or shop is None or version is None:
        raise WriteBackError(f"draft {draft.id}: its product, shop or style version is gone", retryable=False)
    style = parse_style(version.document, f"style version {version.id}")
    write_back = WriteBack(
        shop_id=draft.shop_id,
        product_id=draft.product_id,
        draft_id=draft.id,
        state="queued",
        alt=alt_text(
            style,
            title=product.title or "",
            plate_id=draft.plate_id,
            kind=product.kind or "",
            shop=shop.name or shop.domain,
        ),
    )
    session.add(write_back)
    session.flush()
    return write_back


def enqueue(services: Services, write_back: WriteBack) -> str:
    """Send the write-back's message (after the row is committed: on SQLite a send inside it would wait)."""
    return services.queue.send(WRITEBACK, {"write_back_id": write_back.id}, shop_id=write_back.shop_id)


# --- the run -------------------------------------------------------------------------------------------


class WriteBackRun:
    """One attempt at one write-back: load, then run the steps from the recorded state to `done`."""

    def __init__(
        self,
        services: Services,
        write_back_id: int,
        *,
        client: AdminClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.write_back_id = write_back_id
        self._client = client
        self._sleep = sleep

    def run(self) -> WriteBackResult:
        """Run the write-back from wherever it stopped; return how it ended."""
        loaded = self._load()
        if isinstance(loaded, WriteBackResult):
            return loaded
        ctx, state = loaded
        try:
            return self._steps(ctx, state)
        finally:
            self._release(ctx)

    def _steps(self, ctx: _Context, state: str) -> WriteBackResult:
        if self._client is None:
            with self.services.db.session() as session:
                shop = session.get(Shop, ctx.shop_id)
                assert shop is not None
                self._client = AdminClient.for_shop(self.services, shop)
        steps: dict[str, Callable[[_Context], str]] = {
            "queued": self._stage,
            "staged": self._upload,
            "uploaded": self._attach,
            "attaching": self._resume_attach,
            "attached": self._wait_ready,
            "ready": self._place,
        }
        restaged = False
        while state in steps:
            next_state = steps[state](ctx)
            if state == "staged" and next_state == "queued":
                if restaged:
                    raise WriteBackError(
                        f"write-back {ctx.write_back_id}: the staged upload was refused twice", retryable=True
                    )
                restaged = True
            state = next_state
        with self.services.db.session() as session:
            row = session.get(WriteBack, ctx.write_back_id)
            assert row is not None
            return WriteBackResult(row.state, row.last_error or "", row.media_gid)

    @property
    def lease(self) -> dt.timedelta:
        """Return how long a run may go between two recorded steps (two waits of Shopify, and slack)."""
        return dt.timedelta(seconds=2 * self.services.settings.MEDIA_READY_TIMEOUT_SECONDS + 120)

    def _release(self, ctx: _Context) -> None:
        with self.services.db.session() as session:
            session.execute(
                update(WriteBack).where(WriteBack.id == ctx.write_back_id).values(lease_until=None)
            )

    @property
    def client(self) -> AdminClient:
        assert self._client is not None
        return self._client

    def _load(self) -> tuple[_Context, str] | WriteBackResult:
        with self.services.db.session() as session:
            row = session.get(WriteBack, self.write_back_id)
            if row is None:
                return WriteBackResult("cancelled", f"write-back {self.write_back_id} no longer exists")
            if row.state in FINAL_STATES:
                code = "already_done" if row.state == "done" else row.state
                return WriteBackResult(code, row.last_error or "", row.media_gid)
            draft = get_owned(session, Draft, row.shop_id, row.draft_id)
            product = get_owned(session, Product, row.shop_id, row.product_id)
            shop = session.get(Shop, row.shop_id)
            reason = None
            if draft is None or product is None or shop is None:
                reason = "its draft or product no longer exists"
            elif not shop.active:
                reason = "the shop uninstalled Worn"
            elif draft.state != "approved":
                reason = f"its draft is {draft.state}, no longer approved"
            elif product.deleted_at is not None:
                reason = "the product was deleted"
            elif draft.image_key is None:
                reason = "its draft has no image"
            if reason is not None:
                row.state, row.last_error = "cancelled", reason
                return WriteBackResult("cancelled", reason)
            assert draft is not None and product is not None
            job = session.get(RenderJob, draft.job_id)
            version = session.get(StyleVersion, draft.style_version_id) if draft.style_version_id else None
            if version is None:
                row.state, row.last_error = "cancelled", "its style version no longer exists"
                return WriteBackResult("cancelled", row.last_error)
            # Claim it: one run at a time, or two could each add the image.
            now = utcnow()
            claimed = session.execute(
                update(WriteBack)
                .where(
                    WriteBack.id == row.id,
                    or_(WriteBack.lease_until.is_(None), WriteBack.lease_until < now),
                )
                .values(lease_until=now + self.lease, attempts=WriteBack.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                wait = max(1.0, (row.lease_until - now).total_seconds()) if row.lease_until else 1.0
                raise WriteBackBusy(f"write-back {row.id} is being run by another worker", retry_after=wait)
            ctx = _Context(
                write_back_id=row.id,
                shop_id=row.shop_id,
                product_id=product.id,
                product_gid=product.product_gid,
                draft_id=draft.id,
                image_key=str(draft.image_key),
                plate_id=draft.plate_id,
                alt=row.alt or WORN_ALT_MARKER,
                fingerprint=job.source_fingerprint if job is not None else "",
                style=parse_style(version.document, f"style version {version.id}"),
            )
            return ctx, row.state

    def _save(self, ctx: _Context, state: str, **values: Any) -> None:
        """Record the step reached (and what it produced) before the next step starts."""
        with self.services.db.session() as session:
            row = session.get(WriteBack, ctx.write_back_id)
            assert row is not None
            row.state = state
            row.lease_until = utcnow() + self.lease
            for key, value in values.items():
                setattr(row, key, value)

    def _staged(self, ctx: _Context) -> dict[str, Any]:
        with self.services.db.session() as session:
            row = session.get(WriteBack, ctx.write_back_id)
            assert row is not None
            return dict(row.staged_target or {})

    # --- steps -------------------------------------------------------------------------------------------

    def _stage(self, ctx: _Context) -> str:
        ext = ctx.image_key.rsplit(".", 1)[-1].lower()
        filename = f"worn-{ctx.shop_id}-{ctx.write_back_id}-{ctx.plate_id}.{ext}"
        mime = content_type_of(ctx.image_key)
        size = len(self.services.storage.get(ctx.image_key))
        payload = self.client.mutate(
            "staged_uploads_create",
            {
                "input": [
                    {
                        "filename": filename,
                        "mimeType": mime,
                        "resource": "IMAGE",
                        "httpMethod": "PUT",
                        "fileSize": str(size),
                    }
                ]
            },
            "stagedUploadsCreate",
        )
        targets = payload.get("stagedTargets") or []
        if not targets or not targets[0].get("url"):
            raise WriteBackError(
                f"stagedUploadsCreate on {self.client.domain} returned no target", retryable=True
            )
        target = {**targets[0], "method": "PUT", "filename": filename, "mime": mime}
        self._save(ctx, "staged", staged_target=target)
        return "staged"

    def _upload(self, ctx: _Context) -> str:
        target = self._staged(ctx)
        data = self.services.storage.get(ctx.image_key)
        params = {str(p["name"]): str(p["value"]) for p in target.get("parameters") or []}
        try:
            if target.get("method") == "POST":
                response = self.client.http.post(
                    target["url"],
                    data=params,
                    files={"file": (target["filename"], data, target["mime"])},
                    timeout=UPLOAD_TIMEOUT_S,
                )
            else:
                headers = {"Content-Type": target["mime"]}
                for name, value in params.items():
                    # Shopify's PUT targets list the headers to send as content_type and acl.
                    headers[{"content_type": "Content-Type", "acl": "x-goog-acl"}.get(name, name)] = value
                response = self.client.http.put(
                    target["url"], content=data, headers=headers, timeout=UPLOAD_TIMEOUT_S
                )
        except httpx.TransportError as exc:
            raise WriteBackError(
                f"uploading draft {ctx.draft_id}: network error ({type(exc).__name__})", retryable=True
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise WriteBackError(
                f"uploading draft {ctx.draft_id}: HTTP {response.status_code}", retryable=True
            )
        if response.status_code >= 400:
            # An expired or refused target: stage a new one (once per run).
            log.warning("staged upload refused (HTTP %s): %s", response.status_code, response.text[:200])
            self._save(ctx, "queued", staged_target=None)
            return "queued"
        self._save(ctx, "uploaded")
        return "uploaded"

    def _product_media(self, ctx: _Context) -> list[dict[str, Any]]:
        product = self.client.query("product_media", {"id": ctx.product_gid}).get("product")
        if not isinstance(product, dict):
            raise WriteBackError(
                f"product {ctx.product_gid} no longer exists in {self.client.domain}", retryable=False
            )
        return list((product.get("media") or {}).get("nodes") or [])

    def _attach(self, ctx: _Context) -> str:
        before = [m["id"] for m in self._product_media(ctx)]
        target = self._staged(ctx)
        self._save(ctx, "attaching", staged_target={**target, "before_media": before})
        return self._create_media(ctx, {**target, "before_media": before})

    def _resume_attach(self, ctx: _Context) -> str:
        target = self._staged(ctx)
        found = self._find_own_media(ctx, self._product_media(ctx), set(target.get("before_media") or []))
        if found is not None:
            log.info(
                "write-back %s: adopting media %s created by an earlier attempt", ctx.write_back_id, found
            )
            self._save(ctx, "attached", media_gid=found)
            return "attached"
        return self._create_media(ctx, target)

    def _create_media(self, ctx: _Context, target: dict[str, Any]) -> str:
        source = target.get("resourceUrl") or target["url"]
        payload = self.client.mutate(
            "product_media_create",
            {
                "product": {"id": ctx.product_gid},
                "media": [{"originalSource": source, "mediaContentType": "IMAGE", "alt": ctx.alt}],
            },
            "productUpdate",
        )
        nodes = ((payload.get("product") or {}).get("media") or {}).get("nodes") or []
        before = set(target.get("before_media") or [])
        found = self._find_own_media(ctx, nodes, before) or self._find_own_media(
            ctx, self._product_media(ctx), before
        )
        if found is None:
            raise WriteBackError(
                f"productUpdate on {ctx.product_gid} answered without the new image", retryable=True
            )
        self._save(ctx, "attached", media_gid=found)
        return "attached"

    def _find_own_media(self, ctx: _Context, nodes: list[dict[str, Any]], before: set[str]) -> str | None:
        """Return the media this write-back created: new since the snapshot, its alt, no other owner."""
        with self.services.db.session() as session:
            others = set(
                session.scalars(
                    select(WriteBack.media_gid).where(
                        WriteBack.shop_id == ctx.shop_id,
                        WriteBack.media_gid.is_not(None),
                        WriteBack.id != ctx.write_back_id,
                    )
                )
            )
        mine = [
            m for m in nodes
            if m.get("id") not in before and m.get("id") not in others
            and (m.get("alt") or "").strip() == ctx.alt.strip()
        ]  # fmt: skip
        filename = self._staged(ctx).get("filename", "")
        # Two write-backs with the same alt text at once: the file name in the CDN URL tells them apart.
        named = [
            m
            for m in mine
            if filename and filename.rsplit(".", 1)[0] in ((m.get("image") or {}).get("url") or "")
        ]
        chosen = named or mine
        return str(chosen[0]["id"]) if chosen else None

    def _wait_ready(self, ctx: _Context) -> str:
        with self.services.db.session() as session:
            row = session.get(WriteBack, ctx.write_back_id)
            assert row is not None and row.media_gid is not None
            media_gid = row.media_gid
        deadline = time.monotonic() + self.services.settings.MEDIA_READY_TIMEOUT_SECONDS
        for poll in range(1, POLL.attempts + 1):
            node = self.client.query("media_status", {"id": media_gid}).get("node")
            if not isinstance(node, dict):
                return self._fail(ctx, f"image {media_gid} was removed from the product before it was ready")
            status = node.get("status")
            if status == "READY":
                self._save(ctx, "ready")
                return "ready"
            if status == "FAILED":
                errors = (
                    "; ".join(str(e.get("message", "")) for e in node.get("mediaErrors") or [])
                    or "no reason given"
                )
                self._remove_media(ctx, [media_gid], method="delete")
                return self._fail(ctx, f"Shopify could not process the image: {errors}")
            if time.monotonic() >= deadline:
                break
            self._sleep(POLL.delay(poll))
        timeout = self.services.settings.MEDIA_READY_TIMEOUT_SECONDS
        raise WriteBackError(
            f"image {media_gid} was not ready after {timeout:.0f} s "
            "(setting MEDIA_READY_TIMEOUT_SECONDS); checking again later",
            retryable=True,
        )

    def _place(self, ctx: _Context) -> str:
        media = self._product_media(ctx)
        with self.services.db.session() as session:
            row = session.get(WriteBack, ctx.write_back_id)
            assert row is not None
            media_gid = row.media_gid
            worn = {
                gid
                for gid in session.scalars(
                    select(WriteBack.media_gid).where(
                        WriteBack.shop_id == ctx.shop_id, WriteBack.product_id == ctx.product_id
                    )
                )
                if gid
            }
        ids = [m["id"] for m in media]
        if media_gid is None or media_gid not in ids:
            return self._fail(ctx, f"image {media_gid} is no longer on the product")
        target = target_position(ctx.style.write_back.position, media, media_gid, worn)
        if ids.index(media_gid) != target:
            self._reorder(ctx, media_gid, target)
        self._replace_previous(ctx)
        self._save(ctx, "done", position=target, last_error=None)
        with self.services.db.session() as session:
            draft = session.get(Draft, ctx.draft_id)
            if draft is not None:
                draft.state, draft.error = "written", None
        return "done"

    def _reorder(self, ctx: _Context, media_gid: str, position: int) -> None:
        payload = self.client.mutate(
            "product_reorder_media",
            {"id": ctx.product_gid, "moves": [{"id": media_gid, "newPosition": str(position)}]},
            "productReorderMedia",
        )
        job = payload.get("job") or {}
        deadline = time.monotonic() + self.services.settings.MEDIA_READY_TIMEOUT_SECONDS
        poll = 0
        while job.get("id") and not job.get("done"):
            if time.monotonic() >= deadline:
                raise WriteBackError(
                    f"reordering the media of {ctx.product_gid} did not finish", retryable=True
                )
            poll += 1
            self._sleep(POLL.delay(poll))
            job = self.client.query("job_status", {"id": job["id"]}).get("job") or {}

    def _replace_previous(self, ctx: _Context) -> None:
        """Remove the images Worn wrote for this product from an earlier source photo (only Worn's own)."""
        with self.services.db.session() as session:
            rows = session.execute(
                select(WriteBack.id, WriteBack.media_gid)
                .join(Draft, Draft.id == WriteBack.draft_id)
                .join(RenderJob, RenderJob.id == Draft.job_id)
                .where(
                    WriteBack.shop_id == ctx.shop_id,
                    WriteBack.product_id == ctx.product_id,
                    WriteBack.state == "done",
                    WriteBack.media_gid.is_not(None),
                    WriteBack.id != ctx.write_back_id,
                    RenderJob.source_fingerprint != ctx.fingerprint,
                )
            ).all()
        for row_id, media_gid in rows:
            self._remove_media(ctx, [str(media_gid)], method=ctx.style.write_back.replace)
            with self.services.db.session() as session:
                old = session.get(WriteBack, row_id)
                if old is not None:
                    old.state, old.removed_at = "removed", utcnow()
                    draft = session.get(Draft, old.draft_id)
                    if draft is not None and draft.state == "written":
                        draft.state = "superseded"
            log.info(
                "removed Worn's earlier image %s of %s (source photo changed)", media_gid, ctx.product_gid
            )

    def _remove_media(self, ctx: _Context, gids: list[str], *, method: str) -> None:
        try:
            if method == "delete":
                self.client.mutate("file_delete", {"fileIds": gids}, "fileDelete")
            else:
                files = [{"id": gid, "referencesToRemove": [ctx.product_gid]} for gid in gids]
                self.client.mutate("file_unlink", {"files": files}, "fileUpdate")
        except UserErrors as exc:
            if not exc.has_code(*GONE):
                raise
            log.info("media %s was already gone from %s", gids, ctx.product_gid)

    def _fail(self, ctx: _Context, reason: str) -> str:
        self._save(ctx, "failed", last_error=reason)
        with self.services.db.session() as session:
            draft = session.get(Draft, ctx.draft_id)
            if draft is not None:
                draft.state, draft.error = "failed", reason
        log.warning("write-back %s failed: %s", ctx.write_back_id, reason)
        return "failed"


def target_position(position: str | int, media: list[dict[str, Any]], media_gid: str, worn: set[str]) -> int:
    """Return the index the style wants `media_gid` at: first, after the shop's own photos, last, or N."""
    ids = [m["id"] for m in media]
    last = len(ids) - 1
    if position == "first":
        return 0
    if position == "last":
        return last
    if isinstance(position, int):
        return min(position, last)
    others = [m for m in media if m["id"] != media_gid]
    sources = [
        i
        for i, m in enumerate(others)
        if m["id"] not in worn and not (m.get("alt") or "").endswith(WORN_ALT_MARKER)
    ]
    return (sources[-1] + 1) if sources else 0


def run_write_back(services: Services, write_back_id: int, **kwargs: Any) -> WriteBackResult:
    """Run one write-back from its recorded step to the end (see `WriteBackRun`)."""
    return WriteBackRun(services, write_back_id, **kwargs).run()
