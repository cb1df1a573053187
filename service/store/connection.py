"""The Redis client: built from settings with the timeouts that make a dead
Redis a quick 503 instead of a hung request, and the one place that turns
Redis failures into StoreUnavailable."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster
from redis.asyncio import connection as redis_connection
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.backoff import NoBackoff

from service.errors import StoreUnavailable
from service.settings import RedisSettings

P = ParamSpec("P")
T = TypeVar("T")

# Failures of reaching Redis, as opposed to errors in what was asked of it.
# A failover adds its own: a cluster whose slots have no master yet
# (CLUSTERDOWN, TRYAGAIN, a slot no node serves), a Sentinel that knows no
# master, a node that was demoted to a replica under our feet.
UNREACHABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,
    redis_errors.SlotNotCoveredError,
    redis_errors.RedisClusterUnreachableError,
    asyncio.TimeoutError,
    OSError,
)


class _HiredisPacking:
    """Packs commands with hiredis.

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


class Connection(_HiredisPacking, redis_connection.Connection):
    pass


class SSLConnection(_HiredisPacking, redis_connection.SSLConnection):
    pass


class SentinelConnection(_HiredisPacking, SentinelManagedConnection):
    pass


class SentinelSSLConnection(_HiredisPacking, SentinelManagedSSLConnection):
    pass


def _credentials(settings: RedisSettings) -> dict[str, Any]:
    """The ACL user, password and TLS options every node is reached with."""
    options: dict[str, Any] = {}
    if settings.username:
        options["username"] = settings.username
    if settings.password.get_secret_value():
        options["password"] = settings.password.get_secret_value()
    if settings.tls and settings.tls_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.tls_ca_file)
    return options


def _timeouts(settings: RedisSettings) -> dict[str, Any]:
    return {
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.timeout,
        # redis-py retries ten times by default. A retried EVALSHA whose reply
        # was lost would run the accept script twice, so nothing is retried.
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": False,
    }


def _address(node: str) -> tuple[str, int]:
    host, _, port = node.rpartition(":")
    return host, int(port)


def open_redis(settings: RedisSettings) -> Redis:
    """The client of the configured topology.

    A cluster client is returned as a `Redis`: RedisCluster answers every
    command the service sends with the same methods and replies (the
    topology tests run every path on a real cluster), and the one place that
    must know the difference, the scripts' EVALSHA, asks `is_cluster`.
    """
    if settings.topology == "cluster":
        return cast(Redis, _open_cluster(settings))
    if settings.topology == "sentinel":
        return _open_sentinel(settings)
    url_options = redis_connection.parse_url(settings.url)
    connection_class: type[redis_connection.AbstractConnection] = (
        SSLConnection if settings.tls else Connection
    )
    if url_options.get("connection_class") is redis_connection.UnixDomainSocketConnection:
        connection_class = redis_connection.UnixDomainSocketConnection
    url_options.pop("connection_class", None)
    pool = redis_connection.ConnectionPool(
        **{**url_options, **_credentials(settings), **_timeouts(settings)},
        connection_class=connection_class,
        # Beyond this many connections a command fails at once (and the
        # request gets its 503) rather than queueing behind the others.
        max_connections=settings.max_connections,
    )
    return Redis(connection_pool=pool)


def _open_sentinel(settings: RedisSettings) -> Redis:
    url_options = redis_connection.parse_url(settings.url)
    sentinel_options: dict[str, Any] = {
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.timeout,
    }
    if settings.sentinel_password.get_secret_value():
        sentinel_options["password"] = settings.sentinel_password.get_secret_value()
    if settings.tls:
        sentinel_options["ssl"] = True
        if settings.tls_ca_file is not None:
            sentinel_options["ssl_ca_certs"] = str(settings.tls_ca_file)
    sentinel = Sentinel(
        [_address(node) for node in settings.sentinels],
        sentinel_kwargs=sentinel_options,
    )
    # Every connection asks the sentinels for the master's address when it
    # opens, so after a failover the next connection reaches the new master;
    # a connection still open to the old one fails (or gets READONLY, which
    # redis-py turns into a connection error) and is dropped.
    return sentinel.master_for(  # type: ignore[no-any-return]
        settings.sentinel_master,
        connection_class=SentinelSSLConnection if settings.tls else SentinelConnection,
        db=url_options.get("db", 0),
        max_connections=settings.max_connections,
        **_credentials(settings),
        **_timeouts(settings),
    )


def _open_cluster(settings: RedisSettings) -> RedisCluster:
    parts = urlsplit(settings.url)
    nodes = [f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}", *settings.cluster_nodes]
    return RedisCluster(
        startup_nodes=[ClusterNode(*_address(node)) for node in nodes],
        # A shard without a master (a failover in progress) fails only its
        # own sites' requests; the others go on being served.
        require_full_coverage=False,
        max_connections=settings.max_connections,
        ssl=settings.tls,
        **_node_credentials(settings),
        **_timeouts(settings),
    )


def _node_credentials(settings: RedisSettings) -> dict[str, Any]:
    """The credentials of a node reached by address: the configured ones, or
    else those of the URL (a cluster's nodes, a replica, share them)."""
    parts = urlsplit(settings.url)
    credentials = _credentials(settings)
    if parts.username and "username" not in credentials:
        credentials["username"] = parts.username
    if parts.password and "password" not in credentials:
        credentials["password"] = parts.password
    return credentials


def open_node(settings: RedisSettings, host: str, port: int) -> Redis:
    """A client of one node by its address (a shard, a replica), reached with
    the same credentials and TLS as the service's own client; one
    connection, for the few commands sent to that node alone."""
    return Redis(
        host=host,
        port=port,
        ssl=settings.tls,
        single_connection_client=True,
        **_node_credentials(settings),
        **_timeouts(settings),
    )


def is_cluster(redis: Redis) -> bool:
    return isinstance(redis, RedisCluster)


async def close_redis(redis: Redis) -> None:
    """Close the client, its connections, and a Sentinel's own clients."""
    if isinstance(redis, RedisCluster):
        await redis.aclose()
        return
    pool = redis.connection_pool
    await redis.aclose(close_connection_pool=True)
    if isinstance(pool, SentinelConnectionPool):
        await pool.sentinel_manager.aclose()


async def describe(redis: Redis, settings: RedisSettings) -> dict[str, str]:
    """The topology and which node is master (each shard's, on a cluster), as
    `/readyz` and `loibinh check-config` report them."""
    report: dict[str, str] = {"topology": settings.topology}
    if isinstance(redis, RedisCluster):
        await redis.initialize()
        masters = sorted(node.name for node in redis.get_primaries())
        report["masters"] = ",".join(masters)
        report["replicas"] = str(len(redis.get_replicas()))
        return report
    pool = redis.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        host, port = await pool.get_master_address()  # type: ignore[no-untyped-call]
        report["master"] = f"{host}:{port}"
    else:
        kwargs = pool.connection_kwargs
        report["master"] = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    role = await redis.execute_command("ROLE")  # type: ignore[no-untyped-call]
    report["role"] = text(role[0])
    if role[0] == b"master":
        report["replicas"] = str(len(role[2]))
    return report


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
