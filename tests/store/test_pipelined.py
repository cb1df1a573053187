"""The connection the script calls share (store/pipelined.py), on a real
redis-server: every caller gets its own reply whatever the others do, and a
caller that gave up costs the others nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from service.store.connection import close_redis, open_redis
from service.store.pipelined import PipelinedConnection
from tests.helpers import settings_for
from tests.redis_process import RedisProcess

ECHO = "return ARGV[1]"
# Long enough to still be running when the callers behind it are sent.
BUSY = "local n = 0 for i = 1, tonumber(ARGV[1]) do n = n + 1 end return ARGV[2]"


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test's own, which it may freeze."""
    with RedisProcess() as server:
        yield server


def _client(url: str, seconds: float) -> Redis:
    return open_redis(settings_for(url, timeout=seconds).redis)


@pytest.fixture
async def shared(redis_server: RedisProcess) -> AsyncIterator[PipelinedConnection]:
    redis = _client(redis_server.url, 2.0)
    pipelined = PipelinedConnection(redis.connection_pool, 2.0)
    yield pipelined
    await pipelined.aclose()
    await close_redis(redis)


def _clients(server: RedisProcess) -> int:
    with server.client() as direct:
        return int(direct.info("clients")["connected_clients"])


async def test_concurrent_callers_each_get_their_own_reply_on_one_connection(
    shared: PipelinedConnection, redis_server: RedisProcess
) -> None:
    before = _clients(redis_server)
    replies = await asyncio.gather(*(shared.call("EVAL", ECHO, 0, n) for n in range(300)))
    assert replies == [str(n).encode() for n in range(300)]
    assert _clients(redis_server) == before + 1


async def test_an_error_reply_goes_to_its_caller_alone(shared: PipelinedConnection) -> None:
    results = await asyncio.gather(
        shared.call("EVAL", ECHO, 0, "a"),
        shared.call("EVAL", "return redis.error_reply('NOPE wrong')", 0),
        shared.call("EVAL", ECHO, 0, "c"),
        return_exceptions=True,
    )
    assert results[0] == b"a" and results[2] == b"c"
    assert isinstance(results[1], ResponseError) and "wrong" in str(results[1])


async def test_a_cancelled_caller_leaves_the_next_their_reply(
    shared: PipelinedConnection,
) -> None:
    slow = asyncio.create_task(shared.call("EVAL", BUSY, 0, 2_000_000, "slow"))
    await asyncio.sleep(0)  # sent
    behind = asyncio.create_task(shared.call("EVAL", ECHO, 0, "behind"))
    await asyncio.sleep(0)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await behind == b"behind"
    assert await shared.call("EVAL", ECHO, 0, "after") == b"after"


async def test_a_caller_that_timed_out_does_not_cut_short_the_one_behind(
    own_redis: RedisProcess,
) -> None:
    """The first caller times out while Redis is frozen; the one sent after
    it still has time left, and gets its own reply once Redis is back, not
    the first one's. New calls go on a fresh connection meanwhile."""
    redis = _client(own_redis.url, 3.0)
    shared = PipelinedConnection(redis.connection_pool, 3.0)
    try:
        assert await shared.call("EVAL", ECHO, 0, "warm") == b"warm"
        own_redis.pause()
        try:
            first = asyncio.create_task(shared.call("EVAL", ECHO, 0, "first"))
            await asyncio.sleep(1.5)
            second = asyncio.create_task(shared.call("EVAL", ECHO, 0, "second"))
            with pytest.raises(TimeoutError):
                await first
        finally:
            own_redis.resume()
        assert await second == b"second"
        assert await shared.call("EVAL", ECHO, 0, "fresh") == b"fresh"
    finally:
        await shared.aclose()
        await close_redis(redis)


async def test_a_restarted_redis_is_reached_again(own_redis: RedisProcess) -> None:
    redis = _client(own_redis.url, 2.0)
    shared = PipelinedConnection(redis.connection_pool, 2.0)
    try:
        assert await shared.call("EVAL", ECHO, 0, "before") == b"before"
        own_redis.stop()
        own_redis.start()
        # A call may still find the old socket, closed under it: a
        # connection error (a 503), never another caller's reply or a hang.
        with contextlib.suppress(ConnectionError):
            await shared.call("EVAL", ECHO, 0, "lost")
        assert await shared.call("EVAL", ECHO, 0, "after") == b"after"
    finally:
        await shared.aclose()
        await close_redis(redis)


async def test_callers_that_find_redis_frozen_share_one_attempt_at_connecting(
    own_redis: RedisProcess,
) -> None:
    """Twenty callers find no connection while Redis does not answer: they
    wait for the one attempt at opening it, which fails them all, rather
    than each making an attempt (and waiting its timeout) after the other."""
    redis = _client(own_redis.url, 0.5)
    shared = PipelinedConnection(redis.connection_pool, 0.5)
    with own_redis.client() as direct:
        before = int(direct.info("stats")["total_connections_received"])
        own_redis.pause()
        try:
            failures = await asyncio.gather(
                *(shared.call("EVAL", ECHO, 0, n) for n in range(20)), return_exceptions=True
            )
        finally:
            own_redis.resume()
        assert all(isinstance(f, ConnectionError | TimeoutError) for f in failures), failures
        assert int(direct.info("stats")["total_connections_received"]) == before + 1
    try:
        assert await shared.call("EVAL", ECHO, 0, "back") == b"back"
    finally:
        await shared.aclose()
        await close_redis(redis)
