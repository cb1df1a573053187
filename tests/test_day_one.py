"""A newcomer's first minutes (issue 14): `make run PORT=...` and the origins
that follow it, a taken port said in one line, and `make key` making a key on
the very Redis the development server uses, which the dashboard's API then
accepts. The scripts run as `make` runs them, against the session's Redis."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Awaitable, Callable

import pytest

from tests.helpers import ROOT, TEST_SECRET, Client, authorization, cli_env, run_cli, site
from tests.redis_process import RedisProcess, free_port


def dev_script(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A bash command run in the repository with the development environment sourced."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_port_is_one_line_without_traceback(
    redis_server: RedisProcess, workers: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = cli_env(LOIBINH_MODE="development", LOIBINH_REDIS__URL=redis_server.url)
        done = run_cli("serve", "--port", str(port), "--workers", workers, env=env)
    assert done.returncode == 1
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert said == [
        f"loibinh: port {port} on 127.0.0.1 is already in use; stop what serves it "
        "or choose another port (make run PORT=8081, or loibinh serve --port 8081)"
    ]


def test_the_demo_origins_follow_the_port() -> None:
    done = dev_script(
        ". scripts/dev-env.sh && .venv/bin/python -c "
        '"from service.settings import load_settings as l; s = l(); '
        "d = s.sites['demo']; print(s.port, *d.allowed_origins, d.article_url('t'))\"",
        LOIBINH_PORT="9123",
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_REDIS__URL="redis://127.0.0.1:1/0",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "9123",
        "http://127.0.0.1:9123",
        "http://localhost:9123",
        "http://127.0.0.1:9123/?thread=t",
    ]


async def test_make_key_reaches_the_development_redis(
    redis_server: RedisProcess, make_client: Callable[..., Awaitable[Client]]
) -> None:
    # The case: only the secret set, nothing about Redis.
    done = dev_script(
        "scripts/dev-key.sh",
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_DEV_REDIS_PORT=str(redis_server.port),
        NAME="Tôi",
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.splitlines()[-1]
    # The server `make run` starts: the same secret and Redis, the demo site.
    client = await make_client(mode="development", sites={"demo": site()})
    response = await client.get(
        "/v1/sites/demo/moderation/queue?state=pending", headers=authorization(token)
    )
    assert response.status == 200, await response.text()


def test_make_key_without_a_development_redis_says_so() -> None:
    port = free_port()
    done = dev_script(
        "scripts/dev-key.sh", LOIBINH_SECRET_KEY=TEST_SECRET, LOIBINH_DEV_REDIS_PORT=str(port)
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"no development Redis on 127.0.0.1:{port}: start it with make run"
    )
