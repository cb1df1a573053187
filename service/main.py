"""The app factory: everything the service is, built from its settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from service.background import checkpoint, running
from service.captcha import providers
from service.captcha.gate import CaptchaGate
from service.captcha.pool import CaptchaService
from service.http.middlewares import edge
from service.http.routes import add_routes
from service.http.state import (
    CAPTCHA_GATE,
    CLOCK,
    DRAINING,
    KEYRING,
    METRICS,
    SCREENS,
    SERVICES,
    SETTINGS,
    SUBMISSIONS,
    TOKENS,
    Services,
)
from service.identity.jwks import JwksCache
from service.identity.tokens import TokenVerifier
from service.keyring import Keyring
from service.mail.planner import Planner
from service.mail.sender import Mailer
from service.mail.subscriptions import Subscriptions
from service.metrics import Metrics
from service.migration.export import Export
from service.migration.importer import Importer
from service.moderation.apikeys import ApiKeyStore
from service.moderation.audit import AuditLog
from service.moderation.bans import Bans
from service.moderation.decisions import Decisions
from service.moderation.erasure import DiskPurge, Erasure
from service.moderation.history import History
from service.moderation.learning import Learner, ModelAdmin, SiteModels
from service.moderation.overview import Overviews
from service.moderation.queue import Queue
from service.moderation.reports import Reports
from service.moderation.signins import SignInGuard
from service.process.runtime import GcWatch, watch_loop
from service.screening.screen import Screen
from service.settings import MAIL_TARGET, Settings, load_settings
from service.store.comments import CommentStore
from service.store.connection import UNREACHABLE, RedisClock, close_redis, open_redis
from service.store.outbox import Outbox
from service.store.readcache import ReadCache
from service.store.scripts import Replication, Scripts
from service.submission.accept import Submissions

log = logging.getLogger(__name__)

# Clocks drift slowly; a minute keeps the accept deadline honest.
CLOCK_SYNC_SECONDS = 60


def create_app(
    settings: Settings | None = None,
    *,
    refill_captchas: bool = True,
    deliver_webhooks: bool = True,
    learn: bool = True,
    send_mail: bool = True,
) -> web.Application:
    """Build the app. Nothing connects to Redis until the app starts. Tests
    may leave out the background tasks to drive them by hand."""
    settings = settings or load_settings()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[edge],
        handler_args={"max_field_size": 8190},
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[DRAINING] = asyncio.Event()
    app[KEYRING] = Keyring.from_secret(settings.secret)
    # Word lists are read and compiled once, at start.
    app[SCREENS] = {
        site_id: Screen.for_rules(site.abuse) for site_id, site in settings.sites.items()
    }
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_captcha_gate)
    app.cleanup_ctx.append(_tokens)
    if refill_captchas:
        app.cleanup_ctx.append(_captcha_refill)
    if deliver_webhooks:
        app.cleanup_ctx.append(_webhook_delivery)
    if learn:
        app.cleanup_ctx.append(_learning)
    if send_mail and any(site.mail for site in settings.sites.values()):
        app.cleanup_ctx.append(_mail_delivery)
    app.cleanup_ctx.append(_clock_sync)
    app.cleanup_ctx.append(_watch_runtime)
    add_routes(app)
    return app


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = open_redis(settings.redis)
    scripts = Scripts.register(redis, Replication.configured(settings.redis))
    clock = RedisClock()
    try:
        await clock.sync(redis)
        await scripts.load(redis)
    except UNREACHABLE as exc:
        # Start anyway: /readyz says so, submissions get 503, and redis-py
        # loads the scripts on first use once Redis is back.
        log.warning("Redis unreachable at start-up (%s); serving 503 until it is back", exc)
    app[CLOCK] = clock
    captcha = CaptchaService(redis, scripts, app[KEYRING], settings, app[METRICS])
    prefix = settings.redis.key_prefix
    read_cache = ReadCache(settings.read_cache_seconds)
    bans = Bans(redis, scripts, app[KEYRING], prefix)
    subscriptions = Subscriptions(redis, prefix)
    planner = Planner(redis, app[KEYRING], settings, subscriptions)
    app[SERVICES] = Services(
        redis=redis,
        scripts=scripts,
        store=CommentStore(redis, scripts, prefix, clock, settings.redis.timeout),
        read_cache=read_cache,
        captcha=captcha,
        api_keys=ApiKeyStore(redis, app[KEYRING], prefix),
        queue=Queue(redis, scripts, prefix),
        decisions=Decisions(redis, scripts, prefix, read_cache),
        history=History(redis, scripts, prefix),
        audit=AuditLog(redis, scripts, prefix),
        bans=bans,
        reports=Reports(redis, scripts, prefix, read_cache),
        erasure=Erasure(
            redis,
            scripts,
            app[KEYRING],
            prefix,
            DiskPurge(redis, settings.redis),
            subscriptions,
            read_cache,
        ),
        signins=SignInGuard(redis, prefix, settings.signin),
        overviews=Overviews(redis, scripts, prefix),
        outbox=Outbox(redis, scripts, settings, app[METRICS], {MAIL_TARGET: planner.receive}),
        subscriptions=subscriptions,
        mailer=Mailer(scripts, settings),
        models=SiteModels(redis, prefix, settings.sites),
        model_admin=ModelAdmin(redis, scripts, prefix),
        learner=Learner(redis, scripts, settings),
        imports=Importer(redis, scripts, app[KEYRING], prefix, app[SCREENS], read_cache),
        export=Export(redis, scripts, app[KEYRING], prefix, bans),
    )
    with contextlib.suppress(*UNREACHABLE):
        await app[SERVICES].models.refresh()
    try:
        yield
    finally:
        captcha.close()
        await scripts.close()
        await close_redis(redis)


async def _captcha_gate(app: web.Application) -> AsyncIterator[None]:
    """The captcha providers: one HTTP session shared by every third-party check."""
    services = app[SERVICES]
    session = providers.open_session()
    app[CAPTCHA_GATE] = CaptchaGate(
        services.scripts,
        app[KEYRING],
        app[SETTINGS],
        services.captcha,
        providers.Verifier(session, app[METRICS]),
        app[CLOCK],
    )
    app[SUBMISSIONS] = Submissions(
        services.store,
        app[CAPTCHA_GATE],
        app[KEYRING],
        app[SCREENS],
        services.models,
        services.read_cache,
    )
    try:
        yield
    finally:
        await session.close()


async def _tokens(app: web.Application) -> AsyncIterator[None]:
    """Sign-in tokens: the login systems' keys, fetched once at start so that
    the first signed-in reader does not wait for them."""
    session = providers.open_session()
    jwks = JwksCache(session)
    app[TOKENS] = TokenVerifier(jwks)
    identities = [site.identity for site in app[SETTINGS].sites.values() if site.identity]

    async def warm() -> None:
        await asyncio.gather(*(jwks.warm(identity) for identity in identities))

    try:
        async with running(warm(), "jwks-warm-up"):
            yield
    finally:
        await jwks.close()
        await session.close()


async def _captcha_refill(app: web.Application) -> AsyncIterator[None]:
    async with running(app[SERVICES].captcha.run_refill(), "captcha-refill"):
        yield


async def _webhook_delivery(app: web.Application) -> AsyncIterator[None]:
    async with running(app[SERVICES].outbox.run(), "webhook-delivery"):
        yield


async def _mail_delivery(app: web.Application) -> AsyncIterator[None]:
    async with running(app[SERVICES].mailer.run(), "mail-delivery"):
        yield


async def _learning(app: web.Application) -> AsyncIterator[None]:
    """Every worker follows the published model versions; the one that holds
    the learner's lease also learns."""
    services = app[SERVICES]
    async with (
        running(services.models.run(), "model-versions"),
        running(services.learner.run(), "learner"),
    ):
        yield


async def _clock_sync(app: web.Application) -> AsyncIterator[None]:
    async def follow() -> None:
        services = app[SERVICES]
        while True:
            checkpoint()
            await asyncio.sleep(CLOCK_SYNC_SECONDS)
            with contextlib.suppress(*UNREACHABLE):
                await app[CLOCK].sync(services.redis)

    async with running(follow(), "redis-clock"):
        yield


async def _watch_runtime(app: web.Application) -> AsyncIterator[None]:
    """The event loop's lag and the collector's pauses, as metrics."""
    gc_watch = GcWatch(app[METRICS])
    gc_watch.install()
    try:
        async with running(watch_loop(app[METRICS], gc_watch), "loop-lag"):
            yield
    finally:
        gc_watch.remove()
