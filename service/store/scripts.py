"""The Lua scripts, read from package data and loaded into Redis at start,
and called by name: each takes the typed KEYS and ARGV of signatures.py.

Every multi-key change is one script. Code several scripts share lives in
library files prepended to them, so it is written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from operator import attrgetter
from typing import Any, Generic, TypeVar, get_type_hints

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from service.store import signatures as sig
from service.store.ratelimit import RateLimits

K = TypeVar("K")
A = TypeVar("A")

# The libraries each script is prepended with, in order (Lua has no include).
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "accept": ("clock", "gcra", "events", "failures", "fingerprints"),
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
    "unban": ("clock", "events"),
    "erase": ("clock", "events"),
    "outbox_take": ("clock",),
    "outbox_settle": ("clock",),
    "outbox_requeue": ("clock",),
    "model_publish": (),
    "model_admin": ("clock", "events"),
    "import_batch": ("clock", "events", "fingerprints"),
}
_NAMES = tuple(_LIBRARIES)


def _read(name: str) -> str:
    return resources.files("service.store").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _source(name: str) -> str:
    return "\n".join([*(_read(lib) for lib in _LIBRARIES[name]), _read(name)])


class Layout:
    """How one structure of signatures.py flattens: its fixed fields in order,
    then its tail, if its last field is one."""

    def __init__(self, structure: type, side: str) -> None:
        names = [f.name for f in fields(structure)]
        hints = get_type_hints(structure)
        last = hints[names[-1]] if names else None
        self.tail = names.pop() if last is RateLimits or _is_tuple(last) else None
        self.fixed = tuple(names)
        self._side = side
        # One C call reads every fixed field: the accept path flattens 57.
        self._read = attrgetter(*names) if names else None

    def flatten(self, values: object) -> list[Any]:
        flat: list[Any]
        if self._read is None:
            flat = []
        elif len(self.fixed) == 1:
            flat = [self._read(values)]
        else:
            flat = list(self._read(values))
        if self.tail is not None:
            tail = getattr(values, self.tail)
            if isinstance(tail, RateLimits):
                flat += tail.keys if self._side == "keys" else tail.args
            else:
                flat += tail
        return flat


def _is_tuple(hint: object) -> bool:
    return getattr(hint, "__origin__", None) is tuple


class Script(Generic[K, A]):
    """One script, called by its SHA1 with EVALSHA.

    redis-py's own Script object does the same through several layers of
    wrappers; on the accept path those layers cost more than the call itself.
    """

    def __init__(self, redis: Redis, name: str) -> None:
        self._redis = redis
        self.name = name
        self.source = _source(name)
        self.sha = hashlib.sha1(self.source.encode("utf-8"), usedforsecurity=False).hexdigest()
        keys, args = sig.SIGNATURES[name]
        self._keys, self._args = Layout(keys, "keys"), Layout(args, "args")

    async def __call__(self, keys: K, args: A) -> Any:
        flat_keys, flat_args = self._keys.flatten(keys), self._args.flatten(args)
        try:
            return await self._evalsha(flat_keys, flat_args)
        except NoScriptError:
            # Redis restarted or its scripts were flushed; NOSCRIPT means the
            # call did not run, so loading and calling again is safe.
            await self._redis.script_load(self.source)
            return await self._evalsha(flat_keys, flat_args)

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
    accept: Script[sig.AcceptKeys, sig.AcceptArgs]
    captcha_issue: Script[sig.CaptchaIssueKeys, sig.CaptchaIssueArgs]
    captcha_store: Script[sig.CaptchaStoreKeys, sig.CaptchaStoreArgs]
    captcha_gate: Script[sig.CaptchaGateKeys, sig.CaptchaGateArgs]
    captcha_failure: Script[sig.CaptchaFailureKeys, sig.CaptchaFailureArgs]
    captcha_audio: Script[sig.CaptchaAudioKeys, sig.CaptchaAudioArgs]
    ratelimit_peek: Script[sig.RatelimitPeekKeys, sig.RatelimitPeekArgs]
    thread_page: Script[sig.ThreadPageKeys, sig.ThreadPageArgs]
    claim: Script[sig.ClaimKeys, sig.ClaimArgs]
    decide: Script[sig.DecideKeys, sig.DecideArgs]
    report: Script[sig.ReportKeys, sig.ReportArgs]
    ban: Script[sig.BanKeys, sig.BanArgs]
    unban: Script[sig.UnbanKeys, sig.UnbanArgs]
    erase: Script[sig.EraseKeys, sig.EraseArgs]
    outbox_take: Script[sig.OutboxTakeKeys, sig.OutboxTakeArgs]
    outbox_settle: Script[sig.OutboxSettleKeys, sig.OutboxSettleArgs]
    outbox_requeue: Script[sig.OutboxRequeueKeys, sig.OutboxRequeueArgs]
    model_publish: Script[sig.ModelPublishKeys, sig.ModelPublishArgs]
    model_admin: Script[sig.ModelAdminKeys, sig.ModelAdminArgs]
    import_batch: Script[sig.ImportKeys, sig.ImportArgs]

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(**{name: Script(redis, name) for name in _NAMES})

    def all(self) -> tuple[Script[Any, Any], ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    async def load(self, redis: Redis) -> None:
        """Load every script now, so /readyz can tell and the first request pays nothing."""
        for script in self.all():
            await redis.script_load(script.source)
