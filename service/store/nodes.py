"""Every data node of the topology the service can find, each with a client:
for what must reach every copy of the data (the disk purge after an
erasure), not only the master the service writes to."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from service.settings import RedisSettings
from service.store.connection import UNREACHABLE, is_cluster, open_node, text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    name: str  # host:port, or "master" for the service's own client
    client: Redis
    replica: bool
    # A node of the service's own making, whose failures are logged; the
    # standalone or Sentinel master's failures are the caller's.
    optional: bool


@asynccontextmanager
async def every_node(redis: Redis, settings: RedisSettings) -> AsyncIterator[list[Node]]:
    """On a cluster, every master and replica it knows; otherwise the master
    (the service's own client) and the replicas it or the sentinels list.
    The clients opened here are closed on leaving."""
    opened: list[Redis] = []

    def node(host: str, port: int, replica: bool) -> Node:
        client = open_node(settings, host, port)
        opened.append(client)
        return Node(f"{host}:{port}", client, replica, optional=True)

    try:
        if is_cluster(redis):
            listed = await _cluster_nodes(cast(RedisCluster, redis))
            yield [node(host, port, replica) for host, port, replica in listed]
        else:
            master = Node("master", redis, replica=False, optional=False)
            addresses = await _replicas(redis)
            yield [master, *(node(host, port, True) for host, port in addresses)]
    finally:
        for client in opened:
            await client.aclose()


async def _cluster_nodes(cluster: RedisCluster) -> list[tuple[str, int, bool]]:
    """Every node CLUSTER NODES names, replicas included: the client's own
    map comes from CLUSTER SLOTS, which leaves out a replica until it has
    been sent a write, so the map alone would miss some. If no node answers
    CLUSTER NODES, the nodes of that map (logged)."""
    await cluster.initialize()
    try:
        listed = await cluster.cluster_nodes()
    except UNREACHABLE as exc:
        log.warning("CLUSTER NODES unanswered (%s): purging the nodes known from slots", exc)
        return [
            (found.host, int(found.port), found.server_type == "replica")
            for found in cluster.get_nodes()
        ]
    found = []
    for address, entry in listed.items():
        host, _, port = address.rpartition(":")
        flags = str(entry["flags"]).split(",")
        if host and "noaddr" not in flags:
            found.append((host, int(port), "slave" in flags))
    return found


async def _replicas(redis: Redis) -> list[tuple[str, int]]:
    """The replicas the sentinels list, or else those the master's
    INFO replication lists; none (logged) if neither answers."""
    pool = redis.connection_pool
    try:
        if isinstance(pool, SentinelConnectionPool):
            found = await pool.sentinel_manager.discover_slaves(pool.service_name)
            return [(text(host), int(port)) for host, port in found]
        info = await redis.info("replication")
    except UNREACHABLE as exc:
        log.warning("cannot list the replicas (%s): their files are left as they are", exc)
        return []
    return [
        (text(entry["ip"]), int(entry["port"]))
        for field, entry in info.items()
        if field.startswith("slave") and isinstance(entry, dict)
    ]
