"""The process's life (issue 13, item 6): stopping gracefully on SIGTERM,
no process left behind when a worker or the supervisor is killed outright,
/metrics on its own port, the JSON log with a line per request, and the
problem document for a request aiohttp cannot parse (item 7)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from service.http.protocol import ServiceRunner
from service.main import create_app
from service.settings import Settings
from tests.helpers import Supervisor, alive, children_of, cmdline, eventually, samples
from tests.redis_process import RedisProcess, free_port


def renderers_of(pid: int) -> list[int]:
    """The captcha render processes a serving process started (multiprocessing's spawn)."""
    return [p for p in children_of(pid) if "spawn_main" in cmdline(p)]


def descendants(pid: int) -> list[int]:
    found = []
    for child in children_of(pid):
        found += [child, *descendants(child)]
    return found


@pytest.fixture
def serving(redis_server: RedisProcess, tmp_path: Path) -> Iterator[list[Supervisor]]:
    """Servers a test starts (as `Supervisor`s), stopped and reaped at its end."""
    started: list[Supervisor] = []
    yield started
    for server in started:
        everything = descendants(server.process.pid)
        server.stop()
        for pid in everything:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def start(
    serving: list[Supervisor], redis_server: RedisProcess, tmp_path: Path, workers: int, **env: str
) -> Supervisor:
    metrics_dir = tmp_path / f"metrics-{len(serving)}"
    metrics_dir.mkdir()
    server = Supervisor(redis_server.url, metrics_dir, workers, **env)
    serving.append(server)
    return server


async def ready(server: Supervisor, port: int | None = None) -> None:
    async def probe() -> int:
        if server.process.poll() is not None:
            assert server.process.stderr is not None
            pytest.fail(f"serve exited: {server.process.stderr.read().decode()}")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port or server.port}/readyz") as response,
            ):
                return response.status
        except aiohttp.ClientConnectionError:
            return 0

    await eventually(probe, "the service to be ready", until=lambda s: s == 200, within=30)


# --- nothing left behind -----------------------------------------------------------------------


async def test_a_worker_killed_outright_leaves_no_render_process(
    serving: list[Supervisor], redis_server: RedisProcess, tmp_path: Path
) -> None:
    """kill -9 of a worker takes its render process with it (each used to
    be orphaned, 58 MB apiece); kill -9 of the supervisor takes every worker."""
    server = start(serving, redis_server, tmp_path, 2)
    workers = await eventually(
        server.find_workers, "two workers", until=lambda w: len(w) == 2, within=30
    )

    def rendering() -> list[int]:
        return [worker for worker in workers if renderers_of(worker)]

    # The worker that fills the captcha pool at start does it in a render
    # process of its own (one worker renders for a site at a time).
    victim = (await eventually(rendering, "a render process", within=30))[0]
    left = descendants(victim)
    assert renderers_of(victim)
    os.kill(victim, signal.SIGKILL)
    await eventually(
        lambda: [pid for pid in left if alive(pid)],
        "the killed worker's children to exit",
        until=lambda living: not living,
        # A renderer still starting dies only once its initializer runs,
        # which takes a while on a loaded machine.
        within=30,
    )
    # The supervisor starts a new worker.
    await eventually(
        lambda: [w for w in server.find_workers() if w != victim],
        "a new worker beside the one left",
        until=lambda w: len(w) == 2,
        within=30,
    )
    everything = descendants(server.process.pid)
    assert len(everything) >= 2
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    await eventually(
        lambda: [pid for pid in everything if alive(pid)],
        "every worker and renderer to exit with the supervisor",
        until=lambda living: not living,
        within=30,
    )


# --- stopping ----------------------------------------------------------------------------------


async def test_sigterm_fails_readiness_first_then_finishes_requests_in_flight(
    serving: list[Supervisor], redis_server: RedisProcess, tmp_path: Path
) -> None:
    server = start(serving, redis_server, tmp_path, 1, LOIBINH_DRAIN_SECONDS="2")
    await ready(server)
    await eventually(lambda: renderers_of(server.process.pid), "the render process", within=30)
    children = descendants(server.process.pid)
    base = f"http://127.0.0.1:{server.port}"

    # A submission whose body is half sent: its handler is waiting for the rest.
    body = json.dumps(
        {
            "thread": "t",
            "author": {"name": "Ai Đó", "email": "ai@example.vn"},
            "body": "Còn đang gửi.",
            "captcha": {"id": "x" * 22, "answer": "ZZZZZ"},
        }
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /v1/sites/news/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10]
    )
    await writer.drain()

    server.process.send_signal(signal.SIGTERM)

    async def readiness() -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/readyz") as response,
        ):
            return response.status, (await response.json())["status"]

    # Readiness fails while the socket still takes connections ...
    assert await eventually(readiness, "readiness to fail", until=lambda r: r[0] == 503) == (
        503,
        "draining",
    )

    async def listening() -> bool:
        try:
            _, probe = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            return False
        probe.close()
        return True

    # ... then the socket closes ...
    await eventually(listening, "the socket to close", until=lambda up: not up, within=15)
    assert server.process.poll() is None
    # ... and the request in flight is still answered, in full.
    writer.write(body[10:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, answer
    assert b"application/problem+json" in head
    assert json.loads(payload)["status"] == status

    assert await asyncio.to_thread(server.process.wait, 30) == 0
    await eventually(
        lambda: [p for p in children if alive(p)],
        "every child to exit",
        until=lambda living: not living,
    )


# --- metrics and logs --------------------------------------------------------------------------


async def test_metrics_on_their_own_port_and_a_json_access_log(
    serving: list[Supervisor], redis_server: RedisProcess, tmp_path: Path
) -> None:
    metrics_port = free_port()
    server = start(
        serving,
        redis_server,
        tmp_path,
        1,
        LOIBINH_METRICS_PORT=str(metrics_port),
        LOIBINH_LOG_FORMAT="json",
        LOIBINH_ACCESS_LOG="true",
        LOIBINH_LOG_LEVEL="INFO",
    )
    await ready(server)
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"http://127.0.0.1:{server.port}/healthz", headers={"X-Request-Id": "probe-7f3a"}
        ) as response:
            assert response.status == 200
        # Not on the public port ...
        async with session.get(f"http://127.0.0.1:{server.port}/metrics") as response:
            assert response.status == 404
            assert response.content_type == "application/problem+json"
        # ... but on its own, on loopback.
        async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            assert response.status == 200
            found = samples(await response.text())
    names = {name for name, _, _ in found}
    assert {
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_objects_collected_total",
    } <= names
    depths = {lab["state"]: v for n, lab, v in found if n == "loibinh_queue_depth"}
    assert depths == {"pending": 0, "reported": 0, "approved": 0, "rejected": 0, "spam": 0}

    server.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.process.wait, 30) == 0
    assert server.process.stderr is not None
    lines = server.process.stderr.read().decode().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    [access] = [e for e in entries if e.get("request_id") == "probe-7f3a"]
    assert access["logger"] == "loibinh.access"
    assert access["path"] == "/healthz"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    assert any(e["message"] == "stopped" for e in entries)


# --- requests aiohttp cannot parse -------------------------------------------------------------


async def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "name"),
    [
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: SECRET-" + b"A" * 9000 + b"\r\n\r\n",
            431,
            "headers-too-large",
        ),
        (b"GET /" + b"SECRET-" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "headers-too-large"),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nSECRET- no colon here\r\n\r\n",
            400,
            "malformed-request",
        ),
    ],
    ids=["long header", "long request line", "malformed header"],
)
async def test_an_unparseable_request_gets_a_problem_document(
    settings: Settings, request_bytes: bytes, status: int, name: str
) -> None:
    runner = ServiceRunner(create_app(settings, refill_captchas=False), handle_signals=False)
    await runner.setup()
    port = free_port()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        got, headers, body = await raw(port, request_bytes)
        assert got == status
        assert headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["type"] == f"/problems/{name}"
        assert problem["status"] == status
        assert problem["request_id"] == headers["x-request-id"]
        # Nothing of what the client sent is echoed back.
        assert b"SECRET" not in body
        # The service goes on serving.
        got, _, _ = await raw(
            port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert got == 200
    finally:
        await runner.cleanup()
