"""Redis memory per queued comment, per rate-limit key, per live captcha and
per idempotency record.

Measured from the outside, as production writes it: a private redis-server,
`loibinh serve` on it (one worker, production mode), challenges minted with
`loibinh captcha mint`, and N comments (10,000 by default) posted to the HTTP
API, each with its own email address (so its own per-email rate-limit key),
half of them with an Idempotency-Key. Every post must be a 202.

Each figure is measured two ways: the growth of INFO memory's used_memory,
clients' buffers excluded (what Redis really holds, allocator rounding and the
keyspace's own tables included: the figure to plan capacity with), and the
sum of MEMORY USAGE ... SAMPLES 0 over the items' keys (exact, per key).

    .venv/bin/python bench/memory.py [--count 10000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SITE = "bench"
CONCURRENCY = 16
# The per-address limit is out of the way (every post comes from 127.0.0.1);
# the per-email one is the default's size with a long period, so that no key
# expires while it is measured (a key's size does not depend on its TTL).
CONFIG = """
[captcha]
# No pre-rendered pool to speak of: it would be memory that is not the comments'.
pool_size = 1
pool_low_water = 0

[sites.bench]
moderation = "pre"

[sites.bench.rate_limits.submit]
ip = { limit = 1000000, period = 60, burst = 1000000 }
email = { limit = 3, period = 3600 }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def family(key: str) -> str:
    """`lb:{bench}:c:01J...` -> `c:*`: a key's name with its ids and hashes
    starred, so that keys of one kind group together."""
    rest = key.split("}:", 1)[-1]
    return ":".join("*" if len(part) >= 16 else part for part in rest.split(":"))


async def used_memory(redis: Redis) -> int:
    """used_memory without any client's buffers (the service's connections and
    this one), after a pause for Redis to settle."""
    await asyncio.sleep(0.3)
    info = await redis.info("memory")
    return int(info["used_memory"]) - int(info["mem_clients_normal"])


async def usage(redis: Redis, keys: list[bytes]) -> int:
    total = 0
    for start in range(0, len(keys), 1000):
        pipe = redis.pipeline(transaction=False)
        for key in keys[start : start + 1000]:
            pipe.memory_usage(key, samples=0)
        total += sum(v or 0 for v in await pipe.execute())
    return total


async def families(redis: Redis) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    async for key in redis.scan_iter(count=10_000):
        out.setdefault(family(key.decode()), []).append(key)
    return out


async def delete(redis: Redis, keys: list[bytes]) -> None:
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])


async def post_comments(
    url: str, captchas: list[tuple[str, str]], names: list[str], comment: str
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = list(enumerate(captchas))
    half = len(captchas) // 2

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            i, (challenge_id, answer) = queue.pop()
            headers = {"Idempotency-Key": f"memory-{i}"} if i >= half else {}
            body = {
                "thread": "ca-mau-2022-08-12",
                "parent_id": None,
                "author": {"name": names[i % len(names)], "email": f"doc.gia.{i}@example.vn"},
                "body": comment,
                "captcha": {"id": challenge_id, "answer": answer},
            }
            async with session.post(url, json=body, headers=headers) as answer_:
                await answer_.read()
                statuses[answer_.status] = statuses.get(answer_.status, 0) + 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return statuses


async def measure(redis_url: str, service: str, count: int, env: dict[str, str]) -> dict[str, Any]:
    redis = Redis.from_url(redis_url)
    names = [n for n in (HERE / "sample_names.txt").read_text("utf-8").splitlines() if n]
    comment = (HERE / "sample_comment.txt").read_text("utf-8").rstrip()
    out: dict[str, Any] = {"count": count}
    try:
        base = await used_memory(redis)

        mint = await asyncio.create_subprocess_exec(
            *(str(ROOT / ".venv/bin/loibinh"), "captcha", "mint"),
            *("--site", SITE, "--count", str(count)),
            env=env,
            stdout=subprocess.PIPE,
        )
        minted, _ = await mint.communicate()
        if mint.returncode != 0:
            raise SystemExit("loibinh captcha mint failed")
        captchas = [
            (line.split()[0], line.split()[1]) for line in minted.decode().splitlines() if line
        ]
        with_captchas = await used_memory(redis)
        live = [
            k
            for name, keys in (await families(redis)).items()
            if name.startswith("cap:") and name != "cap:pool"
            for k in keys
        ]
        out["per_captcha_bytes"] = round((with_captchas - base) / count, 1)
        out["per_captcha_usage_bytes"] = round(await usage(redis, live) / count, 1)

        statuses = await post_comments(
            f"{service}/v1/sites/{SITE}/comments", captchas, names, comment
        )
        out["statuses"] = {str(k): v for k, v in statuses.items()}
        if statuses != {202: count}:
            raise SystemExit(f"expected {count} answers 202, got {statuses}")
        all_in = await used_memory(redis)

        groups = await families(redis)
        rate_keys = [k for name, keys in groups.items() if name.startswith("rl:") for k in keys]
        out["rate_keys"] = len(rate_keys)
        out["per_rate_key_usage_bytes"] = round(await usage(redis, rate_keys) / len(rate_keys), 1)
        await delete(redis, rate_keys)
        without_rate = await used_memory(redis)
        out["per_rate_key_bytes"] = round((all_in - without_rate) / len(rate_keys), 1)

        idem_keys = [k for name, keys in groups.items() if name.startswith("idem:") for k in keys]
        out["idempotency_records"] = len(idem_keys)
        out["per_idempotency_usage_bytes"] = round(
            await usage(redis, idem_keys) / max(1, len(idem_keys)), 1
        )
        await delete(redis, idem_keys)
        comments_only = await used_memory(redis)
        out["per_idempotency_bytes"] = round(
            (without_rate - comments_only) / max(1, len(idem_keys)), 1
        )

        # Every minted captcha was consumed (its hash field and expiry entry
        # are gone), so what is left over the baseline is the comments: their
        # hashes, queue entries, author indexes, whatever accept.lua writes.
        out["per_comment_bytes"] = round((comments_only - base) / count, 1)
        breakdown = {}
        for name, keys in sorted((await families(redis)).items()):
            if name.startswith("cap:"):
                continue  # the one-challenge pool, there from the start
            breakdown[name] = {
                "keys": len(keys),
                "bytes_per_comment": round(await usage(redis, keys) / count, 1),
            }
        out["per_comment_breakdown"] = breakdown
        out["per_comment_usage_bytes"] = round(
            sum(b["bytes_per_comment"] for b in breakdown.values()), 1
        )
        comment_key = next(k for name, keys in groups.items() if name == "c:*" for k in keys)
        encoding = await redis.object("encoding", comment_key)
        out["comment_hash_encoding"] = (
            encoding.decode() if isinstance(encoding, bytes) else str(encoding)
        )
        out["comment_note"] = "all an accepted comment leaves in Redis; 200-char body"
        out["redis_version"] = (await redis.info("server"))["redis_version"]
    finally:
        await redis.aclose()
    return out


def wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    redis_port, service_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="loibinh-memory-") as tmp:
        config = Path(tmp) / "loibinh.toml"
        config.write_text(CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOIBINH_")}
        env.update(
            LOIBINH_MODE="production",
            LOIBINH_SECRET_KEY=secrets.token_urlsafe(36),
            LOIBINH_REDIS__URL=f"redis://127.0.0.1:{redis_port}/0",
            LOIBINH_PORT=str(service_port),
            LOIBINH_CONFIG=str(config),
            LOIBINH_LOG_LEVEL="WARNING",
            PROMETHEUS_MULTIPROC_DIR=tmp,
        )
        redis_server = subprocess.Popen(
            [
                *("redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        service = None
        try:
            wait_until(
                lambda: socket.create_connection(("127.0.0.1", redis_port), 0.2).close() is None,
                "redis-server",
            )
            service = subprocess.Popen(
                [str(ROOT / ".venv/bin/loibinh"), "serve", "--workers", "1"],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            base_url = f"http://127.0.0.1:{service_port}"
            wait_until(lambda: _ok(base_url + "/readyz"), "loibinh serve")
            time.sleep(1.0)  # let the captcha refill render its one challenge
            result = asyncio.run(
                measure(f"redis://127.0.0.1:{redis_port}/0", base_url, args.count, env)
            )
        finally:
            if service is not None:
                stop(service)
            stop(redis_server)
    if args.json:
        print(json.dumps(result))
        return 0
    n = result["count"]
    print(f"Redis {result['redis_version']}, {n} comments (used_memory growth; MEMORY USAGE sum)")
    print(
        f"  queued comment  {result['per_comment_bytes']:8.0f} B  "
        f"({result['per_comment_usage_bytes']:.0f} B)  {result['comment_note']}; "
        f"comment hash encoded as {result['comment_hash_encoding']}"
    )
    for name, part in result["per_comment_breakdown"].items():
        print(f"    {name:<14}{part['bytes_per_comment']:8.0f} B  ({part['keys']} keys)")
    print(
        f"  rate-limit key  {result['per_rate_key_bytes']:8.0f} B  "
        f"({result['per_rate_key_usage_bytes']:.0f} B)  {result['rate_keys']} keys"
    )
    print(
        f"  live captcha    {result['per_captcha_bytes']:8.0f} B  "
        f"({result['per_captcha_usage_bytes']:.0f} B)  minted, not yet answered"
    )
    print(
        f"  idempotency     {result['per_idempotency_bytes']:8.0f} B  "
        f"({result['per_idempotency_usage_bytes']:.0f} B)  kept 24 h per Idempotency-Key"
    )
    return 0


def _ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (local URL)
        return bool(answer.status == 200)


if __name__ == "__main__":
    raise SystemExit(main())
