"""The widget with a reader signed in on the host page: the page hands it
the token (window.loibinh.setToken), and the reader posts without a name,
an email or a captcha, and is shown as verified. Headless chromium, as in
tests/test_browser.py, whose demo server and browser this borrows."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tests.identity import login as lg
from tests.redis_process import RedisProcess
from tests.test_browser import WIDGET, browser, serve_demo, shot  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

from playwright.async_api import Browser, Request, expect  # noqa: E402


async def test_a_host_page_passes_a_token_and_the_reader_posts_without_captcha(
    redis_server: RedisProcess,
    rds: aioredis.Redis,
    browser: Browser,  # noqa: F811
) -> None:
    identity = {
        "algorithms": ["HS256"],
        "secret": lg.HS_SECRET,
        "issuer": lg.ISSUER,
        "audience": lg.AUDIENCE,
        "trust": "trusted",
    }
    async with serve_demo(redis_server, rds, identity=identity) as demo:
        page = await browser.new_page()
        asked: list[str] = []

        def seen(request: Request) -> None:
            asked.append(f"{request.method} {request.url}")

        page.on("request", seen)
        await page.goto(demo.url + "/")
        widget = page.locator(WIDGET)
        await expect(widget.get_by_text("Chưa có bình luận nào")).to_be_visible()
        # The host page's own login hands the widget the reader's token.
        await page.evaluate("token => window.loibinh.setToken(token)", lg.Login().hs_token())
        await expect(widget.get_by_label("Họ và tên")).to_be_hidden()
        await expect(widget.get_by_label("Email")).to_be_hidden()
        await widget.get_by_label("Lời bình").fill("Tôi đã đăng nhập, không cần mã xác thực.")
        await widget.get_by_role("button", name="Gửi bình luận").click()
        await expect(widget.get_by_role("status")).to_have_text(
            "Cảm ơn bạn! Bình luận đã được đăng."
        )
        published = widget.locator(".lb-c")
        await expect(published).to_have_count(1)
        await expect(published).to_contain_text(lg.NAME)
        await expect(published.locator(".lb-verified")).to_have_text("✓ Đã xác minh")
        await shot(page, "signed-in-verified")
        assert not [a for a in asked if a.startswith("POST") and a.endswith("/captchas")], asked
