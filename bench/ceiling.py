"""The ceiling: the least an aiohttp service can do for a comment submission.

It reads the same JSON body as loibinh's `POST /v1/sites/{site}/comments`,
validates it with a pydantic model of the same shape (plain `str` fields: no
NFC, no email syntax, no length limits), does one EVALSHA of a trivial script
that stores the comment in a hash, and answers 202 like the service. Its GET
of a thread is one Redis GET of a stored JSON document, answered as it is. It is run
the way `loibinh serve` runs: N processes bound to one port with SO_REUSEPORT,
each on uvloop, with the same redis.asyncio + hiredis client.

Whatever loibinh does beyond this (captcha, rate limits, idempotency, the
public projection, metrics, problem details) is what the ratio service/ceiling
prices.

    python bench/ceiling.py --port 8081 --workers 2 --redis-url redis://127.0.0.1:6399/0
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import signal
import time
from collections.abc import AsyncIterator
from multiprocessing.process import BaseProcess

import orjson
import uvloop
from aiohttp import web
from pydantic import BaseModel, ValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

STORE = (
    "redis.call('HSET', KEYS[1], 'thread', ARGV[1], 'name', ARGV[2], 'email', ARGV[3], "
    "'body', ARGV[4]) return 1"
)

REDIS = web.AppKey("redis", Redis)
SCRIPT = web.AppKey("script", AsyncScript)
URL = web.AppKey("url", str)


class Author(BaseModel):
    name: str
    email: str


class Captcha(BaseModel):
    id: str
    answer: str


class Submission(BaseModel):
    thread: str
    parent_id: str | None = None
    author: Author
    body: str
    captcha: Captcha


_ids = itertools.count()


async def submit(request: web.Request) -> web.Response:
    try:
        submission = Submission.model_validate_json(await request.read())
    except ValidationError:
        return web.Response(status=422)
    comment_id = f"{os.getpid()}-{next(_ids)}"
    await request.app[SCRIPT](
        keys=[f"ceiling:{{{request.match_info['site']}}}:c:{comment_id}"],
        args=[
            submission.thread,
            submission.author.name,
            submission.author.email,
            submission.body,
        ],
    )
    return web.Response(
        body=orjson.dumps({"id": comment_id, "status": "pending"}),
        status=202,
        content_type="application/json",
    )


async def thread(request: web.Request) -> web.Response:
    """The bare JSON GET: one Redis GET of a document the driver stored (the
    service's own answer for the same 20-comment thread), served as it is."""
    site, name = request.match_info["site"], request.match_info["thread"]
    document = await request.app[REDIS].get(f"ceiling:{{{site}}}:thread:{name}")
    if document is None:
        return web.Response(status=404)
    return web.Response(body=document, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def _redis(app: web.Application) -> AsyncIterator[None]:
    # The service's client options (service/store/connection.py), so that the ratio
    # prices loibinh's own work and not a difference in redis-py settings.
    pool = BlockingConnectionPool.from_url(
        app[URL],
        max_connections=256,
        timeout=1.0,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    redis = Redis(connection_pool=pool)
    app[REDIS] = redis
    app[SCRIPT] = redis.register_script(STORE)
    await redis.script_load(STORE)
    yield
    await redis.aclose()


def create_app(redis_url: str) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[URL] = redis_url
    app.cleanup_ctx.append(_redis)
    app.router.add_post("/v1/sites/{site}/comments", submit)
    app.router.add_get("/v1/sites/{site}/threads/{thread}/comments", thread)
    app.router.add_get("/healthz", healthz)
    return app


def run_worker(host: str, port: int, redis_url: str) -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        create_app(redis_url),
        host=host,
        port=port,
        reuse_port=True,
        access_log=None,
        print=None,
        shutdown_timeout=2,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    if args.workers == 1:
        run_worker(args.host, args.port, args.redis_url)
        return 0

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    for _ in range(args.workers):
        process = context.Process(target=run_worker, args=(args.host, args.port, args.redis_url))
        process.start()
        workers.append(process)
    while not stopping and all(p.is_alive() for p in workers):
        time.sleep(0.2)
    for process in workers:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    for process in workers:
        process.join(5)
        if process.is_alive():
            process.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    raise SystemExit(main())
