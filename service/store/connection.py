"""The Redis client: built from settings with the timeouts that make a dead
Redis a quick 503 instead of a hung request, and the one place that turns
Redis failures into StoreUnavailable."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio import connection as redis_connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from service.errors import StoreUnavailable
from service.settings import RedisSettings

P = ParamSpec("P")
T = TypeVar("T")

# Failures of reaching Redis, as opposed to errors in what was asked of it.
UNREACHABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    asyncio.TimeoutError,
    OSError,
)


class Connection(redis_connection.Connection):
    """redis-py's asyncio connection, packing commands with hiredis.

    The asyncio client packs every argument in Python; the accept script's
    call has some forty arguments, and packing them in C saves about a
    tenth of the accept path's CPU (bench/). Commands named in two words
    ("SCRIPT LOAD") are split as redis-py itself does.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if isinstance(first, str) and " " in first:
            args = (*first.split(), *args[1:])
        return [hiredis.pack_command(args)]


def open_redis(settings: RedisSettings) -> Redis:
    pool = redis_connection.ConnectionPool.from_url(
        settings.url,
        connection_class=Connection,
        # Beyond this many connections a command fails at once (and the
        # request gets its 503) rather than queueing behind the others.
        max_connections=settings.max_connections,
        socket_connect_timeout=settings.connect_timeout,
        socket_timeout=settings.timeout,
        # redis-py retries ten times by default. A retried EVALSHA whose reply
        # was lost would run the accept script twice, so nothing is retried.
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )
    return Redis(connection_pool=pool)


class RedisClock:
    """Redis's clock as seen from here: the scripts decide by Redis's `TIME`,
    so a deadline handed to a script must be in Redis's time, whatever the
    skew between the two machines."""

    # Samples per sync: the quickest round trip pins the offset closest.
    SAMPLES = 3

    def __init__(self) -> None:
        self.offset_ms = 0
        # How far the offset may be off: half the round trip it was read in.
        self.uncertainty_ms = 0

    async def sync(self, redis: Redis) -> None:
        best: tuple[float, float] | None = None
        for _ in range(self.SAMPLES):
            before = time.time()
            seconds, micros = await redis.time()
            after = time.time()
            offset = seconds * 1000 + micros / 1000 - (before + after) * 500
            if best is None or after - before < best[0]:
                best = (after - before, offset)
        assert best is not None
        self.offset_ms = round(best[1])
        self.uncertainty_ms = math.ceil(best[0] * 500) + 1

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def deadline_ms(self, budget_ms: int) -> int:
        """Redis's time when `budget_ms` from now has surely not yet passed
        here: a script run after it cannot have a client still waiting."""
        return self.now_ms() + budget_ms - self.uncertainty_ms


def translate_errors(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Re-raise every way of not reaching Redis as the one domain error."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await func(*args, **kwargs)
        except UNREACHABLE as exc:
            raise StoreUnavailable(
                f"the comment store is unreachable ({type(exc).__name__})"
            ) from exc

    return wrapper


def text(value: object) -> str:
    """A reply as text: the client is built without decode_responses, so that
    binary values (captcha images) pass untouched."""
    return value.decode() if isinstance(value, bytes) else str(value)
