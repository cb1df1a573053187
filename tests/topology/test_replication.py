"""`redis.wait_replicas`: a 202 only once a replica has the comment, a 503
`not-replicated` when none acknowledges in time, and the retry with the
same Idempotency-Key answered from the stored comment once one does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.main import create_app
from tests.helpers import accepted, expect_problem, mint, settings_for, site, submission
from tests.redis_process import RedisProcess
from tests.topology.servers import until

pytestmark = [pytest.mark.slow, pytest.mark.topology]


class Replica(RedisProcess):
    def __init__(self, master: RedisProcess) -> None:
        super().__init__()
        self.master = master

    def server_args(self) -> list[str]:
        return [*super().server_args(), "--replicaof", "127.0.0.1", str(self.master.port)]


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

            def in_sync() -> bool:
                # Online is not enough: a replica still loading its first
                # copy acknowledges nothing yet.
                with master.client() as direct:
                    direct.set("probe", 1)
                    return bool(direct.execute_command("WAIT", 1, 100) == 1)

            until(in_sync, "the replica to sync")
            response = await client.post("/v1/sites/news/comments", json=body, headers=key)
            comment_id = await accepted(response)
            assert stored == [f"lb:{{news}}:c:{comment_id}".encode()]
            with replica.client() as direct:
                assert direct.exists(f"lb:{{news}}:c:{comment_id}")
                assert direct.ttl(f"lb:{{news}}:c:{comment_id}") != -2
