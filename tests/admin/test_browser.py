"""The admin pages in Chromium: review, approve and reject by keyboard, approve all, the write-back's
progress, plate upload with its summary, settings, jobs, session expiry and recovery, refused requests.

The pages run in a plain browser against a dev-shop (no Shopify admin, no CDN: every cdn.shopify.com
request is aborted, as it is offline), and once embedded with an App Bridge stand-in."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from sqlalchemy import delete, select, update

from connector.models import Draft, Product, RenderJob, Shop, WriteBack
from connector.queue import WRITEBACK
from connector.services import Services
from connector.settings import Settings
from connector.shopstyle import plate_image_bytes
from tests.admin.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    portrait,
    require_chromium,
    save_screenshot,
)
from tests.admin.conftest import DEV_HANDLE as HANDLE
from tests.admin.conftest import SHOP_A, SHOP_B, build_app, minted
from tests.admin.factory import make_shop, render_report, session_token
from tests.conftest import PHOTOS

pytestmark = pytest.mark.browser

NECKLACE, EARRINGS, PENDANT = "Aurora Gold Chain Necklace", "Pearl Drop Earrings", "Teardrop Sapphire Pendant"
RING, BRACELET = "Signet Ring", "Tennis Bracelet"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Scene:
    """A running app (plain-browser mode, against a dev-shop) with a seeded shop."""

    services: Services
    app_url: str
    shop_url: str
    shop_id: int
    products: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, *, token: str | None = None, shop: str = SHOP_A) -> str:
        token = minted(self.shop_url) if token is None else token
        sep = "&" if "?" in path else "?"
        return f"{self.app_url}{path}{sep}shop={shop}&id_token={token}"

    def drafts(self, product: str) -> list[Draft]:
        with self.services.db.session() as session:
            return list(session.scalars(select(Draft).where(Draft.product_id == self.products[product])
                                        .order_by(Draft.id)))

    def write_backs(self) -> list[WriteBack]:
        with self.services.db.session() as session:
            return list(session.scalars(select(WriteBack).order_by(WriteBack.id)))


def _devshop_products(shop_url: str) -> dict[str, dict[str, Any]]:
    """Return the dev-shop's seeded products of SHOP_A by title (with their media URLs)."""
    answer = httpx.get(f"{shop_url}/_devshop/shops/{HANDLE}/products", timeout=10)
    answer.raise_for_status()
    return {p["title"]: p for p in answer.json()}


def _seed(services: Services, shop_id: int, shop_url: str) -> dict[str, int]:
    """Three dev-shop products awaiting review, one failed job, one skipped product.

    The drafts' images are the plates themselves: the renderer's branch is not on main yet, and the pages
    only read image keys and reports (a real render replaces them once it lands).
    """
    catalog = _devshop_products(shop_url)
    plates = {p.id: p for p in services.default_style.plates}
    images = {pid: portrait(plate_image_bytes(p, services.settings.STYLES_DIR, services.storage))
              for pid, p in plates.items()}
    made: dict[str, int] = {}
    specs = [
        (NECKLACE, "necklace", ("grace", "eileen")),
        (EARRINGS, "earrings", ("grace", "eileen")),
        (PENDANT, "pendant", ("grace", "eileen")),
    ]
    with services.db.session() as session:
        shop = session.get(Shop, shop_id)
        for number, (title, kind, plate_ids) in enumerate(specs, start=1):
            item = catalog[title]
            media = item["media"][0]
            product = Product(
                shop_id=shop_id, product_gid=item["gid"], title=title, kind=kind,
                decision="jewelry", source_fingerprint=f"fp{number}",
                source_media=[{"gid": media["gid"], "content_type": "IMAGE", "status": "READY",
                               "url": media["url"], "alt": title, "width": media["width"],
                               "height": media["height"]}],
                stated_size={"label": "45 cm", "mm": 450},
            )
            session.add(product)
            session.flush()
            job = RenderJob(shop_id=shop_id, product_id=product.id, style_version_id=shop.style_version_id,
                            idempotency_key=f"k{number}", source_fingerprint=f"fp{number}", state="done",
                            plates=list(plate_ids))
            session.add(job)
            session.flush()
            for index, plate in enumerate(plate_ids):
                key = f"shops/{shop_id}/drafts/{product.id}/{job.id}/{plate}.jpg"
                services.storage.put(key, images[plate], "image/jpeg")
                session.add(Draft(
                    shop_id=shop_id, product_id=product.id, job_id=job.id, plate_id=plate,
                    style_version_id=shop.style_version_id, image_key=key, width=800, height=1000,
                    report=render_report(ssim=0.993 - index * 0.006, delta_e=1.6 + index * 1.1,
                                         achieved_mm=447.0 + index * 4, confidence=0.94 - index * 0.07),
                ))
            made[title] = product.id
        ring = catalog[RING]
        failed = Product(shop_id=shop_id, product_gid=ring["gid"], title=RING, kind="ring", decision="jewelry",
                         source_fingerprint="fpr", source_media=[{"url": ring["media"][0]["url"]}])
        skipped = Product(shop_id=shop_id, product_gid=catalog[BRACELET]["gid"], title=BRACELET,
                          kind="bracelet", decision="no_plate",
                          decision_detail="No model photo shows a wrist yet: add one under House style")
        session.add_all([failed, skipped])
        session.flush()
        session.add(RenderJob(shop_id=shop_id, product_id=failed.id, idempotency_key="kf",
                              source_fingerprint="fpr", state="failed", attempts=5,
                              last_error="The ring could not be cut out: the background is too busy"))
        made[RING] = failed.id
    return made


@pytest.fixture
def scene(make_settings: Callable[..., Settings], sqlite_url: str, dev_shop: str) -> Iterator[Scene]:
    services = Services.from_settings(make_settings(DATABASE_URL=sqlite_url, SHOPIFY_BASE_URL=dev_shop))
    app_server = LiveServer(build_app(services))
    shop_id = make_shop(services, SHOP_A)
    make_shop(services, SHOP_B)
    products = _seed(services, shop_id, dev_shop)
    yield Scene(services, app_server.url, dev_shop, shop_id, products)
    app_server.stop()
    services.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
    ctx.route("https://cdn.shopify.com/**", lambda route: route.abort())  # offline, like the demo
    yield ctx
    ctx.close()


def open_product(page: Page, scene: Scene, title: str) -> None:
    page.goto(scene.url(f"/app/products/{scene.products[title]}"))
    expect(page.locator("article.draft").first).to_be_visible()


# --- reviewing -------------------------------------------------------------------------------------------


def test_review_a_product_approve_and_reject_by_keyboard(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(scene.url("/app"))
    expect(page.locator(".queue-item")).to_have_count(3)
    expect(page.locator("#stat-awaiting_review [data-count]")).to_have_text("6")
    expect(page.locator("#stat-failed [data-count]")).to_have_text("1")
    expect(page.locator("#attention")).to_contain_text("The ring could not be cut out")
    expect(page.locator("#attention")).to_contain_text("No model photo shows a wrist yet")
    assert "id_token" not in page.url  # taken out of the address bar
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "home")

    page.locator(".queue-item", has_text=PENDANT).click()  # navigates with a fresh token
    expect(page.locator("#product-title")).to_have_text(PENDANT)
    drafts = page.locator("article.draft")
    expect(drafts).to_have_count(2)
    expect(drafts.first).to_contain_text("SSIM 0.987")
    expect(drafts.first).to_contain_text("Chain length45.1 cm of “45 cm” stated")
    expect(drafts.first).to_contain_text("87% confident")
    expect(page.locator("#source-image")).to_be_visible()
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "product")

    page.keyboard.press("a")  # approve the selected (first) draft
    first, second = drafts.nth(0), drafts.nth(1)
    expect(first).to_have_attribute("data-state", "approved")
    expect(first.locator(".progress")).to_contain_text("Adding the image to your product")
    expect(second).to_have_class(re.compile(r"\bselected\b"))  # moved on to the next awaiting draft
    page.keyboard.press("r")
    expect(second).to_have_attribute("data-state", "rejected")

    states = {d.plate_id: d.state for d in scene.drafts(PENDANT)}
    assert states == {"eileen": "approved", "grace": "rejected"}  # newest first on the page: eileen
    (wb,) = scene.write_backs()
    assert wb.state == "queued" and wb.alt == f"{PENDANT}, worn by Eileen"
    bodies = [m.body for m in scene.services.queue.receive(WRITEBACK, max_messages=5, visibility=0.01)]
    assert bodies == [{"write_back_id": wb.id}]

    page.keyboard.press("z")  # zoom and compare
    expect(page.locator("#lightbox")).to_be_visible()
    expect(page.locator("#lightbox .pane")).to_have_count(2)
    page.keyboard.press("+")
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()


def test_write_back_progress_until_the_image_is_live(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, NECKLACE)
    page.locator("article.draft").first.locator("s-button", has_text="Approve").click()
    progress = page.locator("article.draft").first.locator(".progress")
    expect(progress.locator('[data-step="queued"]')).to_have_class("current")
    # The connector's worker performs the write-back (another branch); here its progress is recorded as
    # the worker records it, and the page must follow it to the end.
    (wb,) = scene.write_backs()
    with scene.services.db.session() as session:
        session.execute(update(WriteBack).where(WriteBack.id == wb.id).values(state="attached"))
    expect(progress.locator('[data-step="processing"]')).to_have_class("current", timeout=10_000)
    with scene.services.db.session() as session:
        session.execute(update(WriteBack).where(WriteBack.id == wb.id)
                        .values(state="done", media_gid="gid://shopify/MediaImage/99"))
        session.execute(update(Draft).where(Draft.id == wb.draft_id).values(state="written"))
    expect(progress).to_contain_text("Live on your product", timeout=10_000)
    link = progress.get_by_role("link", name="View product →")
    assert link.get_attribute("href") == f"{scene.shop_url}/"
    expect(page.locator("article.draft").first).to_have_attribute("data-state", "written")


def test_approve_all(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, EARRINGS)
    button = page.locator("#approve-all")
    expect(button).to_have_text(re.compile("Approve all 2"))
    button.click()
    expect(page.locator('article.draft[data-state="approved"]')).to_have_count(2)
    expect(button).to_have_attribute("disabled", "")
    assert {d.state for d in scene.drafts(EARRINGS)} == {"approved"}
    assert len(scene.write_backs()) == 2


def test_another_model_queues_one_render(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    product = scene.products[NECKLACE]
    with scene.services.db.session() as session:  # rendered on grace only so far
        session.execute(update(RenderJob).where(RenderJob.product_id == product).values(plates=["grace"]))
        session.execute(delete(Draft).where(Draft.product_id == product, Draft.plate_id == "eileen"))
    open_product(page, scene, NECKLACE)
    page.locator("#another-plate").click()
    expect(page.locator("#toasts")).to_contain_text("Rendering on eileen")
    expect(page.locator("#rendering-note")).to_be_visible(timeout=10_000)
    with scene.services.db.session() as session:
        jobs = list(session.scalars(select(RenderJob).where(RenderJob.trigger == "manual")))
    assert [(j.plates, j.state) for j in jobs] == [(["eileen"], "queued")]
    page.locator("#another-plate").click()  # a second click while it renders finds the same job
    expect(page.locator("#toasts")).to_contain_text("Already rendering")
    with scene.services.db.session() as session:
        assert len(list(session.scalars(select(RenderJob).where(RenderJob.trigger == "manual")))) == 1


# --- house style -----------------------------------------------------------------------------------------


def test_upload_a_plate_and_see_what_it_can_carry(scene: Scene, context: BrowserContext) -> None:
    photo = PHOTOS / "hand_dorsal_female_white_bg.jpg"
    if not photo.exists():  # a developer's machine without the shared photos: a photo from a package
        import skimage

        photo = Path(skimage.__file__).parent / "data" / "camera.png"
    page = context.new_page()
    page.goto(scene.url("/app/style"))
    expect(page.locator("#plate-list .plate")).to_have_count(2)
    expect(page.locator("#style-version")).to_have_text(re.compile(r"Version \d+"))
    before = page.locator("#style-version").inner_text()
    page.set_input_files("#plate-photo", str(photo))
    page.fill("#plate-model", "Maya")
    page.check('#plate-kinds input[value="ring"]')
    page.check('#plate-kinds input[value="bracelet"]')
    page.locator("#plate-submit").click()
    added = page.locator("#plate-list .plate.just-added")
    expect(added).to_contain_text("Maya")
    expect(added).to_contain_text("Ring, Bracelet")
    expect(page.locator("#style-version")).not_to_have_text(before)
    with scene.services.db.session() as session:
        from connector.shopstyle import current_style

        style, _ = current_style(session, session.get(Shop, scene.shop_id))
    assert style.plates[-1].model == "Maya" and style.plates[-1].kinds == ["ring", "bracelet"]

    # A wrong value is shown next to its field and nothing is saved.
    page.fill("#write_back\\.alt_template", "{title} by {photographer}")
    expect(page.locator("#savebar")).to_be_visible()
    page.locator("#save").click()
    expect(page.locator('[data-error-for="write_back.alt_template"]')).to_contain_text("photographer")
    page.fill("#write_back\\.alt_template", "{title}, worn by {model} | {shop}")
    expect(page.locator("#alt-example")).to_have_text("Aurora pendant necklace, worn by Grace | Your shop")  # sample values
    page.locator("#save").click()
    expect(page.locator("#savebar")).to_be_hidden()
    expect(page.locator("#versions li.current")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "style")


def test_jobs_retry_a_failed_render(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, NECKLACE)
    page.keyboard.press("a")  # one write-back, so the jobs page has both kinds
    expect(page.locator("article.draft").first).to_have_attribute("data-state", "approved")
    page.goto(scene.url("/app/jobs"))
    expect(page.locator("#render-jobs tbody tr")).to_have_count(4)
    expect(page.locator("#write-backs tbody tr")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "jobs")
    page.get_by_role("tab", name="Failed").click()
    row = page.locator("#render-jobs tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("The ring could not be cut out")
    row.locator("s-button", has_text="Retry").click()
    expect(row.locator("s-badge")).to_have_text("Queued")
    with scene.services.db.session() as session:
        job = session.scalar(select(RenderJob).where(RenderJob.product_id == scene.products[RING]))
    assert job.state == "queued"


# --- sessions --------------------------------------------------------------------------------------------


def test_an_expired_token_recovers(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    statuses: list[int] = []
    renewals: list[str] = []
    page.on("request", lambda r: renewals.append(r.url) if r.url.endswith("/dev/session-token") else None)
    expired = session_token(SHOP_A, age=3600)

    def expire_first(route: Route) -> None:
        if not statuses:  # the first overview call goes out with a token that expired in flight
            headers = {**route.request.headers, "authorization": f"Bearer {expired}"}
            response = route.fetch(headers=headers)
        else:
            response = route.fetch()
        statuses.append(response.status)
        route.fulfill(response=response)

    page.route("**/api/overview", expire_first)
    page.goto(scene.url("/app"))
    expect(page.locator("#stat-awaiting_review [data-count]")).to_have_text("6")
    assert statuses == [401, 200]
    assert len(renewals) == 1  # renewed once, through the dev-shop
    expect(page.locator("#session-banner")).to_be_hidden()
    expect(page.locator("#attention")).to_contain_text("No model photo shows a wrist yet")  # all loaded

    # Time passes in the browser: the page renews before sending a token it knows has expired.
    page.clock.install()
    page.clock.fast_forward(5 * 60 * 1000)
    page.locator("#attention s-button", has_text="Retry").click()
    expect(page.locator("#attention")).to_contain_text("Queued")
    assert len(renewals) == 2
    page.clock.set_system_time(time.time())

    # A reload with an expired id_token goes through the patch page, which renews the session this tab
    # held and comes back to the page.
    page.goto(scene.url("/app/jobs", token=expired))
    expect(page.locator("#render-jobs tbody tr").first).to_be_visible()
    assert urlsplit(page.url).path == "/app/jobs"
    assert len(renewals) == 3


def test_an_expired_link_in_a_fresh_browser_asks_to_open_worn_again(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    renewals: list[str] = []
    page.on("request", lambda r: renewals.append(r.url) if r.url.endswith("/dev/session-token") else None)
    page.goto(scene.url("/app", token=session_token(SHOP_A, age=3600)))
    expect(page.locator("#patch-expired")).to_be_visible()
    assert renewals == []
    page.get_by_role("link", name="Open Worn again").click()  # the dev-only entry mints a new session
    expect(page.locator(".queue-item")).to_have_count(3)


def test_refused_requests_get_401_and_no_data(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(scene.url("/app"))
    expect(page.locator(".queue-item")).to_have_count(3)
    probe = """async ([path, token]) => {
        const headers = token ? {Authorization: `Bearer ${token}`} : {};
        const response = await fetch(path, {headers});
        return {status: response.status, retry: response.headers.get('X-Shopify-Retry-Invalid-Session-Request'),
                body: await response.text()};
    }"""
    product = scene.products[NECKLACE]
    forged = session_token(SHOP_A, secret="not-the-app-secret-0123456789abcdef")
    for token in (None, forged, session_token(SHOP_A, age=3600)):
        for path in ("/api/review-queue", f"/api/products/{product}"):
            answer = page.evaluate(probe, [path, token])
            assert answer["status"] == 401 and answer["retry"] == "1", (path, token)
            assert "Aurora" not in answer["body"] and HANDLE not in answer["body"]
            assert set(json.loads(answer["body"])) == {"error"}
    other = session_token(SHOP_B)  # a valid session of another shop reaches only that shop
    assert page.evaluate(probe, [f"/api/products/{product}", other])["status"] == 404
    queue = page.evaluate(probe, ["/api/review-queue", other])
    assert json.loads(queue["body"]) == {"items": [], "next_cursor": None}
    document = context.new_page()
    response = document.goto(scene.url("/app", token=other))  # shop A's page with shop B's token
    assert response is not None and response.status == 401
    assert "Aurora" not in document.content()


# --- embedded in the admin (App Bridge) ------------------------------------------------------------------

APP_BRIDGE_STAND_IN = """
// Stands in for Shopify's App Bridge (cdn.shopify.com is unreachable offline): the one call Worn's pages
// make, shopify.idToken(), answered with tokens the test mints with the app secret.
window.shopify = { idToken: () => window.wornMintToken(), toast: { show: (m) => window.wornToasts.push(m) } };
window.wornToasts = [];
"""


def test_embedded_pages_take_tokens_from_app_bridge(
    make_settings: Callable[..., Settings], sqlite_url: str, browser: Browser, dev_shop: str
) -> None:
    services = Services.from_settings(make_settings(DATABASE_URL=sqlite_url))  # no dev-shop: embedded
    server = LiveServer(build_app(services))
    shop_id = make_shop(services, SHOP_A)
    products = _seed(services, shop_id, dev_shop)  # only its product photos
    minted: list[str] = []
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        ctx.route("https://cdn.shopify.com/shopifycloud/app-bridge.js",
                  lambda route: route.fulfill(body=APP_BRIDGE_STAND_IN, content_type="text/javascript"))
        ctx.route("https://cdn.shopify.com/shopifycloud/polaris.js", lambda route: route.abort())
        page = ctx.new_page()
        page.expose_function("wornMintToken", lambda: minted.append("t") or session_token(SHOP_A))
        page.goto(f"{server.url}/app/products/{products[NECKLACE]}?shop={SHOP_A}&host=YWRtaW4"
                  f"&embedded=1&id_token={session_token(SHOP_A)}")
        expect(page.locator("article.draft")).to_have_count(2)
        expect(page.locator(".topbar")).to_be_hidden()  # the admin's navigation (s-app-nav) is used instead
        assert page.locator("s-app-nav s-link").count() == 3
        assert len(minted) >= 1 and "id_token" in page.url  # the admin owns the URL; it is left alone
        page.keyboard.press("a")
        expect(page.locator("article.draft").first).to_have_attribute("data-state", "approved")
        assert page.evaluate("window.wornToasts")[-1].startswith("Approved")
        with services.db.session() as session:
            assert session.scalar(select(WriteBack.state)) == "queued"
    finally:
        ctx.close()
        server.stop()
        services.close()

