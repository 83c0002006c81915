"""End to end through the real renderer: render job -> drafts -> auto-approve -> write-back -> READY on the shop."""

from __future__ import annotations

import base64
from importlib import resources

import pytest
from sqlalchemy import select

from connector import reconcile
from connector.fingerprint import WORN_ALT_MARKER
from connector.models import Draft, PlateAnalysisCache, RenderJob, Shop, WriteBack
from connector.queue import RENDER
from connector.renderjob import RenderedImage, RenderRequest
from connector.services import Services
from connector.shopstyle import assign_style, current_style
from connector.worker import Worker, default_render_step
from tests.connector.support import DevShopControl, InstalledShop

pytestmark = pytest.mark.slow


def sample(name: str) -> str:
    """Return one of the renderer's shipped sample product photos, base64 for the control API."""
    return base64.b64encode(resources.files("renderer").joinpath("samples", name).read_bytes()).decode()


def auto_approving(services: Services, shop: InstalledShop) -> None:
    """Turn on auto-approve, with both default plates allowed to carry necklaces (the test's own roster)."""
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None
        style, _ = current_style(session, row)  # type: ignore[misc]
        plates = [p.model_copy(update={"kinds": ["necklace", "pendant", "earrings"]}) for p in style.plates]
        approval = style.approval.model_copy(update={"auto_approve": True})
        assign_style(session, row, style.model_copy(update={"approval": approval, "plates": plates}))


def test_a_pendant_becomes_two_on_model_images_on_the_product(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    auto_approving(services, shop)
    product = control.create_product(
        shop.handle,
        title="Sapphire drop pendant",
        product_type="Pendant",
        photos=[
            {
                "filename": "pendant.png",
                "alt": "Sapphire pendant",
                "content_base64": sample("pendant_necklace.png"),
            }
        ],
        metafields=[
            {
                "namespace": "custom",
                "key": "chain_length",
                "type": "dimension",
                "value": {"value": 45, "unit": "cm"},
            }
        ],
    )
    control.settle()
    assert reconcile.reconcile_shop(services, shop.id).outcomes == {"queued": 1}

    stats = Worker(services).run(once=True)  # the render, then the two write-backs it queued
    assert stats.outcomes == {"done": 3}, stats.outcomes
    with services.db.session() as session:
        drafts = session.scalars(select(Draft).order_by(Draft.plate_id)).all()
        write_backs = session.scalars(select(WriteBack)).all()
        job = session.scalar(select(RenderJob))
        cached = session.scalars(select(PlateAnalysisCache)).all()
    assert job is not None and job.state == "done"
    assert [(d.plate_id, d.state) for d in drafts] == [("eileen", "written"), ("grace", "written")]
    for draft in drafts:
        assert draft.report["ssim"] >= 0.97 and draft.report["passed"]
        assert draft.report["stated"]["mm"] == pytest.approx(450.0)  # from the chain_length metafield
        assert draft.image_key == f"shops/{shop.id}/drafts/{job.id}/{draft.plate_id}.jpg"
        assert services.storage.exists(draft.image_key) and services.storage.exists(draft.thumb_key)
        assert (draft.width, draft.height) != (None, None)
    assert len(cached) == 2  # the plates' analyses, for the next job
    media = control.product(shop.handle, product["id"])["media"]
    ours = [m for m in media if m["created_by"] == "app"]
    assert sorted(m["alt"] for m in ours) == [
        "Sapphire drop pendant, worn by Eileen" + WORN_ALT_MARKER,
        "Sapphire drop pendant, worn by Grace" + WORN_ALT_MARKER,
    ]
    assert all(m["status"] == "READY" for m in ours) and media[0]["created_by"] == "merchant"
    assert {w.media_gid for w in write_backs} == {m["gid"] for m in ours}

    # The message delivered again, and the product looked at again after Worn's own writes: nothing new.
    services.queue.send(RENDER, {"render_job": job.id})
    assert Worker(services).run(once=True).outcomes == {"skipped": 1}
    assert reconcile.reconcile_shop(services, shop.id).outcomes.get("queued") is None
    assert len(control.app_media(shop.handle, product["id"])) == 2
    assert control.shop(shop.handle)["stats"]["media_created.app"] == 2


def test_a_product_that_changes_while_its_job_renders_gets_none_of_that_jobs_images(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    auto_approving(services, shop)
    product = control.create_product(
        shop.handle,
        title="Garnet teardrops",
        product_type="Earrings",
        photos=[{"filename": "drops.png", "alt": "", "content_base64": sample("drop_earrings.png")}],
    )
    control.settle()
    assert reconcile.reconcile_shop(services, shop.id).outcomes == {"queued": 1}
    real = default_render_step(services)
    changed: list[str] = []

    def render_while_the_merchant_edits(request: RenderRequest) -> list[RenderedImage]:
        # While the earrings render, the merchant re-categorises the piece and Worn hears of it.
        control.update_product(shop.handle, product["id"], product_type="Pendant")
        changed.append(str(reconcile.reconcile_shop(services, shop.id).outcomes))
        return real(request)

    worker = Worker(services, queues=[RENDER], render_step=render_while_the_merchant_edits)
    assert worker.handle(services.queue.receive(RENDER, wait=2)[0]) == "superseded"
    assert changed == ["{'queued': 1}"]
    with services.db.session() as session:
        first, second = session.scalars(select(RenderJob).order_by(RenderJob.id)).all()
        drafts = session.scalars(select(Draft).where(Draft.job_id == first.id)).all()
        write_backs = session.scalars(select(WriteBack)).all()
    assert first.state == "superseded" and "became a pendant" in (first.last_error or "")
    assert second.state == "queued"
    # The earrings' images are kept as superseded drafts: none awaits review, none was approved or written.
    assert drafts and {d.state for d in drafts} == {"superseded"} and write_backs == []
    assert control.app_media(shop.handle, product["id"]) == []


def test_a_photo_no_piece_can_be_cut_from_fails_the_job_with_the_reason(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    # A flat white square: there is no piece in it.
    blank = base64.b64encode(_white_jpeg()).decode()
    control.create_product(
        shop.handle,
        title="Mystery pendant",
        product_type="Pendant",
        photos=[{"filename": "blank.jpg", "alt": "", "content_base64": blank}],
    )
    control.settle()
    assert reconcile.reconcile_shop(services, shop.id).outcomes == {"queued": 1}
    assert Worker(services).run(once=True).outcomes == {"failed": 1}  # recorded and acknowledged
    with services.db.session() as session:
        job = session.scalar(select(RenderJob))
    assert job is not None and job.state == "failed"
    assert (job.last_error or "").startswith("the product photo cannot be rendered:")
    assert services.queue.dead_letters(RENDER) == []


def _white_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (255, 255, 255)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_job_redelivered_after_a_crash_renders_only_the_plates_it_had_not_finished(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    control.create_product(
        shop.handle,
        title="Garnet teardrops",
        product_type="Earrings",
        photos=[{"filename": "drops.png", "alt": "", "content_base64": sample("drop_earrings.png")}],
    )
    control.settle()
    reconcile.reconcile_shop(services, shop.id)
    assert Worker(services).run(once=True).outcomes == {"done": 1}
    with services.db.session() as session:
        job = session.scalar(select(RenderJob))
        kept, lost = session.scalars(select(Draft).order_by(Draft.plate_id)).all()
        assert job is not None
        # The worker died after recording one plate's draft: the job is still running, one draft missing.
        job.state = "running"
        session.delete(lost)
        kept_id, kept_at, lost_plate = kept.id, kept.updated_at, lost.plate_id
    services.queue.send(RENDER, {"render_job": job.id})
    assert Worker(services).run(once=True).outcomes == {"done": 1}
    with services.db.session() as session:
        drafts = {d.plate_id: (d.id, d.updated_at) for d in session.scalars(select(Draft))}
    assert len(drafts) == 2 and lost_plate in drafts
    assert drafts[kept.plate_id] == (kept_id, kept_at)  # the finished plate was not rendered again
