"""Operations: health, readiness, metrics, the OpenAPI document, problem pages,
the error edge (404, 405, 500, request ids) and the command line (serve with
workers, captcha mint, check-config)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from service.http import problems
from service.http.state import SERVICES
from service.keyring import Keyring
from service.main import create_app
from service.settings import Settings
from service.store.keyschema import SiteKeys
from tests.helpers import (
    TEST_SECRET,
    Client,
    Supervisor,
    alive,
    approve,
    bearer,
    cli_env,
    decide,
    eventually,
    expect_problem,
    mint,
    run_cli,
    samples,
    scrape,
    settings_for,
    submission,
    submit_ok,
)
from tests.redis_process import RedisProcess

# --- health and readiness ----------------------------------------------------------------


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert (await response.json())["status"] == "ok"


async def test_readyz_reports_redis_and_scripts(client: Client, redis_server: RedisProcess) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body == {
        "status": "ok",
        "checks": {
            "redis": "ok",
            "topology": "standalone",
            "master": f"127.0.0.1:{redis_server.port}",
            "role": "master",
            "replicas": "0",
            "scripts": "ok",
        },
    }
    # Scripts flushed away (a Redis restart without persistence does this):
    # readiness notices and loads them again.
    with redis_server.client() as direct:
        direct.script_flush()
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "ok"
    assert body["checks"]["scripts"] == "reloaded"
    shas = [script.sha for script in client.app[SERVICES].scripts.all()]
    with redis_server.client() as direct:
        assert all(direct.script_exists(*shas))


async def test_shutdown_closes_the_redis_connections(aiohttp_client: Callable[..., Any]) -> None:
    """Stopping the app closes its connections instead of leaving them to the
    garbage collector (a worker restart must not leak a socket per connection)."""
    with RedisProcess() as server:
        settings = settings_for(server.url)
        app = create_app(settings, refill_captchas=False)
        client = await aiohttp_client(app)
        assert (await client.get("/readyz")).status == 200
        pool = app[SERVICES].redis.connection_pool
        with server.client() as direct:
            assert len(direct.client_list()) >= 2  # the app's and this one
        await client.close()
        try:
            with server.client() as direct:
                # A tenth of a second for the server to see them go.
                await eventually(
                    lambda: len(direct.client_list()) - 1,  # all but this one
                    "the app's Redis connections to close after shutdown",
                    until=lambda left_open: left_open == 0,
                    within=0.1,
                )
        finally:
            await pool.disconnect()  # so that a failure here leaks nothing into later tests


# --- metrics ------------------------------------------------------------------------------


async def test_metrics_of_the_queue_and_decisions(client: Client) -> None:
    admin = await bearer(client)
    ids = [await submit_ok(client, body=f"Bình luận {i}.") for i in range(3)]
    await decide(client, admin, ids[0], "approve")
    await decide(client, admin, ids[1], "reject")
    conflict = await client.post(
        "/v1/sites/news/moderation/decisions",
        json={"decisions": [{"id": ids[1], "action": "approve"}]},
        headers=admin,
    )
    assert (await conflict.json())["results"][0]["outcome"] == "conflict"
    found = await scrape(client)
    depths = {lab["state"]: v for n, lab, v in found if n == "loibinh_queue_depth"}
    assert depths == {"pending": 1, "reported": 0, "approved": 1, "rejected": 1, "spam": 0}
    decisions = {
        (lab["action"], lab["outcome"]): v
        for n, lab, v in found
        if n == "loibinh_moderation_decisions_total" and lab["site"] == "news"
    }
    assert sum(decisions.values()) == 3
    assert decisions[("approve", "approved")] == 1
    assert decisions[("reject", "rejected")] == 1
    assert decisions[("approve", "conflict")] == 1
    names = {n for n, _, _ in found}
    assert {"process_resident_memory_bytes", "python_info"} <= names


async def test_metrics_of_redis_errors_and_failovers(aiohttp_client: Callable[..., Any]) -> None:
    with RedisProcess() as server:
        client = await aiohttp_client(
            create_app(
                settings_for(server.url, timeout=0.5, connect_timeout=0.5), refill_captchas=False
            )
        )
        assert (await client.get("/readyz")).status == 200
        server.stop()
        assert (await client.get("/readyz")).status == 503
        assert (await client.post("/v1/sites/news/captchas")).status == 503
        server.start()
        await eventually(
            lambda: client.get("/readyz"), "Redis back", until=lambda r: r.status == 200, within=10
        )
        found = await scrape(client)
    errors = {lab["route"]: v for n, lab, v in found if n == "loibinh_redis_errors_total"}
    assert errors == {"/v1/sites/{site}/captchas": 1}
    [failovers] = [v for n, _, v in found if n == "loibinh_redis_failovers_total"]
    assert failovers == 1


async def test_metrics(client: Client, redis_server: RedisProcess) -> None:
    for _ in range(3):
        assert (await client.get("/healthz")).status == 200
    assert (await client.get("/no/such/page")).status == 404
    [captcha] = await mint(client)
    accepted = await client.post("/v1/sites/news/comments", json=submission(captcha))
    assert accepted.status == 202
    refused = await client.post("/v1/sites/news/comments", json=submission(captcha))
    assert refused.status == 400
    # Two pre-rendered challenges in the pool; issuing one leaves one.
    with redis_server.client() as direct:
        direct.rpush(
            SiteKeys("lb", "news").captcha_pool,
            *(f"c{i:020d} {'0' * 32} iVBORw0K" for i in range(2)),
        )
    assert (await client.post("/v1/sites/news/captchas")).status == 201

    found = await scrape(client)

    def value(name: str, **labels: str) -> float:
        matching = [v for n, lab, v in found if n == name and labels.items() <= lab.items()]
        assert len(matching) == 1, (name, labels, matching)
        return matching[0]

    assert value("loibinh_http_requests_total", route="/healthz", method="GET", status="200") == 3
    not_found = [
        v for n, lab, v in found if n == "loibinh_http_requests_total" and lab["status"] == "404"
    ]
    assert sum(not_found) == 1
    comments = "/v1/sites/{site}/comments"
    assert value("loibinh_http_requests_total", route=comments, status="202") == 1
    assert value("loibinh_http_requests_total", route=comments, status="400") == 1

    buckets = [
        (lab["le"], v)
        for n, lab, v in found
        if n == "loibinh_http_request_duration_seconds_bucket" and lab["route"] == "/healthz"
    ]
    assert len(buckets) > 5
    assert ("+Inf", 3.0) in buckets
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)  # cumulative
    assert value("loibinh_http_request_duration_seconds_count", route="/healthz") == 3

    assert (
        value("loibinh_submissions_total", site="news", outcome="accepted", reason="pending") == 1
    )
    assert (
        value("loibinh_submissions_total", site="news", outcome="refused", reason="captcha-failed")
        == 1
    )
    assert value("loibinh_captcha_pool_level", site="news") == 1


# --- the OpenAPI document -------------------------------------------------------------------


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), ref
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def conforms(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """The subset of JSON Schema that pydantic's models produce, enough to hold
    the service's real answers to the document that describes them."""
    if "$ref" in schema:
        conforms(document, resolve(document, schema["$ref"]), value, where)
        return
    if "anyOf" in schema:
        failures = []
        for option in schema["anyOf"]:
            try:
                conforms(document, option, value, where)
                return
            except AssertionError as exc:
                failures.append(str(exc))
        raise AssertionError(f"{where}: matches no anyOf option: {failures}")
    if "type" in schema:
        assert _TYPES[schema["type"]](value), f"{where}: {value!r} is not {schema['type']}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if "pattern" in schema and isinstance(value, str):
        assert re.search(schema["pattern"], value), f"{where}: {value!r} !~ {schema['pattern']}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: {name} is required"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                conforms(document, properties[name], item, f"{where}.{name}")
            else:
                assert extra is not False, f"{where}: {name} is not allowed"
                if isinstance(extra, dict):
                    conforms(document, extra, item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            conforms(document, schema["items"], item, f"{where}[{i}]")


async def test_openapi_document(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert document["info"]["version"]

    routes = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.resource is not None
    }
    # HEAD is implied by GET (RFC 9110), so the document need not list it.
    served = {(path, method) for path, method in routes if method != "head"}
    for path, _ in routes - served:
        assert (path, "get") in served, path
    documented = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete", "head", "options"}
    }
    assert served
    assert documented == served
    # The contract's own routes, spelled out, so that a route dropped from
    # both the table and the router is still noticed.
    for path, method in [
        ("/v1/sites/{site}/config", "get"),
        ("/v1/sites/{site}/captchas", "post"),
        ("/v1/sites/{site}/comments", "post"),
        ("/v1/sites/{site}/threads/{thread}/comments", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ]:
        assert (path, method) in documented

    schemas = document["components"]["schemas"]
    for name in [
        "Submission",
        "Accepted",
        "Problem",
        "ThreadPage",
        "PublicComment",
        "Challenge",
        "SiteConfig",
        "Health",
        "Author",
        "CaptchaAnswer",
    ]:
        assert name in schemas, name
    assert set(schemas["Submission"]["required"]) >= {"thread", "author", "body"}
    # Required unless the reader is signed in with a token (docs/identity.md).
    assert "captcha" in schemas["Submission"]["properties"]
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail"}

    all_refs = list(refs(document))
    assert len(all_refs) > 10
    for ref in all_refs:
        target = resolve(document, ref)
        assert isinstance(target, dict)

    for path, operations in document["paths"].items():
        parameters = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            assert operation["responses"], (path, method)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == parameters, (path, method)

    submit = document["paths"]["/v1/sites/{site}/comments"]["post"]
    assert {"202", "400", "404", "413", "415", "422", "429", "503"} <= set(submit["responses"])
    body = submit["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Submission"}
    assert "application/x-www-form-urlencoded" in body
    for status in ("400", "404", "422", "503"):
        problem = submit["responses"][status]["content"]["application/problem+json"]["schema"]
        assert resolve(document, problem["$ref"]) is schemas["Problem"]


async def test_answers_conform_to_the_openapi_document(client: Client) -> None:
    document = await (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def check(model: str, value: Any) -> None:
        conforms(document, schemas[model], value, model)

    [captcha] = await mint(client)
    accepted = await client.post("/v1/sites/news/comments", json=submission(captcha))
    assert accepted.status == 202
    check("Accepted", await accepted.json())
    assert await approve(client, (await accepted.json())["id"])
    page = await client.get("/v1/sites/news/threads/ca-mau-2022-08-12/comments")
    check("ThreadPage", await page.json())
    assert (await page.json())["comments"]
    check("SiteConfig", await (await client.get("/v1/sites/news/config")).json())
    check("Health", await (await client.get("/healthz")).json())
    check("Health", await (await client.get("/readyz")).json())
    invalid = await client.post("/v1/sites/news/comments", json={"thread": "x"})
    assert invalid.status == 422
    check("Problem", await invalid.json())
    check("Problem", await (await client.get("/v1/sites/nowhere/config")).json())
    # The checker itself refuses what the document does not describe.
    with pytest.raises(AssertionError):
        check("Accepted", {"id": "x", "status": "published"})
    with pytest.raises(AssertionError):
        check("Problem", {"type": "/problems/x", "title": "t", "status": 400})


# --- problem pages, 404, 405 -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(problems.CATALOGUE))
async def test_problem_page(client: Client, name: str) -> None:
    response = await client.get(f"/problems/{name}")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    kind = problems.CATALOGUE[name]
    assert escape(kind.title) in page
    assert str(kind.status) in page


def test_catalogue_has_the_contract_problem_types() -> None:
    contract = {
        "invalid-json": 400,
        "captcha-failed": 400,
        "unknown-site": 404,
        "unknown-parent": 404,
        "payload-too-large": 413,
        "unsupported-media-type": 415,
        "validation-failed": 422,
        "rate-limited": 429,
        "unavailable": 503,
    }
    for name, status in contract.items():
        assert problems.CATALOGUE[name].status == status


async def test_unknown_problem_page_is_a_404_problem(client: Client) -> None:
    await expect_problem(await client.get("/problems/no-such-problem"), 404, "not-found")


async def test_unknown_path_is_a_404_problem(client: Client) -> None:
    for path in ("/nowhere", "/v1/sites/news", "/v1/sites/news/comments/x/y/z"):
        await expect_problem(await client.get(path), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/healthz", {"GET"}),
        ("DELETE", "/v1/sites/news/comments", {"POST"}),
        ("PUT", "/v1/sites/news/captchas", {"POST"}),
        ("POST", "/v1/sites/news/threads/t/comments", {"GET"}),
    ],
)
async def test_wrong_method_is_a_405_problem(
    client: Client, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)
    await expect_problem(response, 405, "method-not-allowed")
    listed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= listed
    assert method not in listed


# --- request ids and the 500 --------------------------------------------------------------

GENERATED = re.compile(r"^[0-9a-f]{16}$")


@pytest.mark.parametrize("supplied", ["abc-123.XYZ_9", "a", "x" * 64])
async def test_valid_request_id_is_echoed(client: Client, supplied: str) -> None:
    for path in ("/healthz", "/nowhere"):
        response = await client.get(path, headers={"X-Request-Id": supplied})
        assert response.headers["X-Request-Id"] == supplied


@pytest.mark.parametrize("supplied", [None, "", "has space", "x" * 65, "a/b", "é", "<script>"])
async def test_invalid_request_id_is_replaced(client: Client, supplied: str | None) -> None:
    headers = {} if supplied is None else {"X-Request-Id": supplied}
    first = await client.get("/healthz", headers=headers)
    second = await client.get("/healthz", headers=headers)
    for response in (first, second):
        assert GENERATED.match(response.headers["X-Request-Id"]), response.headers
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


async def test_unexpected_exception_is_a_500_problem(
    aiohttp_client: Callable[..., Any], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("internal detail that must not leak: /etc/secret")

    app = create_app(settings, refill_captchas=False)
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    response = await client.get("/boom", headers={"X-Request-Id": "trace-me-42"})
    body = await expect_problem(response, 500, "internal")
    assert body["request_id"] == "trace-me-42"
    assert response.headers["X-Request-Id"] == "trace-me-42"
    text = json.dumps(body)
    assert "/etc/secret" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    assert any("trace-me-42" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")

    generated = await client.get("/boom")
    body = await expect_problem(generated, 500, "internal")
    assert GENERATED.match(body["request_id"])
    assert body["request_id"] == generated.headers["X-Request-Id"]
    # The process keeps serving.
    assert (await client.get("/healthz")).status == 200


# --- the command line ------------------------------------------------------------------------


NEWS_TOML = """
[sites.news]
allowed_origins = ["https://news.example.vn"]
moderation = "pre"
[sites.news.rate_limits]
submit = { ip = { limit = 1000, period = 60 }, email = { limit = 1000, period = 60 } }
"""


async def test_cli_captcha_mint_makes_challenges_the_service_accepts(
    client: Client, redis_server: RedisProcess, tmp_path: Path
) -> None:
    config = tmp_path / "news.toml"
    config.write_text(NEWS_TOML, encoding="utf-8")
    env = cli_env(
        LOIBINH_CONFIG=str(config),
        LOIBINH_SECRET_KEY=TEST_SECRET,
        LOIBINH_REDIS__URL=redis_server.url,
    )
    result = await asyncio.to_thread(
        run_cli, "captcha", "mint", "--site", "news", "--count", "3", env=env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    minted = []
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_-]{16,64}) ([A-HJKMNP-Z2-9]{5})", line)
        assert match, line
        minted.append((match[1], match[2]))
    assert len({challenge for challenge, _ in minted}) == 3
    for i, captcha in enumerate(minted):
        body = submission(captcha, author={"name": "Lan", "email": f"lan{i}@example.vn"})
        response = await client.post("/v1/sites/news/comments", json=body)
        assert response.status == 202, await response.text()
    # Each is single-use.
    again = await client.post("/v1/sites/news/comments", json=submission(minted[0]))
    await expect_problem(again, 400, "captcha-failed")


def test_cli_captcha_mint_with_another_secret_is_refused_by_the_service(
    redis_server: RedisProcess, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """The counterpart: challenges minted with a different secret do not verify,
    so the test above shows the secrets really are shared."""
    config = tmp_path / "news.toml"
    config.write_text(NEWS_TOML, encoding="utf-8")
    env = cli_env(
        LOIBINH_CONFIG=str(config),
        LOIBINH_SECRET_KEY="another-secret-0123456789-abcdefghijklmnop",
        LOIBINH_REDIS__URL=redis_server.url,
    )
    result = run_cli("captcha", "mint", "--site", "news", "--count", "1", env=env)
    assert result.returncode == 0, result.stderr
    challenge, answer = result.stdout.split()
    expected = Keyring.from_secret(make_settings().secret).captcha_answer("news", challenge, answer)
    with redis_server.client() as direct:
        stored = direct.hget(SiteKeys("lb", "news").captcha_live, challenge)
    assert stored is not None
    assert stored.decode() != expected


def test_cli_check_config_names_an_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[redis]\ntiemout = 1\n", encoding="utf-8")
    result = run_cli(
        "check-config", env=cli_env(LOIBINH_CONFIG=str(config), LOIBINH_SECRET_KEY=TEST_SECRET)
    )
    assert result.returncode == 2
    assert "redis.tiemout" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "good.toml"
    config.write_text(NEWS_TOML, encoding="utf-8")
    result = run_cli(
        "check-config", env=cli_env(LOIBINH_CONFIG=str(config), LOIBINH_SECRET_KEY=TEST_SECRET)
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sites"] == {"news": "pre"}
    assert TEST_SECRET not in result.stdout


def test_cli_check_config_refuses_a_missing_secret() -> None:
    result = run_cli("check-config", env=cli_env())
    assert result.returncode == 2
    assert "secret_key" in result.stderr


@pytest.fixture
def supervisor(redis_server: RedisProcess, tmp_path: Path) -> Iterator[Supervisor]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    running = Supervisor(redis_server.url, metrics_dir)
    try:
        yield running
    finally:
        running.stop()
        for pid in running.workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


async def test_serve_with_two_workers(supervisor: Supervisor) -> None:
    base = f"http://127.0.0.1:{supervisor.port}"
    healthy = 0
    # A new connection per request, so that the kernel spreads them across
    # the workers listening on the port.
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True),
        timeout=aiohttp.ClientTimeout(total=2),
    ) as session:

        async def coming_up() -> dict[str, int]:
            """One more health check, unless serve has exited; what is up so far."""
            nonlocal healthy
            if supervisor.process.poll() is not None:
                assert supervisor.process.stderr is not None
                pytest.fail(f"serve exited: {supervisor.process.stderr.read().decode()}")
            try:
                async with session.get(f"{base}/healthz") as response:
                    healthy += response.status == 200
            except aiohttp.ClientConnectionError:
                pass
            return {"workers": len(supervisor.find_workers()), "healthy answers": healthy}

        deadline = time.monotonic() + 20
        await eventually(
            coming_up,
            "the workers to come up",
            until=lambda up: up["workers"] >= 2 and up["healthy answers"] > 0,
            within=20,
            interval=0.1,
        )
        workers = supervisor.find_workers()
        assert len(workers) == 2

        async def serving() -> list[int]:
            """The workers that have written their latency file; one more request if not both."""
            nonlocal healthy
            started = [
                p for p in workers if (supervisor.metrics_dir / f"histogram_{p}.db").exists()
            ]
            if len(started) < len(workers):
                async with session.get(f"{base}/healthz") as response:
                    assert response.status == 200
                    healthy += 1
            return started

        # Both workers have started serving: each writes its own latency file.
        await eventually(
            serving,
            "a request answered by each worker",
            until=lambda started: len(started) == len(workers),
            within=max(0.0, deadline - time.monotonic()),  # what is left of the 20 s
            interval=0,
        )
        for _ in range(20):
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ok"
                healthy += 1
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 200, await response.text()
        # Any worker answers the scrape with the sum over both.
        async with session.get(f"{base}/metrics") as response:
            assert response.status == 200
            found = samples(await response.text())
        served = sum(
            v
            for n, lab, v in found
            if n == "loibinh_http_requests_total"
            and lab["route"] == "/healthz"
            and lab["status"] == "200"
        )
        assert served == healthy

    supervisor.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.process.wait, 15) == 0
    for pid in workers:
        assert not alive(pid), f"worker {pid} outlived the supervisor"
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", supervisor.port)
        writer.close()
