"""The widget, the no-JavaScript form and the dashboard in a real browser
(issue 6): Debian's chromium in headless mode, driven by playwright, against
the real app served on a free loopback port with the session's redis-server.

The challenges the pages show are ones the test put in the captcha pool with
answers it knows (rendered as the service renders them); which one a page got
is read from what the service sent to the browser. Screenshots of each step
go to tests/artifacts/."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from service.captcha import render as captcha_render
from service.http.page_html import DEMO_TITLE
from service.http.state import KEYRING, SERVICES, SETTINGS
from service.main import create_app
from service.models import Decision
from service.moderation.shared import Actor
from tests.browser import ARGS, CHROMIUM
from tests.helpers import settings_for, site
from tests.redis_process import RedisProcess

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
THREAD = "ca-mau-2022-08-12"  # the demo article's thread
WIDGET = "#comments"
WRONG = "00000"  # 0 is not in the challenges' alphabet: certainly wrong
TIMEOUT_MS = 15_000

if not CHROMIUM.exists():
    # `make test` installs it (scripts/install-chromium.sh); CI must not skip.
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install-chromium.sh")
    pytest.skip("no /usr/bin/chromium: run scripts/install-chromium.sh", allow_module_level=True)

from playwright.async_api import (  # noqa: E402
    Browser,
    Page,
    Response,
    Route,
    async_playwright,
    expect,
)

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Site:
    """The demo app as a browser sees it, and the answers of the challenges it holds."""

    url: str
    app: web.Application
    answers: dict[str, str]

    async def stock(self, redis: aioredis.Redis, count: int = 8) -> None:
        """Put challenges with known answers in the demo site's captcha pool."""
        keyring = self.app[KEYRING]
        pool = self.app[SERVICES].store.keys("demo").captcha_pool
        entries = []
        for _ in range(count):
            challenge_id = captcha_render.new_challenge_id()
            answer = captcha_render.new_answer()
            self.answers[challenge_id] = answer
            png = base64.b64encode(captcha_render.png(answer, 200, 70)).decode()
            digest = keyring.captcha_answer("demo", challenge_id, answer)
            entries.append(f"{challenge_id} {digest} {png}")
        await redis.rpush(pool, *entries)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_demo(
    redis_server: RedisProcess,
    rds: aioredis.Redis,
    settings_extra: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Site]:
    """The app in development mode (so it serves the demo article) on a free
    port; `overrides` are the demo site's, `settings_extra` the service's."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings_for(
        redis_server.url,
        mode="development",
        sites={"demo": site(allowed_origins=[url], **overrides)},
        **(settings_extra or {}),
    )
    app = create_app(settings, refill_captchas=False, deliver_webhooks=False)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    served = Site(url, app, {})
    await served.stock(rds)
    try:
        yield served
    finally:
        await runner.cleanup()


@pytest.fixture
async def demo(redis_server: RedisProcess, rds: aioredis.Redis) -> AsyncIterator[Site]:
    async with serve_demo(redis_server, rds) as served:
        yield served


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def challenge_id(response: Response) -> str:
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


def is_challenge(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/captchas")


async def fill_form(page: Page, demo: Site, *, answer: str | None = None) -> str:
    """Fill the widget's form (the first focus issues a challenge); its challenge id."""
    widget = page.locator(WIDGET)
    async with page.expect_response(is_challenge) as issued:
        await widget.get_by_label("Họ và tên").fill("Nguyễn Thị Thùy Dương")
    got = await challenge_id(await issued.value)
    await widget.get_by_label("Email").fill("duong@example.vn")
    await widget.get_by_label("Lời bình").fill("Bài viết rất hay, cảm ơn tác giả.")
    await widget.get_by_label("Nhập các ký tự trong hình").fill(answer or demo.answers[got])
    return got


async def test_post_in_widget_approve_in_dashboard_then_published(
    demo: Site, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    await expect(widget.get_by_text("Chưa có bình luận nào")).to_be_visible()
    await shot(page, "1-article")
    await fill_form(page, demo)
    await shot(page, "2-form-filled")
    await widget.get_by_role("button", name="Gửi bình luận").click()
    await expect(widget.get_by_role("status")).to_have_text(
        "Cảm ơn bạn! Bình luận đang chờ kiểm duyệt."
    )
    await shot(page, "3-awaiting-moderation")

    token, _ = await demo.app[SERVICES].api_keys.create("Kiểm duyệt viên", "admin", ["demo"])
    board = await browser.new_page(locale="en-GB")
    await board.goto(demo.url + "/moderate/")
    await board.get_by_label("Site").fill("demo")
    await board.get_by_label("API key").fill(token)
    await board.get_by_role("button", name="Sign in").click()
    await expect(board.get_by_role("tab", name="Pending (1)")).to_be_visible()
    item = board.locator(".item")
    await expect(item).to_contain_text("duong@example.vn")
    await expect(item).to_contain_text("Bài viết rất hay")
    assert token not in board.url
    # The key lives in this tab's sessionStorage only.
    assert await board.evaluate("sessionStorage.getItem('lb-key')") == token
    assert await board.evaluate("localStorage.length") == 0
    await shot(board, "4-dashboard-pending")
    await board.keyboard.press("j")  # to the first item
    await expect(item).to_be_focused()
    await board.keyboard.press("a")
    await expect(board.get_by_role("status")).to_contain_text("Decisions saved: 1.")
    await expect(board.get_by_role("tab", name="Approved (1)")).to_be_visible()
    await shot(board, "5-dashboard-approved")
    await board.get_by_role("tab", name="Audit").click()
    entry = board.locator(".row:not(.head)").filter(has_text="approve")
    await expect(entry).to_contain_text("Kiểm duyệt viên")
    await expect(board.locator(".bulk").get_by_role("button", name="Approve")).to_be_hidden()
    await shot(board, "5b-dashboard-audit")

    await page.reload()
    published = widget.locator(".lb-c")
    await expect(published).to_have_count(1)
    await expect(published).to_contain_text("Nguyễn Thị Thùy Dương")
    await expect(published).to_contain_text("Bài viết rất hay, cảm ơn tác giả.")
    await shot(page, "6-published")


async def test_wrong_captcha_shows_the_error_and_a_new_challenge(
    demo: Site, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    first = await fill_form(page, demo, answer=WRONG)
    async with page.expect_response(is_challenge) as issued:
        await widget.get_by_role("button", name="Gửi bình luận").click()
    second = await challenge_id(await issued.value)
    assert second != first
    # Said once, under the captcha (issue 14), not again in the form's alert.
    await expect(widget.locator("#a-err")).to_contain_text("Mã xác thực chưa đúng")
    await expect(widget.get_by_text("Mã xác thực chưa đúng")).to_have_count(1)
    answer = widget.get_by_label("Nhập các ký tự trong hình")
    await expect(answer).to_be_focused()
    await expect(answer).to_have_value("")
    # What the reader typed is still there.
    await expect(widget.get_by_label("Họ và tên")).to_have_value("Nguyễn Thị Thùy Dương")
    await expect(widget.get_by_label("Lời bình")).to_have_value("Bài viết rất hay, cảm ơn tác giả.")
    await shot(page, "wrong-captcha")
    await answer.fill(demo.answers[second])
    await widget.get_by_role("button", name="Gửi bình luận").click()
    await expect(widget.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")


async def test_reader_without_javascript_posts_through_the_form_page(
    demo: Site, browser: Browser
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(demo.url + "/")
    await page.get_by_role("link", name="Bình luận không cần JavaScript").click()
    # The demo's link names its article, which titles the form page.
    titled = f"/v1/sites/demo/threads/{THREAD}/form?title={quote(DEMO_TITLE)}"
    await expect(page).to_have_url(demo.url + titled)
    await expect(page.get_by_role("heading", level=1)).to_have_text(DEMO_TITLE)
    challenge = await page.locator("input[name=captcha_id]").get_attribute("value")
    assert challenge in demo.answers
    await page.get_by_label("Họ và tên").fill("Trần Văn Bình")
    await page.get_by_label("Email").fill("binh@example.vn")
    await page.get_by_label("Lời bình").fill("Không cần JavaScript vẫn bình luận được.")
    await page.get_by_label("Nhập các ký tự trong hình").fill(demo.answers[challenge])
    await shot(page, "nojs-1-form")
    await page.get_by_role("button", name="Gửi bình luận").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Cảm ơn bạn! Bình luận đang chờ kiểm duyệt."
    )
    assert "lb_status=pending" in page.url
    await shot(page, "nojs-2-awaiting-moderation")
    await context.close()


async def test_keyboard_only(demo: Site, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    name = widget.get_by_label("Họ và tên")
    await expect(widget.get_by_text("Chưa có bình luận nào")).to_be_visible()
    async with page.expect_response(is_challenge) as issued:
        for _ in range(10):
            await page.keyboard.press("Tab")
            if await name.evaluate("e => e.getRootNode().activeElement === e"):
                break
    await expect(name).to_be_focused()
    issued_id = await challenge_id(await issued.value)
    # Enter on an empty form: each problem is told at its field, focus on the first.
    await page.keyboard.press("Enter")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(widget.locator("#n-err")).to_contain_text("Họ và tên cần từ 1 đến 80 ký tự")
    await expect(name).to_be_focused()
    await shot(page, "keyboard-1-errors")
    await page.keyboard.type("Lê Thị Hoa")
    await page.keyboard.press("Tab")
    await page.keyboard.type("hoa@example.vn")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Gõ bằng bàn phím.")
    answer = widget.get_by_label("Nhập các ký tự trong hình")
    for _ in range(6):  # past the refresh button to the answer
        await page.keyboard.press("Tab")
        if await answer.evaluate("e => e.getRootNode().activeElement === e"):
            break
    await expect(answer).to_be_focused()
    await page.keyboard.type(demo.answers[issued_id])
    await page.keyboard.press("Enter")
    await expect(widget.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    await shot(page, "keyboard-2-sent")


# The other captcha kinds are checked by the service's own tests; here only the
# widget's half of the contract, with the service's answers played by routes.


async def play_challenge(page: Page, challenge: dict[str, object]) -> list[dict[str, object]]:
    """Answer the page's challenge requests with `challenge` and record its submissions."""
    posted: list[dict[str, object]] = []

    async def issue(route: Route) -> None:
        await route.fulfill(status=201, json={**challenge, "expires_in": 600, "form_token": "ft-1"})

    async def submit(route: Route) -> None:
        posted.append(route.request.post_data_json)
        await route.fulfill(status=202, json={"id": "0" * 26, "status": "pending"})

    await page.route("**/v1/sites/demo/captchas", issue)
    await page.route("**/v1/sites/demo/comments", submit)
    return posted


async def fill_plain(page: Page) -> None:
    widget = page.locator(WIDGET)
    await widget.get_by_label("Họ và tên").fill("Phạm Minh")
    await widget.get_by_label("Email").fill("minh@example.vn")
    await widget.get_by_label("Lời bình").fill("Thử các loại xác thực.")


async def test_widget_solves_a_proof_of_work(demo: Site, browser: Browser) -> None:
    salt, number = "5ac1d2e3f4?expires=9999999999", 4321
    digest = hashlib.sha256(f"{salt}{number}".encode()).hexdigest()
    pow_ = {
        "algorithm": "SHA-256",
        "challenge": digest,
        "maxnumber": 50_000,
        "salt": salt,
        "signature": "sig-1",
    }
    page = await browser.new_page()
    posted = await play_challenge(page, {"kind": "pow", "pow": pow_})
    await page.goto(demo.url + "/")
    await fill_plain(page)
    widget = page.locator(WIDGET)
    await expect(widget.get_by_text("Đã xác thực tự động.")).to_be_visible()
    await widget.get_by_role("button", name="Gửi bình luận").click()
    await expect(widget.get_by_role("status").last).to_contain_text("đang chờ kiểm duyệt")
    [body] = posted
    assert body["form_token"] == "ft-1"
    payload = json.loads(base64.b64decode(str(body["captcha"]["pow"])))  # type: ignore[index]
    assert payload == {
        "algorithm": "SHA-256",
        "challenge": digest,
        "number": number,
        "salt": salt,
        "signature": "sig-1",
    }


async def test_widget_solves_a_real_proof_of_work_end_to_end(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser
) -> None:
    """No played answers: the service issues an ALTCHA challenge, the widget
    solves it in the page, and the accept path verifies it and marks it spent."""
    pow_site = {"captcha_provider": "pow", "captcha": {"pow": {"maxnumber": 20_000}}}
    async with serve_demo(redis_server, rds, **pow_site) as served:
        page = await browser.new_page()
        await page.goto(served.url + "/")
        await fill_plain(page)
        widget = page.locator(WIDGET)
        await expect(widget.get_by_text("Đã xác thực tự động.")).to_be_visible()
        async with page.expect_response(lambda r: r.url.endswith("/comments")) as sent:
            await widget.get_by_role("button", name="Gửi bình luận").click()
        answer = await sent.value
        assert answer.status == 202, await answer.text()
        await expect(widget.get_by_role("status").last).to_contain_text("đang chờ kiểm duyệt")
        await shot(page, "pow-awaiting-moderation")
        keys = served.app[SERVICES].store.keys("demo")
        comment = await rds.hgetall(keys.comment((await answer.json())["id"]))
        assert comment[b"body"] == "Thử các loại xác thực.".encode()
        assert [k async for k in rds.scan_iter(match="*{demo}:pow:*")], "the solution is not spent"


async def test_widget_uses_the_sites_third_party_provider(demo: Site, browser: Browser) -> None:
    # The demo site is configured for the image captcha, so its page's CSP
    # would rightly refuse the provider's script: this test is about the widget.
    page = await browser.new_page(bypass_csp=True)
    posted = await play_challenge(
        page, {"kind": "turnstile", "site_key": "0x4AAA-site", "action": None}
    )
    loaded: list[str] = []

    async def provider(route: Route) -> None:
        loaded.append(route.request.url)
        # Plays Turnstile's explicit rendering: render(element, {sitekey, callback}).
        await route.fulfill(
            content_type="text/javascript",
            body="window.turnstile={render:function(el,o){el.textContent='turnstile '+o.sitekey;"
            "setTimeout(function(){o.callback('tok-1')});return 'w1'},reset:function(){}};",
        )

    await page.route("https://challenges.cloudflare.com/**", provider)
    await page.goto(demo.url + "/")
    await fill_plain(page)
    widget = page.locator(WIDGET)
    await expect(widget.get_by_text("turnstile 0x4AAA-site")).to_be_visible()
    await widget.get_by_role("button", name="Gửi bình luận").click()
    await expect(widget.get_by_role("status").last).to_contain_text("đang chờ kiểm duyệt")
    assert loaded == ["https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit"]
    [body] = posted
    assert body["captcha"] == {"token": "tok-1"}
    assert body["form_token"] == "ft-1"


async def post(demo: Site, parent_id: str | None, body: str) -> str:
    """A comment on the demo thread through the public API; its id."""
    [(challenge, answer)] = await demo.app[SERVICES].captcha.mint("demo", 1)
    submission = {
        "thread": THREAD,
        "parent_id": parent_id,
        "author": {"name": f"Độc giả {body[:6]}", "email": "doc-gia@example.vn"},
        "body": body,
        "captcha": {"id": challenge, "answer": answer},
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{demo.url}/v1/sites/demo/comments", json=submission) as response,
    ):
        assert response.status == 202, await response.text()
        return str((await response.json())["id"])


async def publish(demo: Site, parent_id: str | None, body: str) -> str:
    """A comment on the demo thread through the public API, approved."""
    comment_id = await post(demo, parent_id, body)
    actor = Actor(key_id="tests", name="tests", admin=True)
    settings = demo.app[SETTINGS].sites["demo"]
    [result] = await demo.app[SERVICES].decisions.decide(
        "demo", settings, actor, [Decision(id=comment_id, action="approve", reason="")]
    )
    assert result.status == 200, result
    return comment_id


async def test_replies_one_level_deep(demo: Site, browser: Browser) -> None:
    top = await publish(demo, None, "Bình luận gốc")
    reply = await publish(demo, top, "Trả lời thứ nhất")
    await publish(demo, reply, "Trả lời của trả lời")
    page = await browser.new_page()
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    await expect(widget.locator(".lb-list > .lb-c")).to_have_count(1)
    nested = widget.locator(".lb-list > .lb-c > .lb-replies > .lb-c")
    await expect(nested).to_have_count(2)
    await expect(nested.last).to_contain_text("Trả lời của trả lời")
    await shot(page, "replies")
    # Reply moves focus to the comment box, which brings the challenge.
    async with page.expect_response(is_challenge) as issued:
        # Every comment has its Reply button (a reply to a reply joins the thread).
        await widget.get_by_role("button", name="Trả lời").first.click()
    issued_id = await challenge_id(await issued.value)
    await expect(widget.get_by_text("Đang trả lời Độc giả Bình l")).to_be_visible()
    await expect(widget.get_by_label("Lời bình")).to_be_focused()
    await fill_plain(page)
    await widget.get_by_label("Nhập các ký tự trong hình").fill(demo.answers[issued_id])
    async with page.expect_request(lambda r: r.url.endswith("/comments")) as sent:
        await widget.get_by_role("button", name="Gửi bình luận").click()
    assert (await sent.value).post_data_json["parent_id"] == top
    await expect(widget.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")


async def test_each_problem_is_shown_where_it_belongs(demo: Site, browser: Browser) -> None:
    """Answers the service gives, played in turn: each is shown at its place,
    nothing typed is lost, and a retry after a 503 keeps its Idempotency-Key."""
    page = await browser.new_page()
    answers = [
        (
            422,
            {
                "type": "/problems/validation-failed",
                "title": "t",
                "status": 422,
                "detail": "d",
                "errors": [{"field": "author.email", "message": "not deliverable"}],
            },
            {},
        ),
        (
            429,
            {"type": "/problems/rate-limited", "title": "t", "status": 429, "detail": "d"},
            {"Retry-After": "17"},
        ),
        (
            503,
            {"type": "/problems/unavailable", "title": "t", "status": 503, "detail": "d"},
            {"Retry-After": "3"},
        ),
    ]
    keys: list[str | None] = []

    async def submit(route: Route) -> None:
        keys.append(await route.request.header_value("Idempotency-Key"))
        status, body, headers = (
            answers.pop(0) if answers else (202, {"id": "1", "status": "pending"}, {})
        )
        await route.fulfill(status=status, json=body, headers=headers)

    await page.route("**/v1/sites/demo/comments", submit)
    await page.goto(demo.url + "/")
    widget = page.locator(WIDGET)
    await fill_form(page, demo)
    send = widget.get_by_role("button", name="Gửi bình luận")
    await send.click()
    email = widget.get_by_label("Email")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(widget.locator("#e-err")).to_have_text("Địa chỉ email không hợp lệ.")
    await expect(email).to_be_focused()
    await send.click()
    await expect(widget.get_by_role("alert")).to_have_text(
        "Bạn gửi quá nhanh. Vui lòng đợi 17 giây rồi thử lại."
    )
    await expect(email).to_have_attribute("aria-invalid", "false")
    await send.click()
    await expect(widget.get_by_role("alert")).to_contain_text("thử lại sau 3 giây")
    await shot(page, "problems-503")
    await send.click()
    await expect(widget.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")
    assert len(keys) == 4 and all(keys)
    assert len({keys[0], keys[1], keys[2]}) == 3  # a refused post is a new attempt
    assert keys[3] == keys[2]  # the retry of a 503 is the same one
    await expect(widget.get_by_label("Họ và tên")).to_have_value("Nguyễn Thị Thùy Dương")


async def signed_in_board(demo: Site, browser: Browser) -> Page:
    """The dashboard in Vietnamese, signed in with a new moderator's key."""
    token, _ = await demo.app[SERVICES].api_keys.create("Minh", "moderator", ["demo"])
    board = await browser.new_page(locale="vi-VN")
    await board.goto(demo.url + "/moderate/")
    await board.get_by_label("Trang (site)").fill("demo")
    await board.get_by_label("Khóa API").fill(token)
    await board.keyboard.press("Enter")
    return board


async def test_dashboard_claims_and_decides_in_bulk(demo: Site, browser: Browser) -> None:
    for text in ("Thứ nhất", "Thứ hai", "Thứ ba"):
        await post(demo, None, text)
    board = await signed_in_board(demo, browser)
    await expect(board.get_by_role("tab", name="Chờ duyệt (3)")).to_be_visible()
    await board.get_by_role("button", name="Nhận một lô").click()
    await expect(board.get_by_role("status")).to_contain_text("Đã nhận 3 bình luận")
    items = board.locator(".item")
    await expect(items.first).to_contain_text("Đang được giữ bởi")
    await expect(items.first).to_be_focused()
    await board.keyboard.press("x")  # the first
    await board.keyboard.press("j")
    await board.keyboard.press("x")  # and the second
    await board.get_by_label("Lý do (không bắt buộc)").fill("lạc đề")
    await board.locator(".bulk").get_by_role("button", name="Từ chối").click()
    await expect(board.get_by_role("status")).to_contain_text("Đã lưu 2 quyết định.")
    await expect(items).to_have_count(1)
    await expect(items).to_contain_text("Thứ ba")
    await expect(board.get_by_role("tab", name="Đã từ chối (2)")).to_be_visible()
    await shot(board, "dashboard-bulk")
    # The moderator's key may not read the audit log (an admin's may): the
    # admins' tabs are not offered to it.
    await expect(board.get_by_role("tab", name="Nhật ký")).to_have_count(0)
    await expect(board.get_by_role("tab")).to_have_count(5)


async def test_dashboard_sorts_by_the_model_and_approves_the_clean_end(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser
) -> None:
    """A morning's queue, most likely clean first: the comments the learned
    model finds clean are approved in one action, the advert stays. The
    rules' thresholds are out of reach, so only the model sorts the queue."""
    async with serve_demo(
        redis_server, rds, abuse={"hold_at": 50, "spam_at": 60, "reject_at": 70}
    ) as demo:
        await _approve_the_clean_end(demo, browser)


async def _approve_the_clean_end(demo: Site, browser: Browser) -> None:
    advert = (
        "Vay tiền nhanh không cần thế chấp, lãi suất thấp, liên hệ Zalo 0901234567 ngay hôm nay"
    )
    for text in (
        "Cảm ơn tác giả, bài viết rất hữu ích.",
        advert,
        "Mong thành phố sớm sửa con đường này.",
    ):
        await post(demo, None, text)
    board = await signed_in_board(demo, browser)
    await expect(board.get_by_role("tab", name="Chờ duyệt (3)")).to_be_visible()
    await board.get_by_label("Sắp xếp").select_option("clean")
    items = board.locator(".item")
    await expect(items.last).to_contain_text("Vay tiền")
    await expect(items.first).to_contain_text("Mô hình")
    await shot(board, "dashboard-clean-first")
    await board.get_by_role("button", name="Duyệt 2 bình luận mô hình cho là sạch").click()
    await expect(board.get_by_role("status")).to_contain_text("Đã lưu 2 quyết định.")
    await expect(items).to_have_count(1)
    await expect(items).to_contain_text("Vay tiền")


async def test_widget_embedded_on_another_origin(
    redis_server: RedisProcess, rds: aioredis.Redis, browser: Browser
) -> None:
    """A news site's own page, on its own origin, with the one script tag:
    the API calls are cross-origin (CORS, with a preflight for the JSON post)."""
    news_port, service_port = free_port(), free_port()
    news = f"http://localhost:{news_port}"  # another origin than 127.0.0.1's
    service = f"http://127.0.0.1:{service_port}"
    settings = settings_for(redis_server.url, sites={"demo": site(allowed_origins=[news])})
    app = create_app(settings, refill_captchas=False, deliver_webhooks=False)
    article = (
        '<!doctype html><html lang="en"><title>News</title><h1>An article</h1>'
        f'<script src="{service}/widget/v1/loibinh.js" defer></script>'
        '<div id="comments" data-loibinh-site="demo" data-loibinh-thread="t-1"></div>'
    )

    async def page_of_news(request: web.Request) -> web.Response:
        return web.Response(text=article, content_type="text/html")

    host = web.Application()
    host.router.add_get("/", page_of_news)
    runners = [web.AppRunner(app), web.AppRunner(host)]
    for runner, port in zip(runners, (service_port, news_port), strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    served = Site(service, app, {})
    await served.stock(rds)
    try:
        page = await browser.new_page()
        await page.goto(news + "/")
        widget = page.locator(WIDGET)
        await expect(widget.get_by_text("No comments yet.")).to_be_visible()  # lang="en"
        async with page.expect_response(is_challenge) as issued:
            await widget.get_by_label("Full name").fill("Reader")
        answer = served.answers[await challenge_id(await issued.value)]
        await widget.get_by_label("Email").fill("reader@example.com")
        await widget.get_by_label("Comment", exact=True).fill("From another origin.")
        await widget.get_by_label("Type the characters in the image").fill(answer)
        await widget.get_by_role("button", name="Post comment").click()
        await expect(widget.get_by_role("status")).to_have_text(
            "Thank you! Your comment is awaiting moderation."
        )
        await shot(page, "cross-origin-en")
    finally:
        for runner in runners:
            await runner.cleanup()
