"""The Admin GraphQL queries Worn sends return what Shopify returns for them, errors included."""

from __future__ import annotations

import json

import httpx
from devshop_support import API_VERSION, ShopSession, control, new_shop, settle, start_devshop

from connector.transport import make_http_client

PRODUCT_QUERY = """
query Product($id: ID!) {
  product(id: $id) {
    id title productType tags status updatedAt
    category { id name fullName }
    media(first: 20) {
      nodes { id alt status mediaContentType ... on MediaImage { image { url width height } } }
    }
    metafields(first: 20) { nodes { namespace key type value jsonValue } }
    variants(first: 10) { nodes { title selectedOptions { name value } } }
  }
}
"""

PRODUCTS_SINCE_QUERY = """
query ProductsSince($query: String!, $after: String) {
  products(first: 2, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node { id title updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SHOP_QUERY = "{ shop { name myshopifyDomain } }"


def _make_product(shop: ShopSession, **spec: object) -> dict:
    body = {
        "title": "Aurora Gold Chain Necklace",
        "product_type": "Necklaces",
        "category": "aa-6-8",
        "tags": ["gold", "chain"],
        "options": [{"name": "Length", "values": ["45 cm", "50 cm"]}],
        "metafields": [
            {
                "namespace": "custom",
                "key": "chain_length",
                "type": "dimension",
                "value": {"value": 18, "unit": "in"},
            }
        ],
        **spec,
    }
    response = shop.control("POST", "/products", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_product_query_returns_category_media_metafields_and_variants(shop: ShopSession) -> None:
    import base64

    from devshop_support import jpeg_bytes

    created = _make_product(
        shop,
        photos=[
            {
                "filename": "front.jpg",
                "alt": "Front",
                "content_base64": base64.b64encode(jpeg_bytes()).decode(),
            }
        ],
    )
    settle(shop.devshop)
    product = shop.data(PRODUCT_QUERY, {"id": created["gid"]})["product"]
    assert product["id"] == created["gid"]
    assert product["productType"] == "Necklaces"
    assert product["tags"] == ["gold", "chain"]
    assert product["status"] == "ACTIVE"
    assert product["category"] == {
        "id": "gid://shopify/TaxonomyCategory/aa-6-8",
        "name": "Necklaces",
        "fullName": "Apparel & Accessories > Jewelry > Necklaces",
    }
    assert product["updatedAt"].endswith("Z") and len(product["updatedAt"]) == 20
    [media] = product["media"]["nodes"]
    assert media["id"].startswith("gid://shopify/MediaImage/")
    assert (media["alt"], media["status"], media["mediaContentType"]) == ("Front", "READY", "IMAGE")
    assert (media["image"]["width"], media["image"]["height"]) == (64, 48)
    assert httpx.get(media["image"]["url"]).content == jpeg_bytes()
    [metafield] = product["metafields"]["nodes"]
    assert metafield["value"] == '{"value": 18, "unit": "in"}'
    assert metafield["jsonValue"] == {"value": 18, "unit": "in"}
    assert [v["selectedOptions"] for v in product["variants"]["nodes"]] == [
        [{"name": "Length", "value": "45 cm"}],
        [{"name": "Length", "value": "50 cm"}],
    ]


def test_unknown_product_is_null_without_errors(shop: ShopSession) -> None:
    assert shop.data(PRODUCT_QUERY, {"id": "gid://shopify/Product/1"}) == {"product": None}


def test_products_updated_since_pages_with_cursors(shop: ShopSession) -> None:
    old = _make_product(shop, title="Old ring")
    control(shop.devshop, "POST", "/clock", json={"advance_s": 10})
    watermark = control(shop.devshop, "GET", "/clock").json()["now"]
    control(shop.devshop, "POST", "/clock", json={"advance_s": 1})
    fresh = [_make_product(shop, title=f"Fresh {n}")["gid"] for n in range(5)]
    seen, after, pages = [], None, 0
    while True:
        page = shop.data(PRODUCTS_SINCE_QUERY, {"query": f"updated_at:>'{watermark}'", "after": after})[
            "products"
        ]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(fresh) and old["gid"] not in seen
    assert pages == 3


def test_unknown_search_field_is_ignored_with_a_warning(shop: ShopSession) -> None:
    _make_product(shop)
    result = shop.gql('{ products(first: 5, query: "colour:blue") { nodes { id } } }')
    body = json.loads(result.response.body)
    assert len(body["data"]["products"]["nodes"]) == 1
    assert body["extensions"]["search"][0]["warnings"] == [
        {"field": "colour", "message": "Invalid search field for this query."}
    ]


def test_shop_query(shop: ShopSession) -> None:
    assert shop.data(SHOP_QUERY) == {
        "shop": {"name": shop.handle.replace("-", " ").title(), "myshopifyDomain": shop.domain}
    }


def test_syntax_and_schema_errors_come_back_like_shopify(shop: ShopSession) -> None:
    broken = shop.gql("{ shop { name ")
    assert not broken.ok and broken.log.code == "graphql_errors"
    [error] = json.loads(broken.response.body)["errors"]
    assert error["message"].startswith("syntax error") and error["locations"]

    unknown = json.loads(shop.gql("{ shop { name colour } }").response.body)
    assert unknown["errors"][0]["message"] == "Field 'colour' doesn't exist on type 'Shop'"
    assert unknown["errors"][0]["extensions"] == {
        "code": "undefinedField",
        "typeName": "Shop",
        "fieldName": "colour",
    }

    missing = json.loads(shop.gql("{ product { id } }").response.body)
    assert missing["errors"][0]["message"] == "Field 'product' is missing required arguments: id"


def test_bad_ids_arguments_and_variables_are_errors(shop: ShopSession) -> None:
    bad_gid = json.loads(shop.gql(PRODUCT_QUERY, {"id": "12345"}).response.body)
    assert bad_gid["errors"][0]["message"] == "Invalid global id '12345'"
    assert bad_gid["data"] == {"product": None}

    no_first = json.loads(shop.gql("{ products { nodes { id } } }").response.body)
    assert no_first["errors"][0]["message"] == "you must provide one of first or last"

    bad_var = json.loads(shop.gql(PRODUCT_QUERY, {"id": None}).response.body)
    assert bad_var["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert bad_var["errors"][0]["message"] == "Variable $id of type ID! was provided invalid value"


def test_missing_query_is_a_400(shop: ShopSession) -> None:
    response = make_http_client(shop.devshop.base_url).post(
        f"https://{shop.domain}/admin/api/{API_VERSION}/graphql.json",
        headers={"X-Shopify-Access-Token": shop.token},
        json={"variables": {}},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_api_versions_fall_forward_and_garbage_is_404(shop: ShopSession) -> None:
    client = make_http_client(shop.devshop.base_url)
    headers = {"X-Shopify-Access-Token": shop.token}
    old = client.post(
        f"https://{shop.domain}/admin/api/2019-04/graphql.json", headers=headers, json={"query": SHOP_QUERY}
    )
    assert old.status_code == 200 and old.headers["X-Shopify-API-Version"] == "2025-10"
    assert (
        client.post(
            f"https://{shop.domain}/admin/api/latest-ish/graphql.json",
            headers=headers,
            json={"query": SHOP_QUERY},
        ).status_code
        == 404
    )


def test_unknown_shop_is_404_and_bad_token_is_401(shop: ShopSession) -> None:
    client = make_http_client(shop.devshop.base_url)
    url = f"https://nosuchshop.myshopify.com/admin/api/{API_VERSION}/graphql.json"
    assert (
        client.post(
            url, headers={"X-Shopify-Access-Token": shop.token}, json={"query": SHOP_QUERY}
        ).status_code
        == 404
    )
    other = ShopSession(shop.devshop, shop.handle, "shpat_" + "0" * 32)
    result = other.gql(SHOP_QUERY)
    assert (result.ok, result.log.code, result.http_logs[0].res.status) == (False, "unauthorized", 401)
    assert "Invalid API key or access token" in result.http_logs[0].res.body


def test_a_token_of_another_shop_is_refused(shop: ShopSession) -> None:
    other_handle = new_shop(shop.devshop)
    intruder = ShopSession(shop.devshop, other_handle, shop.token)
    assert intruder.gql(SHOP_QUERY).log.code == "unauthorized"


def test_missing_scope_is_access_denied() -> None:
    from devshop_support import exchange_offline_token

    running = start_devshop(scopes=("read_products",))
    try:
        handle = new_shop(running)
        token = exchange_offline_token(running, handle).access_token.token
        session = ShopSession(running, handle, token)
        body = json.loads(
            session.gql(
                'mutation { fileDelete(fileIds: ["gid://shopify/MediaImage/1"]) { deletedFileIds } }'
            ).response.body
        )
        assert body["data"] == {"fileDelete": None}
        assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
        assert "write_files" in body["errors"][0]["message"]
        assert session.data(SHOP_QUERY)["shop"]["myshopifyDomain"] == f"{handle}.myshopify.com"
    finally:
        running.stop()


def test_current_app_installation_lists_granted_scopes(shop: ShopSession) -> None:
    scopes = shop.data("{ currentAppInstallation { accessScopes { handle } } }")
    assert [s["handle"] for s in scopes["currentAppInstallation"]["accessScopes"]] == [
        "read_products",
        "write_products",
        "read_files",
        "write_files",
    ]
