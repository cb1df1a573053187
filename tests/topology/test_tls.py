"""The service on a Redis that speaks only TLS and knows the service as an
ACL user: a `rediss://` URL, the authority's certificate from
`redis.tls_ca_file`, the user and password from files."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from service.errors import StoreUnavailable
from service.main import create_app
from tests.helpers import (
    eventually,
    expect_problem,
    mint,
    settings_for,
    site,
    submission,
    submit_ok,
)
from tests.topology.servers import SERVICE_PASSWORD, SERVICE_USER, Server, Topology, until

pytestmark = [pytest.mark.slow, pytest.mark.topology]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class TlsServer(Topology):
    """One redis-server listening only on a TLS port, its certificate signed
    by a throwaway authority, with the service's ACL user."""

    def __init__(self) -> None:
        super().__init__("tls")
        certs = self.root / "certs"
        certs.mkdir()
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=loibinh test CA",
            cwd=certs,
        )
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "redis.key",
            "-out",
            "redis.csr",
            "-subj",
            "/CN=127.0.0.1",
            cwd=certs,
        )
        (certs / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
        openssl(
            "x509",
            "-req",
            "-in",
            "redis.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "redis.crt",
            "-extfile",
            "san.ext",
            cwd=certs,
        )
        self.ca = certs / "ca.crt"
        self.server: Server = self.add("redis", [])
        self.server.args = [
            "--tls-port", str(self.server.port), "--port", "0",
            "--tls-cert-file", str(certs / "redis.crt"),
            "--tls-key-file", str(certs / "redis.key"),
            "--tls-ca-cert-file", str(self.ca),
            "--tls-auth-clients", "no",
            "--user", SERVICE_USER, "on", f">{SERVICE_PASSWORD}", "~*", "&*", "+@all",
            "--user", "default", "off",
        ]  # fmt: skip

    def start(self) -> None:
        server = self.server
        server.process = subprocess.Popen(server.command(), stdout=subprocess.DEVNULL)
        until(self._answers, "the TLS redis-server to answer", 10)

    def _answers(self) -> bool:
        client = redis.Redis(
            host="127.0.0.1",
            port=self.server.port,
            ssl=True,
            ssl_ca_certs=str(self.ca),
            username=SERVICE_USER,
            password=SERVICE_PASSWORD,
        )
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()


@pytest.fixture(scope="module")
def tls_redis() -> Iterator[TlsServer]:
    topology = TlsServer()
    try:
        topology.start()
        yield topology
    finally:
        topology.close()


def tls_settings(tls: TlsServer, **redis: Any) -> Any:
    (tls.root / "user").write_text(SERVICE_USER + "\n", encoding="utf-8")
    (tls.root / "password").write_text(SERVICE_PASSWORD + "\n", encoding="utf-8")
    url = f"rediss://127.0.0.1:{tls.server.port}/0"
    values = {
        "url": url,
        "username_file": str(tls.root / "user"),
        "password_file": str(tls.root / "password"),
        **redis,
    }
    return settings_for(url, redis=values, sites={"news": site()})


async def test_submissions_over_tls_as_an_acl_user(
    aiohttp_client: Callable[..., Any], tls_redis: TlsServer
) -> None:
    app = create_app(tls_settings(tls_redis, tls_ca_file=str(tls_redis.ca)), refill_captchas=False)
    client = await aiohttp_client(app)
    await eventually_ready(client)
    await submit_ok(client)
    ready = await (await client.get("/readyz")).json()
    assert ready["checks"]["master"] == f"127.0.0.1:{tls_redis.server.port}"


async def test_a_server_certificate_no_trusted_authority_signed_is_refused(
    aiohttp_client: Callable[..., Any], tls_redis: TlsServer
) -> None:
    # Without the test authority's certificate the server cannot be trusted:
    # every request is a 503, none is sent in clear or unverified.
    client = await aiohttp_client(create_app(tls_settings(tls_redis), refill_captchas=False))
    assert (await client.get("/readyz")).status == 503
    with pytest.raises(StoreUnavailable):
        await mint(client)
    made_up = ("a" * 22, "answer")
    response = await client.post("/v1/sites/news/comments", json=submission(made_up))
    await expect_problem(response, 503, "unavailable")


async def eventually_ready(client: Any) -> None:
    async def status() -> int:
        return int((await client.get("/readyz")).status)

    await eventually(status, "the TLS Redis to be ready", until=lambda s: s == 200, within=10)
