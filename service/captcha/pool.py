"""The local image captcha: issuing challenges from the pre-rendered pool,
keeping the pool topped up from worker processes, playing a challenge's
spoken alternative, and minting challenges for load tests. Answers are
checked inside the accept script (lua/accept.lua) against the HMACs stored
here (the image's text, and the spoken digits where there is a clip); the
answers themselves are never stored."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from redis.asyncio import Redis

from service.background import checkpoint
from service.captcha import render
from service.clock import now_ms
from service.errors import UnknownCaptcha
from service.keyring import Keyring
from service.metrics import Metrics
from service.screening import formtoken
from service.settings import Settings
from service.store.connection import UNREACHABLE, translate_errors
from service.store.keyschema import SiteKeys
from service.store.ratelimit import RateLimits, Usage
from service.store.scripts import Scripts
from service.store.signatures import (
    CaptchaAudioArgs,
    CaptchaAudioKeys,
    CaptchaIssueArgs,
    CaptchaIssueKeys,
    CaptchaStoreArgs,
    CaptchaStoreKeys,
)

log = logging.getLogger(__name__)

DATA_URI = b"data:image/png;base64,"
# Bytes per RPUSH to the pool: redis-py packs a command into one buffer on
# the event loop, about 2 ms a megabyte; a batch of 50 challenges with their
# clips is nearly 3 MB.
PUSH_BYTES = 512 * 1024
# Added to the render processes' niceness (see _start_renderers).
RENDER_NICENESS = 10
# Plays of one challenge's spoken clip: enough to replay it while typing, few
# enough that the clips one client can pull stay bounded by its issue limit.
AUDIO_PLAYS = 10


@dataclass(frozen=True, slots=True)
class PooledImage:
    """An image challenge taken from the pool, as it is handed out."""

    id: str
    image: str
    expires_in: int
    usage: list[Usage]
    audio: bool  # a spoken clip goes with it
    # Issued with every challenge, echoed back with the submission (formtoken.py).
    form_token: str


def audio_path(site: str, issued: PooledImage) -> str | None:
    """Where a challenge's spoken clip is played, if it has one."""
    return f"/v1/sites/{site}/captchas/{issued.id}/audio" if issued.audio else None


class CaptchaService:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        keyring: Keyring,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._keyring = keyring
        self._settings = settings
        self._metrics = metrics
        self._executor: ProcessPoolExecutor | None = None
        self._wake = asyncio.Event()

    def _keys(self, site: str) -> SiteKeys:
        return SiteKeys(self._settings.redis.key_prefix, site)

    @translate_errors
    async def issue(self, site: str, limits: RateLimits) -> PooledImage:
        keys = self._keys(site)
        ttl = self._settings.captcha.ttl_seconds
        result = await self._scripts.captcha_issue(
            CaptchaIssueKeys(keys.captcha_pool, keys.captcha_live, keys.captcha_expiry, limits),
            CaptchaIssueArgs(ttl * 1000, limits),
        )
        usage = limits.settle(result)
        outcome = result[0]
        level = int(result[1])
        self._metrics.captcha_pool.labels(site).set(level)
        if level <= self._settings.captcha.pool_low_water:
            self._wake.set()
        if outcome == b"issued":
            challenge_id, digest, b64 = result[2].split(b" ")
            image = DATA_URI + b64
            return PooledImage(
                challenge_id.decode(),
                image.decode(),
                ttl,
                usage,
                b":" in digest,
                self.form_token(site),
            )
        # The pool ran dry: render this one off the event loop and make it live.
        self._metrics.captcha_pool_empty.labels(site).inc()
        [entry] = await self._render(site, 1)
        challenge_id, digest, b64, *wav = entry.split(b" ", 3)
        await self._scripts.captcha_store(
            CaptchaStoreKeys(keys.captcha_live, keys.captcha_expiry),
            CaptchaStoreArgs(ttl * 1000, (challenge_id, digest, wav[0] if wav else b"")),
        )
        return PooledImage(
            challenge_id.decode(),
            (DATA_URI + b64).decode(),
            ttl,
            usage,
            bool(wav),
            self.form_token(site),
        )

    def form_token(self, site: str) -> str:
        """A fresh form token, issued with every challenge of any kind."""
        return formtoken.issue(self._keyring.form, site, now_ms())

    @translate_errors
    async def audio(self, site: str, challenge_id: str) -> bytes:
        """The spoken clip of a live challenge (WAV), rendered with it."""
        keys = self._keys(site)
        result = await self._scripts.captcha_audio(
            CaptchaAudioKeys(keys.captcha_live, keys.captcha_expiry),
            CaptchaAudioArgs(challenge_id, AUDIO_PLAYS),
        )
        if result[0] == b"audio":
            clip: bytes = result[1]
            return clip
        raise UnknownCaptcha(_NO_AUDIO[result[0]])

    @translate_errors
    async def mint(self, site: str, count: int) -> list[tuple[str, str]]:
        """Live challenges with their answers in clear, for load tests and
        synthetic monitoring. No image is rendered: only the answer is needed."""
        keys = self._keys(site)
        store_keys = CaptchaStoreKeys(keys.captcha_live, keys.captcha_expiry)
        ttl_ms = self._settings.captcha.ttl_seconds * 1000
        minted = []
        triples: list[str] = []
        for _ in range(count):
            challenge_id = render.new_challenge_id()
            answer = render.new_answer()
            minted.append((challenge_id, answer))
            triples += [challenge_id, self._keyring.captcha_answer(site, challenge_id, answer), ""]
            # Batches of a thousand keep each script call short.
            if len(triples) >= 3000 or len(minted) == count:
                await self._scripts.captcha_store(
                    store_keys, CaptchaStoreArgs(ttl_ms, tuple(triples))
                )
                triples = []
        return minted

    def answer_hash(self, site: str, challenge_id: str, answer: str) -> str:
        return self._keyring.captcha_answer(site, challenge_id, answer)

    async def _render(self, site: str, count: int) -> list[bytes]:
        if self._executor is None:
            # Starting the render processes takes tens of milliseconds: do it
            # in a thread, not on the event loop.
            self._executor = await asyncio.to_thread(self._start_renderers)
        settings = self._settings.captcha
        entries = await asyncio.get_running_loop().run_in_executor(
            self._executor,
            render.render_batch,
            self._settings.secret,
            site,
            count,
            settings.width,
            settings.height,
            self._settings.sites[site].locale,
        )
        self._metrics.captcha_rendered.labels(site).inc(count)
        return entries

    def _start_renderers(self) -> ProcessPoolExecutor:
        # spawn, not fork: forking a process with a running event loop and
        # open sockets would hand those to the renderer. Niced: rendering is
        # background work, and on a busy machine the request path comes first.
        # Each render process dies with this one (render.start_renderer).
        executor = ProcessPoolExecutor(
            self._settings.captcha.render_processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=render.start_renderer,
            initargs=(os.getpid(), RENDER_NICENESS),
        )
        executor.submit(int).result()  # the processes start on the first job
        return executor

    async def refill_once(self, site: str) -> int:
        """Top one site's pool up to pool_size; returns how many were added.

        A short lock keeps several service workers from rendering for the
        same site at once; losing the race just means someone else is on it.
        """
        keys = self._keys(site)
        settings = self._settings.captcha
        level = int(await self._redis.llen(keys.captcha_pool))
        checkpoint()  # after every Redis call: see background.checkpoint
        self._metrics.captcha_pool.labels(site).set(level)
        if level > settings.pool_low_water:
            return 0
        if not await self._redis.set(keys.captcha_refill_lock, b"1", nx=True, px=60_000):
            return 0
        added = 0
        try:
            while level + added < settings.pool_size:
                checkpoint()
                count = min(settings.render_batch, settings.pool_size - level - added)
                entries = await self._render(site, count)
                for chunk in _chunks(entries, PUSH_BYTES):
                    checkpoint()
                    await self._redis.rpush(keys.captcha_pool, *chunk)
                added += count
        finally:
            await self._redis.delete(keys.captcha_refill_lock)
        self._metrics.captcha_pool.labels(site).set(level + added)
        return added

    async def run_refill(self) -> None:
        """Background task: keep every site's pool above its low-water mark."""
        interval = self._settings.captcha.refill_interval_seconds
        while True:
            for site in self._settings.sites:
                checkpoint()
                try:
                    await self.refill_once(site)
                except UNREACHABLE as exc:
                    log.warning("captcha refill for %s skipped: Redis unreachable (%s)", site, exc)
                except BrokenProcessPool:
                    log.error("the captcha render process died; starting a new one")
                    self.close()
                except Exception:
                    # The loop must outlive any one failure, or the pool drains for good.
                    log.exception("captcha refill for %s failed", site)
            self._wake.clear()
            checkpoint()
            # asyncio.wait, unlike wait_for on Python 3.11, never loses a
            # cancellation that lands as the timeout fires.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=interval)
            finally:
                waiter.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _chunks(entries: list[bytes], limit: int) -> list[list[bytes]]:
    chunks: list[list[bytes]] = [[]]
    size = 0
    for entry in entries:
        if chunks[-1] and size + len(entry) > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += len(entry)
    return chunks


_NO_AUDIO = {
    b"unknown": "no live challenge with this id: never issued, expired, or already answered",
    b"no_audio": "this challenge has no spoken version; ask for a new challenge",
    b"played_out": f"the clip was played {AUDIO_PLAYS} times, the most allowed; "
    "ask for a new challenge",
}
