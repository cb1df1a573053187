"""Typed keys for what the app and its requests carry."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from service.captcha.gate import CaptchaGate
from service.captcha.pool import CaptchaService
from service.identity.tokens import TokenVerifier
from service.keyring import Keyring
from service.mail.sender import Mailer
from service.mail.subscriptions import Subscriptions
from service.metrics import Metrics
from service.migration.export import Export
from service.migration.importer import Importer
from service.moderation.apikeys import ApiKeyStore
from service.moderation.audit import AuditLog
from service.moderation.bans import Bans
from service.moderation.decisions import Decisions
from service.moderation.erasure import Erasure
from service.moderation.history import History
from service.moderation.learning import Learner, ModelAdmin, SiteModels
from service.moderation.overview import Overviews
from service.moderation.queue import Queue
from service.moderation.reports import Reports
from service.moderation.shared import Actor
from service.moderation.signins import SignInGuard
from service.screening.screen import Screen
from service.settings import Settings
from service.store.comments import CommentStore
from service.store.connection import RedisClock
from service.store.outbox import Outbox
from service.store.ratelimit import Meter
from service.store.readcache import ReadCache
from service.store.scripts import Scripts
from service.submission.accept import Submissions


@dataclass(frozen=True, slots=True)
class Services:
    """Everything that needs Redis, built once Redis is open."""

    redis: Redis
    scripts: Scripts
    store: CommentStore
    # This worker's copies of the public read's answers: the parts that change
    # a thread forget its copies.
    read_cache: ReadCache
    captcha: CaptchaService
    api_keys: ApiKeyStore
    # Moderation, a part each.
    queue: Queue
    decisions: Decisions
    history: History
    audit: AuditLog
    bans: Bans
    reports: Reports
    erasure: Erasure
    signins: SignInGuard
    overviews: Overviews
    outbox: Outbox
    # The learned model: what each worker scores with, and what admins do to it.
    models: SiteModels
    model_admin: ModelAdmin
    learner: Learner
    # Moving in and out: imports, the site's export, subject-access exports.
    imports: Importer
    export: Export
    # Reply notifications: who follows what, and the sender of the queued messages.
    subscriptions: Subscriptions
    mailer: Mailer


SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
KEYRING = web.AppKey("keyring", Keyring)
CLOCK = web.AppKey("clock", RedisClock)
SCREENS = web.AppKey("screens", dict[str, Screen])
SERVICES = web.AppKey("services", Services)
CAPTCHA_GATE = web.AppKey("captcha_gate", CaptchaGate)
SUBMISSIONS = web.AppKey("submissions", Submissions)
# Set on SIGTERM (serve.py): readiness answers 503 from then on, so that load
# balancers stop sending before the listening socket closes.
DRAINING = web.AppKey("draining", asyncio.Event)
# The app that serves /metrics alone on its own port (settings.metrics_port).
METRICS_ONLY = web.AppKey("metrics_only", bool)
TOKENS = web.AppKey("tokens", TokenVerifier)

RATE_METER = web.RequestKey("rate_meter", Meter)
# Who acts on a route the table gives a role: set by the role check
# (http/auth.py) before the handler runs.
ACTOR = web.RequestKey("actor", Actor)
