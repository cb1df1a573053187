"""Fixtures: one real redis-server for the session, flushed between tests, and
the app built by the same factory that serves production. Plain helpers are
in tests/helpers.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web_app

from service.main import create_app
from service.settings import Settings
from tests.helpers import ORIGIN, TEST_SECRET, Client, cli_env, run_cli, settings_for
from tests.redis_process import RedisProcess

# Hermetic: nothing from the developer's environment reaches the settings.
for _name in [n for n in os.environ if n.startswith("LOIBINH_")]:
    del os.environ[_name]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    """The session's redis-server, which every test's app uses unless it says otherwise."""
    with RedisProcess() as server:
        yield server


@pytest.fixture(autouse=True)
def _flush(request: pytest.FixtureRequest) -> None:
    """Each test that uses the session Redis starts with it empty."""
    if "redis_server" in request.fixturenames:
        server: RedisProcess = request.getfixturevalue("redis_server")
        with server.client() as client:
            client.flushall()


@pytest.fixture(autouse=True)
def _release_apps() -> Iterator[None]:
    """Let the apps a test built be freed. aiohttp keeps each app's
    middleware chain in a module-level cache of 1,024 entries
    (web_app._cached_build_middleware), which holds every app alive; a
    process holding hundreds of them spent up to 2 s in one full garbage
    collection, long enough to time out the Redis calls of the tests that
    time them."""
    yield
    cache = getattr(web_app, "_cached_build_middleware", None)
    if cache is not None:
        cache.cache_clear()


@pytest.fixture
async def rds(redis_server: RedisProcess) -> AsyncIterator[aioredis.Redis]:
    """A Redis client of the tests' own, to look at and move what the service stored."""
    connection = aioredis.Redis.from_url(redis_server.url)
    yield connection
    await connection.aclose()


@pytest.fixture
def make_settings(redis_server: RedisProcess) -> Callable[..., Settings]:
    """Settings for the session Redis and one `news` site, with some values replaced."""

    def make(**overrides: Any) -> Settings:
        return settings_for(redis_server.url, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """The default settings of `make_settings`."""
    return make_settings()


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], settings: Settings) -> AsyncIterator[Client]:
    """A client of the app built with the default settings."""
    yield await aiohttp_client(create_app(settings, refill_captchas=False))


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> Callable[..., Awaitable[Client]]:
    """Makes clients of apps built with settings overrides (e.g. another site table)."""
    # The captcha pool is not refilled in the background unless `refill_captchas`;
    # `deliver_webhooks=False` leaves webhook deliveries waiting in the outbox,
    # `learn=False` the learned model unlearned until a test steps the learner.

    async def make(
        *,
        refill_captchas: bool = False,
        deliver_webhooks: bool = True,
        learn: bool = True,
        send_mail: bool = True,
        **overrides: Any,
    ) -> Client:
        settings = make_settings(**overrides)
        app = create_app(
            settings,
            refill_captchas=refill_captchas,
            deliver_webhooks=deliver_webhooks,
            learn=learn,
            send_mail=send_mail,
        )
        return await aiohttp_client(app)

    return make


@pytest.fixture
def cli(
    tmp_path: Path, redis_server: RedisProcess
) -> Callable[..., Awaitable[subprocess.CompletedProcess[str]]]:
    """Runs `loibinh` as the operator would: session Redis, tests' secret, news and sport."""
    config = tmp_path / "loibinh.toml"
    config.write_text(
        f'[sites.news]\nallowed_origins = ["{ORIGIN}"]\n\n'
        f'[sites.sport]\nallowed_origins = ["https://sport.example.vn"]\n',
        encoding="utf-8",
    )
    env = cli_env(
        LOIBINH_CONFIG=str(config),
        LOIBINH_MODE="production",
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_REDIS__URL=redis_server.url,
    )

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, *args, env=env, timeout=60)

    return run
