"""Invariant 5, cluster-ready keys, against a real redis-server in cluster mode.

A single node that owns all 16384 slots enforces what Redis Cluster enforces
on the keys a command or script declares: they must hash to one slot. It does
not (in Redis 7.0) refuse a script that touches a key it did not declare, which
a real multi-node cluster would break on, so every command the service sends,
and every command its scripts run, is watched through MONITOR and checked: a
script touches only keys it declared, and all of a site's keys share the
site's hash tag and slot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from service.clock import now_ms, rfc3339
from service.http.state import SERVICES, SETTINGS
from service.ids import new_comment_id
from service.main import create_app
from service.migration.importer import ImportOptions
from service.models import ExportedComment, ModeratedAuthor
from service.moderation.shared import Actor
from service.settings import Settings
from tests.helpers import (
    DATA,
    Client,
    approve,
    author,
    form_token,
    mint,
    rate_limits,
    settings_for,
    site,
    submission,
)
from tests.redis_process import RedisProcess, free_port

SITES = ("news", "live", "first")
KEY = re.compile(rb"^lb:\{([a-z0-9-]+)\}:")
# Keys of no one site (API keys, the learner's lease), each under a tag of its own.
GLOBAL_TAGS = {b"keys", b"learner"}
# Commands without key arguments, which COMMAND GETKEYS cannot answer.
KEYLESS = {
    b"time",
    b"ping",
    b"script",
    b"info",
    b"cluster",
    b"client",
    b"hello",
    b"command",
    b"role",
}


class ClusterNode(RedisProcess):
    """A redis-server with cluster mode on that owns every slot itself."""

    def server_args(self) -> list[str]:
        return [
            *super().server_args(),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(self.dir / "nodes.conf"),
            # The bus port defaults to port + 10000, which may be taken or
            # beyond 65535 for a free port picked at random.
            "--cluster-port",
            str(free_port()),
        ]

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + 10
        with self.client() as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster never reached cluster_state:ok")
                time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster_node() -> Iterator[ClusterNode]:
    with ClusterNode() as node:
        yield node


@pytest.fixture
def node(cluster_node: ClusterNode) -> ClusterNode:
    with cluster_node.client() as client:
        client.flushall()
        client.script_flush()
        client.config_resetstat()
    return cluster_node


def test_the_node_is_a_cluster_that_refuses_cross_slot_keys(node: ClusterNode) -> None:
    with node.client() as client:
        info = client.execute_command("CLUSTER", "INFO")
        assert b"cluster_state:ok" in info
        assert b"cluster_slots_assigned:16384" in info
        script = "redis.call('SET', KEYS[1], '1'); return redis.call('SET', KEYS[2], '1')"
        # Keys without a shared hash tag land in different slots: refused.
        assert key_slot(b"lb:news:a") != key_slot(b"lb:news:b")
        with pytest.raises(redis.ResponseError, match="same slot"):
            client.eval(script, 2, "lb:news:a", "lb:news:b")
        with pytest.raises(redis.ResponseError, match="same slot"):
            client.eval(script, 2, "lb:{news}:a", "lb:{live}:a")
        with pytest.raises(redis.ResponseError, match="same slot"):
            client.mset({"lb:news:a": 1, "lb:news:b": 1})
        # The same keys under one hash tag are one slot: accepted.
        assert client.eval(script, 2, "lb:{news}:a", "lb:{news}:b") == b"OK"
        assert client.mget("lb:{news}:a", "lb:{news}:b") == [b"1", b"1"]


# --- watching every command the service sends ---------------------------------------------


_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}
_LINE = re.compile(rb"^\+[0-9.]+ \[\d+ ([^\]]+)\] (.*)$", re.S)


def _unescape(raw: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if len(escaped) == 3 and escaped[:1] == b"x":
            return bytes([int(escaped[1:], 16)])
        return _SIMPLE.get(escaped, escaped)

    return _ESCAPE.sub(one, raw)


@dataclass
class Command:
    source: str  # "lua" for commands a script ran, else the client's address
    args: list[bytes]

    @property
    def name(self) -> bytes:
        return self.args[0].lower()


@dataclass
class Monitor:
    port: int
    commands: list[Command] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=2**24)
        writer.write(b"MONITOR\r\n")
        await writer.drain()
        assert await reader.readline() == b"+OK\r\n"
        self.task = asyncio.create_task(self._read(reader, writer))

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                match = _LINE.match(line.rstrip(b"\r\n"))
                assert match, line[:200]
                args = [_unescape(a) for a in _ARG.findall(match.group(2))]
                self.commands.append(Command(match.group(1).decode(), args))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def stop(self) -> None:
        await asyncio.sleep(0.1)  # the last commands' lines are on their way
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def command_keys(client: redis.Redis, command: Command) -> list[bytes]:
    try:
        return [
            k if isinstance(k, bytes) else k.encode() for k in client.command_getkeys(*command.args)
        ]
    except redis.ResponseError:
        if command.name in KEYLESS:
            return []
        raise


def check_commands(client: redis.Redis, commands: list[Command]) -> dict[bytes, int]:
    """Every key carries a site's hash tag; each site's keys share one slot; a
    script touches only keys it declared. Returns how often each command ran."""
    counts: dict[bytes, int] = {}
    slots: dict[bytes, set[int]] = {}
    declared: list[bytes] | None = None
    for command in commands:
        keys = command_keys(client, command)
        counts[command.name] = counts.get(command.name, 0) + 1
        for key in keys:
            match = KEY.match(key)
            assert match, f"{command.args[0]!r} touches {key!r}, which has no site hash tag"
            slots.setdefault(match.group(1), set()).add(key_slot(key))
        if command.source == "lua":
            assert declared is not None, f"a script command with no script: {command.args}"
            for key in keys:
                assert key in declared, f"a script touched {key!r}, not among its KEYS {declared}"
        elif command.name in (b"evalsha", b"eval", b"fcall"):
            declared = keys
            assert len({key_slot(k) for k in keys}) <= 1, keys
        else:
            declared = None
    for site_id, seen in slots.items():
        assert len(seen) == 1, f"keys of site {site_id!r} span slots {seen}"
    return counts


# --- the whole accept path on the cluster node ------------------------------------------------


@pytest.fixture
def cluster_settings(node: ClusterNode) -> Settings:
    return settings_for(
        node.url,
        connect_timeout=2,
        timeout=2,
        captcha={"pool_size": 3, "pool_low_water": 1, "render_batch": 3},
        sites={
            "news": site(moderation="pre", rate_limits=rate_limits(submit_per_email=(2, 3600))),
            "live": site(moderation="post"),
            "first": site(moderation="first-comment"),
        },
    )


@pytest.fixture
async def watched(
    aiohttp_client: Callable[..., Any], cluster_settings: Settings, node: ClusterNode
) -> AsyncIterator[tuple[Client, Monitor]]:
    monitor = Monitor(node.port)
    await monitor.start()
    try:
        client = await aiohttp_client(create_app(cluster_settings, refill_captchas=False))
        yield client, monitor
    finally:
        if monitor.task is not None and not monitor.task.done():
            await monitor.stop()


async def post(
    client: Client, site_id: str, body: dict[str, Any], expect: int, **headers: str
) -> dict[str, Any]:
    response = await client.post(f"/v1/sites/{site_id}/comments", json=body, headers=headers)
    text = await response.text()
    assert response.status == expect, text
    result: dict[str, Any] = await response.json(content_type=None)
    return result


def by(email: str, **overrides: Any) -> Callable[[tuple[str, str]], dict[str, Any]]:
    def make(captcha: tuple[str, str]) -> dict[str, Any]:
        return submission(captcha, author=author(email, "Phạm Minh"), **overrides)

    return make


async def test_accept_path_keys_on_a_cluster_node(
    watched: tuple[Client, Monitor], node: ClusterNode, caplog: pytest.LogCaptureFixture
) -> None:
    client, monitor = watched
    caplog.set_level(logging.WARNING)
    thread = "ca-mau-2022-08-12"

    # Captchas: the pre-rendered pool (refilled by a render process), and the
    # fallback that renders one on demand when a site's pool is empty.
    assert await client.app[SERVICES].captcha.refill_once("news") == 3
    issued = await client.post("/v1/sites/news/captchas")
    assert issued.status == 201, await issued.text()
    fallback = await client.post("/v1/sites/live/captchas")
    assert fallback.status == 201, await fallback.text()
    wrong = {"id": (await issued.json())["id"], "answer": "?????"}
    failed = await post(client, "news", {**submission(("x", "x")), "captcha": wrong}, 400)
    assert failed["type"] == "/problems/captcha-failed"

    # Pre-moderation, then a reply to the comment once approved.
    [c] = await mint(client, "news")
    held = await post(client, "news", by("a@example.vn")(c), 202)
    assert held["status"] == "pending"
    assert await approve(client, held["id"], "news")
    [c] = await mint(client, "news")
    reply = await post(client, "news", by("b@example.vn", parent_id=held["id"])(c), 202)
    [c] = await mint(client, "news")
    orphan = await post(client, "news", by("b@example.vn", parent_id="0" * 26)(c), 404)
    assert orphan["type"] == "/problems/unknown-parent"

    # Idempotency: the same key and body twice give the first answer back.
    [c] = await mint(client, "news")
    first_answer = await post(
        client, "news", by("c@example.vn")(c), 202, **{"Idempotency-Key": "k1"}
    )
    replayed = await post(client, "news", by("c@example.vn")(c), 202, **{"Idempotency-Key": "k1"})
    assert replayed == first_answer

    # The per-email limit of 2 an hour: the third is refused.
    for expect in (202, 202, 429):
        [c] = await mint(client, "news")
        await post(client, "news", by("limited@example.vn")(c), expect)

    # A body that fails validation still reads its limits for the RateLimit field.
    invalid = await client.post("/v1/sites/news/comments", json={"thread": thread})
    assert invalid.status == 422
    assert "RateLimit" in invalid.headers

    # Post-moderation: published at once, and a reply to it.
    [c] = await mint(client, "live")
    live = await post(client, "live", by("d@example.vn", form_token=form_token("live"))(c), 202)
    assert live["status"] == "approved"
    [c] = await mint(client, "live")
    await post(
        client,
        "live",
        by("e@example.vn", parent_id=live["id"], form_token=form_token("live"))(c),
        202,
    )

    # First-comment: held until one comment of the author's is approved.
    [c] = await mint(client, "first")
    newcomer = await post(
        client, "first", by("f@example.vn", form_token=form_token("first"))(c), 202
    )
    assert newcomer["status"] == "pending"
    assert await approve(client, newcomer["id"], "first")
    [c] = await mint(client, "first")
    trusted = await post(
        client, "first", by("f@example.vn", form_token=form_token("first"))(c), 202
    )
    assert trusted["status"] == "approved"

    # The public read, paged one at a time, and its ETag.
    url = f"/v1/sites/news/threads/{thread}/comments"
    everything = await (await client.get(url)).json()
    assert [x["id"] for x in everything["comments"]] == [held["id"]]  # the reply is held
    assert await approve(client, reply["id"], "news")
    page = await client.get(url, params={"limit": "1"})
    assert page.status == 200
    body = await page.json()
    assert [x["id"] for x in body["comments"]] == [held["id"]]
    assert body["next"] == held["id"]
    after = await client.get(url, params={"limit": "1", "after": body["next"]})
    assert after.status == 200
    rest = await after.json()
    assert [x["id"] for x in rest["comments"]] == [reply["id"]]
    assert rest["comments"][0]["parent_id"] == held["id"]
    assert rest["next"] is None
    again = await client.get(
        url, params={"limit": "1"}, headers={"If-None-Match": page.headers["ETag"]}
    )
    assert again.status == 304
    live_page = await (await client.get(f"/v1/sites/live/threads/{thread}/comments")).json()
    assert len(live_page["comments"]) == 2
    ready = await client.get("/readyz")
    assert ready.status == 200

    await monitor.stop()
    with node.client() as direct:
        # Redis itself refused nothing the service asked. (The client library
        # sends handshake subcommands this Redis does not know, counted as
        # plain ERR without a command; every real command is counted below.)
        errors = direct.info("errorstats")
        assert set(errors) <= {"errorstat_ERR"}, errors
        stats = direct.info("commandstats")
        assert "cmdstat_evalsha" in stats, stats
        for name, stat in stats.items():
            if name.startswith(("cmdstat_client", "cmdstat_hello", "cmdstat_info")):
                continue
            assert stat.get("failed_calls", 0) == 0, (name, stat)
            assert stat.get("rejected_calls", 0) == 0, (name, stat)
        counts = check_commands(direct, monitor.commands)
        assert counts.get(b"evalsha", 0) >= 20, counts
        for name in (b"hset", b"zadd", b"set", b"get", b"lpop", b"hmget", b"zrange"):
            assert counts.get(name, 0) >= 1, (name, counts)

        keys = list(direct.scan_iter(count=1000))
        assert len(keys) > 20
        by_site: dict[bytes, set[int]] = {}
        for key in keys:
            match = KEY.match(key)
            assert match, f"{key!r} carries no site hash tag"
            if match.group(1) in GLOBAL_TAGS:
                continue
            by_site.setdefault(match.group(1), set()).add(
                direct.execute_command("CLUSTER", "KEYSLOT", key)
            )
        assert set(by_site) == {s.encode() for s in SITES}
        for site_id, slots in by_site.items():
            assert slots == {key_slot(b"{" + site_id + b"}")}, (site_id, slots)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_the_watcher_catches_an_undeclared_key(node: ClusterNode) -> None:
    """`check_commands` fails on what a multi-node cluster would break on, even
    though this single node lets it through."""
    with node.client() as client:
        sneaky = Command("127.0.0.1:1", [b"EVALSHA", b"0" * 40, b"1", b"lb:{news}:a"])
        inner = Command("lua", [b"GET", b"lb:{news}:b"])
        with pytest.raises(AssertionError, match="not among its KEYS"):
            check_commands(client, [sneaky, inner])
        untagged = Command("127.0.0.1:1", [b"GET", b"lb:news:a"])
        with pytest.raises(AssertionError, match="no site hash tag"):
            check_commands(client, [untagged])
        fine = [sneaky, Command("lua", [b"GET", b"lb:{news}:a"])]
        assert check_commands(client, fine) == {b"evalsha": 1, b"get": 1}


async def test_import_and_export_keys_on_a_cluster_node(
    watched: tuple[Client, Monitor], node: ClusterNode, tmp_path: Path
) -> None:
    """An import (its batches, its look-ups of earlier runs, the duplicate
    window of a recent comment), a second run, the site's export and a
    subject-access export touch only the site's keys, each script only the
    keys it declared."""
    client, monitor = watched
    services, sites = client.app[SERVICES], client.app[SETTINGS].sites
    actor = Actor("tests", "tests", True)
    disqus = DATA / "import" / "disqus.xml"
    for _ in range(2):
        report = await services.imports.run(
            "news", sites["news"], "disqus", disqus, ImportOptions(), actor
        )
    assert report.already_imported == 7
    created = now_ms() - 60_000
    recent = tmp_path / "recent.jsonl"
    recent.write_text(
        ExportedComment(
            id=new_comment_id(created),
            thread="ca-mau-2022-08-12",
            parent_id=None,
            author=ModeratedAuthor(name="Lê Quang Minh", email="minh@example.vn"),
            body="Huế mưa to từ đêm qua, nước lên nhanh lắm bà con ơi.",
            created_at=rfc3339(created),
            status="approved",
            published=True,
        ).model_dump_json(),
        encoding="utf-8",
    )
    report = await services.imports.run(
        "first", sites["first"], "loibinh", recent, ImportOptions(), actor
    )
    assert report.imported == 1
    lines = [line async for line in services.export.site("news")]
    assert len(lines) == 7
    found = await services.export.subject("news", "duong@example.vn")
    assert len(found.comments) == 2
    await monitor.stop()
    with node.client() as direct:
        counts = check_commands(direct, monitor.commands)
        # One batch each: the second run found everything imported already.
        assert counts.get(b"evalsha", 0) == 2, counts
        # The recent comment's fingerprint went into its duplicate window.
        assert any(c.name == b"expire" and b":dup:" in c.args[1] for c in monitor.commands)
