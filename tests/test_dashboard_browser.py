"""The moderators' dashboard in Chromium (issue 14, items 5 and 7): each of
its features driven as a moderator would, at a phone's 390 px and on a
desktop, light and dark; axe-core (vendored, run in the page) finds no
serious or critical accessibility violation on any of its views; and the
API reference at /docs renders from this service alone. Screenshots go to
tests/artifacts/dashboard/ (the dashboard before issue 14 is in
tests/artifacts/before/)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from service.http.state import SERVICES, SETTINGS
from service.models import BanRequest, Decision, QueueQuery
from service.moderation.shared import Actor
from tests import test_browser as widget_tests
from tests.helpers import local_server
from tests.redis_process import RedisProcess
from tests.test_browser import ARTIFACTS, THREAD, Site, post, serve_demo

pytestmark = pytest.mark.browser
# The widget's tests' fixture: a Chromium of its own for each test.
browser = widget_tests.browser

from playwright.async_api import Browser, BrowserContext, Page, expect  # noqa: E402

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "dashboard"
ARTICLES = "https://news.example.vn/bai/{thread}.html"
REASONS = ["Lạc đề", "Xúc phạm người khác", "Quảng cáo"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
EMAIL = "doc-gia@example.vn"  # the author of every comment tests.test_browser.post makes


@contextlib.asynccontextmanager
async def newsroom(
    redis_server: RedisProcess, rds: aioredis.Redis, **settings_extra: Any
) -> AsyncIterator[Site]:
    async with serve_demo(
        redis_server,
        rds,
        settings_extra,
        thread_url=ARTICLES,
        moderation_reasons=REASONS,
        **settings_extra.pop("site", {}),
    ) as demo:
        yield demo


@pytest.fixture
async def demo(redis_server: RedisProcess, rds: aioredis.Redis) -> AsyncIterator[Site]:
    async with newsroom(redis_server, rds) as served:
        yield served


async def key(demo: Site, role: str = "admin", name: str = "Minh") -> str:
    token, _ = await demo.app[SERVICES].api_keys.create(name, role, ["demo"])  # type: ignore[arg-type]
    return token


async def context(
    browser: Browser, *, phone: bool = False, dark: bool = False, lang: str = "vi-VN"
) -> BrowserContext:
    return await browser.new_context(
        locale=lang,
        viewport=PHONE if phone else DESKTOP,
        color_scheme="dark" if dark else "light",
        has_touch=phone,
        is_mobile=phone,
        device_scale_factor=1,
    )


async def sign_in(page: Page, demo: Site, token: str) -> None:
    await page.goto(demo.url + "/moderate/")
    await page.get_by_label("Trang (site)").fill("demo")
    await page.get_by_label("Khóa API").fill(token)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("tab", name="Chờ duyệt", exact=False)).to_be_visible()


async def board(browser: Browser, demo: Site, role: str = "admin", **how: Any) -> Page:
    page = await (await context(browser, **how)).new_page()
    await sign_in(page, demo, await key(demo, role))
    return page


async def decide(demo: Site, comment_id: str, action: str, reason: str, name: str) -> None:
    actor = Actor(key_id=f"k-{name}", name=name, admin=True)
    settings = demo.app[SETTINGS].sites["demo"]
    [result] = await demo.app[SERVICES].decisions.decide(
        "demo",
        settings,
        actor,
        [Decision(id=comment_id, action=action, reason=reason)],  # type: ignore[arg-type]
    )
    assert result.status == 200, result


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    if size is None or size["width"] != PHONE["width"]:
        await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        return
    # Chromium drops a phone's emulation (touch, its width) for a full-page
    # shot: the page is made as tall as its content instead, and shot as is.
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": size["width"], "height": min(height, 6000)})
    await page.screenshot(path=str(SHOTS / f"{name}.png"))
    await page.set_viewport_size(size)


async def bans(demo: Site) -> list[Any]:
    return list((await demo.app[SERVICES].bans.in_force("demo")).bans)


# ------------------------------------------------------------------ features


async def test_sign_in_names_no_site(demo: Site, browser: Browser) -> None:
    page = await (await context(browser)).new_page()
    await page.goto(demo.url + "/moderate/")
    await expect(page.get_by_label("Trang (site)")).to_have_value("")
    assert "demo" not in await page.content()
    assert await page.locator("datalist, option").count() == 0


async def test_bans_by_address_and_email_listed_with_expiry_and_lifted(
    demo: Site, browser: Browser
) -> None:
    first = await post(demo, None, "Bình luận thứ nhất")
    await post(demo, None, "Bình luận thứ hai")
    page = await board(browser, demo)
    item = page.locator(f"#i-{first}")
    await item.get_by_text("Cấm…").click()
    await item.get_by_label("Cấm địa chỉ mạng của bình luận này").check()
    await item.get_by_label("Thời hạn").select_option(label="1 ngày")
    await item.get_by_label("Lý do (không bắt buộc)").fill("spam từ một máy")
    await item.get_by_role("button", name="Cấm", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Đã cấm.")
    [by_address] = await bans(demo)
    assert (by_address.kind, by_address.comment_id, by_address.until is not None) == (
        "ip",
        first,
        True,
    )

    await page.get_by_role("tab", name="Lệnh cấm").click()
    await page.get_by_label("Email").fill("ke-xau@example.vn")
    await page.get_by_label("Thời hạn").select_option(label="Vĩnh viễn")
    await page.get_by_role("button", name="Cấm", exact=True).click()
    listed = page.locator(".item.ban")
    await expect(listed).to_have_count(2)
    await expect(listed.first).to_contain_text("ke-xau@example.vn")
    await expect(listed.first).to_contain_text("Vĩnh viễn")
    address = listed.filter(has_text="Địa chỉ mạng của bình luận")
    await expect(address).to_contain_text("…" + first[-6:])
    await expect(address).to_contain_text("spam từ một máy")
    await expect(address.locator("time")).to_have_count(2)  # banned on, ends
    await shot(page, "feature-bans-desktop-light")

    page.once("dialog", lambda dialog: dialog.accept())
    await address.get_by_role("button", name="Gỡ lệnh cấm").click()
    await expect(page.get_by_role("status")).to_have_text("Đã gỡ lệnh cấm.")
    await expect(listed).to_have_count(1)
    assert [b.email for b in await bans(demo)] == ["ke-xau@example.vn"]


async def test_trust_and_reject_author_and_the_approved_tab(demo: Site, browser: Browser) -> None:
    ids = [await post(demo, None, f"Ý kiến số {n}") for n in range(3)]
    page = await board(browser, demo)
    await expect(page.locator(".item")).to_have_count(3)
    await (
        page.locator(f"#i-{ids[0]}")
        .get_by_role("button", name="Duyệt và tin tưởng tác giả")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu 1 quyết định.")
    trusted = demo.app[SERVICES].store.keys("demo").trusted_always
    assert await demo.app[SERVICES].redis.scard(trusted) == 1

    await page.get_by_role("tab", name="Đã duyệt").click()
    approved = page.locator(".item")
    await expect(approved).to_have_count(1)
    # Nothing here offers "approve": an approved comment can only be taken down.
    await expect(page.get_by_role("button", name="Duyệt", exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name="Duyệt và tin tưởng tác giả")).to_have_count(0)
    await expect(page.locator(".bulk")).to_be_hidden()
    await shot(page, "feature-approved-tab-desktop-light")
    await approved.get_by_role("button", name="Gỡ mọi bình luận của tác giả").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu 3 quyết định.")
    await expect(page.get_by_role("tab", name="Đã từ chối (3)")).to_be_visible()
    await expect(page.get_by_role("tab", name="Chờ duyệt (0)")).to_be_visible()


async def test_reject_author_from_the_queue(demo: Site, browser: Browser) -> None:
    ids = [await post(demo, None, f"Quảng cáo {n}") for n in range(2)]
    page = await board(browser, demo)
    await (
        page.locator(f"#i-{ids[1]}")
        .get_by_role("button", name="Từ chối mọi bình luận của tác giả")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu 2 quyết định.")
    await expect(page.locator(".item")).to_have_count(0)


async def test_canned_reason_article_link_and_a_readable_audit(
    demo: Site, browser: Browser
) -> None:
    comment = await post(demo, None, "Lạc đề hoàn toàn")
    page = await board(browser, demo)
    item = page.locator(f"#i-{comment}")
    link = item.get_by_role("link", name=THREAD)
    await expect(link).to_have_attribute("href", ARTICLES.replace("{thread}", THREAD))
    await expect(link).to_have_attribute("target", "_blank")
    await page.locator(".tools").get_by_label("Lý do có sẵn").select_option("Lạc đề")
    await expect(page.locator(".tools").get_by_label("Lý do (không bắt buộc)")).to_have_value(
        "Lạc đề"
    )
    await item.get_by_role("button", name="Từ chối", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu 1 quyết định.")

    await page.get_by_role("tab", name="Nhật ký").click()
    row = page.locator(".row:not(.head)").first
    await expect(row).to_contain_text("Từ chối")  # the action in words, not "reject"
    await expect(row).to_contain_text("Lạc đề")
    await expect(row).to_contain_text("Minh")
    short = row.locator("code.id")
    await expect(short).to_have_text("…" + comment[-6:])
    await expect(short).to_have_attribute("title", comment)
    # One line: an id never wraps mid-string.
    box = await short.bounding_box()
    assert box is not None and box["height"] < 24, box
    # The time as Intl writes it in Vietnamese, the same as in the queue.
    written = await row.locator("time").inner_text()
    expected = await page.evaluate(
        "iso => new Intl.DateTimeFormat('vi-VN', {dateStyle: 'medium', timeStyle: 'short'})"
        ".format(new Date(iso))",
        await row.locator("time").get_attribute("datetime"),
    )
    assert written == expected
    await shot(page, "feature-audit-desktop-light")


async def test_erasure_by_email(demo: Site, browser: Browser) -> None:
    await post(demo, None, "Xin xóa dữ liệu của tôi")
    await post(demo, None, "Và cả bình luận này")
    page = await board(browser, demo)
    await page.get_by_role("tab", name="Xóa dữ liệu").click()
    await page.get_by_label("Email").fill(EMAIL)
    button = page.locator("form").get_by_role("button", name="Xóa dữ liệu")
    await button.click()  # not confirmed: the browser refuses the form
    await expect(page.get_by_role("status")).to_have_text("")
    await page.get_by_label("Tôi hiểu việc này không thể hoàn tác").check()
    await button.click()
    await expect(page.get_by_role("status")).to_have_text(f"Đã xóa 2 bình luận của {EMAIL}.")
    pending = await demo.app[SERVICES].queue.page("demo", QueueQuery())
    assert pending.items == []


async def test_overview_draws_the_figures(demo: Site, browser: Browser) -> None:
    ids = [await post(demo, None, f"Bình luận {n}") for n in range(4)]
    await decide(demo, ids[0], "approve", "", "Minh")
    await decide(demo, ids[1], "approve", "", "Minh")
    await decide(demo, ids[2], "reject", "Lạc đề", "Lan")
    await decide(demo, ids[3], "spam", "Quảng cáo", "Lan")
    page = await board(browser, demo)
    await page.get_by_role("tab", name="Tổng quan").click()
    charts = page.locator(".chart")
    await expect(charts).to_have_count(3)
    today = charts.first.locator("svg rect")
    await expect(today).to_have_count(3)  # approved, rejected, spam: one day's stack
    await expect(charts.first.locator("rect.approved title")).to_contain_text(": 2")
    stats = page.locator(".stats")
    await expect(stats).to_contain_text("Trung vị")
    await expect(stats.locator(".big").last).to_have_text("4")
    await expect(page.locator("#panel")).not_to_contain_text("null")
    moderators = charts.nth(1)
    await expect(moderators.locator("svg text.label")).to_contain_text(["Minh", "2", "Lan", "2"])
    await expect(charts.nth(2)).to_contain_text("Lạc đề")
    await moderators.get_by_text("Xem số liệu").click()
    await expect(moderators.locator("table tbody tr")).to_have_count(2)
    await page.get_by_label("Khoảng thời gian").select_option("30")
    await expect(charts.first.locator("svg rect")).to_have_count(3)
    await shot(page, "feature-overview-desktop-light")


@pytest.fixture
async def dead_receiver() -> AsyncIterator[str]:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async with local_server("/hook", refuse) as server:
        yield str(server.make_url("/hook"))


async def test_failed_webhook_deliveries_are_listed_and_requeued(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser, dead_receiver: str
) -> None:
    hook = {"name": "cms", "url": dead_receiver, "secret": "s" * 32}
    async with newsroom(
        redis_server, rds, webhooks={"max_attempts": 1}, site={"webhooks": [hook]}
    ) as demo:
        for n in range(3):
            await post(demo, None, f"Sự kiện {n}")
        async with aiohttp.ClientSession() as session:
            while await demo.app[SERVICES].outbox.deliver_due(session, "demo"):
                pass
        page = await board(browser, demo)
        await page.get_by_role("tab", name="Webhook lỗi").click()
        dead = page.locator(".item.dead")
        await expect(dead).to_have_count(3)
        await expect(page.locator(".total")).to_have_text("3 lần gửi thất bại đang được giữ.")
        await expect(dead.first).to_contain_text("comment.submitted")
        await expect(dead.first).to_contain_text("HTTP 503")
        await shot(page, "feature-webhooks-desktop-light")
        await dead.first.get_by_role("button", name="Gửi lại").click()
        await expect(page.get_by_role("status")).to_have_text("Đã xếp lại 1 lần gửi.")
        await expect(dead).to_have_count(2)
        await page.get_by_role("button", name="Gửi lại tất cả (2)").click()
        await expect(page.get_by_role("status")).to_have_text("Đã xếp lại 2 lần gửi.")
        await expect(dead).to_have_count(0)
        keys = demo.app[SERVICES].store.keys("demo")
        assert await rds.zcard(keys.outbox_due) == 3


async def test_a_phone_gets_one_row_of_tabs_and_no_keyboard_hints(
    demo: Site, browser: Browser
) -> None:
    await post(demo, None, "Đọc trên điện thoại")
    page = await board(browser, demo, phone=True)
    tabs = page.get_by_role("tab")
    await expect(tabs).to_have_count(10)
    tops = await tabs.evaluate_all("tabs => tabs.map(t => t.getBoundingClientRect().top)")
    assert len(set(tops)) == 1, tops  # one row, however many tabs
    strip = page.get_by_role("tablist")
    assert await strip.evaluate("s => s.scrollWidth > s.clientWidth")  # it scrolls sideways
    # The page itself does not scroll sideways.
    # (A phone widens its layout to what overflows: measure against 390 px, not innerWidth.)
    wide = await page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > 390.5 && !e.closest('[role=tablist]')).map(e => e.outerHTML.slice(0, 80))"
    )
    assert wide == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await expect(page.locator(".help")).to_be_hidden()
    await expect(page.locator("kbd.key").first).to_be_hidden()
    await page.get_by_role("tab", name="Tổng quan").click()  # scrolled into view, then chosen
    await expect(page.get_by_role("tab", name="Tổng quan")).to_have_attribute(
        "aria-selected", "true"
    )
    desktop = await board(browser, demo)
    await expect(desktop.locator(".help")).to_be_visible()
    await expect(desktop.locator("kbd.key").first).to_be_visible()


# ------------------------------------------------------------------ accessibility and screenshots

VIEWS = ("pending", "bans", "audit", "webhooks", "overview", "erasure")
TAB_NAMES = {
    "pending": "Chờ duyệt",
    "bans": "Lệnh cấm",
    "audit": "Nhật ký",
    "webhooks": "Webhook lỗi",
    "overview": "Tổng quan",
    "erasure": "Xóa dữ liệu",
}


async def axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds in the page."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a script tag: the page's policy refuses inline scripts.
        await page.evaluate(AXE.read_text("utf-8"))
    result = await page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.map(n => n.target.join(' '))})))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


async def populated(demo: Site) -> None:
    """A queue, a decision, a ban and a reason or two to show."""
    ids = [
        await post(demo, None, text)
        for text in (
            "Bài viết rất hay, cảm ơn tác giả.",
            "Mong thành phố sớm sửa con đường này.",
            "Vay tiền nhanh liên hệ Zalo 0901234567",
            "Tôi không đồng ý với tác giả.",
            "Chuyện này chẳng liên quan gì.",
        )
    ]
    await decide(demo, ids[3], "approve", "", "Minh")
    await decide(demo, ids[4], "reject", "Lạc đề", "Lan")
    await demo.app[SERVICES].bans.ban(
        "demo",
        Actor(key_id="k-minh", name="Minh", admin=True),
        BanRequest(email="ke-xau@example.vn", duration_seconds=7 * 86400, reason="Xúc phạm"),
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "mobile"])
async def test_every_view_passes_axe_and_is_photographed(
    demo: Site, browser: Browser, phone: bool, dark: bool
) -> None:
    await populated(demo)
    page = await (await context(browser, phone=phone, dark=dark)).new_page()
    suffix = f"{'mobile' if phone else 'desktop'}-{'dark' if dark else 'light'}"
    await page.goto(demo.url + "/moderate/")
    await expect(page.get_by_label("Khóa API")).to_be_visible()
    found = {"signin": await axe(page)}
    await shot(page, f"signin-{suffix}")
    await sign_in(page, demo, await key(demo))
    for view in VIEWS:
        await page.get_by_role("tab", name=TAB_NAMES[view]).click()
        await expect(page.locator("#panel")).not_to_have_attribute("aria-busy", "true")
        shown = page.locator(".empty, .item, .row:not(.head), .chart, form")
        await expect(shown.first).to_be_visible()
        if view == "pending":
            await page.locator(".banbox summary").first.click()  # the ban form, open
        found[view] = await axe(page)
        await shot(page, f"{view}-{suffix}")
    assert {view: v for view, v in found.items() if v} == {}


async def test_api_reference_renders_from_this_service_alone(demo: Site, browser: Browser) -> None:
    page = await (await context(browser, lang="en-GB")).new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(demo.url) or request.url.startswith("data:")
            else elsewhere.append(request.url)
        ),
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(demo.url + "/docs")
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible()
    assert await operations.count() >= 30
    counts = page.locator(".opblock").filter(has_text="/v1/sites/{site}/counts")
    await counts.first.click()
    await expect(counts.first).to_contain_text("repeat the parameter for up to 100 threads")
    submit = page.locator(".opblock-post").filter(has_text="/v1/sites/{site}/comments").first
    await submit.click()
    await expect(submit).to_contain_text("ca-mau-2022-08-12")  # the request's example
    await shot(page, "feature-api-reference-desktop-light")
    assert elsewhere == []
    assert [e for e in errors if "Content Security Policy" in e] == []
