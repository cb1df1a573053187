"""Typed keys for what the app and its requests carry."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from service.abuse import Screen
from service.apikeys import ApiKeyStore
from service.captcha import CaptchaService
from service.captcha_gate import CaptchaGate
from service.comments import CommentStore
from service.keyring import Keyring
from service.metrics import Metrics
from service.moderation import Moderation
from service.ratelimit import Meter
from service.redisconn import RedisClock
from service.scripts import Scripts
from service.settings import Settings
from service.webhooks import Outbox


@dataclass(frozen=True, slots=True)
class Services:
    """Everything that needs Redis, built once Redis is open."""

    redis: Redis
    scripts: Scripts
    store: CommentStore
    captcha: CaptchaService
    api_keys: ApiKeyStore
    moderation: Moderation
    outbox: Outbox


SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
KEYRING = web.AppKey("keyring", Keyring)
CLOCK = web.AppKey("clock", RedisClock)
SCREENS = web.AppKey("screens", dict[str, Screen])
SERVICES = web.AppKey("services", Services)
CAPTCHA_GATE = web.AppKey("captcha_gate", CaptchaGate)

RATE_METER = web.RequestKey("rate_meter", Meter)
