"""Query cost and the leaky bucket: extensions.cost on every answer, THROTTLED when it runs dry."""

from __future__ import annotations

import json

from devshop_support import API_VERSION, ShopSession, control

from connector.transport import make_http_client

PRODUCTS = "{ products(first: 10) { nodes { id title media(first: 5) { nodes { id } } } } }"


def _make_products(shop: ShopSession, count: int) -> None:
    for n in range(count):
        assert shop.control("POST", "/products", json={"title": f"Ring {n}"}).status_code == 201


def test_every_answer_reports_its_cost(shop: ShopSession) -> None:
    _make_products(shop, 3)
    result = shop.gql(PRODUCTS)
    cost = result.extensions["cost"]
    # 2 for the connection + 10 requested products x (1 product + 2 for media + 5 x 1 media) = 82.
    assert cost["requestedQueryCost"] == 82
    # Three products came back, each with no media: 2 + 3 x (1 + 2) = 11.
    assert cost["actualQueryCost"] == 11
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
    assert 2000 - 82 <= status["currentlyAvailable"] <= 2000 - 11 + 1


def test_bucket_drains_and_restores_at_the_restore_rate(shop: ShopSession) -> None:
    control(shop.devshop, "POST", f"/shops/{shop.handle}/throttle", json={"currently_available": 100})
    cost = shop.gql("{ shop { name } }").extensions["cost"]
    assert 98 <= cost["throttleStatus"]["currentlyAvailable"] <= 120
    control(shop.devshop, "POST", "/clock", json={"advance_s": 5})
    cost = shop.gql("{ shop { name } }").extensions["cost"]
    assert 598 <= cost["throttleStatus"]["currentlyAvailable"] <= 620  # plus real time passing


def test_an_empty_bucket_answers_throttled_like_shopify(shop: ShopSession) -> None:
    control(shop.devshop, "POST", f"/shops/{shop.handle}/throttle", json={"currently_available": 10})
    result = shop.gql(PRODUCTS)
    assert (result.ok, result.log.code, result.response.status) == (False, "graphql_errors", 200)
    body = json.loads(result.response.body)
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
            },
        }
    ]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 82 and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["currentlyAvailable"] < 82
    # Waiting (requested - available) / restoreRate seconds is enough: the bucket refilled.
    wait = (82 - cost["throttleStatus"]["currentlyAvailable"]) / cost["throttleStatus"]["restoreRate"]
    control(shop.devshop, "POST", "/clock", json={"advance_s": wait + 0.1})
    assert shop.gql(PRODUCTS).ok
    assert shop.control("GET", "").json()["stats"]["graphql_throttled"] == 1


def test_a_query_over_the_single_query_limit_is_refused(shop: ShopSession) -> None:
    query = "{ products(first: 250) { nodes { id media(first: 250) { nodes { id } } } } }"
    body = json.loads(shop.gql(query).response.body)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED" and error["extensions"]["maxCost"] == 1000
    assert error["message"].startswith(f"Query cost is {error['extensions']['cost']}, which exceeds")


def test_mutations_cost_ten(shop: ShopSession) -> None:
    result = shop.gql('mutation { fileDelete(fileIds: ["gid://shopify/MediaImage/1"]) { deletedFileIds } }')
    assert result.extensions["cost"]["requestedQueryCost"] == 10


def test_forced_throttle_and_server_errors(shop: ShopSession) -> None:
    control(shop.devshop, "PUT", "/faults", json={"graphql_throttle_next": 1, "graphql_error_next": 1})
    client = make_http_client(shop.devshop.base_url)
    url = f"https://{shop.domain}/admin/api/{API_VERSION}/graphql.json"
    headers = {"X-Shopify-Access-Token": shop.token}
    server_error = client.post(url, headers=headers, json={"query": "{ shop { name } }"})
    assert server_error.status_code == 503
    throttled = client.post(url, headers=headers, json={"query": "{ shop { name } }"}).json()
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] > 1900  # forced, not real
    assert client.post(url, headers=headers, json={"query": "{ shop { name } }"}).json()["data"]["shop"]
    assert control(shop.devshop, "GET", "/faults").json()["graphql_error_next"] == 0


def test_shopifyapp_retries_a_5xx_and_then_succeeds(shop: ShopSession) -> None:
    control(shop.devshop, "PUT", "/faults", json={"graphql_error_next": 1, "graphql_error_status": 502})
    result = shop.gql("{ shop { name } }")
    assert result.ok
    assert [log.code for log in result.http_logs] == ["http_error_502_retry", "success"]


def test_a_500_is_not_retried_by_shopifyapp(shop: ShopSession) -> None:
    control(shop.devshop, "PUT", "/faults", json={"graphql_error_next": 1, "graphql_error_status": 500})
    result = shop.gql("{ shop { name } }")
    assert (result.ok, result.log.code) == (False, "http_error_500")
    assert shop.gql("{ shop { name } }").ok


def test_cost_reads_page_sizes_from_variables(shop: ShopSession) -> None:
    result = shop.gql("query($n: Int!) { products(first: $n) { nodes { id } } }", {"n": 7})
    assert result.extensions["cost"]["requestedQueryCost"] == 2 + 7
