"""The service on a real Sentinel group (a master, a replica, three
sentinels), logging in as an ACL user with every credential from a file: the
whole flow, and the master killed under load."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.main import create_app
from service.store.keyschema import SiteKeys
from tests.helpers import (
    TEST_SECRET,
    Client,
    cli_env,
    expect_problem,
    mint,
    run_cli,
    submission,
    submit_ok,
)
from tests.topology.conftest import SITES, sentinel_settings
from tests.topology.disk import erase_and_search_the_disks
from tests.topology.flow import full_flow, kill_the_master_under_load
from tests.topology.servers import SentinelGroup, Server

pytestmark = [pytest.mark.slow, pytest.mark.topology]


@pytest.fixture
async def on_sentinel(
    aiohttp_client: Callable[..., Any], sentinel_group: SentinelGroup
) -> AsyncIterator[Callable[..., Any]]:
    with sentinel_group.current_master().client() as direct:
        direct.flushall()

    async def make(**redis_settings: Any) -> Client:
        settings = sentinel_settings(sentinel_group, **redis_settings)
        client: Client = await aiohttp_client(create_app(settings, refill_captchas=False))
        return client

    yield make


async def test_the_whole_flow_on_the_master(
    on_sentinel: Callable[..., Any], sentinel_group: SentinelGroup
) -> None:
    client = await on_sentinel()
    for site_id in SITES:
        await full_flow(client, site_id)
    ready = await client.get("/readyz")
    checks = (await ready.json())["checks"]
    assert checks["topology"] == "sentinel"
    assert checks["master"] == sentinel_group.master_address()
    assert checks["role"] == "master"
    assert checks["replicas"] == "1"
    # The service logged in as its ACL user, not as `default`.
    with sentinel_group.current_master().client() as direct:
        users = {entry["user"] for entry in direct.client_list()}
    assert "loibinh" in users


# redis-py's asyncio Sentinel client sometimes drops a connection to a
# sentinel without closing it while a failover is under way (redis/redis-py
# issues 3201 and 3259); plain redis-py commands do it too, without any of
# loibinh's code. The socket is reclaimed when collected; its warning is not
# this test's subject.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("wait_replicas", [0, 1], ids=["master-only", "replicated"])
async def test_the_master_killed_under_load(
    on_sentinel: Callable[..., Any], sentinel_group: SentinelGroup, wait_replicas: int
) -> None:
    client = await on_sentinel(wait_replicas=wait_replicas)
    site_id = "news"
    victim = sentinel_group.current_master()
    keys = SiteKeys("lb", site_id)

    def missing(ids: list[str]) -> list[str]:
        with sentinel_group.current_master().client() as direct:
            return [i for i in ids if not direct.exists(keys.comment(i))]

    # The sentinels promote the replica and make the restarted node its replica.
    await kill_the_master_under_load(
        client,
        site_id,
        "sentinel",
        victim,
        promoted=lambda: sentinel_group.master_address() != victim.address,
        healthy=sentinel_group.healthy,
        missing=missing,
        wait_replicas=wait_replicas,
    )


def test_check_config_names_the_master(sentinel_group: SentinelGroup) -> None:
    settings = sentinel_settings(sentinel_group)
    redis = settings.redis
    env = cli_env(
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_REDIS__TOPOLOGY="sentinel",
        LOIBINH_REDIS__SENTINELS=json.dumps(redis.sentinels),
        LOIBINH_REDIS__SENTINEL_MASTER=redis.sentinel_master,
        LOIBINH_REDIS__USERNAME_FILE=str(redis.username_file),
        LOIBINH_REDIS__PASSWORD_FILE=str(redis.password_file),
        LOIBINH_REDIS__SENTINEL_PASSWORD_FILE=str(redis.sentinel_password_file),
    )
    result = run_cli("check-config", "--connect", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["redis"]
    assert summary["topology"] == "sentinel"
    assert summary["master"] == sentinel_group.master_address()
    assert summary["role"] == "master"


async def test_a_202_waits_for_the_replica(on_sentinel: Callable[..., Any]) -> None:
    # The master has one replica: a 202 that needs one is given, one that
    # needs two cannot be, and says so.
    # A generous timeout: the replica may still be loading or rewriting its
    # files after the failover and erasure tests (a CI run once saw 0 of 1
    # acknowledge within the default 0.5 s on a quiet machine).
    client = await on_sentinel(wait_replicas=1, wait_timeout=5)
    await submit_ok(client, "news")
    client = await on_sentinel(wait_replicas=2, wait_timeout=0.2)
    [captcha] = await mint(client, "news")
    response = await client.post("/v1/sites/news/comments", json=submission(captcha))
    await expect_problem(response, 503, "not-replicated")


async def test_an_erasure_leaves_no_node_s_files_holding_the_author(
    on_sentinel: Callable[..., Any], sentinel_group: SentinelGroup
) -> None:
    client = await on_sentinel()
    data = [sentinel_group.master, sentinel_group.replica]

    def replicas() -> list[Server]:
        return [server for server in data if server is not sentinel_group.current_master()]

    await erase_and_search_the_disks(
        client, data, replicas, "xoa.dia.sentinel@erase-disk.example.vn"
    )
