"""The widget's "email me when someone replies" box, in headless chromium:
ticked, the comment asks for replies and the confirmation reaches a real
SMTP server. The demo server and browser are those of tests/test_browser.py."""

from __future__ import annotations

import aiohttp
import pytest
import redis.asyncio as aioredis

from service.http.state import SERVICES
from tests.helpers import eventually
from tests.mail.smtp import Inbox, smtp_server
from tests.redis_process import RedisProcess
from tests.test_browser import WIDGET, browser, fill_form, serve_demo  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

from playwright.async_api import Browser, expect  # noqa: E402


async def test_the_widget_asks_for_reply_emails(
    redis_server: RedisProcess,
    rds: aioredis.Redis,
    browser: Browser,  # noqa: F811
) -> None:
    with smtp_server() as (inbox, port):
        mail = {
            "sender": "Báo Demo <binh-luan@demo.example.vn>",
            "public_url": "https://binh-luan.example.vn",
            "smtp": {"host": "127.0.0.1", "port": port, "tls": "none"},
        }
        async with serve_demo(redis_server, rds, mail=mail) as demo:
            page = await browser.new_page()
            await page.goto(demo.url + "/")
            widget = page.locator(WIDGET)
            await fill_form(page, demo)
            box = widget.get_by_label("Báo cho tôi qua thư khi có người trả lời")
            await expect(box).not_to_be_checked()  # off by default
            await box.check()
            await widget.get_by_role("button", name="Gửi bình luận").click()
            await expect(widget.get_by_role("status")).to_contain_text("đang chờ kiểm duyệt")
            # The demo server leaves the outbox to the test: hand its events to the mail stage.
            async with aiohttp.ClientSession() as session:
                await demo.app[SERVICES].outbox.deliver_due(session, "demo")
            messages = await eventually(
                lambda: inbox_to(inbox, "duong@example.vn"), "the confirmation", within=15
            )
            assert messages[0]["Subject"].startswith("Xác nhận")


def inbox_to(inbox: Inbox, address: str) -> list[object]:
    return list(inbox.to(address))
