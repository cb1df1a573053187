"""The Lua scripts, read from package data and loaded into Redis at start.

Every multi-key change is one script (CONVENTIONS.md 5). Code several scripts
share lives in library files prepended to them, so it is written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

# The libraries each script is prepended with, in order (Lua has no include).
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "accept": ("clock", "gcra", "events", "failures"),
    "captcha_issue": ("clock", "gcra"),
    "captcha_store": ("clock",),
    "captcha_gate": ("clock", "gcra"),
    "captcha_failure": ("failures",),
    "captcha_audio": ("clock",),
    "ratelimit_peek": ("clock", "gcra"),
    "thread_page": (),
    "claim": ("clock", "events"),
    "decide": ("clock", "events"),
    "report": ("clock", "gcra", "events"),
    "ban": ("clock", "events"),
    "erase": ("clock", "events"),
    "outbox_take": ("clock",),
    "outbox_settle": ("clock",),
}
_NAMES = tuple(_LIBRARIES)


def _read(name: str) -> str:
    return resources.files("service.store").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _source(name: str) -> str:
    return "\n".join([*(_read(lib) for lib in _LIBRARIES[name]), _read(name)])


class Script:
    """One script, called by its SHA1 with EVALSHA.

    redis-py's own Script object does the same through several layers of
    wrappers; on the accept path those layers cost more than the call itself.
    """

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8"), usedforsecurity=False).hexdigest()

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return await self._evalsha(keys, args)
        except NoScriptError:
            # Redis restarted or its scripts were flushed; NOSCRIPT means the
            # call did not run, so loading and calling again is safe.
            await self._redis.script_load(self.source)
            return await self._evalsha(keys, args)

    async def _evalsha(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        # One command on one pooled connection, without redis-py's generic
        # execute path (retry wrapper, telemetry hooks, response callbacks),
        # which costs a tenth of the accept path's CPU and does nothing for
        # EVALSHA with retries off.
        pool = self._redis.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
            return await connection.read_response()
        except ResponseError:
            raise  # a whole error reply was read: the connection is fine
        except BaseException:
            # Timed out or cancelled mid-reply: what is left on the socket is
            # unknown, so the connection must never be reused.
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)


@dataclass(frozen=True, slots=True)
class Scripts:
    accept: Script
    captcha_issue: Script
    captcha_store: Script
    captcha_gate: Script
    captcha_failure: Script
    captcha_audio: Script
    ratelimit_peek: Script
    thread_page: Script
    claim: Script
    decide: Script
    report: Script
    ban: Script
    erase: Script
    outbox_take: Script
    outbox_settle: Script

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(**{name: Script(redis, _source(name)) for name in _NAMES})

    def all(self) -> tuple[Script, ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    async def load(self, redis: Redis) -> None:
        """Load every script now, so /readyz can tell and the first request pays nothing."""
        for script in self.all():
            await redis.script_load(script.source)
