"""The Lua scripts, read from package data and registered once per client.

Every multi-key change is one script (CONVENTIONS.md 5). Scripts that charge
rate limits get gcra.lua prepended, so the algorithm is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_GCRA_USERS = {"accept", "captcha_issue", "captcha_store", "ratelimit_peek"}
_NAMES = ("accept", "approve", "captcha_issue", "captcha_store", "ratelimit_peek", "thread_page")


def _source(name: str) -> str:
    text = resources.files("service").joinpath("lua", f"{name}.lua").read_text("utf-8")
    if name in _GCRA_USERS:
        gcra = resources.files("service").joinpath("lua", "gcra.lua").read_text("utf-8")
        text = gcra + "\n" + text
    return text


@dataclass(frozen=True, slots=True)
class Scripts:
    accept: AsyncScript
    approve: AsyncScript
    captcha_issue: AsyncScript
    captcha_store: AsyncScript
    ratelimit_peek: AsyncScript
    thread_page: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(**{name: redis.register_script(_source(name)) for name in _NAMES})

    def all(self) -> tuple[AsyncScript, ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    async def load(self, redis: Redis) -> None:
        """Load every script now, so /readyz can tell and the first request pays nothing."""
        for script in self.all():
            await redis.script_load(script.script)
