"""The Lua scripts, read from package data and registered once per client.

Every multi-key change is one script (CONVENTIONS.md 5). Code several scripts
share lives in library files prepended to them, so it is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# The libraries each script is prepended with, in order (Lua has no include).
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "accept": ("clock", "gcra", "events"),
    "captcha_issue": ("clock", "gcra"),
    "captcha_store": ("clock",),
    "ratelimit_peek": ("clock", "gcra"),
    "thread_page": (),
    "claim": ("clock",),
    "decide": ("clock", "events"),
    "report": ("clock", "gcra", "events"),
    "ban": ("clock", "events"),
    "erase": ("clock", "events"),
    "outbox_take": ("clock",),
    "outbox_settle": ("clock",),
}
_NAMES = tuple(_LIBRARIES)


def _read(name: str) -> str:
    return resources.files("service").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _source(name: str) -> str:
    return "\n".join([*(_read(lib) for lib in _LIBRARIES[name]), _read(name)])


@dataclass(frozen=True, slots=True)
class Scripts:
    accept: AsyncScript
    captcha_issue: AsyncScript
    captcha_store: AsyncScript
    ratelimit_peek: AsyncScript
    thread_page: AsyncScript
    claim: AsyncScript
    decide: AsyncScript
    report: AsyncScript
    ban: AsyncScript
    erase: AsyncScript
    outbox_take: AsyncScript
    outbox_settle: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(**{name: redis.register_script(_source(name)) for name in _NAMES})

    def all(self) -> tuple[AsyncScript, ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    async def load(self, redis: Redis) -> None:
        """Load every script now, so /readyz can tell and the first request pays nothing."""
        for script in self.all():
            await redis.script_load(script.script)
