"""What the auto-moderation signals cost a submission (issue 4: under 0.3 ms
of CPU at the median, all signals together).

Two parts, each against a baseline measured in the same run:

1. In the worker: the text's signals and the form token's check
   (`Screen.assess` with `formtoken.check`) over every comment of both
   corpora in tests/data, against folding the text alone. Median per item.
2. In Redis: the accept script's own time (INFO commandstats, usec per
   EVALSHA) for comments posted through the real app with every signal on
   (form token marked, duplicates looked up and recorded, history and
   first-time link read) against the same comments with those off (no
   token, duplicate window 0). Phases alternate; the medians are quoted.

    .venv/bin/python bench/signals.py [--count 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from service.clock import now_ms
from service.http.state import KEYRING, SERVICES
from service.main import create_app
from service.screening import formtoken
from service.screening.screen import Screen
from service.screening.textfold import fold
from service.settings import AbuseRules, load_settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_process import RedisProcess  # noqa: E402

DATA = ROOT / "tests" / "data"
MANY = {"limit": 1_000_000, "period": 1}


def corpus() -> list[dict[str, Any]]:
    items = []
    for name in ("corpus.jsonl", "corpus-b.jsonl", "heldout.jsonl"):
        text = (DATA / name).read_text(encoding="utf-8")
        items += [json.loads(line) for line in text.splitlines() if line]
    return items


def worker_cost(items: list[dict[str, Any]], rounds: int) -> tuple[float, float]:
    rules = AbuseRules()
    screen = Screen.for_rules(rules)
    key = secrets.token_bytes(32)
    token = formtoken.issue(key, "demo", now_ms() - 60_000)
    signals, baseline = [], []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            check = formtoken.check(key, "demo", token, now_ms(), rules)
            screen.assess(item["name"], item["body"], "", check.signals)
            signals.append(time.perf_counter() - started)
            started = time.perf_counter()
            fold(item["name"])
            fold(item["body"])
            baseline.append(time.perf_counter() - started)
    return statistics.median(signals) * 1e6, statistics.median(baseline) * 1e6


async def redis_cost(items: list[dict[str, Any]], count: int, rounds: int) -> tuple[float, float]:
    rate = {"ip": MANY, "email": MANY, "thread": MANY, "site": MANY}
    site = {"moderation": "pre", "rate_limits": {"submit": rate, "captcha": {"ip": MANY}}}
    with RedisProcess() as server:
        settings = load_settings(
            mode="production",
            secret_key=secrets.token_hex(32),
            redis={"url": server.url},
            sites={"on": site, "off": {**site, "abuse": {"duplicate_window_seconds": 0}}},
        )
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        redis = Redis.from_url(server.url)
        try:
            per_call: dict[str, list[float]] = {"on": [], "off": []}
            for round_ in range(rounds):
                for site_id in ("off", "on") if round_ % 2 else ("on", "off"):
                    captchas = await client.app[SERVICES].captcha.mint(site_id, count)
                    key = client.app[KEYRING].form
                    await redis.config_resetstat()
                    for n, captcha in enumerate(captchas):
                        item = items[n % len(items)]
                        body = {
                            "thread": f"t{n % 20}",
                            "author": {"name": "Bạn đọc", "email": f"r{round_}.{n}@example.vn"},
                            "body": item["body"][:5000] or "Hay",
                            "captcha": {"id": captcha[0], "answer": captcha[1]},
                        }
                        if site_id == "on":
                            body["form_token"] = formtoken.issue(key, "on", now_ms() - 60_000)
                        answer = await client.post(f"/v1/sites/{site_id}/comments", json=body)
                        assert answer.status in (202, 422), await answer.text()
                    stats = await redis.info("commandstats")
                    per_call[site_id].append(float(stats["cmdstat_evalsha"]["usec_per_call"]))
            return statistics.median(per_call["on"]), statistics.median(per_call["off"])
        finally:
            await redis.aclose()
            await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="comments per phase")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items = corpus()
    signals, baseline = worker_cost(items, args.rounds)
    print(f"worker, per comment (median of {len(items) * args.rounds}):")
    print(f"  all text and form-token signals: {signals:.0f} us (folding alone: {baseline:.0f} us)")
    on, off = asyncio.run(redis_cost(items, args.count, args.rounds))
    print(f"redis, accept script per call (median of {args.rounds} phases of {args.count}):")
    print(f"  signals on: {on:.1f} us, off: {off:.1f} us, added: {on - off:.1f} us")
    print(f"together: about {signals + on - off:.0f} us per submission (budget 300 us)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
