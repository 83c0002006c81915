"""The review API: the queue and counts, a product's drafts, approve (idempotent, one write-back, queued
after commit), reject, approve all; cross-shop attempts find nothing; bad input gets a 400 naming it."""

from __future__ import annotations

import io
import threading

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from connector import decisions
from connector.fingerprint import WORN_ALT_MARKER
from connector.models import Draft, Product, RenderJob, WriteBack
from connector.queue import WRITEBACK
from connector.services import Services
from tests.admin.conftest import SHOP_A, SHOP_B, error_of
from tests.admin.factory import bearer, seed_product

A = bearer(SHOP_A)


def messages(services: Services) -> list[dict[str, int]]:
    """Return the bodies waiting on the write-back queue (and leave them there)."""
    received = services.queue.receive(WRITEBACK, max_messages=50, visibility=0.01)
    return sorted((m.body for m in received), key=lambda body: body["write_back_id"])


def write_backs(services: Services) -> list[WriteBack]:
    with services.db.session() as session:
        return list(session.scalars(select(WriteBack).order_by(WriteBack.id)))


# --- reading ---------------------------------------------------------------------------------------------


def test_counts_per_state(client: FlaskClient, shops: dict[str, int], services: Services) -> None:
    shop = shops[SHOP_A]
    seed_product(services, shop, number=1)  # two awaiting review
    seed_product(services, shop, number=2, plates=("grace",), state="written")
    seed_product(services, shop, number=3, plates=("grace",), state="approved")
    with services.db.session() as session:
        product = session.scalar(select(Product).where(Product.product_gid == "gid://shopify/Product/3"))
        session.add(
            RenderJob(
                shop_id=shop,
                product_id=product.id,
                idempotency_key="k-run",
                source_fingerprint="x",
                state="running",
            )
        )
        session.add(
            RenderJob(
                shop_id=shop,
                product_id=product.id,
                idempotency_key="k-fail",
                source_fingerprint="y",
                state="failed",
                last_error="cutout: busy background",
            )
        )
        session.add(
            Product(
                shop_id=shop,
                product_gid="gid://shopify/Product/9",
                title="Hoop",
                kind="earrings",
                decision="no_plate",
                decision_detail="no plate can carry earrings",
            )
        )
        session.add(
            Product(
                shop_id=shop, product_gid="gid://shopify/Product/10", title="T-shirt", decision="not_jewelry"
            )
        )
    seed_product(services, shops[SHOP_B], number=1)  # another shop's work never counts here
    counts = client.get("/api/overview", headers=A).get_json()["counts"]
    assert counts == {
        "rendering": 1,
        "awaiting_review": 2,
        "approved": 1,
        "written": 1,
        "failed": 1,
        "skipped": 1,
        "not_jewelry": 1,
    }


def test_review_queue_is_newest_first_and_paginates(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    made = [seed_product(services, shops[SHOP_A], number=n, title=f"Piece {n}") for n in range(1, 6)]
    seed_product(services, shops[SHOP_A], number=6, title="Decided", state="rejected")
    seed_product(services, shops[SHOP_B], number=1, title="Other shop's piece")
    first = client.get("/api/review-queue?limit=2", headers=A).get_json()
    assert [item["title"] for item in first["items"]] == ["Piece 5", "Piece 4"]
    assert first["items"][0]["awaiting"] == 2
    assert first["items"][0]["product_id"] == made[4].product_id
    assert len(first["items"][0]["drafts"]) == 2
    assert first["items"][0]["drafts"][0]["thumb_url"].startswith(f"/files/shops/{shops[SHOP_A]}/")
    assert "width=240" in first["items"][0]["source"]["thumb_url"]  # Shopify's CDN resizes for us
    titles = [item["title"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/review-queue?limit=2&cursor={cursor}", headers=A).get_json()
        titles += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert titles == ["Piece 5", "Piece 4", "Piece 3", "Piece 2", "Piece 1"]


def test_product_review_shows_the_source_beside_each_draft_with_its_numbers(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    data = client.get(f"/api/products/{seeded.product_id}", headers=A).get_json()
    assert data["product"]["title"] == "Aurora pendant necklace"
    assert data["product"]["admin_url"] == f"https://{SHOP_A}/admin/products/1"
    assert data["source"]["url"].startswith("https://cdn.shopify.com/")
    assert [d["plate_id"] for d in data["drafts"]["items"]] == ["eileen", "grace"]  # newest first
    grace = data["drafts"]["items"][1]
    assert grace["model"] == "Grace"
    assert grace["quality"] == {
        "ssim": 0.991,
        "delta_e": 1.8,
        "achieved_mm": 446.0,
        "stated_mm": 450.0,
        "quantity": "chain_length",
        "size_source": "text",
        "size_text": "45 cm",
        "scale_error": -0.0089,
        "confidence": 0.93,
        "passed": {"fidelity": True, "scale": True, "confidence": True},
        "notes": [],
    }
    assert data["thresholds"] == {"min_ssim": 0.97, "max_delta_e": 6.0, "scale_tolerance": 0.1}
    assert data["counts"] == {"awaiting_review": 2}
    thumb = client.get(grace["thumb_url"])  # the render left no thumbnail: one is made once, kept beside it
    assert ".thumb.jpg" in grace["thumb_url"] and thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 640
    image = client.get(grace["image_url"])
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.data == services.storage.get(
        f"shops/{shops[SHOP_A]}/drafts/{seeded.product_id}/{seeded.job_id}/grace.jpg"
    )


def test_product_drafts_paginate_and_filter(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A], plates=("grace", "eileen", "third", "fourth"))
    page = client.get(f"/api/products/{seeded.product_id}?limit=3", headers=A).get_json()["drafts"]
    rest = client.get(f"/api/products/{seeded.product_id}?limit=3&cursor={page['next_cursor']}", headers=A)
    ids = [d["id"] for d in page["items"]] + [d["id"] for d in rest.get_json()["drafts"]["items"]]
    assert ids == sorted(seeded.draft_ids, reverse=True)
    assert rest.get_json()["drafts"]["next_cursor"] is None
    client.post(f"/api/drafts/{seeded.draft_ids[0]}/reject", headers=A)
    rejected = client.get(f"/api/products/{seeded.product_id}?state=rejected", headers=A).get_json()
    assert [d["id"] for d in rejected["drafts"]["items"]] == [seeded.draft_ids[0]]


# --- decisions -------------------------------------------------------------------------------------------


def test_approve_creates_one_write_back_and_queues_it_after_commit(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    draft = seeded.draft_ids[0]
    first = client.post(f"/api/drafts/{draft}/approve", headers=A)
    assert first.status_code == 200
    result = first.get_json()["result"]
    assert result["code"] == "approved" and result["state"] == "approved"
    again = client.post(f"/api/drafts/{draft}/approve", headers=A)  # the double click
    assert again.status_code == 200
    assert again.get_json()["result"]["code"] == "already_approved"
    assert again.get_json()["result"]["write_back_id"] == result["write_back_id"]
    rows = write_backs(services)
    assert len(rows) == 1
    assert rows[0].state == "queued" and rows[0].draft_id == draft
    assert rows[0].alt == "Aurora pendant necklace, worn by Grace" + WORN_ALT_MARKER
    assert messages(services) == [{"write_back_id": rows[0].id}]
    with services.db.session() as session:
        approved = session.get(Draft, draft)
        assert approved.decided_by == "42" and approved.decided_at is not None
    status = client.get(f"/api/write-backs/{rows[0].id}", headers=A).get_json()
    assert status["state"] == "queued"


def test_concurrent_double_clicks_make_one_write_back(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    draft = seeded.draft_ids[0]
    codes: list[str] = []
    barrier = threading.Barrier(4)

    def click() -> None:
        barrier.wait()
        with services.db.session() as session:
            codes.append(decisions.approve(session, services.queue, shops[SHOP_A], draft, "42").code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == ["already_approved"] * 3 + ["approved"]
    assert len(write_backs(services)) == 1
    assert len(messages(services)) == 1


def test_a_rolled_back_approval_sends_nothing(shops: dict[str, int], services: Services) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    with pytest.raises(RuntimeError), services.db.session() as session:
        decisions.approve(session, services.queue, shops[SHOP_A], seeded.draft_ids[0], "42")
        raise RuntimeError("the request failed after approving")
    assert write_backs(services) == []
    assert services.queue.depth(WRITEBACK) == 0


def test_reject_is_idempotent_and_an_approved_draft_is_not_rejected(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    first, second = seeded.draft_ids
    answer = client.post(f"/api/drafts/{first}/reject", headers=A, json={"reason": "chain too short"})
    assert answer.get_json()["result"]["code"] == "rejected"
    assert (
        client.post(f"/api/drafts/{first}/reject", headers=A).get_json()["result"]["code"]
        == "already_rejected"
    )
    client.post(f"/api/drafts/{second}/approve", headers=A)
    conflict = client.post(f"/api/drafts/{second}/reject", headers=A)
    assert conflict.status_code == 409
    assert conflict.get_json()["result"]["detail"] == "a approved draft cannot be rejected"
    with services.db.session() as session:
        assert session.get(Draft, first).error == "rejected: chain too short"
        assert session.get(Draft, second).state == "approved"
    # A rejected draft can still be approved (the merchant changed their mind).
    assert client.post(f"/api/drafts/{first}/approve", headers=A).get_json()["result"]["code"] == "approved"


def test_approve_all_approves_what_awaits_once(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A], plates=("grace", "eileen", "third"))
    client.post(f"/api/drafts/{seeded.draft_ids[2]}/reject", headers=A)
    first = client.post(f"/api/products/{seeded.product_id}/approve-all", headers=A)
    assert first.status_code == 200
    result = first.get_json()["result"]
    assert result["code"] == "approved" and result["approved"] == seeded.draft_ids[:2]
    second = client.post(f"/api/products/{seeded.product_id}/approve-all", headers=A).get_json()["result"]
    assert second["code"] == "nothing_to_approve" and second["approved"] == []
    assert [wb.draft_id for wb in write_backs(services)] == seeded.draft_ids[:2]
    assert len(messages(services)) == 2


# --- tenancy ---------------------------------------------------------------------------------------------


def test_no_cross_shop_reads_or_writes(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    theirs = seed_product(services, shops[SHOP_A], title="Acme secret")
    mine = bearer(SHOP_B)
    attempts = [
        ("get", f"/api/products/{theirs.product_id}"),
        ("post", f"/api/drafts/{theirs.draft_ids[0]}/approve"),
        ("post", f"/api/drafts/{theirs.draft_ids[0]}/reject"),
        ("post", f"/api/products/{theirs.product_id}/approve-all"),
        ("post", f"/api/products/{theirs.product_id}/another-plate"),
        ("post", f"/api/products/{theirs.product_id}/rerender"),
        ("post", f"/api/jobs/{theirs.job_id}/retry"),
    ]
    for method, path in attempts:
        response = getattr(client, method)(path, headers=mine)
        assert response.status_code == 404, path
        assert b"Acme secret" not in response.data
    with services.db.session() as session:
        assert {d.state for d in session.scalars(select(Draft))} == {"awaiting_review"}
        assert session.scalar(select(func.count()).select_from(RenderJob)) == 1
    assert write_backs(services) == [] and services.queue.depth(WRITEBACK) == 0
    # And the other way: B's write-back is not A's to read or retry.
    ours = seed_product(services, shops[SHOP_B], number=2)
    wb_id = client.post(f"/api/drafts/{ours.draft_ids[0]}/approve", headers=mine).get_json()["result"][
        "write_back_id"
    ]
    assert client.get(f"/api/write-backs/{wb_id}", headers=A).status_code == 404
    assert client.post(f"/api/write-backs/{wb_id}/retry", headers=A).status_code == 404
    assert client.get("/api/write-backs", headers=A).get_json()["items"] == []


# --- input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "/api/review-queue?cursor=abc", None, "cursor"),
        ("get", "/api/review-queue?cursor=-1", None, "cursor"),
        ("get", "/api/review-queue?limit=0", None, "limit"),
        ("get", "/api/review-queue?limit=1000", None, "limit"),
        ("get", "/api/products/skipped?not_jewelry=yes", None, "not_jewelry"),
        ("get", "/api/products/1?state=maybe", None, "state"),
        ("get", "/api/jobs?state=broken", None, "state"),
        ("post", "/api/drafts/1/reject", {"reason": "x" * 501}, "reason"),
        ("post", "/api/drafts/1/reject", {"reason": 5}, "reason"),
        ("post", "/api/drafts/1/reject", {"why": "no"}, "why"),
        ("post", "/api/drafts/1/approve", {"force": True}, "force"),
        ("post", "/api/drafts/1/approve", [1, 2], "body"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(
    client: FlaskClient,
    shops: dict[str, int],
    services: Services,
    method: str,
    path: str,
    body: object,
    field: str,
) -> None:
    seed_product(services, shops[SHOP_A])
    response = (
        getattr(client, method)(path, headers=A, json=body)
        if body is not None
        else getattr(client, method)(path, headers=A)
    )
    assert response.status_code == 400, response.data
    error = error_of(response)
    assert error["code"] == "invalid_input" and error["field"] == field
    assert error["message"].startswith(f"{field}:")
    assert write_backs(services) == []


def test_a_body_that_is_not_json_gets_a_400(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    response = client.post(
        f"/api/drafts/{seeded.draft_ids[0]}/approve",
        headers=A,
        data="approve=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "expected a JSON object" in error_of(response)["message"]


def test_unknown_ids_are_404(client: FlaskClient, shops: dict[str, int]) -> None:
    assert client.post("/api/drafts/999/approve", headers=A).status_code == 404
    assert client.get("/api/products/999", headers=A).status_code == 404
    assert client.get("/api/write-backs/999", headers=A).status_code == 404
    assert client.post("/api/drafts/abc/approve", headers=A).status_code == 404


def test_a_decision_is_logged_with_the_shop_and_user_of_the_request(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    import io
    import json
    import logging

    from connector.logs import configure_logging, current_context

    seed_product(services, shops[SHOP_A], number=1)
    with services.db.session() as session:
        draft_id = session.scalars(select(Draft.id)).first()
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO", "json", stream=stream)
    try:
        assert client.post(f"/api/drafts/{draft_id}/approve", headers=A, json={}).status_code == 200
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "approved by user" in x]
    assert (
        line["shop"] == SHOP_A and line["user"] and line["message"].startswith(f"draft {draft_id} approved")
    )
    assert current_context() == {}  # nothing leaks past the request
