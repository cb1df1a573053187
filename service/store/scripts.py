"""The Lua scripts, read from package data and loaded into Redis at start,
and called by name: each takes the typed KEYS and ARGV of signatures.py.

Every multi-key change is one script. Code several scripts share lives in
library files prepended to them, so it is written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from importlib import resources
from operator import attrgetter
from typing import Any, Generic, TypeVar, get_type_hints

from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import AskError, MovedError, NoScriptError, ResponseError

from service.errors import NotReplicated
from service.settings import RedisSettings
from service.store import signatures as sig
from service.store.packing import EvalshaPacker
from service.store.pipelined import PipelinedConnection
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
    """How one structure of signatures.py flattens: its site part's fields,
    if its first field is one, then its fixed fields in order, then its tail,
    if its last field is one."""

    def __init__(self, structure: type, side: str) -> None:
        names = [f.name for f in fields(structure)]
        hints = get_type_hints(structure)
        part = hints[names[0]] if names and hints[names[0]] in sig.SITE_PARTS else None
        self.site = names.pop(0) if part is not None else None
        self.site_fields = tuple(f.name for f in fields(part)) if part is not None else ()
        last = hints[names[-1]] if names else None
        self.tail = names.pop() if last is RateLimits or _is_tuple(last) else None
        self.fixed = tuple(names)
        self._side = side
        # One C call reads every fixed field: 38 on the accept call.
        self._read = attrgetter(*names) if names else None
        self._read_site = attrgetter(*self.site_fields) if self.site_fields else None

    @property
    def names(self) -> tuple[str, ...]:
        """The fields' names in the order they are sent (the tail's excluded)."""
        return self.site_fields + self.fixed

    def flatten(self, values: object) -> list[Any]:
        """Every value, the site part's included."""
        return self.site_values(values) + self.call_values(values)

    def site_part(self, values: object) -> object | None:
        return None if self.site is None else getattr(values, self.site)

    def site_values(self, values: object) -> list[Any]:
        read, part = self._read_site, self.site_part(values)
        if read is None or part is None:
            return []
        return [read(part)] if len(self.site_fields) == 1 else list(read(part))

    def call_values(self, values: object) -> list[Any]:
        """The values after the site part: the fixed fields, then the tail."""
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


@dataclass(frozen=True, slots=True)
class Replication:
    """What a 202 waits for beyond the master: `replicas` acknowledgements
    within `timeout_ms` (0 replicas: nothing, the master's answer is enough)."""

    replicas: int = 0
    timeout_ms: int = 0

    @classmethod
    def configured(cls, settings: RedisSettings) -> Replication:
        return cls(settings.wait_replicas, round(settings.wait_timeout * 1000))

    @property
    def seconds(self) -> float:
        return self.timeout_ms / 1000


# Redirections followed for one call on a cluster whose slots are moving.
_REDIRECTS = 5


class Script(Generic[K, A]):
    """One script, called by its SHA1 with EVALSHA: on the shared pipelined
    connection when one is given and no WAIT is to follow, else on a
    connection of the pool (or of the slot's node, on a cluster).

    redis-py's own Script object does the same through several layers of
    wrappers; on the accept path those layers cost more than the call itself.
    """

    def __init__(
        self,
        redis: Redis,
        name: str,
        replication: Replication = Replication(),
        pipelined: PipelinedConnection | None = None,
    ) -> None:
        self._redis = redis
        self._cluster = redis if isinstance(redis, RedisCluster) else None
        self._replication = replication
        self._pipelined = pipelined
        self.name = name
        self.source = _source(name)
        self.sha = hashlib.sha1(self.source.encode("utf-8"), usedforsecurity=False).hexdigest()
        keys, args = sig.SIGNATURES[name]
        self._keys, self._args = Layout(keys, "keys"), Layout(args, "args")
        self._packer = EvalshaPacker(self.sha, self._keys, self._args)

    async def __call__(
        self, keys: K, args: A, *, replicate_if: Callable[[Any], bool] | None = None
    ) -> Any:
        """The script's reply. With `replicate_if`, a reply it holds true of
        is returned only once the replicas `Replication` asks for have
        acknowledged it (WAIT on the same connection), or NotReplicated."""
        wait = replicate_if if self._replication.replicas else None
        if wait is None and self._pipelined is not None:
            return await self._on_pipelined(self._pipelined, self._packer.pack(keys, args))
        flat_keys, flat_args = self._keys.flatten(keys), self._args.flatten(args)
        if self._cluster is not None and flat_keys:
            return await self._on_cluster(self._cluster, flat_keys, flat_args, wait)
        try:
            return await self._evalsha(flat_keys, flat_args, wait)
        except NoScriptError:
            # Redis restarted, failed over to a replica (scripts are not
            # replicated) or its scripts were flushed; NOSCRIPT means the call
            # did not run, so loading and calling again is safe.
            await self._redis.script_load(self.source)
            return await self._evalsha(flat_keys, flat_args, wait)

    async def _on_pipelined(self, pipelined: PipelinedConnection, packed: bytes) -> Any:
        try:
            return await pipelined.send(packed)
        except NoScriptError:
            # Loaded through the same connection, so on the node that said NOSCRIPT.
            await pipelined.call("SCRIPT", "LOAD", self.source)
            return await pipelined.send(packed)

    async def _evalsha(
        self, keys: Sequence[Any], args: Sequence[Any], wait: Callable[[Any], bool] | None
    ) -> Any:
        # One command on one pooled connection, without redis-py's generic
        # execute path (retry wrapper, telemetry hooks, response callbacks),
        # which costs a tenth of the accept path's CPU and does nothing for
        # EVALSHA with retries off.
        pool = self._redis.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            reply = await self._send(connection, keys, args)
            if wait is not None and wait(reply):
                await self._wait(connection)
            return reply
        except (ResponseError, NotReplicated):
            raise  # a whole reply was read: the connection is fine
        except BaseException:
            # Timed out or cancelled mid-reply: what is left on the socket is
            # unknown, so the connection must never be reused.
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)

    async def _send(self, connection: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        await connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
        return await connection.read_response()

    async def _wait(self, connection: Any) -> None:
        """WAIT counts the replicas that have every write this connection
        made, so it must follow the script on the script's own connection."""
        replication = self._replication
        await connection.send_command("WAIT", replication.replicas, replication.timeout_ms)
        waited = replication.seconds + connection.socket_timeout
        acknowledged = await connection.read_response(timeout=waited)
        if acknowledged is None:
            # redis-py answers None, not an error, when a timeout given to
            # read_response passes; the reply may still come, so the caller
            # drops this connection, and Redis counts as unreachable (503).
            raise redis_errors.TimeoutError(f"WAIT unanswered after {waited:g} s")
        if int(acknowledged) < replication.replicas:
            raise NotReplicated(
                f"stored on the Redis master, but {acknowledged} of the "
                f"{replication.replicas} replicas required acknowledged it within "
                f"{replication.seconds:g} s; retry with the same Idempotency-Key"
            )

    async def _on_cluster(
        self,
        cluster: RedisCluster,
        keys: Sequence[Any],
        args: Sequence[Any],
        wait: Callable[[Any], bool] | None,
    ) -> Any:
        """EVALSHA on the master of the keys' slot, on a connection of our
        own (the WAIT must follow on it), following MOVED and ASK, and
        loading the script on that node after NOSCRIPT. A node that cannot
        be reached asks redis-py for a fresh slot map, which the next call
        takes up: after a failover it names the promoted replica."""
        await cluster.initialize()  # at once unless a refresh is due
        node = cluster.get_node_from_key(keys[0])
        asking = False
        for _ in range(_REDIRECTS):
            target = node
            assert target is not None
            connection = target.acquire_connection()
            try:
                if asking:
                    await connection.send_command("ASKING")
                    await connection.read_response()
                    asking = False
                reply = await self._send(connection, keys, args)
                if wait is not None and wait(reply):
                    await self._wait(connection)
                return reply
            except MovedError as moved:
                await cluster.nodes_manager.move_slot(moved)
                node = cluster.get_node_from_key(keys[0])
            except AskError as ask:
                node = cluster.get_node(host=ask.host or target.host, port=ask.port)
                asking = True
            except NoScriptError:
                await target.execute_command("SCRIPT LOAD", self.source)
            except (ResponseError, NotReplicated):
                raise
            except BaseException as exc:
                await connection.disconnect()
                if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
                    # redis-py's own error path does the same for the commands
                    # it sends; this call bypassed it.
                    cluster._request_refresh(last_failed_node_name=target.name)
                raise
            finally:
                target.release(connection)
        raise redis_errors.TryAgainError(f"{self.name}: slot still moving after {_REDIRECTS} tries")


@dataclass(frozen=True, slots=True)
class Scripts:
    pipelined: PipelinedConnection | None
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
    def register(cls, redis: Redis, replication: Replication = Replication()) -> Scripts:
        """Every script; `replication` is what a call made with `replicate_if`
        waits for. Off a cluster they share one pipelined connection, which
        `close` closes."""
        pipelined = None
        if not isinstance(redis, RedisCluster):
            pool = redis.connection_pool
            pipelined = PipelinedConnection(pool, pool.connection_kwargs["socket_timeout"])
        return cls(
            pipelined, **{name: Script(redis, name, replication, pipelined) for name in _NAMES}
        )

    async def close(self) -> None:
        if self.pipelined is not None:
            await self.pipelined.aclose()

    def all(self) -> tuple[Script[Any, Any], ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    async def load(self, redis: Redis) -> None:
        """Load every script now, so /readyz can tell and the first request pays
        nothing, not even opening the shared connection. On a cluster SCRIPT
        LOAD goes to every master."""
        for script in self.all():
            await redis.script_load(script.source)
        if self.pipelined is not None:
            await self.pipelined.open()
