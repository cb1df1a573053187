"""The service on a real 3-master, 3-replica Redis Cluster: the whole flow on
sites spread over the shards, and a master killed under load."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis

from service.main import create_app
from service.store.keyschema import SiteKeys
from tests.helpers import Client, expect_problem, form_token, mint, submission, submit_ok
from tests.topology.conftest import SITES, cluster_settings
from tests.topology.disk import erase_and_search_the_disks
from tests.topology.flow import full_flow, kill_the_master_under_load
from tests.topology.servers import Cluster, Server

pytestmark = [pytest.mark.slow, pytest.mark.topology]


def flush(cluster: Cluster) -> None:
    for server in cluster.masters():
        with server.client() as client:
            client.flushall()


@pytest.fixture
async def on_cluster(
    aiohttp_client: Callable[..., Any], cluster: Cluster
) -> AsyncIterator[Callable[..., Any]]:
    flush(cluster)

    async def make(**redis_settings: Any) -> Client:
        app = create_app(cluster_settings(cluster, **redis_settings), refill_captchas=False)
        client: Client = await aiohttp_client(app)
        return client

    yield make


async def test_the_whole_flow_on_each_shard(on_cluster: Callable[..., Any]) -> None:
    client = await on_cluster()
    for site_id in SITES:
        await full_flow(client, site_id)


async def test_sites_spread_over_the_shards(
    on_cluster: Callable[..., Any], cluster: Cluster
) -> None:
    client = await on_cluster()
    for site_id in SITES:
        await submit_ok(client, site_id)
    holders: dict[str, set[str]] = {}
    for server in cluster.masters():
        with server.client() as direct:
            for key in direct.scan_iter(match="lb:{*}:*", count=1000):
                site_id = key.decode().split("{", 1)[1].split("}", 1)[0]
                holders.setdefault(site_id, set()).add(server.address)
    # Each site's keys on one master, and the three sites on three masters.
    assert all(len(holders[site_id]) == 1 for site_id in SITES), holders
    assert len({next(iter(holders[site_id])) for site_id in SITES}) == 3, holders

    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()
    checks = (await ready.json())["checks"]
    assert checks["topology"] == "cluster"
    assert set(checks["masters"].split(",")) == {s.address for s in cluster.masters()}
    assert checks["scripts"] == "ok"


async def test_scripts_are_reloaded_after_noscript_on_a_shard(
    on_cluster: Callable[..., Any], cluster: Cluster
) -> None:
    client = await on_cluster()
    await submit_ok(client, "sport")
    with cluster.master_of(SiteKeys("lb", "sport").pending).client() as direct:
        direct.script_flush()
    await submit_ok(client, "sport")  # NOSCRIPT, loaded on that node, run again


@pytest.mark.parametrize("wait_replicas", [0, 1], ids=["master-only", "replicated"])
async def test_a_master_killed_under_load(
    on_cluster: Callable[..., Any], cluster: Cluster, wait_replicas: int
) -> None:
    client = await on_cluster(wait_replicas=wait_replicas)
    site_id = "news"
    pending = SiteKeys("lb", site_id).pending
    victim = cluster.master_of(pending)
    # The cluster promotes the replica itself; the dead node rejoins as the
    # new master's replica.
    await kill_the_master_under_load(
        client,
        site_id,
        "cluster",
        victim,
        promoted=lambda: cluster.master_of(pending) is not victim,
        healthy=cluster.healthy,
        missing=lambda ids: missing(cluster, site_id, ids),
        wait_replicas=wait_replicas,
    )


def missing(cluster: Cluster, site_id: str, ids: list[str]) -> list[str]:
    keys = SiteKeys("lb", site_id)
    with cluster.master_of(keys.pending).client() as direct:
        assert isinstance(direct, redis.Redis)
        return [i for i in ids if not direct.exists(keys.comment(i))]


async def test_a_202_waits_for_the_shards_replicas(on_cluster: Callable[..., Any]) -> None:
    # Each master has one replica: a 202 that needs one is given, one that
    # needs two cannot be, and says so.
    # A generous timeout: the shard's replica may still be catching up after
    # an earlier test's failover.
    client = await on_cluster(wait_replicas=1, wait_timeout=5)
    await submit_ok(client, "first")
    client = await on_cluster(wait_replicas=2, wait_timeout=0.2)
    [captcha] = await mint(client, "first")
    response = await client.post(
        "/v1/sites/first/comments",
        json=submission(captcha, form_token=form_token("first")),
        headers={"Idempotency-Key": "two-replicas"},
    )
    await expect_problem(response, 503, "not-replicated")


async def test_an_erasure_leaves_no_node_s_files_holding_the_author(
    on_cluster: Callable[..., Any], cluster: Cluster
) -> None:
    client = await on_cluster()

    def replicas() -> list[Server]:
        masters = cluster.masters()
        return [server for server in cluster.running() if server not in masters]

    await erase_and_search_the_disks(
        client, cluster.running(), replicas, "xoa.dia.cluster@erase-disk.example.vn"
    )
