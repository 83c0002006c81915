"""Render requests and job lists: another plate and re-render are idempotent, a failed job or write-back is
retried once however often the button is pressed, lists filter and paginate, all within one shop."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import select, update

from connector.models import Product, RenderJob, WriteBack, utcnow
from connector.queue import RENDER, WRITEBACK
from connector.services import Services
from tests.admin.conftest import SHOP_A, SHOP_B, error_of
from tests.admin.factory import bearer, seed_product

A = bearer(SHOP_A)


def render_messages(services: Services) -> list[dict[str, int]]:
    return [m.body for m in services.queue.receive(RENDER, max_messages=50, visibility=0.01)]


def test_another_plate_renders_the_next_unused_plate_once(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    # Rendered on grace only; the default style also has eileen for earrings.
    seeded = seed_product(services, shops[SHOP_A], kind="earrings", plates=("grace",))
    with services.db.session() as session:
        session.execute(update(RenderJob).values(plates=["grace"]))
    first = client.post(f"/api/products/{seeded.product_id}/another-plate", headers=A)
    assert first.status_code == 202
    result = first.get_json()["result"]
    assert result["code"] == "queued" and result["plates"] == ["eileen"]
    again = client.post(f"/api/products/{seeded.product_id}/another-plate", headers=A)
    assert again.status_code == 200
    assert again.get_json()["result"] == {**result, "code": "already_queued"}
    with services.db.session() as session:
        job = session.get(RenderJob, result["job_id"])
        assert job.trigger == "manual" and job.plates == ["eileen"] and job.state == "queued"
        assert job.source_fingerprint == "fp1"
    assert render_messages(services) == [{"render_job": result["job_id"]}]
    # Once eileen is rendered too, no plate is left.
    with services.db.session() as session:
        session.execute(update(RenderJob).where(RenderJob.id == result["job_id"]).values(state="done"))
    left = client.post(f"/api/products/{seeded.product_id}/another-plate", headers=A)
    assert left.status_code == 409
    assert left.get_json()["result"]["code"] == "no_plate_left"
    assert "add plates under House style" in left.get_json()["result"]["detail"]


def test_rerender_is_idempotent_while_it_runs(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    seeded = seed_product(services, shops[SHOP_A], kind="earrings")
    first = client.post(f"/api/products/{seeded.product_id}/rerender", headers=A).get_json()["result"]
    assert first["code"] == "queued" and first["plates"] == ["grace", "eileen"]
    second = client.post(f"/api/products/{seeded.product_id}/rerender", headers=A).get_json()["result"]
    assert second["code"] == "already_queued" and second["job_id"] == first["job_id"]
    with services.db.session() as session:
        session.execute(update(RenderJob).where(RenderJob.id == first["job_id"]).values(state="done"))
    third = client.post(f"/api/products/{seeded.product_id}/rerender", headers=A).get_json()["result"]
    assert third["code"] == "queued" and third["job_id"] != first["job_id"]
    assert render_messages(services) == [{"render_job": first["job_id"]}, {"render_job": third["job_id"]}]


def test_a_product_without_a_photo_cannot_be_rendered(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    with services.db.session() as session:
        product = Product(shop_id=shops[SHOP_A], product_gid="gid://shopify/Product/77", title="No photo",
                          kind="ring", decision="no_photo")
        session.add(product)
        session.flush()
        product_id = product.id
    response = client.post(f"/api/products/{product_id}/rerender", headers=A)
    assert response.status_code == 409 and response.get_json()["result"]["code"] == "no_source"


def test_retry_a_failed_job_once(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    with services.db.session() as session:
        session.execute(update(RenderJob).values(state="failed", attempts=5, last_error="timeout"))
    first = client.post(f"/api/jobs/{seeded.job_id}/retry", headers=A)
    assert first.status_code == 202 and first.get_json()["result"]["code"] == "queued"
    second = client.post(f"/api/jobs/{seeded.job_id}/retry", headers=A)
    assert second.status_code == 200 and second.get_json()["result"]["code"] == "already_queued"
    with services.db.session() as session:
        job = session.get(RenderJob, seeded.job_id)
        assert job.state == "queued" and job.attempts == 0
    assert render_messages(services) == [{"render_job": seeded.job_id}]
    with services.db.session() as session:
        session.execute(update(RenderJob).values(state="done"))
    done = client.post(f"/api/jobs/{seeded.job_id}/retry", headers=A)
    assert done.status_code == 409 and "re-render" in done.get_json()["result"]["detail"]


def test_retry_a_failed_or_lost_write_back(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    wb_id = client.post(f"/api/drafts/{seeded.draft_ids[0]}/approve", headers=A).get_json()["result"]["write_back_id"]
    services.queue.receive(WRITEBACK, max_messages=10)  # the worker took the first message
    fresh = client.post(f"/api/write-backs/{wb_id}/retry", headers=A)
    assert fresh.get_json()["result"]["code"] == "already_queued"  # queued just now: not lost
    with services.db.session() as session:
        session.execute(update(WriteBack).values(state="failed", last_error="media FAILED", attempts=3))
    assert client.post(f"/api/write-backs/{wb_id}/retry", headers=A).get_json()["result"]["code"] == "queued"
    assert client.post(f"/api/write-backs/{wb_id}/retry", headers=A).get_json()["result"]["code"] == "already_queued"
    # Queued long ago with no progress: its message may be lost, so it may be sent again.
    with services.db.session() as session:
        session.execute(update(WriteBack).values(updated_at=utcnow() - dt.timedelta(minutes=30)))
    assert client.post(f"/api/write-backs/{wb_id}/retry", headers=A).get_json()["result"]["code"] == "queued"
    bodies = [m.body for m in services.queue.receive(WRITEBACK, max_messages=10, visibility=0.01)]
    assert bodies == [{"write_back_id": wb_id}, {"write_back_id": wb_id}]


def test_job_lists_filter_and_paginate(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    for number in range(1, 6):
        seed_product(services, shops[SHOP_A], number=number, title=f"Piece {number}")
    seed_product(services, shops[SHOP_B], number=1, title="Elsewhere")
    with services.db.session() as session:
        ids = list(session.scalars(select(RenderJob.id).where(RenderJob.shop_id == shops[SHOP_A])
                                   .order_by(RenderJob.id)))
        session.execute(update(RenderJob).where(RenderJob.id == ids[1]).values(state="failed", last_error="x"))
        session.execute(update(RenderJob).where(RenderJob.id == ids[3]).values(state="running"))
    failed = client.get("/api/jobs?state=failed", headers=A).get_json()["items"]
    assert [(j["id"], j["last_error"]) for j in failed] == [(ids[1], "x")]
    assert [j["id"] for j in client.get("/api/jobs?state=active", headers=A).get_json()["items"]] == [ids[3]]
    page = client.get("/api/jobs?limit=2", headers=A).get_json()
    assert [j["id"] for j in page["items"]] == [ids[4], ids[3]]
    assert page["items"][0]["product_title"] == "Piece 5" and page["items"][0]["drafts"] == 2
    seen = [j["id"] for j in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"/api/jobs?limit=2&cursor={page['next_cursor']}", headers=A).get_json()
        seen += [j["id"] for j in page["items"]]
    assert seen == ids[::-1]


def test_skipped_products_say_why(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    with services.db.session() as session:
        for number, (decision, detail) in enumerate(
            [("no_plate", "no plate can carry a ring: add a hand photo"), ("not_jewelry", "a candle"),
             ("no_photo", "the product has no image"), ("jewelry", None)], start=1):
            session.add(Product(shop_id=shops[SHOP_A], product_gid=f"gid://shopify/Product/{number}",
                                title=f"P{number}", decision=decision, decision_detail=detail))
    items = client.get("/api/products/skipped", headers=A).get_json()["items"]
    assert [(i["title"], i["decision"], i["detail"]) for i in items] == [
        ("P3", "no_photo", "the product has no image"),
        ("P1", "no_plate", "no plate can carry a ring: add a hand photo"),
    ]
    not_jewelry = client.get("/api/products/skipped?not_jewelry=1", headers=A).get_json()["items"]
    assert [i["title"] for i in not_jewelry] == ["P2"]
    assert client.get("/api/products/skipped", headers=bearer(SHOP_B)).get_json()["items"] == []


def test_retry_of_an_unknown_job_is_404(client: FlaskClient, shops: dict[str, int]) -> None:
    response = client.post("/api/jobs/12345/retry", headers=A)
    assert response.status_code == 404
    assert response.get_json()["result"]["code"] == "not_found"
    assert error_of(client.get("/api/jobs?limit=x", headers=A))["field"] == "limit"
