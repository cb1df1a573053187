"""The `loibinh` command: serve, captcha mint, keys, erase, import, export, model,
check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from tqdm import tqdm

from service.captcha.pool import CaptchaService
from service.clock import rfc3339
from service.errors import InvalidImport, StoreUnavailable
from service.keyring import Keyring
from service.mail.subscriptions import Subscriptions
from service.metrics import Metrics
from service.migration.export import Export
from service.migration.importer import READERS, Importer, ImportOptions
from service.migration.threads import ThreadMap
from service.models import ErasureRequest, SubjectAccessRequest
from service.moderation.apikeys import ALL_SITES, ROLES, ApiKeyStore
from service.moderation.bans import Bans
from service.moderation.erasure import DiskPurge, Erasure
from service.moderation.learning import ModelAdmin, recommend
from service.moderation.shared import Actor
from service.screening.screen import Screen
from service.settings import ConfigError, Settings, load_settings
from service.store.connection import UNREACHABLE, close_redis, describe, open_redis
from service.store.scripts import Scripts

# Who the audit log and the comments' histories say acted from the command line.
CLI_ACTOR = Actor(key_id="cli", name="command line", admin=True)


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

    keys = commands.add_parser("keys", help="moderator and admin API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; it is shown once")
    create.add_argument(
        "--site", action="append", required=True, help="a site id, or * for all; repeat for several"
    )
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--name", required=True, help="who holds it, as the audit log shows")
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")

    erase = commands.add_parser("erase", help="erase every comment and trace of an email")
    erase.add_argument("--site", required=True)
    erase.add_argument("--email", required=True)

    moving_in = commands.add_parser(
        "import", help="import comments from a Disqus, WordPress, Isso or loibinh export"
    )
    moving_in.add_argument("--site", required=True)
    moving_in.add_argument("--format", choices=tuple(READERS), required=True)
    moving_in.add_argument(
        "--threads",
        type=Path,
        help="a CSV file of `source link or identifier,thread id` rows, for threads the "
        "default rule does not name as the site does (docs/migration.md)",
    )
    moving_in.add_argument(
        "--drop-removed",
        action="store_true",
        help="leave out spam and deleted comments instead of keeping them as such",
    )
    moving_in.add_argument("file", type=Path, help="the export file (Isso: its SQLite database)")

    moving_out = commands.add_parser(
        "export", help="a site's comments as JSON lines, or one reader's data (--email)"
    )
    moving_out.add_argument("--site", required=True)
    moving_out.add_argument(
        "--email", help="the subject-access export of this address instead, as JSON"
    )
    moving_out.add_argument("--output", type=Path, help="write here instead of standard output")

    model = commands.add_parser("model", help="a site's learned model")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    for name, help_text in (
        ("status", "version, decisions learned, frozen, excluded keys"),
        ("reset", "back to the base model; decisions so far are not learned again"),
        ("freeze", "stop learning from decisions"),
        ("thaw", "learn from decisions again"),
        ("exclude", "stop learning from one API key's decisions"),
        ("include", "learn from one API key's decisions again"),
        ("recommend", "thresholds from the site's recent decisions"),
    ):
        command = model_commands.add_parser(name, help=help_text)
        command.add_argument("--site", required=True)
        if name in ("exclude", "include"):
            command.add_argument("--key", required=True, help="the API key's id")
        if name == "recommend":
            command.add_argument(
                "--clean-held",
                type=float,
                default=0.02,
                help="the share of clean comments the model may hold (default 0.02)",
            )
            command.add_argument("--last", type=int, default=2000, help="decisions to look at")

    check = commands.add_parser(
        "check-config", help="validate the configuration and print a summary"
    )
    check.add_argument(
        "--connect",
        action="store_true",
        help="also ask Redis which node is master (each shard's on a cluster) and how many "
        "replicas it has",
    )
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
            return _check_config(settings, args.connect)
        if args.command == "captcha":
            return asyncio.run(_mint(settings, args.site, args.count, args.json))
        if args.command == "keys":
            return asyncio.run(_keys(settings, args))
        if args.command == "erase":
            return asyncio.run(_erase(settings, args.site, args.email))
        if args.command == "model":
            return asyncio.run(_model(settings, args))
        if args.command == "import":
            return asyncio.run(_import(settings, args))
        if args.command == "export":
            return asyncio.run(_export(settings, args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except InvalidImport as exc:
        print(f"nothing imported: {exc.detail}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"cannot reach Redis: {exc}", file=sys.stderr)
        return 1
    return 2


def _check_config(settings: Settings, connect: bool) -> int:
    summary: dict[str, Any] = {
        "mode": settings.mode,
        "listen": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "redis": _redis_summary(settings, connect),
        "sites": {site_id: site.moderation for site_id, site in settings.sites.items()},
    }
    print(json.dumps(summary, indent=2))
    return 0


def _redis_summary(settings: Settings, connect: bool) -> dict[str, str]:
    """The configured topology and, if asked to connect, the master as Redis
    itself reports it now; a Redis out of reach does not make the
    configuration invalid."""
    config = settings.redis
    summary = {
        "topology": config.topology,
        "url": config.url,
        "wait_replicas": str(config.wait_replicas),
    }
    if config.topology == "sentinel":
        summary["sentinels"] = ",".join(config.sentinels)
        summary["sentinel_master"] = config.sentinel_master
    if config.topology == "cluster" and config.cluster_nodes:
        summary["cluster_nodes"] = ",".join(config.cluster_nodes)
    if not connect:
        return summary

    async def ask() -> dict[str, str]:
        redis = open_redis(config)
        try:
            return await describe(redis, config)
        finally:
            await close_redis(redis)

    try:
        summary.update(asyncio.run(ask()))
    except UNREACHABLE as exc:
        summary["master"] = f"unreachable: {type(exc).__name__}"
    return summary


async def _mint(settings: Settings, site: str, count: int, as_json: bool) -> int:
    if site not in settings.sites:
        print(f"unknown site {site!r}; configured: {', '.join(settings.sites)}", file=sys.stderr)
        return 2
    if not 1 <= count <= 1_000_000:
        print("--count must be between 1 and 1000000", file=sys.stderr)
        return 2
    async with _redis(settings) as (redis, scripts, keyring):
        service = CaptchaService(redis, scripts, keyring, settings, Metrics())
        minted = await service.mint(site, count)
    for challenge_id, answer in minted:
        print(
            json.dumps({"id": challenge_id, "answer": answer})
            if as_json
            else f"{challenge_id} {answer}"
        )
    return 0


@contextlib.asynccontextmanager
async def _redis(settings: Settings) -> AsyncIterator[tuple[Redis, Scripts, Keyring]]:
    redis = open_redis(settings.redis)
    scripts = Scripts.register(redis)
    try:
        yield redis, scripts, Keyring.from_secret(settings.secret)
    finally:
        await scripts.close()
        await close_redis(redis)


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    async with _redis(settings) as (redis, _, keyring):
        store = ApiKeyStore(redis, keyring, settings.redis.key_prefix)
        if args.keys_command == "create":
            unknown = [s for s in args.site if s != ALL_SITES and s not in settings.sites]
            if unknown:
                print(f"unknown site(s): {', '.join(unknown)}", file=sys.stderr)
                return 2
            token, record = await store.create(args.name, args.role, args.site)
            print(f"key id {record.id} ({record.role}, sites {', '.join(record.sites)})")
            print(token)
            print("This key is shown once and stored only as a hash.", file=sys.stderr)
            return 0
        if args.keys_command == "list":
            for key in await store.list():
                last = rfc3339(key.last_used_at_ms) if key.last_used_at_ms else "never"
                print(
                    f"{key.id}  {key.role:9}  {','.join(key.sites):20}  {key.name}  "
                    f"created {rfc3339(key.created_at_ms)}  last used {last}"
                )
            return 0
        if await store.revoke(args.key_id):
            print(f"revoked {args.key_id}")
            return 0
        print(f"no key {args.key_id}", file=sys.stderr)
        return 1


async def _erase(settings: Settings, site: str, email: str) -> int:
    if site not in settings.sites:
        print(f"unknown site {site!r}", file=sys.stderr)
        return 2
    try:
        request = ErasureRequest(email=email)
    except ValidationError as exc:
        print(f"not an email address: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    async with _redis(settings) as (redis, scripts, keyring):
        prefix = settings.redis.key_prefix
        subscriptions = Subscriptions(redis, prefix)
        erasure = Erasure(
            redis, scripts, keyring, prefix, DiskPurge(redis, settings.redis), subscriptions
        )
        assert request.email is not None  # given above
        erased = await erasure.erase(site, CLI_ACTOR, request.email)
    print(f"erased {erased} comments and every stored trace of the address")
    return 0


async def _model(settings: Settings, args: argparse.Namespace) -> int:
    site = args.site
    if site not in settings.sites:
        print(f"unknown site {site!r}", file=sys.stderr)
        return 2
    async with _redis(settings) as (redis, scripts, _):
        admin = ModelAdmin(redis, scripts, settings.redis.key_prefix)
        if args.model_command == "recommend":
            minimum = settings.sites[site].model.min_length
            scored = await admin.recent_scores(site, args.last, minimum)
            if not scored:
                print("no decisions to learn from yet", file=sys.stderr)
                return 1
            found = recommend(scored, args.clean_held)
            print(
                f"hold_at = {found.threshold:.3f}: holds {found.recall:.1%} of "
                f"{found.abusive} abusive and {found.clean_held:.1%} of {found.clean} clean "
                "comments among the recent decisions (the model learned from most of them, "
                "so expect a little less on new comments)"
            )
            return 0
        if args.model_command == "status":
            status = await admin.status(site)
        else:
            subject = getattr(args, "key", "") or ""
            status = await admin.act(site, CLI_ACTOR, args.model_command, subject)
    print(json.dumps(status.model_dump(), indent=2))
    return 0


class _TerminalProgress:
    """A progress bar on standard error when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, what: str, total: int, unit: str = "comments") -> None:
        self.close()
        in_bytes = unit == "bytes"
        self._bar = tqdm(
            total=total,
            desc=what,
            unit="B" if in_bytes else f" {unit}",
            unit_scale=in_bytes,
            disable=not sys.stderr.isatty(),
            leave=False,
        )

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    site = settings.sites.get(args.site)
    if site is None:
        print(f"unknown site {args.site!r}", file=sys.stderr)
        return 2
    threads = ThreadMap.from_file(args.threads) if args.threads else ThreadMap()
    options = ImportOptions(threads=threads, drop_removed=args.drop_removed)
    progress = _TerminalProgress()
    async with _redis(settings) as (redis, scripts, keyring):
        importer = Importer(
            redis,
            scripts,
            keyring,
            settings.redis.key_prefix,
            {args.site: Screen.for_rules(site.abuse)},
        )
        try:
            report = await importer.run(
                args.site, site, args.format, args.file, options, CLI_ACTOR, progress
            )
        finally:
            progress.close()
    print(json.dumps(report.model_dump(), indent=2))
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    if args.site not in settings.sites:
        print(f"unknown site {args.site!r}", file=sys.stderr)
        return 2
    email = None
    if args.email is not None:
        try:
            email = SubjectAccessRequest(email=args.email).email
        except ValidationError as exc:
            print(f"not an email address: {exc.errors()[0]['msg']}", file=sys.stderr)
            return 2
    out = args.output.open("wb") if args.output else sys.stdout.buffer
    try:
        async with _redis(settings) as (redis, scripts, keyring):
            prefix = settings.redis.key_prefix
            export = Export(redis, scripts, keyring, prefix, Bans(redis, scripts, keyring, prefix))
            if email is not None:
                found = await export.subject(args.site, email)
                out.write(json.dumps(found.model_dump(), indent=2, ensure_ascii=False).encode())
                out.write(b"\n")
            else:
                async for line in export.site(args.site):
                    out.write(line)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()
    return 0
