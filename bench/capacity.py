"""Capacity per worker core and per Redis shard (docs/capacity.md).

For each workload (comment submissions, reads of a 20-comment thread,
captcha issues from the pre-rendered pool) it runs wrk against
`loibinh serve --workers 1` on a private redis-server and reads from /proc
how much CPU the worker (with its children) and Redis used during the run.
Requests divided by CPU-seconds is what one worker core and one Redis core
(a Redis shard runs its commands on one thread) each sustain. CPU-seconds,
unlike a wall-clock rate, hold on a shared machine: another process taking
the core makes a run slower, not cheaper. Each workload runs BENCH_REPEATS
times (5); the medians are printed and written to
bench/results/capacity.json, every run included. Redis memory per stored
comment is the growth of `used_memory` over the submissions, divided by
the comments accepted, the rate-limit keys of their emails included.

The baseline, in the same run: bench/ceiling.py (a bare aiohttp handler that
parses the same JSON with pydantic and does one EVALSHA) with one worker,
given the same submissions and measured the same way. Its CPU per request
on an idle machine is known (docs/benchmarks.md), so its figure here says
how much the machine's load inflated every figure of the run.

    .venv/bin/python bench/capacity.py
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from driver import (  # noqa: E402
    CpuMeter,
    context,
    fake_captchas,
    mint,
    reset,
    wait_ready,
    wrk,
)

from service.captcha import render  # noqa: E402
from service.store.keyschema import SiteKeys  # noqa: E402
from tests.redis_process import free_port  # noqa: E402

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
SECONDS = float(os.environ.get("BENCH_DURATION", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SITE, READS = "bench", "reads"
THREAD = "thoi-su-2026-12-07"
CONFIG = f"""
[sites.{SITE}]
moderation = "pre"
locale = "vi"

[sites.{SITE}.rate_limits]
submit.ip = {{ limit = 1000000, period = 60, burst = 1000000 }}
submit.email = {{ limit = 1000000, period = 60, burst = 1000000 }}
captcha.ip = {{ limit = 1000000, period = 60, burst = 1000000 }}

[sites.{READS}]
moderation = "post"

[sites.{READS}.rate_limits]
submit.ip = {{ limit = 1000000, period = 60, burst = 1000000 }}
"""
POST_LUA = 'wrk.method = "POST"\n'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plain_wrk(url: str, script: Path | None, label: str) -> dict[str, Any]:
    """wrk without a body script: requests, non-2xx answers, requests/s."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS:g}s", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    errors = re.search(r"Socket errors: (.*)", done.stdout)
    return {
        "label": label,
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def fill_pool(r: redis.Redis, count: int, secret: str) -> None:
    """The site's pool, filled with real image challenges (without the spoken
    clip, which would make 16,000 of them 900 MB): a few rendered, copied
    under fresh ids (the issue script never looks inside an entry), so that
    the service renders nothing during a run."""
    key = SiteKeys("lb", SITE).captcha_pool
    samples = render.render_batch(secret, SITE, 8, 200, 70, None)
    batch = []
    for i in range(count):
        _, rest = samples[i % len(samples)].split(b" ", 1)
        batch.append(render.new_challenge_id().encode() + b" " + rest)
        if len(batch) == 200:
            r.rpush(key, *batch)
            batch = []
    if batch:
        r.rpush(key, *batch)


def post_thread(base: str, captchas: Path, count: int) -> None:
    """`count` approved comments in the reads site's thread (post-moderation)."""
    lines = captchas.read_text().split("\n")
    comment = (HERE / "sample_comment.txt").read_text().strip()
    for i in range(count):
        challenge, answer = lines[i].split()
        body = {
            "thread": THREAD,
            "author": {"name": "Nguyễn Thị Thùy Dương", "email": f"doc.gia.{i}@example.vn"},
            "body": comment,
            "captcha": {"id": challenge, "answer": answer},
        }
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 of our own
            f"{base}/v1/sites/{READS}/comments",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer_:  # noqa: S310
            assert answer_.status == 202, answer_.status


def per_core(run: dict[str, Any], done: int) -> dict[str, float]:
    cores = run["cpu_cores"]
    seconds = SECONDS
    return {
        "per_worker_core": round(done / (cores["service"] * seconds), 1),
        "per_redis_core": round(done / (cores["redis"] * seconds), 1),
    }


def main() -> int:
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: `make bench` installs it")
    results: dict[str, Any] = {"context": context(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="loibinh-capacity-") as tmp_name:
        tmp = Path(tmp_name)
        redis_port, port, ceiling_port = free_port(), free_port(), free_port()
        redis_process = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", tmp_name,
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (tmp / "loibinh.toml").write_text(CONFIG)
        secret = secrets.token_urlsafe(36)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LOIBINH_")},
            "LOIBINH_MODE": "production",
            "LOIBINH_SECRET_KEY": secret,
            "LOIBINH_REDIS__URL": f"redis://127.0.0.1:{redis_port}/0",
            "LOIBINH_PORT": str(port),
            "LOIBINH_CONFIG": str(tmp / "loibinh.toml"),
            "LOIBINH_LOG_LEVEL": "WARNING",
            # The pool is filled by hand; the service renders only when it is empty.
            "LOIBINH_CAPTCHA__POOL_SIZE": "2",
            "LOIBINH_CAPTCHA__POOL_LOW_WATER": "1",
            "LOIBINH_CAPTCHA__RENDER_BATCH": "2",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("LOIBINH_")})
        service = subprocess.Popen(
            [str(ROOT / ".venv/bin/loibinh"), "serve", "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "service.log").open("w"),
        )
        ceiling = subprocess.Popen(
            [sys.executable, str(HERE / "ceiling.py"), "--port", str(ceiling_port),
             "--workers", "1", "--redis-url", f"redis://127.0.0.1:{redis_port}/0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(f"{base}/readyz")
            wait_ready(f"http://127.0.0.1:{ceiling_port}/healthz")
            r = redis.Redis(port=redis_port)
            time.sleep(3)  # the first pool render at start, out of the way
            meter = CpuMeter({"service": service.pid, "redis": redis_process.pid})
            ceiling_meter = CpuMeter({"service": ceiling.pid, "redis": redis_process.pid})
            post_thread(base, mint(20, READS, tmp / "thread.txt"), 20)
            (tmp / "post.lua").write_text(POST_LUA)
            runs: dict[str, list[dict[str, Any]]] = {
                "submit": [],
                "read": [],
                "captcha": [],
                "ceiling": [],
            }
            memory: list[float] = []
            for repeat in range(REPEATS):
                log(f"round {repeat + 1} of {REPEATS}")
                # Submissions: a fresh captcha and a fresh email each.
                reset(r, SITE)
                captchas = mint(int(2500 * SECONDS), SITE, tmp / "captchas.txt")
                before = int(r.info("memory")["used_memory"])
                run: dict[str, Any] = {}
                with meter.measure(run):
                    result = wrk(
                        f"{base}/v1/sites/{SITE}/comments", captchas, SECONDS, 1, CONNECTIONS, "s"
                    )
                accepted = int(result["statuses"].get("202", 0))
                grown = int(r.info("memory")["used_memory"]) - before
                memory.append(grown / max(accepted, 1))
                run |= {"accepted": accepted, "statuses": result["statuses"]}
                run |= per_core(run, accepted)
                runs["submit"].append(run)
                # The baseline: the bare handler, the same bodies.
                run = {}
                fakes = fake_captchas(int(8000 * SECONDS), tmp / "fakes.txt")
                with ceiling_meter.measure(run):
                    result = wrk(
                        f"http://127.0.0.1:{ceiling_port}/v1/sites/{SITE}/comments",
                        fakes,
                        SECONDS,
                        1,
                        CONNECTIONS,
                        "ceiling",
                    )
                run["statuses"] = result["statuses"]
                run |= per_core(run, int(result["statuses"].get("202", 0)))
                runs["ceiling"].append(run)
                # Reads of the 20-comment thread, as an article page asks (no ETag).
                run = {}
                with meter.measure(run):
                    result = plain_wrk(
                        f"{base}/v1/sites/{READS}/threads/{THREAD}/comments", None, "r"
                    )
                run |= result | per_core(run, result["requests"] - result["non_2xx"])
                runs["read"].append(run)
                # Captcha issues from the pool.
                r.delete(SiteKeys("lb", SITE).captcha_pool)
                fill_pool(r, int(2000 * SECONDS), secret)
                run = {}
                with meter.measure(run):
                    result = plain_wrk(f"{base}/v1/sites/{SITE}/captchas", tmp / "post.lua", "c")
                # A pool that ran dry means challenges rendered during the run: not comparable.
                run["pool_left"] = int(r.llen(SiteKeys("lb", SITE).captcha_pool))
                run |= result | per_core(run, result["requests"] - result["non_2xx"])
                runs["captcha"].append(run)
                r.delete(SiteKeys("lb", SITE).captcha_pool)
                for name, each in runs.items():
                    log(f"  {name}: {json.dumps(each[-1])}")
        finally:
            ceiling.terminate()
            ceiling.wait(30)
            service.terminate()
            service.wait(30)
            redis_process.terminate()
            redis_process.wait(10)
    results["runs"] = runs
    summary: dict[str, Any] = {}
    for name, each in runs.items():
        summary[name] = {
            key: statistics.median(run[key] for run in each)
            for key in ("per_worker_core", "per_redis_core")
        }
        summary[name]["machine_cores_busy"] = statistics.median(
            run["cpu_cores"]["machine"] for run in each
        )
    summary["memory_bytes_per_comment"] = round(statistics.median(memory))
    results["summary"] = summary
    out = HERE / "results" / "capacity.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
