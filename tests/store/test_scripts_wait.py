"""The WAIT that follows a script when a 202 must reach replicas, on a real
redis-server that stops answering between the script's reply and the WAIT's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.exceptions import TimeoutError

from service.store import signatures as sig
from service.store.connection import close_redis, open_redis
from service.store.scripts import Replication, Script
from tests.helpers import settings_for
from tests.redis_process import RedisProcess


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test's own, which it may freeze."""
    with RedisProcess() as server:
        yield server


async def test_an_unanswered_wait_is_a_timeout_and_drops_its_connection(
    own_redis: RedisProcess,
) -> None:
    # No replica: WAIT would answer 0 after its 50 ms, were Redis not frozen.
    redis = open_redis(settings_for(own_redis.url, timeout=0.3).redis)
    script = Script(redis, "thread_page", Replication(replicas=1, timeout_ms=50))
    keys = sig.ThreadPageKeys("ids", "public")
    args = sig.ThreadPageArgs("-", 10, 0, 1)

    def freeze(reply: object) -> bool:
        own_redis.pause()  # after the script's reply, before the WAIT is sent
        return True

    try:
        with pytest.raises(TimeoutError):
            await script(keys, args, replicate_if=freeze)
        own_redis.resume()
        # The connection that may still hold the late WAIT reply was dropped:
        # the next call reads its own reply, not that one.
        reply = await script(keys, args, replicate_if=lambda _: False)
        assert reply == await script(keys, args)
    finally:
        own_redis.resume()
        await close_redis(redis)
