"""Plain helpers shared by the test modules: test data, the checks of an
answer, waiting for something to happen, API keys, what Redis holds, and the
command line. Fixtures live in conftest.py."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from service.clock import now_ms
from service.http import problems
from service.http.state import SERVICES, SETTINGS
from service.keyring import Keyring
from service.models import COMMENT_ID_PATTERN, Decision
from service.moderation.apikeys import Role
from service.moderation.shared import Actor
from service.screening import formtoken
from service.settings import Settings, load_settings
from service.store.keyschema import SiteKeys
from tests.redis_process import free_port

Client = TestClient[web.Request, web.Application]

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
ORIGIN = "https://news.example.vn"
THREAD = "ca-mau-2022-08-12"
PROBLEM = "application/problem+json"
# The article page a plain form posts from (an allowed origin of the news site).
ARTICLE = f"{ORIGIN}/2022/08/12/ca-mau.html"
LOIBINH = Path(sys.executable).with_name("loibinh")
# Paths that do not depend on how deep a test module sits under tests/.
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"

T = TypeVar("T")


# --- test data -------------------------------------------------------------------------


def rate_limits(**overrides: tuple[int, float]) -> dict[str, dict[str, dict[str, float]]]:
    """A site's rate_limits table, 1000 a minute each unless given as
    <route>_per_<dimension>=(limit, period), e.g. submit_per_email=(3, 60)."""
    table: dict[str, tuple[int, float]] = {
        "submit_per_ip": (1000, 60),
        "submit_per_email": (1000, 60),
        "captcha_per_ip": (1000, 60),
    }
    table.update(overrides)
    routes: dict[str, dict[str, dict[str, float]]] = {}
    for name, (limit, period) in table.items():
        route, _, dimension = name.partition("_per_")
        routes.setdefault(route, {})[dimension] = {"limit": limit, "period": period}
    return routes


def site(**overrides: Any) -> dict[str, Any]:
    """A site table as the TOML file would give it."""
    base: dict[str, Any] = {
        "allowed_origins": [ORIGIN],
        "moderation": "pre",
        "rate_limits": rate_limits(),
    }
    base.update(overrides)
    return base


def settings_for(
    redis_url: str, *, connect_timeout: float = 2.0, timeout: float = 2.0, **overrides: Any
) -> Settings:
    """Production settings on this Redis: the tests' secret, a small pool, the news site.
    2 s to connect and 2 s a command: on a loaded machine a slow answer, or a
    burst of new connections (200 submissions at once open a connection
    each), must not become a 503 in tests that are not about timeouts
    (test_resilience sets its own)."""
    values: dict[str, Any] = {
        "mode": "production",
        "secret_key": TEST_SECRET,
        "redis": {"url": redis_url, "connect_timeout": connect_timeout, "timeout": timeout},
        "captcha": {"pool_size": 5, "pool_low_water": 2, "render_batch": 5},
        "sites": {"news": site()},
    }
    values.update(overrides)
    return load_settings(**values)


def author(email: str = "duong@example.vn", name: str = "Nguyễn Thị Thùy Dương") -> dict[str, str]:
    """The `author` object of a submission (the default reader unless told otherwise)."""
    return {"name": name, "email": email}


def form_token(site_id: str = "news", age_seconds: float = 60) -> str:
    """A form token as the captcha route issues it, issued `age_seconds` ago:
    a reader who took a minute over the form."""
    key = Keyring.from_secret(TEST_SECRET).form
    return formtoken.issue(key, site_id, now_ms() - int(age_seconds * 1000))


def submission(captcha: tuple[str, str], **overrides: Any) -> dict[str, Any]:
    """A valid JSON submission answering `captcha`, with some fields replaced."""
    body: dict[str, Any] = {
        "thread": THREAD,
        "parent_id": None,
        "author": author(),
        "body": "Bài viết rất hay.",
        "captcha": {"id": captcha[0], "answer": captcha[1]},
        "form_token": form_token(),
    }
    body.update(overrides)
    return body


def form_submission(captcha: tuple[str, str], **overrides: str | None) -> dict[str, str]:
    """A valid plain-HTML-form submission answering `captcha`, with some
    fields replaced (None leaves a field out)."""
    data: dict[str, str | None] = {
        "thread": THREAD,
        "parent_id": "",
        "name": "Nguyễn Thị Thùy Dương",
        "email": "duong@example.vn",
        "body": "Bài viết rất hay.\r\nCảm ơn tác giả.",
        "captcha_id": captcha[0],
        "captcha_answer": captcha[1],
        "return_to": f"{ARTICLE}?page=2",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@asynccontextmanager
async def local_server(
    path: str,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    method: str = "POST",
) -> AsyncIterator[TestServer]:
    """A server on loopback answering `method` (POST unless told) at `path`:
    the third party (a captcha provider, a webhook receiver, a login system's
    JWKS) that a test plays."""
    app = web.Application()
    app.router.add_route(method, path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def wrong_answer(captcha: tuple[str, str]) -> tuple[str, str]:
    """The same challenge with an answer that is certainly wrong."""
    return captcha[0], "ZZZZZ" if captcha[1] != "ZZZZZ" else "YYYYY"


# --- the service's own paths -------------------------------------------------------------


async def mint(client: Client, site_id: str = "news", count: int = 1) -> list[tuple[str, str]]:
    """Live challenges with their answers, as `loibinh captcha mint` makes them."""
    return await client.app[SERVICES].captcha.mint(site_id, count)


async def approve(client: Client, comment_id: str, site_id: str = "news") -> bool:
    """Publish a comment through the moderation service's own decision path."""
    site = client.app[SETTINGS].sites[site_id]
    actor = Actor(key_id="tests", name="tests", admin=True)
    decision = Decision(id=comment_id, action="approve", reason="")
    [result] = await client.app[SERVICES].decisions.decide(site_id, site, actor, [decision])
    return result.outcome in ("approved", "unchanged")


def keys_of(client: Client, site_id: str = "news") -> SiteKeys:
    """The Redis key names of a site, as the app's store names them."""
    return client.app[SERVICES].store.keys(site_id)


# --- answers -------------------------------------------------------------------------------


async def expect_problem(response: Any, status: int, name: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem of this status and type, titled from the catalogue."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == PROBLEM, (response.headers, text)
    data: dict[str, Any] = json.loads(text)
    assert data["type"] == f"/problems/{name}", data
    assert data["status"] == status
    assert data["title"] == problems.CATALOGUE[name].title
    assert isinstance(data["detail"], str) and data["detail"]
    return data


async def accepted(response: Any, status: str = "pending") -> str:
    """The answer is a 202 carrying only the new comment's id and this status; the id."""
    text = await response.text()
    assert response.status == 202, text
    assert response.content_type == "application/json"
    data = json.loads(text)
    assert set(data) == {"id", "status"}
    assert re.fullmatch(COMMENT_ID_PATTERN, data["id"])
    assert data["status"] == status, data
    return str(data["id"])


async def submit_ok(
    client: Client,
    site_id: str = "news",
    *,
    headers: dict[str, str] | None = None,
    status: str = "pending",
    **overrides: Any,
) -> str:
    """Submit one comment with a freshly minted captcha; check it is accepted; its id."""
    [captcha] = await mint(client, site_id)
    body = submission(captcha, **overrides)
    response = await client.post(f"/v1/sites/{site_id}/comments", json=body, headers=headers)
    return await accepted(response, status)


async def public_ids(client: Client, thread: str = THREAD, site_id: str = "news") -> list[str]:
    """The ids of a thread's published comments, as the public read lists them."""
    response = await client.get(f"/v1/sites/{site_id}/threads/{thread}/comments")
    assert response.status == 200, await response.text()
    return [c["id"] for c in (await response.json())["comments"]]


# --- waiting --------------------------------------------------------------------------------


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    what: str,
    *,
    until: Callable[[T], object] = bool,
    within: float = 5.0,
    interval: float = 0.02,
) -> T:
    """Call `probe` (sync or async) every `interval` seconds until `until`
    holds of what it returns (by default: until that is truthy), and return
    that value. It fails, naming `what` was awaited and the last value seen,
    only after a call that began once `within` seconds had passed, so a slow
    probe never shortens the wait. What the probe raises goes through at once."""
    deadline = time.monotonic() + within
    while True:
        began = time.monotonic()
        result = probe()
        value = cast(T, await result if inspect.isawaitable(result) else result)
        if until(value):
            return value
        if began >= deadline:
            seen = repr(value)
            if len(seen) > 500:
                seen = seen[:500] + "..."
            raise AssertionError(
                f"gave up waiting for {what} after {within:g} s; last seen: {seen}"
            )
        await asyncio.sleep(interval)


# --- API keys and the moderation API --------------------------------------------------------


def authorization(token: str) -> dict[str, str]:
    """The headers that present an API key."""
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Key:
    """An API key made for a test: its token, id and name."""

    token: str
    id: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        """The headers that present this key."""
        return authorization(self.token)


async def new_key(
    client: Client, role: Role = "moderator", sites: tuple[str, ...] = ("news",), name: str = ""
) -> Key:
    """A new API key of this role for these sites, made by the app's key store."""
    name = name or f"{role} {secrets.token_hex(3)}"
    token, record = await client.app[SERVICES].api_keys.create(name, role, list(sites))
    return Key(token, record.id, name)


async def bearer(client: Client, role: Role = "admin") -> dict[str, str]:
    """The headers of a new key of this role for the news site."""
    return (await new_key(client, role, name=f"{role} tester")).headers


async def decide(
    client: Client, headers: dict[str, str], comment_id: str, action: str, reason: str = ""
) -> None:
    """One moderation decision on a news comment through the API; it must succeed."""
    response = await client.post(
        "/v1/sites/news/moderation/decisions",
        json={"decisions": [{"id": comment_id, "action": action, "reason": reason}]},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    assert result["status"] == 200, result


async def queue_ids(
    client: Client, headers: dict[str, str], state: str, site_id: str = "news"
) -> list[str]:
    """The ids in one moderation queue, all on one page."""
    response = await client.get(
        f"/v1/sites/{site_id}/moderation/queue",
        headers=headers,
        params={"state": state, "limit": 100},
    )
    assert response.status == 200, await response.text()
    page = await response.json()
    assert page["next"] is None
    return [item["id"] for item in page["items"]]


# --- Redis -------------------------------------------------------------------------------------


async def redis_now_ms(rds: aioredis.Redis) -> int:
    """Redis's clock in milliseconds."""
    seconds, micros = await rds.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def stored(
    rds: aioredis.Redis, client: Client, comment_id: str, site_id: str = "news"
) -> dict[str, str]:
    """A stored comment's hash, decoded; it must exist."""
    raw = await rds.hgetall(keys_of(client, site_id).comment(comment_id))
    assert raw, comment_id
    return {k.decode(): v.decode() for k, v in raw.items()}


async def comment_keys(rds: aioredis.Redis, client: Client, site_id: str = "news") -> set[bytes]:
    """The keys of every comment stored for a site."""
    pattern = keys_of(client, site_id).comment("*")
    return {key async for key in rds.scan_iter(match=pattern, count=1000)}


async def redis_contents(rds: aioredis.Redis, *, dumps: bool = False) -> list[tuple[bytes, bytes]]:
    """(key, blob) for each key's name and content; `dumps`: its uncompressed DUMP too."""
    # DUMP runs with RDB compression off, so that what a dump (or a backup) would
    # carry is seen in clear, stream entries deleted with XDEL included. The
    # content is read by type: every value, field, member, score and stream entry.
    out: list[tuple[bytes, bytes]] = []
    old: Any = None
    if dumps:
        [old] = (await rds.config_get("rdbcompression")).values()
        await rds.config_set("rdbcompression", "no")
    try:
        async for key in rds.scan_iter(count=1000):
            out.append((key, key))
            if dumps:
                dumped = await rds.dump(key)
                if dumped is not None:
                    out.append((key, dumped))
            kind = (await rds.type(key)).decode()
            if kind == "string":
                out.append((key, await rds.get(key) or b""))
            elif kind == "hash":
                for field, value in (await rds.hgetall(key)).items():
                    out += [(key, field), (key, value)]
            elif kind == "list":
                out += [(key, item) for item in await rds.lrange(key, 0, -1)]
            elif kind == "set":
                out += [(key, member) for member in await rds.smembers(key)]
            elif kind == "zset":
                for member, score in await rds.zrange(key, 0, -1, withscores=True):
                    out += [(key, member), (key, repr(score).encode())]
            elif kind == "stream":
                for entry_id, fields in await rds.xrange(key):
                    out.append((key, entry_id))
                    for field, value in fields.items():
                        out += [(key, field), (key, value)]
            elif kind != "none":  # "none": expired since SCAN saw it (a rate limit)
                raise AssertionError(f"unexpected type {kind} of {key!r}")
    finally:
        if dumps:
            await rds.config_set("rdbcompression", old)
    return out


async def redis_values(rds: aioredis.Redis) -> list[bytes]:
    """Every blob of `redis_contents` without DUMP (whose compression could hide a substring)."""
    return [blob for _, blob in await redis_contents(rds)]


# --- the command line ------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment without Loibinh's or Prometheus's settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOIBINH_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `loibinh *args` in a subprocess with this environment, capturing its output."""
    return subprocess.run(
        [str(LOIBINH), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- metrics ----------------------------------------------------------------------------------


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


async def scrape(client: Client) -> list[tuple[str, dict[str, str], float]]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(await response.text())


# --- processes, as /proc shows them -----------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Supervisor:
    """`loibinh serve --workers N` as a subprocess that the test owns, with
    small captcha pools (so that render processes start at once) and any
    more settings as environment variables."""

    def __init__(
        self, redis_url: str, metrics_dir: Path, workers: int = 2, **settings: str
    ) -> None:
        self.port = free_port()
        self.metrics_dir = metrics_dir
        env = cli_env(
            **{
                "LOIBINH_MODE": "production",
                "LOIBINH_SECRET_KEY": TEST_SECRET,
                "LOIBINH_REDIS__URL": redis_url,
                "LOIBINH_PORT": str(self.port),
                "LOIBINH_CAPTCHA__POOL_SIZE": "2",
                "LOIBINH_CAPTCHA__POOL_LOW_WATER": "1",
                "LOIBINH_CAPTCHA__RENDER_BATCH": "2",
                "LOIBINH_LOG_LEVEL": "WARNING",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
            | settings
        )
        self.process = subprocess.Popen(
            [str(LOIBINH), "serve", "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.workers: list[int] = []

    def find_workers(self) -> list[int]:
        self.workers = [
            pid for pid in children_of(self.process.pid) if "spawn_main" in cmdline(pid)
        ]
        return self.workers

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                for pid in self.find_workers():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def forms(text: str) -> set[bytes]:
    """How a string can sit in Redis: UTF-8 in either normal form, or JSON-escaped."""
    found = set()
    for form in ("NFC", "NFD"):
        value = unicodedata.normalize(form, text)
        found.add(value.encode())
        found.add(json.dumps(value)[1:-1].encode())
    return found
