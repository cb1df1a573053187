"""Fixtures: one real redis-server for the session, flushed between tests, and
the app built by the same factory that serves production."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.appkeys import SERVICES, SETTINGS
from service.main import create_app
from service.models import Decision
from service.moderation import Actor
from service.settings import Settings, load_settings
from tests.redis_process import RedisProcess

# Hermetic: nothing from the developer's environment reaches the settings.
for _name in [n for n in os.environ if n.startswith("LOIBINH_")]:
    del os.environ[_name]

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
ORIGIN = "https://news.example.vn"


def site(**overrides: Any) -> dict[str, Any]:
    """A site table as the TOML file would give it."""
    base: dict[str, Any] = {
        "allowed_origins": [ORIGIN],
        "moderation": "pre",
        "rate_limits": {
            "submit_per_ip": {"limit": 1000, "period": 60},
            "submit_per_email": {"limit": 1000, "period": 60},
            "captcha_per_ip": {"limit": 1000, "period": 60},
        },
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(autouse=True)
def _flush(request: pytest.FixtureRequest) -> None:
    if "redis_server" in request.fixturenames:
        server: RedisProcess = request.getfixturevalue("redis_server")
        with server.client() as client:
            client.flushall()


@pytest.fixture
def make_settings(redis_server: RedisProcess) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mode": "production",
            "secret_key": TEST_SECRET,
            "redis": {"url": redis_server.url, "connect_timeout": 0.5, "timeout": 0.5},
            "captcha": {"pool_size": 5, "pool_low_water": 2, "render_batch": 5},
            "sites": {"news": site()},
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], settings: Settings
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    yield await aiohttp_client(create_app(settings, refill_captchas=False))


async def mint(
    client: TestClient[web.Request, web.Application], site_id: str = "news", count: int = 1
) -> list[tuple[str, str]]:
    """Live challenges with their answers, as `loibinh captcha mint` makes them."""
    return await client.app[SERVICES].captcha.mint(site_id, count)


def submission(captcha: tuple[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "thread": "ca-mau-2022-08-12",
        "parent_id": None,
        "author": {"name": "Nguyễn Thị Thùy Dương", "email": "duong@example.vn"},
        "body": "Bài viết rất hay.",
        "captcha": {"id": captcha[0], "answer": captcha[1]},
    }
    body.update(overrides)
    return body


async def approve(
    client: TestClient[web.Request, web.Application], comment_id: str, site_id: str = "news"
) -> bool:
    """Publish a comment through the moderation service's own decision path."""
    site = client.app[SETTINGS].sites[site_id]
    actor = Actor(key_id="tests", name="tests", admin=True)
    decision = Decision(id=comment_id, action="approve", reason="")
    [result] = await client.app[SERVICES].moderation.decide(site_id, site, actor, [decision])
    return result.outcome in ("approved", "unchanged")
