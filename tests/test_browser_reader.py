"""The reader's side of issue 14 in a real browser: the widget and the
no-JavaScript form page, light and dark, on a phone and a desktop, with an
accessibility check by axe-core run in the page. The fixtures and helpers are
tests/test_browser.py's; screenshots go to tests/artifacts/reader/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES
from tests.redis_process import RedisProcess
from tests.test_browser import (
    ARTIFACTS,
    THREAD,
    WIDGET,
    Browser,
    Page,
    Route,
    Site,
    browser,
    demo,
    expect,
    is_challenge,
    publish,
    serve_demo,
    shot,
)

pytestmark = pytest.mark.browser
__all__ = ["browser", "demo"]  # fixtures, used by name

SHOTS = ARTIFACTS / "reader"
VIEWPORTS = {"mobile": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
SCHEMES = ("light", "dark")


async def seed_thread(demo: Site) -> None:
    top = await publish(demo, None, "Mùa cua năm nay được giá, bà con phấn khởi lắm.")
    await publish(demo, top, "Cảm ơn bài viết, rất hữu ích.")
    await publish(demo, None, "Rừng đước cần được bảo vệ nhiều hơn nữa.")


async def screens(browser: Browser, url: str, name: str) -> None:
    """The page at each viewport and colour scheme, whole, into SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in VIEWPORTS.items():
        for scheme in SCHEMES:
            context = await browser.new_context(
                viewport=viewport,
                color_scheme=scheme,  # type: ignore[arg-type]
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
            )
            page = await context.new_page()
            await page.goto(url)
            if name.startswith("widget"):
                await expect(page.locator(WIDGET).locator(".lb-c").first).to_be_visible()
            await page.screenshot(path=str(SHOTS / f"{name}-{size}-{scheme}.png"), full_page=True)
            await context.close()


async def test_screenshots(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser
) -> None:
    """tests/artifacts/before/ holds the same shots of main's widget and form page."""
    async with serve_demo(redis_server, rds, thread_url="https://bao.example.vn/{thread}") as demo:
        await seed_thread(demo)
        await screens(browser, demo.url + "/", "widget")
        form = f"{demo.url}/v1/sites/demo/threads/{THREAD}/form?title=Mùa+cua+ở+Cà+Mau"
        await screens(browser, form, "form")
    assert len(list(SHOTS.glob("*.png"))) >= 8


# ------------------------------------------------------------------ accessibility

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


async def axe_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(" ")) }))"""
    )
    return [v for v in violations if v["impact"] in SERIOUS]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_widget_and_form_page_pass_axe(demo: Site, browser: Browser, scheme: str) -> None:
    await seed_thread(demo)
    # axe is injected as a script, which the pages' CSP would refuse.
    context = await browser.new_context(color_scheme=scheme, bypass_csp=True)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    await expect(widget.locator(".lb-c")).to_have_count(3)
    async with page.expect_response(is_challenge):
        await widget.get_by_label("Họ và tên").focus()
    await expect(widget.get_by_role("img", name="Mã xác thực dạng hình")).to_be_visible()
    await widget.get_by_role("button", name="Gửi bình luận").click()  # every field's error shown
    await expect(widget.locator("#b-err")).not_to_be_empty()
    assert await axe_problems(page) == []
    await page.goto(f"{demo.url}/v1/sites/demo/threads/{THREAD}/form?title=Mùa+cua")
    assert await axe_problems(page) == []
    await context.close()


# ------------------------------------------------------------------ the widget


async def test_count_avatars_times_and_no_box_before_focus(demo: Site, browser: Browser) -> None:
    await seed_thread(demo)
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    await expect(widget.get_by_role("heading", name="Bình luận 3 bình luận")).to_be_visible()
    first = widget.locator(".lb-list > .lb-c").first
    avatar = first.locator(".lb-av").first
    await expect(avatar).to_have_text("ĐC")  # Độc giả Mùa cu
    assert await avatar.get_attribute("aria-hidden") == "true"
    when = first.locator("time").first
    await expect(when).to_have_text("bây giờ")
    exact = await when.get_attribute("title")
    # The form page writes the same format (in UTC, as this browser is set).
    form = await context.new_page()
    await form.goto(f"{demo.url}/v1/sites/demo/threads/{THREAD}/form")
    await expect(form.locator("time").first).to_have_text(str(exact))
    # A reply says whom it answers, indented under its comment.
    reply = first.locator(".lb-replies > .lb-c")
    await expect(reply.locator(".lb-to")).to_have_text("trả lời Độc giả Mùa cu")
    # Before the reader comes to the form: a sentence, no empty box.
    captcha = widget.get_by_role("group", name="Xác thực")
    await expect(captcha).to_be_hidden()
    await expect(widget.get_by_text("Mã xác thực hiện ra khi bạn bắt đầu viết.")).to_be_visible()
    async with page.expect_response(is_challenge):
        await widget.get_by_label("Lời bình").focus()
    await expect(captcha.get_by_role("img")).to_be_visible()
    await expect(widget.get_by_text("Mã xác thực hiện ra khi bạn bắt đầu viết.")).to_be_hidden()
    await context.close()


async def test_sorting_newest_first_keeps_replies_under_their_comment(
    demo: Site, browser: Browser
) -> None:
    await seed_thread(demo)
    page = await browser.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    tops = widget.locator(".lb-list > .lb-c > article .lb-body")
    await expect(tops).to_have_text([re.compile("Mùa cua"), re.compile("Rừng đước")])
    async with page.expect_response(lambda r: "order=newest" in r.url):
        await widget.get_by_label("Sắp xếp").select_option(label="Mới nhất")
    await expect(tops).to_have_text([re.compile("Rừng đước"), re.compile("Mùa cua")])
    nested = widget.locator(".lb-list > .lb-c").last.locator(".lb-replies .lb-body")
    await expect(nested).to_have_text([re.compile("Cảm ơn bài viết")])
    await shot(page, "reader-newest-first")


def comments_of(now: datetime, lang: str) -> dict[str, Any]:
    """A thread page, newest first, whose reply comes before its comment."""
    del lang

    def at(delta: timedelta) -> str:
        return (now - delta).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return {
        "comments": [
            {
                "id": "0000000000000003",
                "parent_id": "0000000000000001",
                "author": {"name": "Lê Hoa"},
                "body_html": "<p>Đồng ý.</p>",
                "created_at": at(timedelta(minutes=5)),
            },
            {
                "id": "0000000000000002",
                "parent_id": None,
                "author": {"name": "Trần An"},
                "body_html": "<p>Thứ hai.</p>",
                "created_at": at(timedelta(hours=3)),
            },
            {
                "id": "0000000000000001",
                "parent_id": None,
                "author": {"name": "Phạm Bình"},
                "body_html": "<p>Thứ nhất.</p>",
                "created_at": at(timedelta(days=2)),
            },
        ],
        "next": None,
        "total": 3,
    }


async def article(page: Page, demo: Site, *, lang: str, attrs: str = "", style: str = "") -> None:
    """An article page of the site's own (on its origin) with the widget, in `lang`."""
    html = (
        f'<!doctype html><html lang="{lang}"><head><style>{style}</style></head><body>'
        f'<div id=comments data-loibinh-site=demo data-loibinh-thread="{THREAD}" {attrs}></div>'
        '<script src="/widget/v1/loibinh.js"></script></body></html>'
    )

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(demo.url + "/article", serve)
    await page.goto(demo.url + "/article")


@pytest.mark.parametrize(
    ("lang", "times", "to"),
    [
        ("vi", ["Hôm kia", "3 giờ trước", "5 phút trước"], "trả lời Phạm Bình"),
        ("en", ["2 days ago", "3 hours ago", "5 minutes ago"], "replying to Phạm Bình"),
    ],
)
async def test_relative_times_and_a_reply_before_its_comment(
    demo: Site, browser: Browser, lang: str, times: list[str], to: str
) -> None:
    page = await browser.new_page()
    payload = comments_of(datetime.now(UTC), lang)

    async def thread(route: Route) -> None:
        await route.fulfill(status=200, json=payload)

    await page.route(f"**/threads/{THREAD}/comments*", thread)
    await article(page, demo, lang=lang)
    widget = page.locator(WIDGET)
    # Oldest first by id, whatever order the page came in; the reply under its comment.
    await expect(widget.locator("time")).to_have_text([times[0], times[2], times[1]])
    tops = widget.locator(".lb-list > .lb-c")
    await expect(tops).to_have_count(2)
    await expect(tops.first.locator(".lb-replies .lb-to")).to_have_text(to)
    exact = await tops.first.locator("time").first.get_attribute("title")
    assert exact and "2" in exact and ":" in exact  # the exact date and time, on hover


async def test_dark_mode_theme_attribute_and_variables(demo: Site, browser: Browser) -> None:
    context = await browser.new_context(color_scheme="dark")
    page = await context.new_page()
    await page.goto(demo.url + "/")
    box = page.locator(WIDGET).locator("section.lb")
    await expect(box).to_have_class(re.compile("lb-dark"))
    assert await box.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(30, 31, 32)"
    # A page without a dark mode keeps the widget light; its variables win.
    plain = await context.new_page()
    await article(
        plain,
        demo,
        lang="vi",
        attrs='data-loibinh-theme="light"',
        style="#comments { --loibinh-accent: rgb(1, 2, 3); }",
    )
    light = plain.locator(WIDGET).locator("section.lb")
    await expect(light).not_to_have_class(re.compile("lb-dark"))
    send = plain.locator(WIDGET).get_by_role("button", name="Gửi bình luận")
    assert await send.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(1, 2, 3)"
    await context.close()


async def test_the_outcome_of_a_plain_form_post_is_shown_on_the_article(
    demo: Site, browser: Browser
) -> None:
    """A site's own form (no script) posts to the service, which sends the
    reader back to the article with lb_* parameters: the widget says it."""
    [(challenge, answer)] = await demo.app[SERVICES].captcha.mint("demo", 1)
    form = {
        "thread": THREAD,
        "name": "Vũ Lan",
        "email": "lan@example.vn",
        "body": "Gửi bằng biểu mẫu thường.",
        "captcha_id": challenge,
        "captcha_answer": answer,
        "return_to": demo.url + "/?ref=home",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{demo.url}/v1/sites/demo/comments", data=form, allow_redirects=False
        ) as response,
    ):
        assert response.status == 303
        location = response.headers["Location"]
    assert "lb_status=pending" in location
    page = await browser.new_page()
    await page.goto(location)
    widget = page.locator(WIDGET)
    await expect(widget.get_by_role("status")).to_have_text(
        "Cảm ơn bạn! Bình luận đang chờ kiểm duyệt."
    )
    # Said once: the parameters leave the address, the page's own stay.
    await expect(page).to_have_url(demo.url + "/?ref=home#loibinh")
    await page.goto(demo.url + "/?lb_status=error&lb_problem=rate-limited&lb_retry_after=30")
    await expect(widget.get_by_role("alert")).to_have_text(
        "Bạn gửi quá nhanh. Vui lòng đợi 30 giây rồi thử lại."
    )


# ------------------------------------------------------------------ the form page


async def test_form_page_keeps_what_was_typed_and_links_to_the_article(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser
) -> None:
    async with serve_demo(
        redis_server, rds, thread_url="https://bao.example.vn/bai/{thread}"
    ) as demo:
        context = await browser.new_context(java_script_enabled=False)
        page = await context.new_page()
        await page.goto(f"{demo.url}/v1/sites/demo/threads/{THREAD}/form?title=Mùa+cua")
        await expect(page).to_have_title("Bình luận · Mùa cua")
        back = page.get_by_role("link", name="← Về bài viết")
        assert await back.get_attribute("href") == f"https://bao.example.vn/bai/{THREAD}"
        await page.get_by_label("Họ và tên").fill("Trần Văn Bình")
        await page.get_by_label("Email").fill("binh@example.vn")
        await page.get_by_label("Lời bình").fill("Một lời bình dài, gõ mất công.")
        await page.get_by_label("Nhập các ký tự trong hình").fill("00000")
        await page.get_by_role("button", name="Gửi bình luận").click()
        await expect(page.get_by_role("alert")).to_contain_text("Mã xác thực chưa đúng")
        await expect(page.get_by_label("Họ và tên")).to_have_value("Trần Văn Bình")
        await expect(page.get_by_label("Email")).to_have_value("binh@example.vn")
        await expect(page.get_by_label("Lời bình")).to_have_value("Một lời bình dài, gõ mất công.")
        await expect(page.get_by_label("Nhập các ký tự trong hình")).to_have_value("")
        await expect(page).to_have_title("Bình luận · Mùa cua")
        await shot(page, "reader-form-kept")
        challenge = await page.locator("input[name=captcha_id]").get_attribute("value")
        await page.get_by_label("Nhập các ký tự trong hình").fill(demo.answers[str(challenge)])
        await page.get_by_role("button", name="Gửi bình luận").click()
        await expect(page.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")
        await context.close()
