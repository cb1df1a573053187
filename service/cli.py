"""The `loibinh` command: serve, captcha mint, check-config."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from service.captcha import CaptchaService
from service.errors import StoreUnavailable
from service.keyring import Keyring
from service.metrics import Metrics
from service.redisconn import open_redis
from service.scripts import Scripts
from service.settings import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loibinh", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--workers", type=int, help="worker processes sharing the port")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    captcha = commands.add_parser("captcha", help="captcha tools")
    captcha_commands = captcha.add_subparsers(dest="captcha_command", required=True)
    mint = captcha_commands.add_parser(
        "mint", help="print fresh challenge ids with their answers (load tests, monitoring)"
    )
    mint.add_argument("--site", required=True)
    mint.add_argument("--count", type=int, default=1)
    mint.add_argument("--json", action="store_true", help="one JSON object per line")

    commands.add_parser("check-config", help="validate the configuration and print a summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            from service.serve import serve

            overrides = {
                k: v
                for k, v in (("workers", args.workers), ("host", args.host), ("port", args.port))
                if v is not None
            }
            return serve(overrides)
        settings = load_settings()
        if args.command == "check-config":
            return _check_config(settings)
        if args.command == "captcha":
            return asyncio.run(_mint(settings, args.site, args.count, args.json))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 2


def _check_config(settings: Settings) -> int:
    summary: dict[str, Any] = {
        "mode": settings.mode,
        "listen": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "redis": settings.redis.url,
        "sites": {site_id: site.moderation for site_id, site in settings.sites.items()},
    }
    print(json.dumps(summary, indent=2))
    return 0


async def _mint(settings: Settings, site: str, count: int, as_json: bool) -> int:
    if site not in settings.sites:
        print(f"unknown site {site!r}; configured: {', '.join(settings.sites)}", file=sys.stderr)
        return 2
    if not 1 <= count <= 1_000_000:
        print("--count must be between 1 and 1000000", file=sys.stderr)
        return 2
    redis = open_redis(settings.redis)
    try:
        scripts = Scripts.register(redis)
        keyring = Keyring.from_secret(settings.secret)
        service = CaptchaService(redis, scripts, keyring, settings, Metrics())
        minted = await service.mint(site, count)
    except StoreUnavailable as exc:
        print(f"cannot mint: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    for challenge_id, answer in minted:
        print(
            json.dumps({"id": challenge_id, "answer": answer})
            if as_json
            else f"{challenge_id} {answer}"
        )
    return 0
