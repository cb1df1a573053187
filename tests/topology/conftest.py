"""The session's real topologies (servers.py), and the service's settings on them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from tests.helpers import rate_limits, settings_for, site
from tests.topology.servers import (
    ADMIN_PASSWORD,
    SENTINEL_PASSWORD,
    SERVICE_NAME,
    SERVICE_PASSWORD,
    SERVICE_USER,
    Cluster,
    SentinelGroup,
)

# Three sites whose hash tags fall in the slot ranges of the three masters
# `redis-cli --cluster create` makes (0-5460, 5461-10922, 10923-16383).
SITES = ("news", "sport", "first")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    topology = Cluster()
    try:
        topology.start()
        yield topology
    finally:
        topology.close()


@pytest.fixture(scope="session")
def sentinel_group() -> Iterator[SentinelGroup]:
    topology = SentinelGroup()
    try:
        topology.start()
        yield topology
    finally:
        topology.close()


def _secret_file(root: Path, name: str, value: str) -> str:
    path = root / name
    path.write_text(value + "\n", encoding="utf-8")
    return str(path)


def _sites() -> dict[str, Any]:
    limits = rate_limits(submit_per_ip=(100_000, 60), submit_per_email=(100_000, 60))
    return {site_id: site(rate_limits=limits) for site_id in SITES}


def cluster_settings(cluster: Cluster, **redis: Any) -> Settings:
    """The service on the cluster, logging in with the password from a file."""
    values: dict[str, Any] = {
        "topology": "cluster",
        "url": cluster.url,
        "cluster_nodes": [server.address for server in cluster.servers[1:]],
        "password_file": _secret_file(cluster.root, "password", ADMIN_PASSWORD),
        "connect_timeout": 1.0,
        "timeout": 1.0,
        **redis,
    }
    return settings_for(cluster.url, redis=values, sites=_sites())


def sentinel_settings(group: SentinelGroup, **redis: Any) -> Settings:
    """The service on the Sentinel group's master, as its ACL user, with
    every credential read from a file."""
    values: dict[str, Any] = {
        "topology": "sentinel",
        "sentinels": group.sentinel_addresses,
        "sentinel_master": SERVICE_NAME,
        "username_file": _secret_file(group.root, "username", SERVICE_USER),
        "password_file": _secret_file(group.root, "password", SERVICE_PASSWORD),
        "sentinel_password_file": _secret_file(group.root, "sentinel", SENTINEL_PASSWORD),
        "connect_timeout": 1.0,
        "timeout": 1.0,
        **redis,
    }
    return settings_for("redis://", redis=values, sites=_sites())


@pytest.fixture(autouse=True)
def _collect() -> Iterator[None]:
    """A socket left open (a connection to a node killed or demoted) is
    reported by the test that left it, not by whichever later test the
    garbage collector happens to run in."""
    yield
    gc.collect()
