"""Write-back: exactly one image on the product whatever step failed, at the style's position, old ones replaced."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connector.fingerprint import WORN_ALT_MARKER
from connector.models import Draft, Product, RenderJob, Shop, WriteBack
from connector.renderjob import draft_key
from connector.services import Services
from connector.shopstyle import assign_style, current_style
from connector.writeback import WriteBackRun, approve_draft, run_write_back
from tests.connector.support import DevShopControl, InstalledShop, gid, photo_bytes, photo_spec


def make_product(services: Services, shop: InstalledShop, numeric: int, title: str = "Gold chain") -> int:
    with services.db.session() as session:
        product = Product(
            shop_id=shop.id,
            product_gid=gid("Product", numeric),
            title=title,
            kind="necklace",
            decision="jewelry",
        )
        session.add(product)
        session.flush()
        return product.id


def make_draft(
    services: Services,
    shop: InstalledShop,
    product_id: int,
    *,
    fingerprint: str = "f1",
    plate: str = "grace",
    write_back: dict[str, Any] | None = None,
) -> int:
    """Record a finished render (job + draft with its image stored), as the worker leaves it."""
    with services.db.session() as session:
        row = session.get(Shop, shop.id)
        assert row is not None
        style, version = current_style(session, row)  # type: ignore[misc]
        if write_back:
            style = style.model_copy(update={"write_back": style.write_back.model_copy(update=write_back)})
            version = assign_style(session, row, style)
        job = RenderJob(
            shop_id=shop.id,
            product_id=product_id,
            style_version_id=version.id,
            idempotency_key=f"{shop.id}:{product_id}:{fingerprint}:{version.id}:{plate}",
            source_fingerprint=fingerprint,
            state="done",
        )
        session.add(job)
        session.flush()
        draft = Draft(
            shop_id=shop.id,
            product_id=product_id,
            job_id=job.id,
            style_version_id=version.id,
            plate_id=plate,
            state="awaiting_review",
            width=320,
            height=400,
        )
        session.add(draft)
        session.flush()
        draft.image_key = draft_key(shop.id, job.id, plate, ".jpg")
        services.storage.put(draft.image_key, photo_bytes((180, 40, 90)))
        return draft.id


def approve(services: Services, draft_id: int) -> int:
    with services.db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return approve_draft(session, draft, decided_by="merchant@test").id


def row(services: Services, model: type, row_id: int) -> Any:
    with services.db.session() as session:
        return session.get(model, row_id)


def product_with_photos(control: DevShopControl, shop: InstalledShop, photos: int = 1, **spec: Any) -> dict:
    product = control.create_product(shop.handle, photos=photos, **spec)
    control.settle()  # the merchant's photos are processed before Worn writes
    return product


def test_an_approved_draft_lands_on_the_product_ready_with_its_alt_text(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = product_with_photos(control, shop, photos=2)
    draft_id = make_draft(services, shop, make_product(services, shop, product["id"]))
    write_back_id = approve(services, draft_id)
    result = run_write_back(services, write_back_id)
    assert result.code == "done" and result.media_gid is not None
    media = control.product(shop.handle, product["id"])["media"]
    ours = [m for m in media if m["created_by"] == "app"]
    assert len(ours) == 1 and ours[0]["gid"] == result.media_gid and ours[0]["status"] == "READY"
    assert ours[0]["alt"] == "Gold chain, worn by Grace" + WORN_ALT_MARKER
    assert ours[0]["position"] == 2  # the studio style: right after the shop's own photos
    assert row(services, Draft, draft_id).state == "written"
    done = row(services, WriteBack, write_back_id)
    assert done.state == "done" and done.position == 2 and done.attempts == 1
    assert run_write_back(services, write_back_id).code == "already_done"  # a re-delivered message


@pytest.mark.parametrize("crash_at", ["staged", "uploaded", "attaching", "attached", "ready", "done"])
def test_a_write_back_retried_after_any_failure_point_leaves_exactly_one_image(
    services: Services,
    control: DevShopControl,
    shop: InstalledShop,
    monkeypatch: pytest.MonkeyPatch,
    crash_at: str,
) -> None:
    product = product_with_photos(control, shop)
    write_back_id = approve(services, make_draft(services, shop, make_product(services, shop, product["id"])))
    real_save = WriteBackRun._save
    crashed: list[str] = []

    def save(self: WriteBackRun, ctx: Any, state: str, **values: Any) -> None:
        # The worker dies after the step's effect at Shopify, before recording it.
        if state == crash_at and not crashed:
            crashed.append(state)
            raise ConnectionError(f"worker killed before recording {state}")
        real_save(self, ctx, state, **values)

    monkeypatch.setattr(WriteBackRun, "_save", save)
    with pytest.raises(ConnectionError):
        run_write_back(services, write_back_id)
    assert run_write_back(services, write_back_id).code == "done"
    control.settle()
    ours = control.app_media(shop.handle, product["id"])
    assert len(ours) == 1 and ours[0]["status"] == "READY"
    # Counted on the shop: Worn never created a second image and removed it again.
    assert control.shop(shop.handle)["stats"].get("media_created.app") == 1
    assert row(services, WriteBack, write_back_id).media_gid == ours[0]["gid"]


@pytest.mark.parametrize(("position", "expected"), [("first", 0), ("last", 3), (1, 1), ("after_source", 3)])
def test_the_image_is_moved_to_the_styles_position(
    services: Services, control: DevShopControl, shop: InstalledShop, position: Any, expected: int
) -> None:
    product = product_with_photos(control, shop, photos=3)
    product_id = make_product(services, shop, product["id"])
    result = run_write_back(
        services, approve(services, make_draft(services, shop, product_id, write_back={"position": position}))
    )
    assert result.code == "done"
    control.settle()
    media = control.product(shop.handle, product["id"])["media"]
    assert [m["gid"] for m in media].index(result.media_gid) == expected
    assert [m["created_by"] for m in media].count("merchant") == 3


def test_an_image_shopify_cannot_process_fails_the_draft_with_the_reason(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    product = product_with_photos(control, shop)
    draft_id = make_draft(services, shop, make_product(services, shop, product["id"]))
    control.faults(media_fail_next=1)
    result = run_write_back(services, approve(services, draft_id))
    assert result.code == "failed" and "Shopify could not process the image" in result.detail
    draft = row(services, Draft, draft_id)
    assert draft.state == "failed" and "Shopify could not process the image" in draft.error
    assert control.app_media(shop.handle, product["id"]) == []  # the failed image is not left behind


@pytest.mark.parametrize("replace", ["unlink", "delete"])
def test_a_new_source_photo_replaces_worns_earlier_images_and_only_those(
    services: Services, control: DevShopControl, shop: InstalledShop, replace: str
) -> None:
    product = control.create_product(shop.handle, photos=1)
    # A merchant photo whose alt happens to end like Worn's: it is still not Worn's to remove.
    lookalike = control.update_product(
        shop.handle, product["id"], add_photos=[photo_spec("look.jpg", "Look" + WORN_ALT_MARKER)]
    )
    control.settle()
    product_id = make_product(services, shop, product["id"])
    old = run_write_back(
        services,
        approve(
            services,
            make_draft(services, shop, product_id, fingerprint="f1", write_back={"replace": replace}),
        ),
    )
    assert old.code == "done"

    # The merchant replaces the source photo; a new render of it is approved.
    first_photo = lookalike["media"][0]["id"]
    control.update_product(
        shop.handle, product["id"], add_photos=[photo_spec("new.jpg", "New")], remove_media=[first_photo]
    )
    control.settle()
    new = run_write_back(
        services,
        approve(
            services,
            make_draft(services, shop, product_id, fingerprint="f2", write_back={"replace": replace}),
        ),
    )
    assert new.code == "done"

    media = control.product(shop.handle, product["id"])["media"]
    gids = [m["gid"] for m in media]
    assert new.media_gid in gids and old.media_gid not in gids
    assert sorted(m["alt"] for m in media if m["created_by"] == "merchant") == [
        "Look" + WORN_ALT_MARKER,
        "New",
    ]
    stats = control.shop(shop.handle)["stats"]
    if replace == "delete":
        assert stats.get("media_deleted.app") == 1
    else:
        assert stats.get("media_detached.app") == 1 and not stats.get("media_deleted.app")
    assert not stats.get("media_deleted.merchant", 0) - 1  # only the photo the merchant removed
    with services.db.session() as session:
        rows = {w.media_gid: w.state for w in session.scalars(select(WriteBack))}
    assert rows == {old.media_gid: "removed", new.media_gid: "done"}


def test_two_workers_on_the_same_write_back_add_one_image(
    services: Services, control: DevShopControl, shop: InstalledShop
) -> None:
    import threading

    from connector.writeback import WriteBackBusy

    product = product_with_photos(control, shop)
    write_back_id = approve(services, make_draft(services, shop, make_product(services, shop, product["id"])))
    control.faults(media_processing_delay_s=1.0)  # the first run is still waiting for READY...
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        start.wait()
        try:
            outcomes.append(run_write_back(services, write_back_id).code)
        except WriteBackBusy as exc:  # ...when the second message arrives: it waits for the lease
            outcomes.append(f"busy {exc.retry_after > 0}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["busy True", "done"]
    assert len(control.app_media(shop.handle, product["id"])) == 1
    assert row(services, WriteBack, write_back_id).lease_until is None  # released at the end
    assert run_write_back(services, write_back_id).code == "already_done"
