"""Real Redis topologies on free ports in a temporary directory, started
with redis-server and redis-cli as an operator would, and stopped by pid:
a 3-master 3-replica Cluster, and a Sentinel group (one master, one replica,
three sentinels). Every node asks for a password, and the Sentinel group's
data nodes have an ACL user, so the service reaches them as in production."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.redis_process import disk_files, free_port

# The data nodes' `default` password (replication and the sentinels use it too).
ADMIN_PASSWORD = "topology-admin-password"
# The ACL user the service logs in as on the Sentinel group's data nodes.
SERVICE_USER = "loibinh"
SERVICE_PASSWORD = "topology-service-password"
# The sentinels' own password.
SENTINEL_PASSWORD = "topology-sentinel-password"
SERVICE_NAME = "loibinh-master"
# How long a node may be silent before it is failed over: small, so that a
# failover test takes seconds, not the default half a minute.
NODE_TIMEOUT_MS = 1000


def _binary(name: str) -> str:
    binary = shutil.which(name)
    if binary is None:
        raise RuntimeError(f"{name} is not installed: run `make install`")
    return binary


def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for a topology to reach a state (it converges on its own)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    """One redis-server (or sentinel) process of a topology, in its own directory."""

    def __init__(self, root: Path, name: str, args: list[str], password: str) -> None:
        self.port = free_port()
        self.dir = root / name
        self.dir.mkdir()
        self.name = name
        self.args = args
        self.password = password
        # A sentinel's configuration file, which it rewrites as it learns.
        self.sentinel_config: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        common = [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        if self.sentinel_config is not None:
            return [_binary("redis-server"), str(self.sentinel_config), "--sentinel", *common]
        return [
            _binary("redis-server"),
            *common,
            # Everything on disk, as in production, so that a test can search
            # every node's files (uncompressed) for what must have left them.
            "--save",
            "3600 1",
            "--appendonly",
            "yes",
            "--rdbcompression",
            "no",
            # A replica's full sync starts at once, not after Redis's default
            # 5 s wait for more replicas to share it.
            "--repl-diskless-sync-delay",
            "0",
            *self.args,
        ]

    def start(self) -> None:
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL)
        until(self._answers, f"{self.name} on port {self.port} to answer", 10)

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log_file = self.dir / "redis.log"
            log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"{self.name} exited {self.process.returncode}: {log}")
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=5)

    def files(self) -> dict[str, bytes]:
        return disk_files(self.dir)

    def kill(self) -> None:
        """kill -9: no shutdown, no last write, as a machine dies."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None


class Topology:
    """Servers in one temporary directory, all stopped by pid on close."""

    def __init__(self, prefix: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"loibinh-{prefix}-"))
        self.servers: list[Server] = []

    def add(self, name: str, args: list[str], password: str = ADMIN_PASSWORD) -> Server:
        server = Server(self.root, name, args, password)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Cluster(Topology):
    """Six nodes in cluster mode, made a cluster of three masters with a
    replica each by `redis-cli --cluster create`."""

    def __init__(self) -> None:
        super().__init__("cluster")
        for index in range(6):
            self.add(f"node{index}", [])
        for server in self.servers:
            server.args = [
                "--requirepass",
                ADMIN_PASSWORD,
                "--masterauth",
                ADMIN_PASSWORD,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(server.dir / "nodes.conf"),
                # The bus port defaults to port + 10000, which may be taken.
                "--cluster-port",
                str(free_port()),
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                # A replica takes over however long its master was gone.
                "--cluster-replica-validity-factor",
                "0",
                # The shards that have a master keep serving during a failover.
                "--cluster-require-full-coverage",
                "no",
            ]

    def start(self) -> None:
        for server in self.servers:
            server.start()
        subprocess.run(
            [
                _binary("redis-cli"),
                "-a",
                ADMIN_PASSWORD,
                "--no-auth-warning",
                "--cluster",
                "create",
                *(server.address for server in self.servers),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )
        until(self.healthy, "the cluster to be ok with three replicas in sync")

    @property
    def url(self) -> str:
        return f"redis://{self.servers[0].address}"

    def nodes(self) -> list[dict[str, str]]:
        """CLUSTER NODES as one node sees it: address, role and master of each node."""
        with self.running()[0].client() as client:
            raw = client.execute_command("CLUSTER", "NODES")
        # One line a node: id ip:port@bus flags master ...
        return [
            {"address": line.split()[1].split("@")[0], "flags": line.split()[2]}
            for line in raw.decode().splitlines()
        ]

    def running(self) -> list[Server]:
        return [server for server in self.servers if server.process is not None]

    def masters(self) -> list[Server]:
        by_address = {server.address: server for server in self.servers}
        return [
            by_address[node["address"]]
            for node in self.nodes()
            if "master" in node["flags"] and "fail" not in node["flags"]
        ]

    def healthy(self) -> bool:
        for server in self.running():
            with server.client() as client:
                if b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                    return False
                info = client.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return False
        return len(self.masters()) == 3

    def server_of(self, address: str) -> Server:
        return next(server for server in self.servers if server.address == address)

    def master_of(self, key: str) -> Server:
        """The node serving a key's slot now, as a surviving node sees it."""
        with self.running()[0].client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    host, port = master[0], master[1]
                    host = host.decode() if isinstance(host, bytes) else host
                    return self.server_of(f"{host}:{port}")
        raise LookupError(f"no node serves the slot of {key}")


class SentinelGroup(Topology):
    """A master, a replica, and three sentinels watching them."""

    def __init__(self) -> None:
        super().__init__("sentinel")
        data = [
            "--requirepass",
            ADMIN_PASSWORD,
            "--masterauth",
            ADMIN_PASSWORD,
            # An ACL user: each word of the rule its own argument.
            "--user",
            SERVICE_USER,
            "on",
            f">{SERVICE_PASSWORD}",
            "~*",
            "&*",
            "+@all",
        ]
        self.master = self.add("master", list(data))
        self.replica = self.add(
            "replica", [*data, "--replicaof", "127.0.0.1", str(self.master.port)]
        )
        self.sentinels = [self.add(f"sentinel{index}", [], SENTINEL_PASSWORD) for index in range(3)]

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        for sentinel in self.sentinels:
            config = sentinel.dir / "sentinel.conf"
            config.write_text(
                f"requirepass {SENTINEL_PASSWORD}\n"
                f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel auth-pass {SERVICE_NAME} {ADMIN_PASSWORD}\n"
                f"sentinel down-after-milliseconds {SERVICE_NAME} {NODE_TIMEOUT_MS}\n"
                f"sentinel failover-timeout {SERVICE_NAME} 10000\n",
                encoding="utf-8",
            )
            sentinel.sentinel_config = config
            sentinel.start()
        until(self.healthy, "the sentinels to see the master, the replica and each other")

    @property
    def sentinel_addresses(self) -> list[str]:
        return [sentinel.address for sentinel in self.sentinels]

    def master_address(self) -> str:
        """The master as the sentinels name it now."""
        with self.sentinels[0].client() as client:
            host, port = client.sentinel_get_master_addr_by_name(SERVICE_NAME)
        return f"{host.decode()}:{port}"

    def current_master(self) -> Server:
        address = self.master_address()
        return next(server for server in (self.master, self.replica) if server.address == address)

    def healthy(self) -> bool:
        """Every sentinel agrees on a master that has a replica in sync."""
        try:
            masters = set()
            for sentinel in self.sentinels:
                with sentinel.client() as client:
                    state = client.sentinel_master(SERVICE_NAME)
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
                masters.add((state["ip"], int(state["port"])))
            if len(masters) != 1:
                return False
            with self.current_master().client() as client:
                info = client.info("replication")
            if info["role"] != "master" or info.get("connected_slaves", 0) < 1:
                return False
            if info["slave0"]["state"] != "online":
                return False
            # Online is not enough: a replica still loading its first copy
            # acknowledges nothing yet, and a replicated 202 waits for that.
            with self.current_master().client() as client:
                client.set("topology-probe", 1)
                return bool(client.execute_command("WAIT", 1, 100) == 1)
        except redis.ConnectionError:
            return False
