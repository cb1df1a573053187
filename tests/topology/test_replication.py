"""`redis.wait_replicas`: a 202 only once a replica has the comment, a 503
`not-replicated` when none acknowledges in time, and the retry with the
same Idempotency-Key answered from the stored comment once one does. And
an erasure on a master with replicas: off every reachable node's disk, a
replica out of reach logged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.main import create_app
from tests.helpers import (
    Client,
    accepted,
    author,
    bearer,
    eventually,
    expect_problem,
    mint,
    settings_for,
    site,
    submission,
    submit_ok,
)
from tests.redis_process import RedisProcess, free_port
from tests.topology.disk import erase_and_search_the_disks, holders
from tests.topology.servers import ADMIN_PASSWORD, Server, Topology, until

pytestmark = [pytest.mark.slow, pytest.mark.topology]


class Replica(RedisProcess):
    def __init__(self, master: RedisProcess) -> None:
        super().__init__()
        self.master = master

    def server_args(self) -> list[str]:
        return [*super().server_args(), "--replicaof", "127.0.0.1", str(self.master.port)]


def in_sync(master: RedisProcess | Server) -> bool:
    """Online is not enough: a replica still loading its first copy
    acknowledges nothing yet."""
    with master.client() as direct:
        direct.set("probe", 1)
        return bool(direct.execute_command("WAIT", 1, 100) == 1)


async def test_a_202_waits_for_a_replica_and_a_retry_is_answered_from_the_stored_comment(
    aiohttp_client: Callable[..., Any],
) -> None:
    with RedisProcess() as master:
        redis = {"url": master.url, "wait_replicas": 1, "wait_timeout": 0.2}
        settings = settings_for(master.url, redis=redis, sites={"news": site()})
        client = await aiohttp_client(create_app(settings, refill_captchas=False))
        [captcha] = await mint(client)
        body = submission(captcha)
        key = {"Idempotency-Key": "wait-for-a-replica"}

        # No replica: the master has the comment, but a 202 would promise more.
        response = await client.post("/v1/sites/news/comments", json=body, headers=key)
        problem = await expect_problem(response, 503, "not-replicated")
        assert response.headers["Retry-After"] == "2"
        assert "Idempotency-Key" in problem["detail"]
        with master.client() as direct:
            stored = [k for k in direct.keys("lb:{news}:c:*")]
        assert len(stored) == 1

        # A replica joins; the client retries with its key: the same comment,
        # once the replica has it, and it is not stored twice.
        with master.client() as direct:
            # The replica's full sync starts at once, not after 5 s.
            direct.config_set("repl-diskless-sync-delay", 0)
        with Replica(master) as replica:
            until(lambda: in_sync(master), "the replica to sync")
            response = await client.post("/v1/sites/news/comments", json=body, headers=key)
            comment_id = await accepted(response)
            assert stored == [f"lb:{{news}}:c:{comment_id}".encode()]
            with replica.client() as direct:
                assert direct.exists(f"lb:{{news}}:c:{comment_id}")
                assert direct.ttl(f"lb:{{news}}:c:{comment_id}") != -2


def replicated(announce_port: int | None = None) -> Topology:
    """A master and its replica, on disk as the topologies' nodes are; the
    replica announces `announce_port` if given (a port nothing listens on:
    a replica the master lists but no one can reach)."""
    topology = Topology("replication")
    auth = ["--requirepass", ADMIN_PASSWORD, "--masterauth", ADMIN_PASSWORD]
    master = topology.add("master", list(auth))
    replica = topology.add("replica", [*auth, "--replicaof", "127.0.0.1", str(master.port)])
    if announce_port is not None:
        replica.args += ["--replica-announce-port", str(announce_port)]
    return topology


@pytest.fixture
def standalone() -> Iterator[Topology]:
    topology = replicated()
    try:
        for server in topology.servers:
            server.start()
        yield topology
    finally:
        topology.close()


@pytest.fixture
def unreachable_replica() -> Iterator[Topology]:
    topology = replicated(announce_port=free_port())
    try:
        for server in topology.servers:
            server.start()
        yield topology
    finally:
        topology.close()


async def on_master(aiohttp_client: Callable[..., Any], topology: Topology) -> Client:
    master = topology.servers[0]
    until(lambda: in_sync(master), "the replica to sync")
    url = f"redis://:{ADMIN_PASSWORD}@{master.address}/0"
    settings = settings_for(url, sites={"news": site()})
    client: Client = await aiohttp_client(create_app(settings, refill_captchas=False))
    return client


async def test_an_erasure_leaves_neither_the_master_s_nor_the_replica_s_files_holding_the_author(
    aiohttp_client: Callable[..., Any], standalone: Topology
) -> None:
    client = await on_master(aiohttp_client, standalone)
    master, replica = standalone.servers
    await erase_and_search_the_disks(
        client, [master, replica], lambda: [replica], "xoa.dia.replica@erase-disk.example.vn"
    )


async def test_a_replica_no_one_can_reach_is_logged_and_the_erasure_answers(
    aiohttp_client: Callable[..., Any],
    unreachable_replica: Topology,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await on_master(aiohttp_client, unreachable_replica)
    master, replica = unreachable_replica.servers
    email = "xoa.dia.unreachable@erase-disk.example.vn"
    await submit_ok(client, author=author(email))
    await eventually(lambda: holders([replica], email), "the comment in the replica's files")
    response = await client.post(
        "/v1/sites/news/moderation/erasures", json={"email": email}, headers=await bearer(client)
    )
    assert response.status == 200, await response.text()
    assert holders([master], email) == []
    # The replica's files were out of reach: still as they were, and said so.
    assert holders([replica], email) != []
    announced = replica.args[replica.args.index("--replica-announce-port") + 1]
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"127.0.0.1:{announced}" in message for message in messages), messages
