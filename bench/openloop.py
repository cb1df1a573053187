"""An open-loop load generator: submissions at a fixed arrival rate, whatever
the server's answers do, for latency at a given load.

wrk is closed-loop: a connection sends its next request only when the last
one is answered, so a slow server is offered less load and its slow moments
are under-sampled (coordinated omission). Here each request has its own
scheduled send time, drawn in advance (Poisson arrivals at `--rate`), and it
is sent then whether or not earlier ones are answered.

It is one process on uvloop with a minimal HTTP/1.1 client over a fixed set
of keep-alive connections (requests go to the longest-idle connection, so the
load spreads over all of them, hence over the server's SO_REUSEPORT workers).
A request with no idle connection waits for one. Request bytes are built
before the clock starts. Three latencies are kept per request:

- `latency`: from writing the request to reading the whole answer;
- `lag`: from its scheduled time to writing it (this generator's own delay:
  timer granularity, busy event loop, no idle connection);
- `corrected`: lag + latency, what a reader arriving at the scheduled time
  would have waited.

The generator shows it is not the bottleneck when, against the ceiling at the
same rate, it sends on schedule (small lag) and achieves the rate.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import resource
import secrets
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import uvloop

HERE = Path(__file__).resolve().parent


def body(name: str, email: str, comment: str, captcha_id: str, answer: str) -> bytes:
    return json.dumps(
        {
            "thread": "ca-mau-2022-08-12",
            "parent_id": None,
            "author": {"name": name, "email": email},
            "body": comment,
            "captcha": {"id": captcha_id, "answer": answer},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def build_requests(
    url: str, count: int, captchas: list[tuple[str, str]], label: str
) -> list[bytes]:
    parts = urlsplit(url)
    names = [n for n in (HERE / "sample_names.txt").read_text("utf-8").splitlines() if n]
    comment = (HERE / "sample_comment.txt").read_text("utf-8").rstrip()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    out = []
    for i in range(count):
        # Past the minted ones (or for the ceiling, which checks none): an id
        # of the same shape that the service will refuse.
        captcha_id, answer = (
            captchas[i] if i < len(captchas) else (secrets.token_urlsafe(16), "AAAAA")
        )
        email = f"doc.gia.{label}.{i}@example.vn"
        payload = body(names[i % len(names)], email, comment, captcha_id, answer)
        out.append(head + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    return out


def build_plain(url: str, count: int, method: str, headers: list[str]) -> list[bytes]:
    """The same bodiless request `count` times: a captcha issued, a thread
    read, /healthz."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{h}\r\n" for h in headers)
    length = "Content-Length: 0\r\n" if method == "POST" else ""
    one = f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}{length}\r\n"
    return [one.encode()] * count


@dataclass
class Stats:
    scheduled: list[float]
    sent: list[float]
    done: list[float]
    status: list[int]
    errors: list[str] = field(default_factory=list)


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time (no pipelining)."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.need = -1
        self.status = 0
        self.current = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, index: int, data: bytes) -> None:
        assert self.transport is not None
        self.current = index
        self.gen.stats.sent[index] = time.perf_counter()
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                self.status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                if at < 0:
                    self.gen.fail(self, "answer without Content-Length")
                    return
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
                self.need = end + 4 + length
            if len(self.buffer) < self.need:
                return
            self.buffer = self.buffer[self.need :]
            self.need = -1
            index, self.current = self.current, -1
            self.gen.answered(self, index, self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self, exc)


class Generator:
    def __init__(self, host: str, port: int, requests: list[bytes], connections: int) -> None:
        self.host, self.port = host, port
        self.requests = requests
        self.connection_count = connections
        n = len(requests)
        self.stats = Stats([0.0] * n, [0.0] * n, [0.0] * n, [0] * n)
        self.idle: deque[Connection] = deque()
        self.waiting: deque[int] = deque()
        self.outstanding = 0
        self.finished = asyncio.Event()
        self.closing = False

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self.connection_count):
            _, conn = await loop.create_connection(lambda: Connection(self), self.host, self.port)
            self.idle.append(conn)

    def submit(self, index: int) -> None:
        self.outstanding += 1
        if self.idle:
            self.idle.popleft().send(index, self.requests[index])
        else:
            self.waiting.append(index)

    def answered(self, conn: Connection, index: int, status: int) -> None:
        self.stats.done[index] = time.perf_counter()
        self.stats.status[index] = status
        self.outstanding -= 1
        if self.waiting:
            waiting = self.waiting.popleft()
            conn.send(waiting, self.requests[waiting])
        else:
            self.idle.append(conn)
        if self.outstanding == 0 and self.closing:
            self.finished.set()

    def fail(self, conn: Connection, reason: str) -> None:
        self.stats.errors.append(reason)
        if conn.transport is not None:
            conn.transport.close()

    def lost(self, conn: Connection, exc: Exception | None) -> None:
        if self.closing and conn.current < 0:
            return
        self.stats.errors.append(f"connection lost: {exc!r}")
        if conn.current >= 0:
            self.outstanding -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.outstanding == 0 and self.closing:
            self.finished.set()

    async def run(self, schedule: list[float], drain_seconds: float) -> float:
        """Send request i at start + schedule[i]; returns the start time."""
        start = time.perf_counter() + 0.05
        for i, offset in enumerate(schedule):
            self.stats.scheduled[i] = start + offset
        i, total = 0, len(schedule)
        while i < total:
            now = time.perf_counter()
            while i < total and self.stats.scheduled[i] <= now:
                self.submit(i)
                i += 1
            if i < total:
                # The event loop's timers have millisecond granularity: the
                # lag each request reports includes this.
                await asyncio.sleep(max(0.0, self.stats.scheduled[i] - time.perf_counter()))
        self.closing = True
        if self.outstanding:
            try:
                await asyncio.wait_for(self.finished.wait(), drain_seconds)
            except TimeoutError:
                self.stats.errors.append(f"{self.outstanding} requests unanswered at the end")
        for conn in list(self.idle):
            if conn.transport is not None:
                conn.transport.close()
        return start


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        # Nothing answered in the window (a server far past its capacity):
        # every figure is unbounded, not missing.
        return dict.fromkeys(("mean", "p50", "p90", "p99", "p999", "max"), math.inf)
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1e3, 3)

    return {
        "mean": round(sum(ordered) / len(ordered) * 1e3, 3),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": round(ordered[-1] * 1e3, 3),
    }


def load_captchas(path: Path | None) -> list[tuple[str, str]]:
    if path is None:
        return []
    out = []
    for line in path.read_text("ascii").splitlines():
        captcha_id, _, answer = line.partition(" ")
        if captcha_id:
            out.append((captcha_id, answer.strip()))
    return out


def schedule_for(rate: float, seconds: float, arrivals: str, seed: int) -> list[float]:
    rng = random.Random(seed)
    out, t = [], 0.0
    while t < seconds:
        out.append(t)
        t += rng.expovariate(rate) if arrivals == "poisson" else 1.0 / rate
    return out


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    total_seconds = args.warmup + args.duration
    schedule = schedule_for(args.rate, total_seconds, args.arrivals, args.seed)
    captchas = load_captchas(args.captchas)
    if args.method == "SUBMIT":
        requests = build_requests(args.url, len(schedule), captchas, args.label)
    else:
        requests = build_plain(args.url, len(schedule), args.method, args.header)
    gen = Generator(parts.hostname or "127.0.0.1", parts.port or 80, requests, args.connections)
    await gen.connect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = await gen.run(schedule, drain_seconds=5.0)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    s = gen.stats
    window = [i for i, offset in enumerate(schedule) if offset >= args.warmup]
    answered = [i for i in window if s.done[i] > 0]
    statuses: dict[str, int] = {}
    for i in range(len(schedule)):
        if s.done[i] > 0:
            key = str(s.status[i])
            statuses[key] = statuses.get(key, 0) + 1
    measured_end = max((s.done[i] for i in answered), default=start)
    measured_start = start + args.warmup
    return {
        "target_rate": args.rate,
        "arrivals": args.arrivals,
        "connections": args.connections,
        "requests": len(window),
        "answered": len(answered),
        "achieved_rate": round(len(answered) / max(1e-9, measured_end - measured_start), 1),
        "sent_rate": round(
            len(window) / max(1e-9, max(s.sent[i] for i in window) - measured_start), 1
        ),
        "captchas_short": max(0, len(schedule) - len(captchas)) if captchas else None,
        "latency_ms": percentiles([s.done[i] - s.sent[i] for i in answered]),
        "lag_ms": percentiles([s.sent[i] - s.scheduled[i] for i in answered]),
        "corrected_ms": percentiles([s.done[i] - s.scheduled[i] for i in answered]),
        "statuses": statuses,
        "errors": s.errors[:10],
        "error_count": len(s.errors),
        "generator_cpu": round((cpu1 - cpu0) / (wall1 - wall0), 3),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="e.g. http://127.0.0.1:8080/v1/sites/bench/comments")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds sent, not measured")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    parser.add_argument("--captchas", type=Path, help="`loibinh captcha mint` output")
    parser.add_argument(
        "--method",
        choices=("SUBMIT", "GET", "POST"),
        default="SUBMIT",
        help="SUBMIT: a comment per request (the default); GET or POST: the same bodiless request",
    )
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--label", default="ol", help="tag in the generated email addresses")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = uvloop.run(main_async(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
