"""Issue and verify latency of the local captcha providers (image, proof of
work), and what solving the default proof of work costs in Python.

    .venv/bin/python bench/captcha_providers.py [--requests 1000]

Starts a private redis-server and one `loibinh serve` worker (production
mode, a fresh secret, two sites: `img` with the image captcha, `pow` with
proof of work at the default difficulty), then sends one request at a time
and times each answer at the client:

- baseline: GET /healthz (no Redis): what the client and HTTP cost alone;
- issue: POST /captchas on each site (image: from the pre-rendered pool);
- verify: POST /comments answering each kind (image: challenges minted with
  `loibinh captcha mint`; pow: challenges issued by the service and solved
  beforehand), which is the whole accept path with the captcha in it;
- pow.verify alone, in process (the CPU the check costs the service);
- pow solve time at the default maxnumber, as a widget without WebCrypto
  would spend it (the browser's SHA-256 is faster).

Everything it starts it stops, by pid. Prints a table and writes
bench/results/captcha_providers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.captcha import pow  # noqa: E402
from service.settings import PowSettings  # noqa: E402
from service.store.keyschema import SiteKeys  # noqa: E402
from tests.redis_process import RedisProcess, free_port  # noqa: E402

LOIBINH = Path(sys.executable).with_name("loibinh")
CONFIG = """
[captcha]
pool_size = {pool}
pool_low_water = 0
render_batch = 100
render_processes = 2

[sites.img]
allowed_origins = ["https://news.example.vn"]
captcha_provider = "image"
[sites.img.rate_limits.submit]
ip = {{ limit = 1000000, period = 60 }}
email = {{ limit = 1000000, period = 60 }}
[sites.img.rate_limits.captcha]
ip = {{ limit = 1000000, period = 60 }}

[sites.pow]
allowed_origins = ["https://news.example.vn"]
captcha_provider = "pow"
[sites.pow.rate_limits.submit]
ip = {{ limit = 1000000, period = 60 }}
email = {{ limit = 1000000, period = 60 }}
[sites.pow.rate_limits.captcha]
ip = {{ limit = 1000000, period = 60 }}
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
    }


def comment(i: int, captcha: dict[str, Any]) -> dict[str, Any]:
    return {
        "thread": "bench",
        "author": {"name": "Nguyễn Thị Thùy Dương", "email": f"reader{i}@example.vn"},
        "body": "Bài viết rất hay, cảm ơn tác giả.",
        "captcha": captcha,
    }


def widget_payload(challenge: dict[str, Any]) -> str:
    number = pow.solve(challenge["challenge"], challenge["salt"], challenge["maxnumber"])
    data = {**challenge, "number": number, "took": 0}
    data.pop("maxnumber")
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


async def timed(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> float:
    started = time.perf_counter()
    async with session.request(method, url, **kw) as response:
        await response.read()
        elapsed = time.perf_counter() - started
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status} {await response.text()}")
    return elapsed


async def measure(base: str, minted: list[dict[str, str]], count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        for _ in range(200):  # warm up connections, scripts and caches
            await timed(session, "GET", f"{base}/healthz")
        results["baseline GET /healthz"] = percentiles(
            [await timed(session, "GET", f"{base}/healthz") for _ in range(count)]
        )
        results["issue image"] = percentiles(
            [await timed(session, "POST", f"{base}/v1/sites/img/captchas") for _ in range(count)]
        )
        results["issue pow"] = percentiles(
            [await timed(session, "POST", f"{base}/v1/sites/pow/captchas") for _ in range(count)]
        )
        challenges = []
        for _ in range(count):
            async with session.post(f"{base}/v1/sites/pow/captchas") as response:
                challenges.append((await response.json())["pow"])
        payloads = [widget_payload(c) for c in challenges]
        image = [
            await timed(
                session,
                "POST",
                f"{base}/v1/sites/img/comments",
                json=comment(i, {"id": m["id"], "answer": m["answer"]}),
            )
            for i, m in enumerate(minted[:count])
        ]
        results["verify image (POST /comments)"] = percentiles(image)
        proof = [
            await timed(
                session,
                "POST",
                f"{base}/v1/sites/pow/comments",
                json=comment(i, {"pow": payload}),
            )
            for i, payload in enumerate(payloads)
        ]
        results["verify pow (POST /comments)"] = percentiles(proof)
    return results


def in_process(count: int) -> dict[str, Any]:
    key = secrets.token_bytes(32)
    maxnumber = PowSettings().maxnumber
    now = int(time.time())
    made = [pow.make_challenge(key, maxnumber, now + 600) for _ in range(count)]
    payloads = [widget_payload(c.as_json()) for c in made[:200]]
    checks = []
    for payload in payloads * (count // len(payloads) or 1):
        started = time.perf_counter()
        pow.verify(key, payload, now * 1000)
        checks.append(time.perf_counter() - started)
    solves = []
    for challenge in made[:50]:
        started = time.perf_counter()
        pow.solve(challenge.challenge, challenge.salt, challenge.maxnumber)
        solves.append(time.perf_counter() - started)
    return {
        "pow.verify in process": percentiles(checks),
        f"pow solve in Python, maxnumber {maxnumber}": percentiles(solves),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    count = args.requests
    workdir = Path(tempfile.mkdtemp(prefix="loibinh-bench-captcha-"))
    config = workdir / "loibinh.toml"
    config.write_text(CONFIG.format(pool=count + 50), encoding="utf-8")
    with RedisProcess() as server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOIBINH_")}
        env.update(
            LOIBINH_CONFIG=str(config),
            LOIBINH_MODE="production",
            LOIBINH_SECRET_KEY=secrets.token_urlsafe(36),
            LOIBINH_REDIS__URL=server.url,
            LOIBINH_PORT=str(port),
            LOIBINH_LOG_LEVEL="WARNING",
        )
        minted_out = subprocess.run(
            [str(LOIBINH), "captcha", "mint", "--site", "img", "--count", str(count), "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        minted = [json.loads(line) for line in minted_out.splitlines()]
        service = subprocess.Popen([str(LOIBINH), "serve", "--workers", "1"], env=env)
        try:
            client = redis.Redis.from_url(server.url)
            pool_key = SiteKeys("lb", "img").captcha_pool
            deadline = time.monotonic() + 300
            while int(client.llen(pool_key)) < count and time.monotonic() < deadline:
                time.sleep(0.5)  # the pool fills in the background
            results = asyncio.run(measure(f"http://127.0.0.1:{port}", minted, count))
        finally:
            service.terminate()
            service.wait(timeout=30)
    results.update(in_process(count))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "captcha_providers.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    width = max(len(name) for name in results)
    print(f"{'':{width}}  {'n':>6}  {'p50 ms':>8}  {'p99 ms':>8}")
    for name, row in results.items():
        print(f"{name:{width}}  {row['n']:>6}  {row['p50_ms']:>8}  {row['p99_ms']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
