"""A throwaway redis-server on a free port: the tests' only Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

import redis


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A redis-server on a free port; `with RedisProcess() as server:` starts and removes it."""

    def __init__(self, *, appendonly: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make install`")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="loibinh-test-redis-"))
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def server_args(self) -> list[str]:
        """The redis-server command line; a variant adds its own options."""
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--loglevel",
            "warning",
        ]
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        return args

    def start(self) -> None:
        self.process = subprocess.Popen(self.server_args(), stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server did not start on port {self.port} "
                        f"(exit {self.process.poll()})"
                    ) from None
                time.sleep(0.05)
            finally:
                client.close()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PersistentRedis(RedisProcess):
    """A redis-server that writes everything to disk: the
    append-only file on, RDB snapshots configured, and no compression, so
    that a search of the files finds a value if it is there."""

    def __init__(self) -> None:
        super().__init__(appendonly=True)

    def server_args(self) -> list[str]:
        args = super().server_args()
        args[args.index("--save") + 1] = "3600 1"
        return [*args, "--rdbcompression", "no", "--aof-use-rdb-preamble", "yes"]

    def files(self) -> dict[str, bytes]:
        return disk_files(self.dir)


def disk_files(directory: Path) -> dict[str, bytes]:
    """A redis-server's AOF and RDB files under its directory, by path, as
    they are on disk now."""
    return {
        str(path): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix in (".aof", ".rdb")
    }
