"""House-style editing through the API: every change is a version (identical ones reused), bad values get
400s naming the field, stale edits are refused, plate photos are checked, stored per shop and retired."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from connector.models import PlateAnalysisCache, Shop, StyleVersion
from connector.services import Services
from connector.shopstyle import current_style
from tests.admin.conftest import SHOP_A, SHOP_B, error_of
from tests.admin.factory import bearer, jpeg
from tests.support.photos import PHOTOS

PHOTOS_DIR = PHOTOS or Path("shared-photos-not-found")

A = bearer(SHOP_A)


def style_of(client: FlaskClient, headers: Mapping[str, str] = A) -> dict:
    response = client.get("/api/style", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def photo(width: int = 800, height: int = 1000, fmt: str = "JPEG", exif_gps: bool = False) -> bytes:
    image = Image.open(io.BytesIO(jpeg(width, height)))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "CameraMaker"  # Make
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}  # GPS: where the model was photographed
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def upload(
    client: FlaskClient,
    data: bytes,
    *,
    model: str = "Ana",
    kinds: tuple[str, ...] = ("ring",),
    name: str = "ana.jpg",
    headers: Mapping[str, str] = A,
    **extra: str,
):
    form = {"model": model, "kinds": list(kinds), "photo": (io.BytesIO(data), name), **extra}
    return client.post("/api/style/plates", headers=headers, data=form, content_type="multipart/form-data")


def test_the_style_starts_as_the_default_with_plate_thumbnails(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    style = style_of(client)
    assert style["name"] == "studio"
    assert [p["id"] for p in style["plates"]] == ["grace", "eileen"]
    assert style["settings"]["write_back"]["alt_template"] == "{title}, worn by {model}"
    thumb = client.get(style["plates"][0]["thumb_url"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 640
    assert style["plates"][0]["thumb_url"].startswith(f"/files/shops/{shops[SHOP_A]}/plates/thumbs/")
    # What each plate can carry, from the renderer's analysis of the photo, and why not.
    grace = {c["kind"]: c for c in style["plates"][0]["capabilities"]}
    assert [c["kind"] for c in style["plates"][0]["capabilities"]] == [
        "necklace",
        "pendant",
        "earrings",
        "ring",
        "bracelet",
        "anklet",
    ]
    assert grace["necklace"]["ok"] and grace["earrings"]["ok"]
    assert (
        not grace["ring"]["ok"]
        and grace["ring"]["code"] == "no_hand"
        and "no hand" in grace["ring"]["message"]
    )
    with services.db.session() as session:  # cached where the worker looks for it
        assert session.query(PlateAnalysisCache).filter_by(shop_id=shops[SHOP_A]).count() == 2


def test_a_change_makes_a_version_and_an_identical_one_is_reused(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    start = style_of(client)["version_id"]
    changed = client.patch(
        "/api/style",
        headers=A,
        json={
            "base_version": start,
            "look": {"shadow_strength": 0.5},
            "approval": {"auto_approve": True},
            "write_back": {"position": "first", "alt_template": "{title} on {model} at {shop}"},
            "jewelry": {"rules": [{"field": "tag", "contains": "collier", "kind": "necklace"}]},
        },
    )
    assert changed.status_code == 200, changed.data
    result = changed.get_json()["result"]
    assert result["code"] == "changed" and result["version_id"] != start
    settings = changed.get_json()["style"]["settings"]
    assert (
        settings["look"]["shadow_strength"] == 0.5 and settings["look"]["light_match"] == 0.6
    )  # others kept
    assert settings["approval"]["auto_approve"] is True
    assert settings["jewelry"]["rules"] == [
        {"field": "tag", "equals": None, "contains": "collier", "kind": "necklace"}
    ]
    with services.db.session() as session:
        style, version = current_style(session, session.get(Shop, shops[SHOP_A]))
        assert version.id == result["version_id"] and style.write_back.position == "first"
    same = client.patch("/api/style", headers=A, json={"look": {"shadow_strength": 0.5}}).get_json()["result"]
    assert same["code"] == "unchanged" and same["version_id"] == result["version_id"]
    back = client.patch(
        "/api/style",
        headers=A,
        json={
            "look": {"shadow_strength": 0.35},
            "approval": {"auto_approve": False},
            "write_back": {"position": "after_source", "alt_template": "{title}, worn by {model}"},
            "jewelry": {"rules": []},
        },
    ).get_json()["result"]
    assert back["version_id"] == start  # the same document is the same version
    versions = client.get("/api/style/versions", headers=A).get_json()["items"]
    assert {v["id"] for v in versions} == {start, result["version_id"]}
    assert [v["current"] for v in versions if v["id"] == start] == [True]
    assert style_of(client, bearer(SHOP_B))["settings"]["look"]["shadow_strength"] == 0.35  # B untouched


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"look": {"shadow_strength": 2}}, "look.shadow_strength"),
        ({"output": {"width": 10}}, "output.width"),
        ({"output": {"format": "gif"}}, "output.format"),
        ({"write_back": {"alt_template": "{title} by {photographer}"}}, "write_back.alt_template"),
        ({"write_back": {"position": "middle"}}, "write_back.position"),
        ({"approval": {"auto_aprove": True}}, "approval.auto_aprove"),
        ({"jewelry": {"rules": [{"field": "tag", "kind": "ring"}]}}, "jewelry.rules[0]"),
        ({"jewelry": {"kinds": []}}, "jewelry.kinds"),
    ],
)
def test_invalid_settings_get_a_400_naming_each_field(
    client: FlaskClient, shops: dict[str, int], services: Services, body: dict, field: str
) -> None:
    before = style_of(client)["version_id"]
    response = client.patch("/api/style", headers=A, json=body)
    assert response.status_code == 400, response.data
    error = error_of(response)
    assert error["code"] == "invalid_style"
    assert field in [f["field"] for f in error["fields"]], error
    assert style_of(client)["version_id"] == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quality": {"min_ssim": 0.5}}, "quality"),  # Worn's fidelity promise is not for sale
        ({"plates": []}, "plates"),
        ({"look": 3}, "look"),
        ({}, "style"),
        ({"base_version": "latest", "look": {}}, "base_version"),
    ],
)
def test_only_editable_sections_can_change(
    client: FlaskClient, shops: dict[str, int], body: dict, field: str
) -> None:
    response = client.patch("/api/style", headers=A, json=body)
    assert response.status_code == 400
    assert error_of(response)["field"] == field


def test_a_stale_change_is_refused(client: FlaskClient, shops: dict[str, int]) -> None:
    start = style_of(client)["version_id"]
    client.patch("/api/style", headers=A, json={"base_version": start, "look": {"light_match": 0.9}})
    stale = client.patch(
        "/api/style", headers=A, json={"base_version": start, "look": {"shadow_strength": 0.1}}
    )
    assert stale.status_code == 409
    assert stale.get_json()["result"]["code"] == "stale"
    assert style_of(client)["settings"]["look"]["shadow_strength"] == 0.35


def test_upload_a_plate_stores_it_for_the_shop_without_metadata(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    response = upload(client, photo(exif_gps=True), model="Ana", kinds=("ring", "bracelet"))
    assert response.status_code == 201, response.data
    plates = response.get_json()["style"]["plates"]
    added = plates[-1]
    assert (
        added["model"] == "Ana" and added["kinds"] == ["ring", "bracelet"] and added["status"] == "approved"
    )
    assert added["id"].startswith("ana-")
    with services.db.session() as session:
        style, _ = current_style(session, session.get(Shop, shops[SHOP_A]))
    plate = style.plates[-1]
    key = plate.image.removeprefix("storage:")
    assert key.startswith(f"shops/{shops[SHOP_A]}/plates/") and key.endswith(".jpg")
    stored = Image.open(io.BytesIO(services.storage.get(key)))
    assert stored.size == (800, 1000)
    assert not stored.getexif()  # no camera, no GPS
    assert plate.sha256 and plate.sha256 in key
    again = upload(client, photo(exif_gps=True), model="Ana again")
    assert again.status_code == 200 and again.get_json()["result"]["code"] == "unchanged"
    assert len(again.get_json()["style"]["plates"]) == 3
    assert [p["id"] for p in style_of(client, bearer(SHOP_B))["plates"]] == ["grace", "eileen"]


def test_upload_a_png_with_transparency_and_a_rotated_jpeg(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    image = Image.new("RGBA", (600, 700), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    assert upload(client, out.getvalue(), name="cut.png").status_code == 201
    rotated = Image.open(io.BytesIO(jpeg(900, 600)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    out = io.BytesIO()
    rotated.save(out, "JPEG", exif=exif)
    response = upload(client, out.getvalue(), model="Bea")
    assert response.status_code == 201
    with services.db.session() as session:
        style, _ = current_style(session, session.get(Shop, shops[SHOP_A]))
    stored = Image.open(io.BytesIO(services.storage.get(style.plates[-1].image.removeprefix("storage:"))))
    assert stored.size == (600, 900)  # stored upright


@pytest.mark.parametrize(
    ("data", "form", "field_or_text"),
    [
        (b"", {}, "the file is empty"),
        (b"GIF89a not really", {}, "not a readable image"),
        (b"%PDF-1.4 a document", {}, "not a readable image"),
        ("small", {}, "too small"),
        ("gif", {}, "GIF is not accepted"),
        ("ok", {"model": ""}, "model"),
        ("ok", {"model": "x" * 61}, "model"),
        ("ok", {"kinds": []}, "Worn cannot place any jewelry on this photo"),  # no face, no hand: nothing
        ("ok", {"kinds": ["tiara"]}, "kinds"),
        ("ok", {"base_version": "v1"}, "base_version"),
        ("ok", {"extra": "1"}, "extra"),
    ],
)
def test_bad_uploads_get_a_clear_400(
    client: FlaskClient,
    shops: dict[str, int],
    services: Services,
    data: object,
    form: dict,
    field_or_text: str,
) -> None:
    if data == "small":
        data = photo(300, 400)
    elif data == "gif":
        out = io.BytesIO()
        Image.new("RGB", (800, 800)).save(out, "GIF")
        data = out.getvalue()
    elif data == "ok":
        data = photo()
    fields = {"model": "Ana", "kinds": ["ring"], **form}
    body = {**fields, "photo": (io.BytesIO(data), "p.jpg")}  # type: ignore[arg-type]
    response = client.post("/api/style/plates", headers=A, data=body, content_type="multipart/form-data")
    assert response.status_code == 400, response.data
    error = error_of(response)
    assert field_or_text in (error.get("field"),) or field_or_text in error["message"], error
    assert len(style_of(client)["plates"]) == 2
    stored = [k for k in services.storage.keys(f"shops/{shops[SHOP_A]}/plates/") if "/thumbs/" not in k]
    assert stored == []  # nothing kept of a refused photo


def test_a_request_without_a_photo_says_so(client: FlaskClient, shops: dict[str, int]) -> None:
    response = client.post(
        "/api/style/plates",
        headers=A,
        data={"model": "Ana", "kinds": ["ring"]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and error_of(response)["field"] == "photo"


def test_retire_restore_and_the_last_plate(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    retired = client.post("/api/style/plates/grace/retire", headers=A, json={})
    assert retired.status_code == 200 and retired.get_json()["result"]["code"] == "changed"
    assert [p["status"] for p in retired.get_json()["style"]["plates"]] == ["retired", "approved"]
    assert (
        client.post("/api/style/plates/grace/retire", headers=A).get_json()["result"]["code"] == "unchanged"
    )
    last = client.post("/api/style/plates/eileen/retire", headers=A)
    assert last.status_code == 409 and last.get_json()["result"]["code"] == "last_plate"
    restored = client.post("/api/style/plates/grace/restore", headers=A).get_json()
    assert restored["result"]["code"] == "changed"
    assert [p["status"] for p in restored["style"]["plates"]] == ["approved", "approved"]
    assert client.post("/api/style/plates/nobody/retire", headers=A).status_code == 404
    bad = client.post("/api/style/plates/grace/delete", headers=A)
    assert bad.status_code == 400 and error_of(bad)["field"] == "action"
    assert (
        client.post("/api/style/plates/grace/approve", headers=A).get_json()["result"]["code"] == "unchanged"
    )
    client.post("/api/style/plates/grace/retire", headers=A)
    not_pending = client.post(
        "/api/style/plates/grace/approve", headers=A
    )  # only generated plates are approved
    assert not_pending.status_code == 409 and not_pending.get_json()["result"]["code"] == "not_allowed"
    client.post("/api/style/plates/grace/restore", headers=A)
    assert [p["status"] for p in style_of(client, bearer(SHOP_B))["plates"]] == ["approved", "approved"]


def test_generated_plates_await_approval(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    with services.db.session() as session:
        shop = session.get(Shop, shops[SHOP_A])
        style, _ = current_style(session, shop)
        document = style.document()
        for index in (1, 2):
            key = f"shops/{shop.id}/plates/generated-{index}.jpg"
            services.storage.put(key, photo(), "image/jpeg")
            document["plates"].append(
                {
                    "id": f"gen-{index}",
                    "model": f"Studio {index}",
                    "image": f"storage:{key}",
                    "kinds": ["necklace"],
                    "status": "pending",
                }
            )
        from connector.shopstyle import assign_style
        from connector.styles import parse_style

        assign_style(session, shop, parse_style(document, "test"))
    pending = [p for p in style_of(client)["plates"] if p["status"] == "pending"]
    assert [p["id"] for p in pending] == ["gen-1", "gen-2"]
    assert client.post("/api/style/plates/gen-1/approve", headers=A).get_json()["result"]["code"] == "changed"
    assert client.post("/api/style/plates/gen-2/reject", headers=A).get_json()["result"]["code"] == "changed"
    statuses = {p["id"]: p["status"] for p in style_of(client)["plates"]}
    assert statuses["gen-1"] == "approved" and statuses["gen-2"] == "retired"
    with services.db.session() as session:
        count = len(list(session.scalars(select(StyleVersion).where(StyleVersion.shop_id == shops[SHOP_A]))))
    assert count == 4  # default, with generated, approved one, rejected one


@pytest.mark.parametrize(
    ("name", "expected"),
    [("hand_dorsal_female_white_bg.jpg", {"ring"}), ("hand_wrist_closeup_thumb_up.jpg", {"bracelet"})],
)
def test_a_photo_uploaded_without_kinds_carries_what_its_analysis_finds(
    client: FlaskClient, shops: dict[str, int], name: str, expected: set[str]
) -> None:
    path = PHOTOS_DIR / name
    if not path.exists():
        pytest.skip(f"real photos not present at {PHOTOS_DIR} (set WORN_PHOTOS_DIR)")
    response = upload(client, path.read_bytes(), model="Maya", kinds=(), name=name)
    assert response.status_code == 201, response.data
    added = response.get_json()["style"]["plates"][-1]
    assert set(added["kinds"]) == expected
    caps = {c["kind"]: c for c in added["capabilities"]}
    assert {kind for kind, cap in caps.items() if cap["ok"]} == expected
    assert not caps["necklace"]["ok"] and caps["necklace"]["message"]
    missing = ({"ring", "bracelet"} - expected).pop()
    assert caps[missing]["code"] in ("wrist_out_of_frame", "palm_facing") and caps[missing]["message"]
