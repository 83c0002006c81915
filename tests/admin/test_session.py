"""Session-token authentication: API fetches (401 + retry header, no data), document loads, the patch page,
the per-shop frame-ancestors policy, and the dev-shop token renewal that never exists in production."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask.testing import FlaskClient

from connector.models import Shop
from connector.services import Services
from connector.settings import Settings
from tests.admin.conftest import SHOP_A, SHOP_B, build_app, error_of, minted
from tests.admin.factory import SECRET, bearer, seed_product, session_token
from webhooks.session import RETRY_HEADER

GUESS = "a-guessed-secret-0123456789abcdef012"


# --- API fetches -----------------------------------------------------------------------------------------


def test_a_valid_token_reads_its_own_shop(client: FlaskClient, shops: dict[str, int]) -> None:
    response = client.get("/api/overview", headers=bearer(SHOP_A))
    assert response.status_code == 200
    assert response.get_json()["shop"] == SHOP_A
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("case", "headers", "code"),
    [
        ("no token", {}, "missing_authorization"),
        ("not bearer", {"Authorization": "Basic abc"}, "invalid_id_token"),
        ("garbage", {"Authorization": "Bearer not.a.jwt"}, "invalid_id_token"),
        ("forged", bearer(SHOP_A, secret="someone-elses-secret-0123456789abcdef"), "invalid_id_token"),
        ("expired", bearer(SHOP_A, ttl=60, age=600), "expired_id_token"),
        ("not yet valid", bearer(SHOP_A, age=-600), "invalid_id_token"),
        ("another app", bearer(SHOP_A, api_key="another-app"), "invalid_aud"),
        ("no expiry", bearer(SHOP_A, exp=None), "invalid_claims"),
        ("no dest", bearer(SHOP_A, dest=None), "invalid_claims"),
        ("iss of another shop", bearer(SHOP_A, iss=f"https://{SHOP_B}/admin"), "invalid_claims"),
        ("not a shop", bearer("evil.example.com"), "invalid_claims"),
        ("http dest", bearer(SHOP_A, dest=f"http://{SHOP_A}"), "invalid_claims"),
    ],
)
def test_bad_tokens_get_401_with_the_retry_header_and_no_data(
    client: FlaskClient,
    shops: dict[str, int],
    services: Services,
    case: str,
    headers: Mapping[str, str],
    code: str,
) -> None:
    seed_product(services, shops[SHOP_A], title="Secret collection")
    for path in ("/api/overview", "/api/review-queue", f"/api/products/{1}", "/api/style", "/api/jobs"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (case, path)
        assert response.headers.get(RETRY_HEADER) == "1", case
        assert error_of(response)["code"] == code, case
        assert set(response.get_json()) == {"error"}
        assert b"Secret collection" not in response.data and b"acme" not in response.data


def test_posts_without_a_valid_token_change_nothing(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A])
    forged = bearer(SHOP_A, secret=GUESS)
    assert client.post(f"/api/drafts/{seeded.draft_ids[0]}/approve", headers=forged).status_code == 401
    assert client.post(f"/api/products/{seeded.product_id}/approve-all").status_code == 401
    with services.db.session() as session:
        from connector.models import Draft, WriteBack

        assert {d.state for d in session.query(Draft)} == {"awaiting_review"}
        assert session.query(WriteBack).count() == 0
    assert services.queue.depth("writeback") == 0


def test_another_shops_token_sees_only_its_own_shop(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    seeded = seed_product(services, shops[SHOP_A], title="Acme only")
    response = client.get(f"/api/products/{seeded.product_id}", headers=bearer(SHOP_B))
    assert response.status_code == 404
    assert b"Acme only" not in response.data
    queue = client.get("/api/review-queue", headers=bearer(SHOP_B)).get_json()
    assert queue == {"items": [], "next_cursor": None}


def test_the_old_secret_still_works_during_a_rotation(
    make_settings: object, database_url: str, shops: dict[str, int], services: Services
) -> None:
    rotated = Services.from_settings(
        make_settings(
            DATABASE_URL=database_url,
            SHOPIFY_API_SECRET="the-new-rotated-secret-0123456789abcd",  # type: ignore[operator]
            SHOPIFY_API_SECRET_OLD=SECRET,
        )
    )
    try:
        client = build_app(rotated).test_client()
        assert client.get("/api/overview", headers=bearer(SHOP_A)).status_code == 200
        assert (
            client.get(
                "/api/overview", headers=bearer(SHOP_A, secret="the-new-rotated-secret-0123456789abcd")
            ).status_code
            == 200
        )
        assert (
            client.get(
                "/api/overview", headers=bearer(SHOP_A, secret="an-even-older-secret-0123456789abcdef")
            ).status_code
            == 401
        )
    finally:
        rotated.close()


def test_an_uninstalled_shop_gets_403_not_a_retry_loop(
    client: FlaskClient, shops: dict[str, int], services: Services
) -> None:
    with services.db.session() as session:
        session.get(Shop, shops[SHOP_A]).active = False  # type: ignore[union-attr]
    response = client.get("/api/overview", headers=bearer(SHOP_A))
    assert response.status_code == 403
    assert RETRY_HEADER not in response.headers
    assert error_of(response)["code"] == "not_installed"
    unknown = client.get("/api/overview", headers=bearer("never-installed.myshopify.com"))
    assert unknown.status_code == 403


def test_api_routing_errors_are_json(client: FlaskClient, shops: dict[str, int]) -> None:
    missing = client.get("/api/nothing-here", headers=bearer(SHOP_A))
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong_method = client.delete("/api/overview", headers=bearer(SHOP_A))
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"


# --- document loads --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/app", "/app/style", "/app/jobs", "/app/products/1"])
def test_pages_load_with_an_id_token_and_carry_the_shops_frame_ancestors(
    client: FlaskClient, services: Services, shops: dict[str, int], page: str
) -> None:
    token = session_token(SHOP_A)
    response = client.get(f"{page}?shop={SHOP_A}&host=YWRtaW4&id_token={token}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert (
        response.headers["Content-Security-Policy"]
        == f"frame-ancestors https://{SHOP_A} https://admin.shopify.com;"
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert "app-bridge.js>; rel=\"preload\"" in response.headers["Link"]
    html = response.get_data(as_text=True)
    assert '<meta name="shopify-api-key" content="worn-dev-app">' in html
    assert "https://cdn.shopify.com/shopifycloud/app-bridge.js" in html  # not a dev-shop: embedded
    assert "https://cdn.shopify.com/shopifycloud/polaris.js" in html
    config = json.loads(html.split('id="worn-config">', 1)[1].split("</script>", 1)[0])
    assert config["shop"] == SHOP_A and config["idToken"] == token and config["devTokenUrl"] is None


def test_the_first_page_load_installs_the_shop(make_settings: object, database_url: str, dev_shop: str) -> None:
    client, svc = _dev_client(make_settings, database_url, SHOPIFY_BASE_URL=dev_shop)
    try:
        assert client.get(f"/app?shop={SHOP_A}&id_token={minted(dev_shop)}").status_code == 200
        with svc.db.session() as session:
            shop = session.query(Shop).filter_by(domain=SHOP_A).one()
            assert shop.active and shop.token_expiring and shop.access_token is not None
            assert shop.style_version_id is not None and shop.name  # its style, and its name for alt text
        # A second load finds the live token and exchanges nothing.
        version = shop.token_version
        assert client.get(f"/app?shop={SHOP_A}&id_token={minted(dev_shop)}").status_code == 200
        with svc.db.session() as session:
            assert session.query(Shop).filter_by(domain=SHOP_A).one().token_version == version
    finally:
        svc.close()


def test_a_store_that_cannot_be_installed_gets_a_clear_page(
    make_settings: object, database_url: str, dev_shop: str
) -> None:
    client, svc = _dev_client(make_settings, database_url, SHOPIFY_BASE_URL=dev_shop)
    try:
        # Signed by the app, but for a store the dev-shop does not know: the token exchange is refused.
        response = client.get(f"/app?shop=ghost.myshopify.com&id_token={session_token('ghost.myshopify.com')}")
        assert response.status_code == 502
        assert "could not connect to your store" in response.get_data(as_text=True)
        assert response.headers["Content-Security-Policy"].startswith("frame-ancestors https://ghost.myshopify.com")
    finally:
        svc.close()


@pytest.mark.parametrize("token", [None, "expired", "forged"])
def test_a_page_without_a_fresh_token_goes_to_the_patch_page(
    client: FlaskClient, services: Services, token: str | None
) -> None:
    value = {
        None: None,
        "expired": session_token(SHOP_A, age=3600),
        "forged": session_token(SHOP_A, secret=GUESS),
    }[token]
    query = f"shop={SHOP_A}&host=YWRtaW4" + (f"&id_token={value}" if value else "")
    response = client.get(f"/app/style?{query}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.scheme == "" and location.netloc == ""  # relative: no proxy can turn it elsewhere
    assert location.path == "/auth/patch-id-token"
    params = parse_qs(location.query)
    assert params["shop"] == [SHOP_A]
    assert params["shopify-reload"] == [f"/app/style?shop={SHOP_A}&host=YWRtaW4"]
    with services.db.session() as session:
        assert session.query(Shop).count() == 0  # nothing installed on a bad token


def test_a_page_with_another_apps_token_is_refused(client: FlaskClient) -> None:
    response = client.get(f"/app?shop={SHOP_A}&id_token={session_token(SHOP_A, api_key='other-app')}")
    assert response.status_code == 401
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP_A} https://admin.shopify.com;"
    )


def test_a_page_for_one_shop_with_another_shops_token_is_refused(client: FlaskClient, services: Services) -> None:
    response = client.get(f"/app?shop={SHOP_A}&id_token={session_token(SHOP_B)}")
    assert response.status_code == 401
    assert SHOP_B not in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP_A} https://admin.shopify.com;"
    )
    with services.db.session() as session:
        assert session.query(Shop).count() == 0


def test_the_patch_page_loads_app_bridge_for_the_shop(client: FlaskClient) -> None:
    response = client.get(f"/auth/patch-id-token?shop={SHOP_A}&shopify-reload=%2Fapp%3Fshop%3D{SHOP_A}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-api-key="worn-dev-app" src="https://cdn.shopify.com/shopifycloud/app-bridge.js"' in html
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP_A} https://admin.shopify.com;"
    )
    assert "patch.js" not in html  # renewal outside the admin exists only against a dev-shop


@pytest.mark.parametrize(
    "query",
    [
        "shopify-reload=%2Fapp",  # no shop
        f"shop={SHOP_A}",  # nothing to reload
        "shop=evil.example.com&shopify-reload=%2Fapp",  # not a shop: it would go into frame-ancestors
        f"shop={SHOP_A}&shopify-reload=https%3A%2F%2Fevil.example.com%2F",
        f"shop={SHOP_A}&shopify-reload=%2F%2Fevil.example.com%2F",
    ],
)
def test_the_patch_page_refuses_bad_parameters(client: FlaskClient, query: str) -> None:
    response = client.get(f"/auth/patch-id-token?{query}")
    assert response.status_code == 400
    assert "evil.example.com" not in response.headers["Content-Security-Policy"]


# --- the dev-shop token renewal --------------------------------------------------------------------------


def _dev_client(
    make_settings: object, database_url: str, **overrides: object
) -> tuple[FlaskClient, Services]:
    settings: Settings = make_settings(DATABASE_URL=database_url, **overrides)  # type: ignore[operator]
    svc = Services.from_settings(settings)
    return build_app(svc).test_client(), svc


def test_dev_shop_renewal_mints_a_fresh_token_for_the_same_shop_and_user(
    make_settings: object, database_url: str, dev_shop: str
) -> None:
    client, svc = _dev_client(make_settings, database_url, SHOPIFY_BASE_URL=dev_shop)
    try:
        expired = session_token(SHOP_A, age=3600, sub="7")
        response = client.post("/dev/session-token", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 200, response.data
        fresh_token = response.get_json()["token"]
        fresh = jwt.decode(fresh_token, SECRET, algorithms=["HS256"], audience="worn-dev-app")
        assert fresh["dest"] == f"https://{SHOP_A}" and fresh["sub"] == "7"  # same shop, same staff user
        assert fresh["iat"] > jwt.decode(expired, options={"verify_signature": False})["iat"]
        # The page in a plain browser: no App Bridge, and it knows where to renew. Its first load installs
        # the shop through a real token exchange with the dev-shop.
        response = client.get(f"/app?shop={SHOP_A}&id_token={fresh_token}")
        assert response.status_code == 200, response.data
        page = response.get_data(as_text=True)
        assert "app-bridge.js" not in page and "Link" not in response.headers
        assert '"devTokenUrl": "/dev/session-token"' in page
        with svc.db.session() as session:
            shop = session.query(Shop).filter_by(domain=SHOP_A).one()
            assert shop.active and shop.access_token is not None and shop.style_version_id is not None
        patch = client.get(f"/auth/patch-id-token?shop={SHOP_A}&shopify-reload=%2Fapp").get_data(as_text=True)
        assert "patch.js" in patch and "app-bridge.js" not in patch
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("no token", {}),
        ("forged", bearer(SHOP_A, secret=GUESS, age=3600)),
        ("another app", bearer(SHOP_A, api_key="other", age=3600)),
        ("too old", bearer(SHOP_A, age=13 * 3600)),
        ("not a shop", bearer("evil.example.com", age=3600)),
    ],
)
def test_dev_shop_renewal_refuses_tokens_the_app_did_not_sign(
    make_settings: object, database_url: str, dev_shop: str, case: str, headers: Mapping[str, str]
) -> None:
    client, svc = _dev_client(make_settings, database_url, SHOPIFY_BASE_URL=dev_shop)
    try:
        response = client.post("/dev/session-token", headers=headers)
        assert response.status_code == 401, case
        assert "token" not in response.get_json()
    finally:
        svc.close()


def test_dev_open_starts_a_plain_browser_session_for_a_dev_shop_store(
    make_settings: object, database_url: str, dev_shop: str
) -> None:
    client, svc = _dev_client(make_settings, database_url, SHOPIFY_BASE_URL=dev_shop)
    try:
        response = client.get(f"/dev/open?shop={SHOP_A}")
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        params = parse_qs(location.query)
        assert location.path == "/app" and params["shop"] == [SHOP_A]
        assert client.get(response.headers["Location"]).status_code == 200  # a token the app accepts
        assert client.get("/dev/open?shop=evil.example.com").status_code == 400
        unknown = client.get("/dev/open?shop=no-such-store.myshopify.com")
        assert unknown.status_code == 502 and "is it running" in unknown.get_data(as_text=True)
        patch = client.get(f"/auth/patch-id-token?shop={SHOP_A}&shopify-reload=%2Fapp").get_data(as_text=True)
        assert f'href="/dev/open?shop={SHOP_A}"' in patch
    finally:
        svc.close()


def test_dev_shop_renewal_does_not_exist_without_a_dev_shop_or_in_production(
    make_settings: object, database_url: str
) -> None:
    from cryptography.fernet import Fernet

    production = {
        "ENVIRONMENT": "production",
        "SHOPIFY_BASE_URL": "http://127.0.0.1:9",  # even with a base URL set (a proxy, say)
        "SHOPIFY_API_KEY": "real-key",
        "SHOPIFY_API_SECRET": "the-real-production-secret-0123456789",
        "SHOPIFY_APP_URL": "https://worn.example.com",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    for overrides in ({}, production):
        client, svc = _dev_client(make_settings, database_url, **overrides)
        try:
            token = session_token(
                SHOP_A, age=3600, secret=svc.settings.SHOPIFY_API_SECRET, api_key=svc.settings.SHOPIFY_API_KEY
            )
            response = client.post("/dev/session-token", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 404, overrides
            assert client.get(f"/dev/open?shop={SHOP_A}").status_code == 404
        finally:
            svc.close()
