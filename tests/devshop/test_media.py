"""Write-back as Worn does it: staged upload, productUpdate(media), wait READY, reorder, replace."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from devshop_support import ShopSession, control, jpeg_bytes, settle, start_devshop

STAGED_UPLOADS_CREATE = """
mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}
"""

PRODUCT_UPDATE_MEDIA = """
mutation ProductUpdateMedia($product: ProductUpdateInput!, $media: [CreateMediaInput!]) {
  productUpdate(product: $product, media: $media) {
    product { id media(last: 5) { nodes { id status alt mediaContentType } } }
    userErrors { field message }
  }
}
"""

MEDIA_STATUS = """
query MediaStatus($id: ID!) {
  node(id: $id) {
    ... on MediaImage {
      id status fileStatus alt mediaErrors { code details message } image { url width height }
    }
  }
}
"""

FILE_UPDATE = """
mutation FileUpdate($files: [FileUpdateInput!]!) {
  fileUpdate(files: $files) { files { id alt fileStatus } userErrors { code field message } }
}
"""

FILE_DELETE = """
mutation FileDelete($ids: [ID!]!) {
  fileDelete(fileIds: $ids) { deletedFileIds userErrors { code field message } }
}
"""

REORDER = """
mutation Reorder($id: ID!, $moves: [MoveInput!]!) {
  productReorderMedia(id: $id, moves: $moves) { job { id done } mediaUserErrors { code field message } }
}
"""

JOB = "query Job($id: ID!) { job(id: $id) { id done } }"


def _product(shop: ShopSession, title: str = "Pearl Drop Earrings") -> str:
    response = shop.control("POST", "/products", json={"title": title, "category": "aa-6-6"})
    assert response.status_code == 201, response.text
    return response.json()["gid"]


def _stage(shop: ShopSession, data: bytes, method: str = "PUT", mime: str = "image/jpeg") -> str:
    """Stage ``data`` like the connector: create a target, upload, return the originalSource."""
    staged = shop.data(
        STAGED_UPLOADS_CREATE,
        {"input": [{"resource": "IMAGE", "filename": "render.jpg", "mimeType": mime, "httpMethod": method}]},
    )
    payload = staged["stagedUploadsCreate"]
    assert payload["userErrors"] == []
    [target] = payload["stagedTargets"]
    params = {p["name"]: p["value"] for p in target["parameters"]}
    if method == "PUT":
        response = httpx.put(target["url"], content=data, headers={"Content-Type": params["content_type"]})
        assert response.status_code == 200, response.text
        return target["url"]
    response = httpx.post(target["url"], data=params, files={"file": ("render.jpg", data, mime)})
    assert response.status_code == 201, response.text
    return target["resourceUrl"]


def _attach(shop: ShopSession, product: str, source: str, alt: str = "On model") -> dict:
    return shop.data(
        PRODUCT_UPDATE_MEDIA,
        {
            "product": {"id": product},
            "media": [{"originalSource": source, "mediaContentType": "IMAGE", "alt": alt}],
        },
    )["productUpdate"]


def _wait_settled(shop: ShopSession, media_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        node = shop.data(MEDIA_STATUS, {"id": media_id})["node"]
        seen.append(node["status"])
        if node["status"] in ("READY", "FAILED"):
            node["seen"] = seen
            return node
        time.sleep(0.01)
    raise AssertionError(f"media {media_id} never settled: {seen}")


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_staged_upload_then_product_update_becomes_ready(shop: ShopSession, method: str) -> None:
    product = _product(shop)
    image = jpeg_bytes((10, 120, 200), (120, 90))
    source = _stage(shop, image, method)
    payload = _attach(shop, product, source)
    assert payload["userErrors"] == []
    [created] = payload["product"]["media"]["nodes"]
    assert created["status"] in ("UPLOADED", "PROCESSING") and created["alt"] == "On model"
    node = _wait_settled(shop, created["id"])
    assert node["status"] == node["fileStatus"] == "READY"
    assert node["seen"][0] in ("UPLOADED", "PROCESSING")
    assert (node["image"]["width"], node["image"]["height"]) == (120, 90)
    assert httpx.get(node["image"]["url"]).content == image
    stats = shop.control("GET", "").json()["stats"]
    assert stats["media_created.app"] == 1


def test_media_has_no_image_url_before_ready() -> None:
    running = start_devshop(media_processing_delay_s=30.0)
    try:
        from devshop_support import exchange_offline_token, new_shop

        handle = new_shop(running)
        session = ShopSession(running, handle, exchange_offline_token(running, handle).access_token.token)
        product = _product(session)
        [media] = _attach(session, product, _stage(session, jpeg_bytes()))["product"]["media"]["nodes"]
        node = session.data(MEDIA_STATUS, {"id": media["id"]})["node"]
        assert node["status"] == "UPLOADED" and node["image"] is None
        control(running, "POST", "/clock", json={"advance_s": 16})
        time.sleep(0.1)
        assert session.data(MEDIA_STATUS, {"id": media["id"]})["node"]["status"] == "PROCESSING"
        control(running, "POST", "/clock", json={"advance_s": 16})
        settle(running)
        assert session.data(MEDIA_STATUS, {"id": media["id"]})["node"]["status"] == "READY"
    finally:
        running.stop()


def test_unreadable_image_fails_with_media_errors(shop: ShopSession) -> None:
    product = _product(shop)
    [media] = _attach(shop, product, _stage(shop, b"this is not a jpeg"))["product"]["media"]["nodes"]
    node = _wait_settled(shop, media["id"])
    assert node["status"] == "FAILED" and node["image"] is None
    assert node["mediaErrors"][0]["code"] == "UNSUPPORTED_IMAGE_FILE_TYPE"


def test_truncated_image_fails_processing(shop: ShopSession) -> None:
    product = _product(shop)
    broken = jpeg_bytes((1, 2, 3), (400, 300))[:300]
    [media] = _attach(shop, product, _stage(shop, broken))["product"]["media"]["nodes"]
    node = _wait_settled(shop, media["id"])
    assert node["status"] == "FAILED"
    assert node["mediaErrors"][0]["code"] in ("IMAGE_PROCESSING_FAILURE", "UNSUPPORTED_IMAGE_FILE_TYPE")


def test_staged_target_never_uploaded_fails_download(shop: ShopSession) -> None:
    product = _product(shop)
    staged = shop.data(
        STAGED_UPLOADS_CREATE,
        {"input": [{"resource": "IMAGE", "filename": "x.jpg", "mimeType": "image/jpeg"}]},
    )
    url = staged["stagedUploadsCreate"]["stagedTargets"][0]["url"]
    [media] = _attach(shop, product, url)["product"]["media"]["nodes"]
    node = _wait_settled(shop, media["id"])
    assert node["status"] == "FAILED" and node["mediaErrors"][0]["code"] == "IMAGE_DOWNLOAD_FAILURE"


def test_staged_targets_check_content_type_and_are_private(shop: ShopSession) -> None:
    staged = shop.data(
        STAGED_UPLOADS_CREATE,
        {"input": [{"resource": "IMAGE", "filename": "x.jpg", "mimeType": "image/jpeg"}]},
    )
    target = staged["stagedUploadsCreate"]["stagedTargets"][0]
    wrong = httpx.put(
        target["url"], content=jpeg_bytes(), headers={"Content-Type": "application/octet-stream"}
    )
    assert wrong.status_code == 403 and "SignatureDoesNotMatch" in wrong.text
    forged = httpx.put(
        target["resourceUrl"] + "?X-Goog-Signature=00",
        content=jpeg_bytes(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert forged.status_code == 403
    assert httpx.get(target["resourceUrl"]).status_code == 403


def test_staged_upload_input_errors(shop: ShopSession) -> None:
    payload = shop.data(
        STAGED_UPLOADS_CREATE,
        {
            "input": [
                {"resource": "IMAGE", "filename": "a.txt", "mimeType": "text/plain"},
                {"resource": "VIDEO", "filename": "b.mp4", "mimeType": "video/mp4"},
            ]
        },
    )["stagedUploadsCreate"]
    assert payload["stagedTargets"] is None
    assert [e["field"] for e in payload["userErrors"]] == [
        ["input", "0", "mimeType"],
        ["input", "1", "fileSize"],
    ]


def test_product_update_user_errors(shop: ShopSession) -> None:
    product = _product(shop)
    unknown = shop.data(PRODUCT_UPDATE_MEDIA, {"product": {"id": "gid://shopify/Product/42"}, "media": []})
    assert unknown["productUpdate"] == {
        "product": None,
        "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
    }
    bad_source = _attach(shop, product, "ftp://example.com/a.jpg")
    assert bad_source["product"] is None
    assert bad_source["userErrors"] == [
        {"field": ["media", "0", "originalSource"], "message": "Image URL is invalid"}
    ]
    assert shop.control("GET", "").json()["stats"].get("media_created.app", 0) == 0


def test_too_many_media_is_refused() -> None:
    from devshop_support import exchange_offline_token, new_shop

    running = start_devshop(max_media_per_product=2)
    try:
        handle = new_shop(running)
        session = ShopSession(running, handle, exchange_offline_token(running, handle).access_token.token)
        product = _product(session)
        source = _stage(session, jpeg_bytes())
        media = [{"originalSource": source, "mediaContentType": "IMAGE"}] * 3
        payload = session.data(PRODUCT_UPDATE_MEDIA, {"product": {"id": product}, "media": media})[
            "productUpdate"
        ]
        assert payload["product"] is None
        assert payload["userErrors"] == [
            {"field": ["media"], "message": "Products can't have more than 2 media."}
        ]
    finally:
        running.stop()


def test_input_arrays_over_250_are_refused(shop: ShopSession) -> None:
    ids = [f"gid://shopify/MediaImage/{n}" for n in range(251)]
    body = json.loads(shop.gql(FILE_DELETE, {"ids": ids}).response.body)
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert body["data"] == {"fileDelete": None}


def _ready_media(shop: ShopSession, product: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        [media] = _attach(shop, product, _stage(shop, jpeg_bytes((n * 40, 80, 160))), alt=f"Render {n}")[
            "product"
        ]["media"]["nodes"][-1:]
        ids.append(media["id"])
    settle(shop.devshop)
    return ids


def test_file_update_changes_alt_and_detaches_from_product(shop: ShopSession) -> None:
    product = _product(shop)
    [media] = _ready_media(shop, product, 1)
    updated = shop.data(FILE_UPDATE, {"files": [{"id": media, "alt": "Worn: model wearing pearl drops"}]})
    assert updated["fileUpdate"]["userErrors"] == []
    assert updated["fileUpdate"]["files"][0]["alt"] == "Worn: model wearing pearl drops"
    removed = shop.data(FILE_UPDATE, {"files": [{"id": media, "referencesToRemove": [product]}]})
    assert removed["fileUpdate"]["userErrors"] == []
    product_id = int(product.rsplit("/", 1)[1])
    assert shop.control("GET", f"/products/{product_id}").json()["media"] == []
    assert shop.data(MEDIA_STATUS, {"id": media})["node"]["status"] == "READY"  # the file itself remains
    assert shop.control("GET", "").json()["stats"]["media_detached.app"] == 1


def test_file_update_and_delete_user_errors(shop: ShopSession) -> None:
    product = _product(shop)
    [media] = _ready_media(shop, product, 1)
    missing = shop.data(FILE_UPDATE, {"files": [{"id": "gid://shopify/MediaImage/1", "alt": "x"}]})[
        "fileUpdate"
    ]
    assert missing["files"] is None
    assert missing["userErrors"] == [
        {
            "code": "FILE_DOES_NOT_EXIST",
            "field": ["files", "0", "id"],
            "message": "File id gid://shopify/MediaImage/1 does not exist.",
        }
    ]
    too_long = shop.data(FILE_UPDATE, {"files": [{"id": media, "alt": "x" * 513}]})["fileUpdate"]
    assert too_long["userErrors"][0]["code"] == "ALT_VALUE_LIMIT_EXCEEDED"
    bad_ref = shop.data(
        FILE_UPDATE, {"files": [{"id": media, "referencesToAdd": ["gid://shopify/Product/9"]}]}
    )
    assert bad_ref["fileUpdate"]["userErrors"][0]["code"] == "REFERENCE_TARGET_DOES_NOT_EXIST"
    gone = shop.data(FILE_DELETE, {"ids": [media, "gid://shopify/MediaImage/1"]})["fileDelete"]
    assert gone["deletedFileIds"] is None and gone["userErrors"][0]["code"] == "FILE_DOES_NOT_EXIST"
    assert shop.data(MEDIA_STATUS, {"id": media})["node"]["alt"] == "Render 0"  # nothing changed


def test_file_delete_removes_media_and_counts_by_creator(shop: ShopSession) -> None:
    import base64

    created = shop.control(
        "POST",
        "/products",
        json={
            "title": "Gold Hoop Earrings",
            "photos": [{"filename": "hoops.jpg", "content_base64": base64.b64encode(jpeg_bytes()).decode()}],
        },
    ).json()
    renders = _ready_media(shop, created["gid"], 2)
    deleted = shop.data(FILE_DELETE, {"ids": [renders[0]]})["fileDelete"]
    assert deleted == {"deletedFileIds": [renders[0]], "userErrors": []}
    after = shop.control("GET", f"/products/{created['id']}").json()
    assert [m["created_by"] for m in after["media"]] == ["merchant", "app"]
    assert shop.data(MEDIA_STATUS, {"id": renders[0]})["node"] is None
    stats = shop.control("GET", "").json()["stats"]
    assert stats["media_deleted.app"] == 1 and "media_deleted.merchant" not in stats


def test_reorder_applies_when_the_job_is_done(shop: ShopSession) -> None:
    product = _product(shop)
    first, second, third = _ready_media(shop, product, 3)
    payload = shop.data(REORDER, {"id": product, "moves": [{"id": third, "newPosition": "0"}]})
    reorder = payload["productReorderMedia"]
    assert reorder["mediaUserErrors"] == [] and reorder["job"]["done"] is False
    deadline = time.monotonic() + 5
    while not shop.data(JOB, {"id": reorder["job"]["id"]})["job"]["done"]:
        assert time.monotonic() < deadline, "reorder job never finished"
        time.sleep(0.01)
    order = shop.data(
        "query($id: ID!) { product(id: $id) { media(first: 10) { nodes { id } } } }", {"id": product}
    )
    assert [n["id"] for n in order["product"]["media"]["nodes"]] == [third, first, second]


def test_reorder_user_errors(shop: ShopSession) -> None:
    product = _product(shop)
    other = _product(shop, "Other")
    [foreign] = _ready_media(shop, other, 1)
    missing = shop.data(REORDER, {"id": "gid://shopify/Product/5", "moves": []})["productReorderMedia"]
    assert missing == {
        "job": None,
        "mediaUserErrors": [
            {"code": "PRODUCT_DOES_NOT_EXIST", "field": ["id"], "message": "Product does not exist"}
        ],
    }
    wrong = shop.data(REORDER, {"id": product, "moves": [{"id": foreign, "newPosition": "0"}]})[
        "productReorderMedia"
    ]
    assert wrong["job"] is None and wrong["mediaUserErrors"][0]["code"] == "MEDIA_DOES_NOT_EXIST_ON_PRODUCT"


def test_external_url_source_is_fetched(shop: ShopSession) -> None:
    product = _product(shop)
    [merchant_photo] = _ready_media(shop, product, 1)
    url = shop.data(MEDIA_STATUS, {"id": merchant_photo})["node"]["image"]["url"]
    [copy] = _attach(shop, product, url)["product"]["media"]["nodes"][-1:]
    node = _wait_settled(shop, copy["id"])
    assert node["status"] == "READY"
    assert httpx.get(node["image"]["url"]).content == httpx.get(url).content
