"""Failed sign-ins: a client that keeps sending wrong API keys is stopped.

API keys are long random tokens, so guessing one is hopeless, but a client
trying is still worth stopping early: it costs a Redis read per try, and a
key that leaked in part (a screenshot, a log) should not be completed by
brute force. Failures are counted per client address (as rate limits see
it) in a window that starts with the first failure; past the limit every
sign-in from that client is refused with 429 until the window ends, even
with a right key, so that a hit cannot be told from a miss."""

from __future__ import annotations

from redis.asyncio import Redis

from service.settings import SignInSettings
from service.store.connection import translate_errors
from service.store.keyschema import GlobalKeys
from service.store.ratelimit import RateLimited, seconds


class SignInGuard:
    def __init__(self, redis: Redis, prefix: str, settings: SignInSettings) -> None:
        self._redis = redis
        self._keys = GlobalKeys(prefix)
        self._settings = settings

    @translate_errors
    async def check(self, client: str) -> None:
        """Raise RateLimited if `client` (a keyed hash of its address) has
        used up its failures."""
        key = self._keys.signin_failures(client)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            failures, ttl_ms = await pipe.execute()
        if failures is not None and int(failures) >= self._settings.max_failures:
            retry = seconds(max(int(ttl_ms), 0))
            raise RateLimited(
                f"too many failed sign-ins from this address; retry in {retry} s", retry, []
            )

    @translate_errors
    async def failed(self, client: str) -> None:
        """Count a failed sign-in; the first one of a window starts it."""
        key = self._keys.signin_failures(client)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, int(self._settings.window_seconds * 1000), nx=True)
            await pipe.execute()
