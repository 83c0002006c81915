"""The admin pages in Chromium, on drafts the real pipeline made (dev-shop → reconcile → worker → renderer):
review by keyboard, approve and see the image appear on the dev-shop product, reject, approve all, another
model, plate upload with what it can carry, settings, jobs, session expiry and recovery, refused requests.

The pages run in a plain browser against the dev-shop (no Shopify admin, no CDN: every cdn.shopify.com
request is aborted, as offline), and once embedded with an App Bridge stand-in."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from sqlalchemy import select

from connector.fingerprint import WORN_ALT_MARKER
from connector.models import Draft, RenderJob, Shop, WriteBack
from connector.queue import RENDER, WRITEBACK
from connector.services import Services
from connector.shopstyle import current_style
from connector.worker import Worker
from tests.admin.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer, require_chromium, save_screenshot
from tests.admin.conftest import build_app
from tests.admin.factory import session_token
from tests.admin.scene import BLANK, DROPS, HANDLE, OTHER, PENDANT, RING, STUDS, DevShop, Golden, build_golden
from tests.support.photos import PHOTOS

pytestmark = pytest.mark.browser

SHOP_A, SHOP_B = f"{HANDLE}.myshopify.com", f"{OTHER}.myshopify.com"
PHOTOS_DIR = PHOTOS or Path("shared-photos-not-found")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dev_shop() -> Iterator[DevShop]:
    shop = DevShop()
    yield shop
    shop.stop()


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory, dev_shop: DevShop) -> Golden:
    return build_golden(tmp_path_factory.mktemp("golden") / "var", dev_shop)


@dataclass
class Scene:
    """Worn serving a copy of the golden state over HTTP, in plain-browser mode against the dev-shop."""

    services: Services
    app_url: str
    shop: DevShop
    golden: Golden

    def url(self, path: str, *, token: str | None = None, shop: str = SHOP_A) -> str:
        token = self.shop.token() if token is None else token
        sep = "&" if "?" in path else "?"
        return f"{self.app_url}{path}{sep}shop={shop}&id_token={token}"

    def product(self, title: str) -> int:
        return self.golden.products[title]

    def drafts(self, title: str) -> list[Draft]:
        with self.services.db.session() as session:
            return list(
                session.scalars(
                    select(Draft).where(Draft.product_id == self.product(title)).order_by(Draft.id)
                )
            )

    def write_backs(self) -> list[WriteBack]:
        with self.services.db.session() as session:
            return list(session.scalars(select(WriteBack).order_by(WriteBack.id)))


@pytest.fixture
def scene(golden: Golden, dev_shop: DevShop, tmp_path: Path) -> Iterator[Scene]:
    services = golden.copy(tmp_path / "var")
    server = LiveServer(build_app(services))
    yield Scene(services, server.url, dev_shop, golden)
    server.stop()
    services.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
    ctx.route("https://cdn.shopify.com/**", lambda route: route.abort())  # offline, like the demo
    yield ctx
    ctx.close()


def open_product(page: Page, scene: Scene, title: str) -> None:
    page.goto(scene.url(f"/app/products/{scene.product(title)}"))
    expect(page.locator("article.draft").first).to_be_visible()


def renewals_of(page: Page) -> list[str]:
    """Record every session renewal the page asks for."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith("/dev/session-token") else None)
    return seen


# --- reviewing -------------------------------------------------------------------------------------------


def test_review_a_product_approve_and_reject_by_keyboard(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(scene.url("/app"))
    expect(page.locator(".queue-item")).to_have_count(3)
    expect(page.locator("#stat-awaiting_review [data-count]")).to_have_text("4")
    expect(page.locator("#stat-failed [data-count]")).to_have_text("1")
    expect(page.locator("#attention")).to_contain_text(BLANK)
    expect(page.locator("#attention")).to_contain_text("no piece found")
    expect(page.locator("#attention")).to_contain_text("no active plate of house style 'studio' carries it")
    assert "id_token" not in page.url  # taken out of the address bar
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "home")

    page.locator(".queue-item", has_text=DROPS).click()  # navigates with a fresh token
    expect(page.locator("#product-title")).to_have_text(DROPS)
    drafts = page.locator("article.draft")
    expect(drafts).to_have_count(2)
    first, second = drafts.nth(0), drafts.nth(1)
    expect(first).to_contain_text(re.compile(r"SSIM (0\.9[7-9]\d|1\.000)"))
    expect(first).to_contain_text(re.compile(r"Drop3\d\.\d mm of 35\.0 mm stated"))
    expect(first).to_contain_text("85% confident")
    expect(page.locator("#source-image")).to_be_visible()
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "product")

    page.keyboard.press("a")  # approve the selected (first) draft
    expect(first).to_have_attribute("data-state", "approved")
    expect(first.locator(".progress")).to_contain_text("Adding the image to your product")
    expect(second).to_have_class(re.compile(r"\bselected\b"))  # moved on to the next awaiting draft
    page.keyboard.press("r")
    expect(second).to_have_attribute("data-state", "rejected")

    by_id = {d.id: d for d in scene.drafts(DROPS)}
    approved = by_id[int(first.get_attribute("data-draft-id") or 0)]
    rejected = by_id[int(second.get_attribute("data-draft-id") or 0)]
    assert (approved.state, rejected.state) == ("approved", "rejected")
    (wb,) = scene.write_backs()
    assert wb.draft_id == approved.id and wb.state == "queued"
    assert wb.alt == f"{DROPS}, worn by {approved.plate_id.title()}{WORN_ALT_MARKER}"
    bodies = [m.body for m in scene.services.queue.receive(WRITEBACK, max_messages=5, visibility=0.01)]
    assert bodies == [{"write_back_id": wb.id}]

    page.keyboard.press("ArrowUp")
    page.keyboard.press("z")  # zoom and compare
    expect(page.locator("#lightbox")).to_be_visible()
    expect(page.locator("#lightbox .pane")).to_have_count(2)
    page.keyboard.press("+")
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()


def test_an_approved_draft_appears_on_the_dev_shop_product(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, PENDANT)
    before = scene.shop.product(scene.golden.gids[PENDANT])["media"]
    card = page.locator("article.draft").first
    card.locator("s-button", has_text="Approve").click()
    expect(card.locator('.progress [data-step="queued"]')).to_have_class("current")
    # The worker performs the write-back while the page watches its progress.
    worker = threading.Thread(target=lambda: Worker(scene.services, queues=[WRITEBACK]).run(once=True))
    worker.start()
    expect(card.locator(".progress")).to_contain_text("Live on your product", timeout=30_000)
    worker.join()
    expect(card).to_have_attribute("data-state", "written")
    link = card.get_by_role("link", name="View product →")
    assert link.get_attribute("href") == f"{scene.shop.url}/"
    after = scene.shop.product(scene.golden.gids[PENDANT])["media"]
    added = [m for m in after if m["id"] not in {b["id"] for b in before}]
    assert len(added) == 1 and added[0]["created_by"] == "app" and added[0]["status"] == "READY"
    assert added[0]["alt"] == f"{PENDANT}, worn by Grace{WORN_ALT_MARKER}"
    (wb,) = scene.write_backs()
    assert wb.state == "done" and wb.media_gid == added[0]["gid"]
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "product-live")


def test_approve_all(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, DROPS)
    button = page.locator("#approve-all")
    expect(button).to_have_text(re.compile("Approve all 2"))
    button.click()
    expect(page.locator('article.draft[data-state="approved"]')).to_have_count(2)
    expect(button).to_have_attribute("disabled", "")
    assert {d.state for d in scene.drafts(DROPS)} == {"approved"}
    assert len(scene.write_backs()) == 2


def test_a_draft_that_failed_its_checks_says_why(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, STUDS)
    failed = page.locator('article.draft[data-state="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("too small to show")
    expect(failed.locator("s-button", has_text="Approve")).to_have_count(0)
    expect(page.locator('article.draft[data-state="awaiting_review"]')).to_contain_text("typical size")


def test_another_model_renders_on_a_new_plate_once(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, PENDANT)
    page.locator("#another-plate").click()  # the pendant was shown on every plate that carries one
    expect(page.locator("#toasts")).to_contain_text("every approved plate that can carry a pendant was used")
    with scene.services.db.session() as session:  # the merchant adds a model for pendants (a new version)
        from connector.shopstyle import assign_style

        shop = session.get(Shop, scene.golden.shops[SHOP_A])
        style, _ = current_style(session, shop)  # type: ignore[arg-type, misc]
        plates = [
            p.model_copy(update={"kinds": ["necklace", "pendant", "earrings"]}) if p.id == "eileen" else p
            for p in style.plates
        ]
        assign_style(session, shop, style.model_copy(update={"plates": plates}))  # type: ignore[arg-type]
    page.locator("#another-plate").click()
    expect(page.locator("#toasts")).to_contain_text("Rendering on eileen")
    expect(page.locator("#rendering-note")).to_be_visible()
    page.locator("#another-plate").click()  # a second click while it renders finds the same job
    expect(page.locator("#toasts")).to_contain_text("Already rendering")
    with scene.services.db.session() as session:
        jobs = list(session.scalars(select(RenderJob).where(RenderJob.trigger == "manual")))
    assert [(j.plates, j.state) for j in jobs] == [(["eileen"], "queued")]
    # The worker renders it; the page notices and shows the new draft.
    assert Worker(scene.services, queues=[RENDER]).run(once=True).outcomes == {"done": 1}
    expect(page.locator("article.draft")).to_have_count(2, timeout=15_000)
    expect(page.locator("#rendering-note")).to_have_count(0)


# --- house style -----------------------------------------------------------------------------------------


def test_upload_a_plate_and_see_what_it_can_carry(scene: Scene, context: BrowserContext) -> None:
    photo = PHOTOS_DIR / "hand_dorsal_female_white_bg.jpg"
    if not photo.exists():
        pytest.skip(f"real photos not present at {PHOTOS_DIR} (set WORN_PHOTOS_DIR)")
    page = context.new_page()
    page.goto(scene.url("/app/style"))
    expect(page.locator("#plate-list .plate")).to_have_count(2)
    grace = page.locator('[data-plate-id="grace"]')
    expect(grace.locator('[data-kind="necklace"][data-ok="true"]')).to_have_count(1)
    expect(grace.locator('[data-kind="ring"][data-ok="false"]')).to_contain_text("no hand found")
    before = page.locator("#style-version").inner_text()
    page.set_input_files("#plate-photo", str(photo))
    page.fill("#plate-model", "Maya")  # no kinds chosen: Worn decides from the photo
    page.locator("#plate-submit").click()
    added = page.locator("#plate-list .plate.just-added")
    expect(added).to_contain_text("Maya")
    expect(added).to_contain_text("Carries: Ring")
    expect(added.locator('[data-kind="ring"][data-ok="true"]')).to_have_count(1)
    expect(added.locator('[data-kind="bracelet"][data-ok="false"]')).to_contain_text("wrist")
    expect(page.locator("#style-version")).not_to_have_text(before)
    with scene.services.db.session() as session:
        style, _ = current_style(session, session.get(Shop, scene.golden.shops[SHOP_A]))  # type: ignore[arg-type, misc]
    assert style.plates[-1].model == "Maya" and style.plates[-1].kinds == ["ring"]

    # A wrong value is shown next to its field and nothing is saved.
    page.fill("#write_back\\.alt_template", "{title} by {photographer}")
    expect(page.locator("#savebar")).to_be_visible()
    page.locator("#save").click()
    expect(page.locator('[data-error-for="write_back.alt_template"]')).to_contain_text("photographer")
    page.fill("#write_back\\.alt_template", "{title}, worn by {model} | {shop}")
    expect(page.locator("#alt-example")).to_have_text("Aurora pendant necklace, worn by Grace | Your shop")
    page.locator("#save").click()
    expect(page.locator("#savebar")).to_be_hidden()
    expect(page.locator("#versions li.current")).to_have_count(1)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "style")


def test_preview_a_product_on_each_model_before_saving(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(scene.url("/app/style"))
    select = page.locator("#preview-product")
    expect(select.locator("option")).to_have_count(4)  # the jewelry products with a photo
    select.select_option(str(scene.product(DROPS)))
    page.fill("#look\\.shadow_strength", "0.8")  # an unsaved change shows in the preview
    page.locator("#preview-run").click()
    cards = page.locator("#preview-grid .preview-card")
    expect(cards).to_have_count(2, timeout=30_000)
    expect(cards.locator("img")).to_have_count(2)
    expect(cards.first).to_contain_text("SSIM")
    expect(page.locator("#savebar")).to_be_visible()  # the change is still only on the page
    with scene.services.db.session() as session:
        style, _ = current_style(session, session.get(Shop, scene.golden.shops[SHOP_A]))  # type: ignore[arg-type, misc]
    assert style.look.shadow_strength == 0.35
    page.locator("#preview").scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "style-preview")


def test_jobs_retry_a_failed_render(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    open_product(page, scene, PENDANT)
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
    expect(row).to_contain_text("no piece found")
    row.locator("s-button", has_text="Retry").click()
    expect(row.locator("s-badge")).to_have_text("Queued")
    with scene.services.db.session() as session:
        job = session.scalar(select(RenderJob).where(RenderJob.product_id == scene.product(BLANK)))
    assert job is not None and job.state == "queued"


# --- sessions --------------------------------------------------------------------------------------------


def test_an_expired_token_recovers(scene: Scene, context: BrowserContext) -> None:
    page = context.new_page()
    statuses: list[int] = []
    renewals = renewals_of(page)
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
    expect(page.locator("#stat-awaiting_review [data-count]")).to_have_text("4")
    assert statuses == [401, 200]
    assert len(renewals) == 1  # renewed once, through the dev-shop
    expect(page.locator("#session-banner")).to_be_hidden()
    expect(page.locator("#attention")).to_contain_text(RING)  # everything loaded

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


def test_an_expired_link_in_a_fresh_browser_asks_to_open_worn_again(
    scene: Scene, context: BrowserContext
) -> None:
    page = context.new_page()
    renewals = renewals_of(page)
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
    product = scene.product(PENDANT)
    forged = session_token(SHOP_A, secret="not-the-app-secret-0123456789abcdef")
    for token in (None, forged, session_token(SHOP_A, age=3600)):
        for path in ("/api/review-queue", f"/api/products/{product}"):
            answer = page.evaluate(probe, [path, token])
            assert answer["status"] == 401 and answer["retry"] == "1", (path, token)
            assert "Sapphire" not in answer["body"] and HANDLE not in answer["body"]
            assert set(json.loads(answer["body"])) == {"error"}
    other = scene.shop.token(OTHER)  # a valid session of another shop reaches only that shop
    assert page.evaluate(probe, [f"/api/products/{product}", other])["status"] == 404
    queue = page.evaluate(probe, ["/api/review-queue", other])
    assert json.loads(queue["body"]) == {"items": [], "next_cursor": None}
    document = context.new_page()
    response = document.goto(scene.url("/app", token=other))  # shop A's page with shop B's token
    assert response is not None and response.status == 401
    assert "Sapphire" not in document.content()


# --- embedded in the admin (App Bridge) ------------------------------------------------------------------

APP_BRIDGE_STAND_IN = """
// Stands in for Shopify's App Bridge (cdn.shopify.com is unreachable offline): the one call Worn's pages
// make, shopify.idToken(), answered with tokens the test mints with the app secret.
window.shopify = { idToken: () => window.wornMintToken(), toast: { show: (m) => window.wornToasts.push(m) } };
window.wornToasts = [];
"""


def test_embedded_pages_take_tokens_from_app_bridge(golden: Golden, browser: Browser, tmp_path: Path) -> None:
    services = golden.copy(tmp_path / "var", SHOPIFY_BASE_URL=None)  # not a dev-shop: embedded mode
    server = LiveServer(build_app(services))
    minted: list[str] = []
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        ctx.route(
            "https://cdn.shopify.com/shopifycloud/app-bridge.js",
            lambda route: route.fulfill(body=APP_BRIDGE_STAND_IN, content_type="text/javascript"),
        )
        ctx.route("https://cdn.shopify.com/shopifycloud/polaris.js", lambda route: route.abort())
        page = ctx.new_page()
        page.expose_function("wornMintToken", lambda: minted.append("t") or session_token(SHOP_A))
        page.goto(
            f"{server.url}/app/products/{golden.products[DROPS]}?shop={SHOP_A}&host=YWRtaW4"
            f"&embedded=1&id_token={session_token(SHOP_A)}"
        )
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
