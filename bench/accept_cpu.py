"""CPU per submission on the accept path (POST /v1/sites/{site}/comments),
measured as the worker's own CPU time rather than wall time, so that a busy
shared machine does not blur it.

The app runs in this process behind aiohttp's real server (AppRunner and a
TCP site), against a throwaway redis-server; a minimal client on the same
event loop writes ready-made HTTP requests on one keep-alive connection and
reads the answers. time.thread_time() over a batch, divided by its size, is
the CPU the worker spends on one submission (the client's share is a few
microseconds of socket calls; Redis runs in its own process and is not
counted). Each submission takes its own captcha, email and a comment of the
corpora in tests/data, as the bench site of bench/run.sh is configured.

To compare two checkouts in the same run, give the other one with --base:
batches alternate between the two (each in its own child process) and the
medians are printed side by side.

With --instructions, valgrind's callgrind counts the instructions instead
(a shared machine does not blur them): each round runs a child of
--short submissions and one of --count, and the difference over the extra
submissions is the figure, start-up and warm-up cancelled out.

    .venv/bin/python bench/accept_cpu.py [--count 2000] [--rounds 5] [--base DIR]
    .venv/bin/python bench/accept_cpu.py --instructions [--rounds 2] [--base DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from alternating import HERE, alternate, checkouts, child_figures  # noqa: E402 (bench/ is not a package)

MANY = {"limit": 1_000_000, "period": 60, "burst": 1_000_000}


def corpus(root: Path) -> list[str]:
    bodies = []
    for name in ("corpus.jsonl", "corpus-b.jsonl", "heldout.jsonl"):
        for line in (root / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line:
                bodies.append(json.loads(line)["body"][:5000] or "Hay")
    return bodies


def request(site: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"POST /v1/sites/{site}/comments HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def measure(count: int, batches: int) -> list[float]:
    """CPU microseconds per submission, one figure per batch."""
    from aiohttp import web

    from service.http.state import SERVICES
    from service.main import create_app
    from service.settings import load_settings

    sys.path.insert(0, os.getcwd())
    import service
    from tests.redis_process import RedisProcess

    print(f"measuring {service.__file__}", file=sys.stderr)
    bodies = corpus(Path.cwd())
    limits = {"submit": {"ip": MANY, "email": MANY}, "captcha": {"ip": MANY}}
    site = {"moderation": "pre", "locale": "vi", "rate_limits": limits}
    with RedisProcess() as server:
        settings = load_settings(
            mode="production",
            secret_key=secrets.token_hex(32),
            redis={"url": server.url},
            sites={"bench": site},
        )
        app = create_app(settings, refill_captchas=False, deliver_webhooks=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        figures = []
        refused: dict[int, int] = {}
        try:
            sent = 0
            for batch in range(batches + 1):  # the first batch warms caches up
                captchas = await app[SERVICES].captcha.mint("bench", count)
                requests = []
                for cid, answer_ in captchas:
                    sent += 1
                    body = {
                        "thread": f"t{sent % 20}",
                        "author": {"name": "Bạn đọc", "email": f"r{sent}@example.vn"},
                        "body": bodies[sent % len(bodies)],
                        "captcha": {"id": cid, "answer": answer_},
                    }
                    requests.append(request("bench", body))
                started = time.thread_time()
                for raw in requests:
                    writer.write(raw)
                    status = await answer(reader)
                    # A machine busy enough to miss the accept deadline
                    # answers 503 now and then: counted, and fatal past 1 %.
                    if status != 202:
                        refused[status] = refused.get(status, 0) + 1
                spent = time.thread_time() - started
                if batch:
                    figures.append(spent / count * 1e6)
        finally:
            writer.close()
            await runner.cleanup()
    if sum(refused.values()) > count * (batches + 1) / 100:
        raise SystemExit(f"answers other than 202: {refused}")
    print(f"answers other than 202: {refused}", file=sys.stderr)
    return figures


def child(count: int, batches: int) -> None:
    print(json.dumps(asyncio.run(measure(count, batches))))


def instructions(tree: Path, count: int) -> int:
    """Instructions a child of `count` submissions (one batch) executes, as
    callgrind counts them. A fixed hash seed makes the runs repeat; one
    OpenBLAS thread keeps its idle workers' spinning out of the count."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, str(HERE / "accept_cpu.py"), "--child"]
    command += ["--count", str(count), "--batches", "0"]
    run = subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True, text=True)
    counted = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if counted is None:
        raise SystemExit(f"no instruction count from valgrind:\n{run.stderr[-2000:]}")
    return int(counted.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="submissions per batch")
    parser.add_argument("--batches", type=int, default=3, help="batches per child process")
    parser.add_argument("--rounds", type=int, default=5, help="child processes per tree")
    parser.add_argument("--base", type=Path, help="another checkout to measure alongside")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per submission under callgrind instead of timing",
    )
    parser.add_argument(
        "--short", type=int, default=200, help="submissions of the shorter --instructions run"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.count, args.batches)
        return 0
    trees = checkouts(args.base)
    if args.instructions:
        return count_instructions(trees, args.rounds, args.short, args.count)
    figures: dict[str, list[float]] = {name: [] for name in trees}
    sizes = ("--count", str(args.count), "--batches", str(args.batches))
    for name, tree in alternate(trees, args.rounds):
        figures[name] += child_figures(tree, "accept_cpu.py", *sizes)
    for name, values in figures.items():
        print(
            f"{name}: {statistics.median(values):.0f} us CPU per submission "
            f"(median of {len(values)} batches of {args.count}; "
            f"min {min(values):.0f}, max {max(values):.0f})"
        )
    if args.base:
        this, base = (statistics.median(figures[n]) for n in ("this", "base"))
        print(f"change: {this - base:+.0f} us ({(this - base) / base:+.1%})")
    return 0


def count_instructions(trees: dict[str, Path], rounds: int, short: int, count: int) -> int:
    """Instructions per submission, the difference of a run of `count` and
    one of `short` over the extra submissions, each round in each tree."""
    figures: dict[str, list[float]] = {name: [] for name in trees}
    for name, tree in alternate(trees, rounds):
        extra = instructions(tree, count) - instructions(tree, short)
        figures[name].append(extra / (count - short))
        print(f"{name}: {figures[name][-1]:,.0f}", file=sys.stderr)
    for name, values in figures.items():
        print(
            f"{name}: {statistics.median(values):,.0f} instructions per submission "
            f"(median of {len(values)} rounds; min {min(values):,.0f}, max {max(values):,.0f})"
        )
    if "base" in figures:
        this, base = (statistics.median(figures[n]) for n in ("this", "base"))
        print(f"change: {this - base:+,.0f} ({(this - base) / base:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
