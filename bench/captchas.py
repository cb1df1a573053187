"""The image captcha and its audio alternative: rendering rates, issue and
audio latency from the pool, event-loop lag while the pool is rendered, and
Redis memory per pooled and per live challenge.

    .venv/bin/python bench/captchas.py [--issues 1000] [--json]

1. Rendering, in this process, one core: images per second (the service's
   ImageCaptcha), spoken clips per second with the `captcha` package's own
   AudioCaptcha and with SpokenCaptcha (same voices, same 6 digits, same run),
   and whole pool entries (image, clip, two HMACs) per second.
2. A private redis-server, and the app (create_app, production settings, one
   site in Vietnamese) served in this process with its background refill,
   while a ticker sleeping 1 ms at a time records how late the loop wakes it:
   during the first fill (rendering only), then under load.
3. The issue script alone, Redis round trip, from a pool of images only
   (the baseline: as before the audio alternative) and from one of images
   with clips, 300 sequential calls each, nothing else running.
4. The load, from a separate process (`--drive`): one client issuing
   challenges one after another (POST /captchas) and fetching each one's clip
   (GET .../audio), p50/p99 of each. The pool is small enough that the refill
   renders during the load (it drains from 1000 to about a quarter of that,
   never to empty: every challenge comes from the pool).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from captcha.audio import AudioCaptcha  # noqa: E402

from service.captcha import audio as captcha_audio  # noqa: E402
from service.captcha import render as captcha_render  # noqa: E402
from service.main import create_app  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.store.keyschema import SiteKeys  # noqa: E402
from service.store.ratelimit import RateLimits  # noqa: E402
from service.store.scripts import Scripts  # noqa: E402
from service.store.signatures import CaptchaIssueArgs, CaptchaIssueKeys  # noqa: E402
from tests.redis_process import RedisProcess, free_port  # noqa: E402

SITE = "bench"
POOL = 1000
LOW_WATER = 500


def rate(work: Any, seconds: float) -> float:
    """Calls of `work` per second over about `seconds`."""
    work()  # warm: caches, loaded voices
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        work()
        count += 1
    return count / elapsed


def rendering() -> dict[str, float]:
    image = captcha_render._renderer(200, 70)
    package = AudioCaptcha(str(captcha_audio.voice_dir("vi")))
    package.load()
    spoken = captcha_audio.renderer("vi")
    secret = secrets.token_urlsafe(32)
    return {
        "images_per_s": rate(lambda: image.generate(captcha_render.new_answer(), format="png"), 3),
        "clips_per_s_package": rate(lambda: package.generate(captcha_audio.new_spoken_answer()), 3),
        "clips_per_s_spoken": rate(lambda: spoken.generate(captcha_audio.new_spoken_answer()), 3),
        "entries_per_s": 10
        * rate(lambda: captcha_render.render_batch(secret, SITE, 10, 200, 70, "vi"), 3),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "n": len(ordered),
    }


async def drive(base: str, count: int) -> dict[str, Any]:
    issue: list[float] = []
    audio: list[float] = []
    clip_bytes = 0
    async with aiohttp.ClientSession(base) as session:
        for _ in range(count):
            start = time.perf_counter()
            async with session.post(f"/v1/sites/{SITE}/captchas") as response:
                body = await response.json()
                assert response.status == 201, body
            issue.append(time.perf_counter() - start)
            start = time.perf_counter()
            async with session.get(body["audio_url"]) as response:
                clip = await response.read()
                assert response.status == 200 and clip.startswith(b"RIFF")
            audio.append(time.perf_counter() - start)
            clip_bytes += len(clip)
    return {
        "issue": percentiles(issue),
        "audio": percentiles(audio),
        "clip_bytes_mean": round(clip_bytes / count),
    }


class Ticker:
    """How late the event loop wakes a task that sleeps 1 ms at a time."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.gaps.append(loop.time() - before - 0.001)

    def start(self) -> None:
        self.gaps = []
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, Any]:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return percentiles(self.gaps)


async def issue_script(redis: Redis, count: int = 300) -> dict[str, Any]:
    """The issue script's round trip, popping from a pool without clips and
    from one with them."""
    scripts = Scripts.register(redis)
    await scripts.load(redis)
    secret = secrets.token_urlsafe(32)
    out = {}
    for name, locale in (("images_only", None), ("with_clips", "vi")):
        keys = SiteKeys("lb", f"bench-{name}")
        entries = captcha_render.render_batch(secret, SITE, count, 200, 70, locale)
        for start in range(0, count, 10):
            await redis.rpush(keys.captcha_pool, *entries[start : start + 10])
        timings = []
        for _ in range(count):
            begin = time.perf_counter()
            no_limits = RateLimits(())
            result = await scripts.captcha_issue(
                CaptchaIssueKeys(
                    keys.captcha_pool, keys.captcha_live, keys.captcha_expiry, no_limits
                ),
                CaptchaIssueArgs(600_000, no_limits),
            )
            timings.append(time.perf_counter() - begin)
            assert result[0] == b"issued"
        out[name] = percentiles(timings)
    return out


async def serving(issues: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with RedisProcess() as server, tempfile.TemporaryDirectory() as _:
        port = free_port()
        limits = {"limit": 1_000_000, "period": 60, "burst": 1_000_000}
        settings = load_settings(
            mode="production",
            secret_key=secrets.token_urlsafe(36),
            port=port,
            log_level="WARNING",
            redis={"url": server.url},
            captcha={"pool_size": POOL, "pool_low_water": LOW_WATER, "render_batch": 50},
            sites={SITE: {"locale": "vi", "rate_limits": {"captcha": {"ip": limits}}}},
        )
        redis = Redis.from_url(server.url)
        out["issue_script"] = await issue_script(redis)
        keys = SiteKeys(settings.redis.key_prefix, SITE)
        runner = web.AppRunner(create_app(settings))
        ticker = Ticker()
        ticker.start()
        start = time.perf_counter()
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            # Start-up: the app, its scripts, the render process spawned (in a thread).
            while await redis.llen(keys.captcha_pool) == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            out["lag_starting"] = await ticker.stop()
            ticker.start()
            while await redis.llen(keys.captcha_pool) < POOL:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            out["first_fill_s"] = round(time.perf_counter() - start, 2)
            out["lag_while_rendering"] = await ticker.stop()

            pool_bytes = await redis.memory_usage(keys.captcha_pool, samples=0)
            out["pool_bytes_per_challenge"] = round(pool_bytes / POOL)
            before = await redis.memory_usage(keys.captcha_live, samples=0) or 0

            ticker.start()
            driver = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--drive",
                f"http://127.0.0.1:{port}",
                "--issues",
                str(issues),
                stdout=subprocess.PIPE,
            )
            stdout, _ = await driver.communicate()
            out["lag_under_load"] = await ticker.stop()
            if driver.returncode != 0:
                raise SystemExit("the load driver failed")
            out.update(json.loads(stdout))
            # Every challenge issued is live (none answered): what one holds.
            after = await redis.memory_usage(keys.captcha_live, samples=0)
            out["live_bytes_per_challenge"] = round((after - before) / issues)
        finally:
            await runner.cleanup()
            await redis.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(asyncio.run(drive(args.drive, args.issues))))
        return
    results = {"rendering": rendering(), **asyncio.run(serving(args.issues))}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    r = results["rendering"]
    print(f"images rendered per second (one core)        {r['images_per_s']:8.0f}")
    print(f"clips per second, captcha's AudioCaptcha      {r['clips_per_s_package']:8.1f}")
    print(f"clips per second, SpokenCaptcha               {r['clips_per_s_spoken']:8.0f}")
    print(f"pool entries (image + clip) per second        {r['entries_per_s']:8.0f}")
    for name, p in results["issue_script"].items():
        figures = f"p50 {p['p50_ms']:7.3f} ms  p99 {p['p99_ms']:7.3f} ms"
        print(f"{'issue script, ' + name:<28} {figures}  max {p['max_ms']:7.3f} ms")
    print(f"first fill of {POOL} challenges              {results['first_fill_s']:8.2f} s")
    for name in ("issue", "audio", "lag_starting", "lag_while_rendering", "lag_under_load"):
        p = results[name]
        figures = f"p50 {p['p50_ms']:7.3f} ms  p99 {p['p99_ms']:7.3f} ms"
        print(f"{name:<28} {figures}  max {p['max_ms']:7.3f} ms")
    print(f"clip served, mean bytes                      {results['clip_bytes_mean']:8d}")
    print(f"Redis bytes per pooled challenge             {results['pool_bytes_per_challenge']:8d}")
    print(f"Redis bytes per live challenge               {results['live_bytes_per_challenge']:8d}")


if __name__ == "__main__":
    main()
