"""What `redis.wait_replicas = 1` costs the accept path: the same
submissions, in the same run, on a private master with one replica (both
local redis-servers on free ports), with a 202 meaning "the master has it"
and with a 202 meaning "a replica acknowledged it too" (WAIT after the accept
script, on the script's connection).

Both services run in this process (one worker each, as the tests build
them) on real HTTP ports, on the same Redis, at the same time. Measured:

- one submission at a time, the two modes alternating request by request
  so that the machine's load falls on both alike: the latency of the whole
  request, and of the store's accept call alone (the script, and the WAIT
  when on), median, p90, p99 in ms; the difference of the medians is what
  the option costs;
- throughput with 32 clients at once (submissions a second), the modes
  alternating round by round.

Every answer must be a 202.

    .venv/bin/python bench/wait.py [--count 1000] [--rounds 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis
from aiohttp.test_utils import TestServer

from service.clock import now_ms
from service.http.state import SERVICES
from service.keyring import Keyring
from service.main import create_app
from service.screening import formtoken
from service.settings import Settings, load_settings

SECRET = "bench-wait-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
SITE = "bench"
CONCURRENCY = 32
LIMITS = {"limit": 1_000_000, "period": 60, "burst": 1_000_000}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Servers:
    """A master and its replica, stopped by pid."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="loibinh-bench-wait-"))
        self.master_port, self.replica_port = free_port(), free_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is missing: run `make install`")
        for name, port, extra in (
            ("master", self.master_port, []),
            ("replica", self.replica_port, ["--replicaof", "127.0.0.1", str(self.master_port)]),
        ):
            (self.dir / name).mkdir()
            args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            args += ["--appendonly", "no", "--dir", str(self.dir / name), *extra]
            args += ["--repl-diskless-sync-delay", "0"]
            self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        with redis.Redis(port=self.master_port) as master:
            while True:
                try:
                    # In sync: it acknowledges a write (online is not enough,
                    # a replica still loading its first copy acknowledges nothing).
                    master.set("bench-probe", 1)
                    if master.execute_command("WAIT", 1, 100) == 1:
                        break
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the replica never came in sync")
                time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def settings(port: int, wait_replicas: int) -> Settings:
    return load_settings(
        mode="production",
        secret_key=SECRET,
        # Timeouts long enough that a busy machine slows the figures down
        # rather than failing the run (on a loaded 2-core machine a replica
        # once took more than the default 0.5 s to acknowledge).
        redis={
            "url": f"redis://127.0.0.1:{port}/0",
            "wait_replicas": wait_replicas,
            "wait_timeout": 5,
            "connect_timeout": 5,
            "timeout": 5,
        },
        sites={SITE: {"rate_limits": {"submit": {"ip": LIMITS, "email": LIMITS}}}},
    )


@dataclass
class Mode:
    """One service, in one meaning of a 202, and what was measured of it."""

    wait_replicas: int
    app: Any
    url: str
    requests: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def time_store_calls(self) -> None:
        """Time the store's accept call alone (the script, and the WAIT if
        on): the part of a submission the option changes."""
        store = self.app[SERVICES].store
        accept = store.accept

        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await accept(*args, **kwargs)
            finally:
                self.store.append(time.perf_counter() - began)

        store.accept = timed

    async def submissions(self, count: int, tag: str) -> list[dict[str, Any]]:
        minted = await self.app[SERVICES].captcha.mint(SITE, count)
        form = Keyring.from_secret(SECRET).form
        return [
            {
                "thread": "bao-so-3",
                "author": {"name": f"Độc giả {i}", "email": f"r{i}-{tag}@example.vn"},
                "body": f"Bình luận thứ {i} ({tag}): nước đã rút ở phường {i % 13}.",
                "captcha": {"id": challenge, "answer": answer},
                "form_token": formtoken.issue(form, SITE, now_ms() - 60_000),
            }
            for i, (challenge, answer) in enumerate(minted)
        ]

    async def post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> float:
        began = time.perf_counter()
        async with session.post(self.url, json=body) as response:
            await response.read()
            if response.status != 202:
                raise SystemExit(f"answered {response.status}: {await response.text()}")
        return time.perf_counter() - began

    async def many_at_once(self, count: int, tag: str) -> None:
        bodies = iter(await self.submissions(count, tag))
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            began = time.perf_counter()

            async def client() -> None:
                for body in bodies:
                    await self.post(session, body)

            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
            self.rates.append(count / (time.perf_counter() - began))


@asynccontextmanager
async def service(port: int, wait_replicas: int) -> AsyncIterator[Mode]:
    app = create_app(settings(port, wait_replicas), refill_captchas=False, learn=False)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        mode = Mode(wait_replicas, app, str(server.make_url(f"/v1/sites/{SITE}/comments")))
        mode.time_store_calls()
        yield mode
    finally:
        await server.close()


async def one_at_a_time(modes: tuple[Mode, Mode], count: int, tag: str, keep: bool) -> None:
    """The two modes alternating request by request, each first in turn."""
    bodies = [await mode.submissions(count, f"{tag}-{mode.wait_replicas}") for mode in modes]
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            for m in (0, 1) if i % 2 == 0 else (1, 0):
                elapsed = await modes[m].post(session, bodies[m][i])
                if keep:
                    modes[m].requests.append(elapsed)
    if not keep:
        for mode in modes:
            mode.store.clear()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p90_ms": round(percentile(values, 0.9) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
    }


async def measure(port: int, count: int, rounds: int) -> dict[str, Any]:
    async with service(port, 0) as plain, service(port, 1) as waiting:
        modes = (plain, waiting)
        await one_at_a_time(modes, 50, "warm", keep=False)
        for round_ in range(rounds):
            sequential = len(plain.store)
            await one_at_a_time(modes, count, f"seq{round_}", keep=True)
            # The concurrent rounds' store calls are not the sequential figure.
            kept = [mode.store[: sequential + count] for mode in modes]
            for mode in modes if round_ % 2 == 0 else modes[::-1]:
                await mode.many_at_once(count, f"par{round_}-{mode.wait_replicas}")
            for mode, store in zip(modes, kept, strict=True):
                mode.store[:] = store
    result: dict[str, Any] = {"count_per_round": count, "rounds": rounds}
    for mode, name in ((plain, "master_only"), (waiting, "wait_1_replica")):
        result[name] = {
            "request": summary(mode.requests),
            "store_accept": summary(mode.store),
            "per_second_32_clients": round(statistics.median(mode.rates), 1),
        }
    result["extra_median_ms"] = {
        part: round(
            result["wait_1_replica"][part]["median_ms"] - result["master_only"][part]["median_ms"],
            3,
        )
        for part in ("request", "store_accept")
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="submissions per mode per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    servers = Servers()
    try:
        servers.start()
        result = asyncio.run(measure(servers.master_port, args.count, args.rounds))
    finally:
        servers.stop()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.rounds} rounds x {args.count} submissions per mode; local master and replica")
    print(f"{'':<16}{'request (ms)':>26}{'store accept (ms)':>26}{'':>10}")
    print(f"{'mode':<16}" + f"{'median':>10}{'p90':>8}{'p99':>8}" * 2 + f"{'/s (32)':>10}")
    for name in ("master_only", "wait_1_replica"):
        row = result[name]
        cells = "".join(
            f"{row[part]['median_ms']:>10.3f}{row[part]['p90_ms']:>8.3f}{row[part]['p99_ms']:>8.3f}"
            for part in ("request", "store_accept")
        )
        print(f"{name:<16}{cells}{row['per_second_32_clients']:>10.1f}")
    extra = result["extra_median_ms"]
    print(
        f"WAIT adds {extra['store_accept']:.3f} ms to the median accept call "
        f"and {extra['request']:.3f} ms to the median request"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
