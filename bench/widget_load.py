"""How long the widget takes to show a thread in a real browser, against the
same article page's own load as the baseline.

The demo article (development mode) is served in-process on a free loopback
port with a private redis-server and a thread of 20 approved comments. Each
run opens the page in a fresh headless Chromium context (an empty cache, as a
first visit) and records, from navigation start: the page's own `load` event
(the baseline: the article without waiting for the widget's API calls) and
the moment the widget shows all 20 comments and its form. Medians of the runs,
and the bytes the widget's two files took on the wire.

    .venv/bin/python bench/widget_load.py [--runs 15]

Needs /usr/bin/chromium (scripts/install-chromium.sh) and redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

from aiohttp import web
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.http.state import SERVICES, SETTINGS
from service.main import create_app
from service.models import Decision, Submission
from service.moderation.shared import Actor
from tests.browser import ARGS, CHROMIUM
from tests.helpers import settings_for, site
from tests.redis_process import RedisProcess, free_port

THREAD = "ca-mau-2022-08-12"
COMMENTS = 20
READY = (
    """() => {
  const root = document.querySelector('#comments')?.shadowRoot;
  if (!root || !root.querySelector('.lb-form')) return false;
  if (root.querySelectorAll('.lb-c').length < COUNT) return false;
  window.__ready = window.__ready || performance.now();
  return true;
}"""
).replace("COUNT", str(COMMENTS))


async def seed(app: web.Application) -> None:
    """COMMENTS approved comments on the demo thread, through the accept path."""
    import aiohttp

    services, settings = app[SERVICES], app[SETTINGS]
    actor = Actor(key_id="bench", name="bench", admin=True)
    for i, (challenge, answer) in enumerate(await services.captcha.mint("demo", COMMENTS)):
        body = Submission.model_validate(
            {
                "thread": THREAD,
                "author": {"name": f"Độc giả {i}", "email": f"r{i}@example.vn"},
                "body": "Bài viết rất hay. " * 8,
                "captcha": {"id": challenge, "answer": answer},
            }
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(app["url"] + "/v1/sites/demo/comments", json=body.model_dump()) as resp,
        ):
            assert resp.status == 202, await resp.text()
            comment_id = (await resp.json())["id"]
        [result] = await services.decisions.decide(
            "demo", settings.sites["demo"], actor, [Decision(id=comment_id, action="approve")]
        )
        assert result.status == 200


async def main(runs: int) -> None:
    with RedisProcess() as redis:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        many = {"limit": 100000, "period": 60}
        limits = {"submit": {"ip": many, "email": many}, "captcha": {"ip": many}}
        settings = settings_for(
            redis.url,
            mode="development",
            sites={"demo": site(allowed_origins=[url], rate_limits=limits)},
        )
        app = create_app(settings, refill_captchas=False, deliver_webhooks=False)
        app["url"] = url  # type: ignore[index]
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await seed(app)
            loads, readies, wire = [], [], 0
            async with async_playwright() as driver:
                browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                for _ in range(runs):
                    context = await browser.new_context()
                    page = await context.new_page()
                    await page.goto(url + "/", wait_until="load")
                    await page.wait_for_function(READY, polling=5)
                    loads.append(
                        await page.evaluate(
                            "performance.getEntriesByType('navigation')[0].loadEventEnd"
                        )
                    )
                    readies.append(await page.evaluate("window.__ready"))

                    wire = await page.evaluate(
                        "performance.getEntriesByType('resource')"
                        ".filter(e => e.name.includes('/widget/v1/'))"
                        ".reduce((n, e) => n + e.transferSize, 0)"
                    )
                    await context.close()
                await browser.close()
        finally:
            await runner.cleanup()
    print(f"runs: {runs}, thread of {COMMENTS} comments, fresh context (cold cache) each")
    print(f"page load event (baseline), median: {statistics.median(loads):7.1f} ms")
    print(f"widget shows the thread, median:    {statistics.median(readies):7.1f} ms")
    print(f"widget files on the wire (gzip + headers): {wire} bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    asyncio.run(main(parser.parse_args().runs))
