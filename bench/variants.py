"""What holds the tail: the service as it is against the same service with one
thing removed or changed, side by side on one Redis, under the same open-loop
rate, runs interleaved (A, B, A, B, ...) so that the shared machine's noise
falls on both alike.

    .venv/bin/python bench/variants.py --rate 400 --repeats 3 \\
        as-is no-freeze no-background no-metrics gen0x10

Each variant runs as `loibinh serve` does (N workers on one port with
SO_REUSEPORT, uvloop, production mode), changed only in how its workers are
started:

- `as-is`: the service (start-up frozen with gc.freeze, every background task);
- `no-freeze`: without gc.freeze after start-up;
- `gen0x10`: the collector's first threshold ten times higher (7,000);
- `no-background`: no captcha refill, webhook delivery, model poller or learner;
- `no-metrics`: the per-request metrics (request counter, latency histogram,
  submissions counter) made no-ops;
- `no-lag-watch`: without the event-loop lag task and the collector's timing.

For each run it prints the p50/p99/p999 (open loop, bench/openloop.py), the
workers' CPU per request and the event-loop lag the variant itself measured,
then the medians per variant. It needs redis-server and the .venv.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from driver import (  # noqa: E402 (bench/ is not a package)
    CpuMeter,
    histogram_delta,
    mint,
    openloop,
    refused,
    reset,
    scrape,
    wait_for_pool,
    wait_ready,
)

VARIANTS = ("as-is", "no-freeze", "gen0x10", "no-background", "no-metrics", "no-lag-watch")

CONFIG = """
[sites.bench]
moderation = "pre"
locale = "vi"

[sites.bench.rate_limits]
submit.ip = { limit = 1000000, period = 60, burst = 1000000 }
submit.email = { limit = 1000000, period = 60, burst = 1000000 }
captcha.ip = { limit = 1000000, period = 60, burst = 1000000 }
"""


def run_worker(variant: str, port: int) -> None:
    """One worker of a variant: service.serve.run_worker, changed as named."""
    import uvloop
    from aiohttp import web

    from service import main, metrics, runtime
    from service.settings import load_settings

    settings = load_settings(port=port, workers=2)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    options: dict[str, bool] = {}
    if variant == "no-background":
        options = {"refill_captchas": False, "deliver_webhooks": False, "learn": False}
    if variant == "no-metrics":
        metrics.Metrics.answered = lambda *a, **k: None  # type: ignore[method-assign]
        metrics.Metrics.submitted = lambda *a, **k: None  # type: ignore[method-assign]
    if variant == "no-lag-watch":

        async def idle(*args: object, **kwargs: object) -> None:
            await asyncio.Event().wait()

        main.watch_loop = idle  # type: ignore[assignment]
        main.GcWatch.install = lambda self: None  # type: ignore[method-assign]
    app = main.create_app(settings, **options)
    if variant == "gen0x10":
        gc.set_threshold(7000, 10, 10)
    if variant != "no-freeze":

        async def freeze(app: web.Application) -> None:
            runtime.freeze_start_up()

        app.on_startup.append(freeze)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        reuse_port=True,
        access_log=None,
        print=None,
        shutdown_timeout=2,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def supervise(variant: str, port: int, workers: int) -> None:
    """The variant's own supervisor process: its workers, stopped on SIGTERM."""
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    for _ in range(workers):
        process = context.Process(target=run_worker, args=(variant, port))
        process.start()
        processes.append(process)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.is_alive() for p in processes):
        time.sleep(0.2)
    for process in processes:
        process.terminate()
        process.join(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", choices=VARIANTS)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "variants.json")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="loibinh-variants."))
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            *("redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(tmp), "--logfile", str(tmp / "redis.log")),
        ]
    )
    (tmp / "loibinh.toml").write_text(CONFIG)
    os.environ.update(
        LOIBINH_MODE="production",
        LOIBINH_SECRET_KEY=secrets.token_urlsafe(36),
        LOIBINH_REDIS__URL=f"redis://127.0.0.1:{redis_port}/0",
        LOIBINH_CONFIG=str(tmp / "loibinh.toml"),
        LOIBINH_LOG_LEVEL="WARNING",
    )
    supervisors: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for variant in args.variants:
            port = free_port()
            metrics_dir = tmp / f"metrics-{variant}"
            metrics_dir.mkdir()
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
            process = subprocess.Popen(
                [sys.executable, __file__, "--supervise", variant, str(port), str(args.workers)],
                env=env,
            )
            supervisors[variant] = (process, port)
        import redis as redis_py

        client = redis_py.Redis(port=redis_port)
        for _, port in supervisors.values():
            wait_ready(f"http://127.0.0.1:{port}/readyz")
        wait_for_pool(client, "bench")
        groups = {variant: process.pid for variant, (process, _) in supervisors.items()}
        meter = CpuMeter(groups)
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
        for repeat in range(args.repeats):
            for variant, (_, port) in supervisors.items():
                reset(client, "bench")
                base = f"http://127.0.0.1:{port}"
                count = int(args.rate * (args.warmup + args.duration) * 1.05) + 200
                captchas = mint(count, "bench", tmp / f"{variant}{repeat}.captchas")
                before = scrape(base)
                extra: dict[str, Any] = {}
                with meter.measure(extra):
                    result = openloop(
                        base + "/v1/sites/bench/comments",
                        args.rate,
                        captchas,
                        args.duration,
                        args.warmup,
                        args.connections,
                        f"{variant}{repeat}",
                    )
                result.update(extra)
                result["runtime"] = histogram_delta(before, scrape(base))
                result["refused"] = refused(result)
                result["cpu_us_per_request"] = round(
                    extra["cpu_cores"][variant] * 1e6 / max(1.0, result["achieved_rate"]), 1
                )
                lag = result["runtime"].get("event_loop_lag_seconds", {})
                latency = result["latency_ms"]
                print(
                    f"{variant:14} p50 {latency['p50']:.2f}  p99 {latency['p99']:.2f}"
                    f"  p999 {latency['p999']:.2f} ms"
                    f"  {result['cpu_us_per_request']:.0f} us CPU/req"
                    f"  lag p99 <= {lag.get('p99_ms_under')} ms  non-202 {result['refused']}"
                    f"  other {extra['cpu_cores']['other']}",
                    flush=True,
                )
                runs[variant].append(result)
        summary = {
            variant: {
                "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in done),
                "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in done),
                "p999_ms": statistics.median(r["latency_ms"]["p999"] for r in done),
                "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in done),
                "other_cores": statistics.median(r["cpu_cores"]["other"] for r in done),
            }
            for variant, done in runs.items()
        }
        print(f"\nmedians of {args.repeats} interleaved runs at {args.rate:.0f}/s:")
        for variant, row in summary.items():
            print(f"{variant:14} " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n")
    finally:
        for process, _ in supervisors.values():
            process.terminate()
        for process, _ in supervisors.values():
            process.wait(15)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--supervise":
        supervise(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        raise SystemExit(0)
    raise SystemExit(main())
