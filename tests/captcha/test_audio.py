"""The audio alternative (issue 5 item 1): spoken challenges in the site's
locale, pre-rendered with the images and served from Redis, answered by
either text, once; the voice clips shipped as package data; an event loop
that issuing and playing never stall.

Like tests/captcha/test_captcha.py, tests that need known answers render their
challenges in this process (recording the answers drawn) and stock the pool,
so that only the tests about the service's own rendering spawn processes."""

from __future__ import annotations

import asyncio
import io
import statistics
import time
import tomllib
import wave
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

import pytest

from service.captcha import audio as captcha_audio
from service.captcha import render as captcha_render
from service.captcha.pool import AUDIO_PLAYS
from service.http.state import SERVICES, SETTINGS
from service.keyring import Keyring
from tests.captcha.test_captcha import max_loop_gap, redis_of
from tests.helpers import (
    ROOT,
    TEST_SECRET,
    Client,
    eventually,
    expect_problem,
    form_submission,
    keys_of,
    mint,
    redis_contents,
    redis_now_ms,
    site,
    submission,
)

MakeClient = Callable[..., Awaitable[Client]]
CAPTCHAS = "/v1/sites/{}/captchas"
COMMENTS = "/v1/sites/{}/comments"


def audio_url(site_id: str, challenge_id: str) -> str:
    return f"/v1/sites/{site_id}/captchas/{challenge_id}/audio"


def parse_wav(clip: bytes) -> tuple[wave._wave_params, float]:
    with wave.open(io.BytesIO(clip)) as reader:
        params = reader.getparams()
        frames = reader.readframes(params.nframes)
    assert len(frames) == params.nframes  # the header tells the truth about the data
    return params, params.nframes / params.framerate


class Known:
    """A challenge whose two answers this test drew."""

    def __init__(self, challenge_id: str, image: str, spoken: str) -> None:
        self.id, self.image, self.spoken = challenge_id, image, spoken


async def stock_spoken(client: Client, count: int, site_id: str = "news") -> list[Known]:
    """Challenges with spoken clips, rendered here by the service's own
    render_batch in the site's locale, pushed to the pool, then issued."""
    settings = client.app[SETTINGS]
    drawn: dict[str, list[str]] = {"image": [], "spoken": []}
    draw_image, draw_spoken = captcha_render.new_answer, captcha_audio.new_spoken_answer

    def recording(kind: str, draw: Callable[[], str]) -> Callable[[], str]:
        def record() -> str:
            answer = draw()
            drawn[kind].append(answer)
            return answer

        return record

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(captcha_render, "new_answer", recording("image", draw_image))
        patch.setattr(captcha_audio, "new_spoken_answer", recording("spoken", draw_spoken))
        entries = captcha_render.render_batch(
            settings.secret, site_id, count, 200, 70, settings.sites[site_id].locale
        )
    await redis_of(client).rpush(keys_of(client, site_id).captcha_pool, *entries)
    known = []
    for entry, image, spoken in zip(entries, drawn["image"], drawn["spoken"], strict=True):
        response = await client.post(CAPTCHAS.format(site_id))
        assert response.status == 201, await response.text()
        body = await response.json()
        challenge_id = entry.split(b" ", 1)[0].decode()
        assert body["id"] == challenge_id
        assert body["audio_url"] == audio_url(site_id, challenge_id)
        known.append(Known(challenge_id, image, spoken))
    return known


async def submit(client: Client, challenge_id: str, answer: str) -> Any:
    return await client.post(COMMENTS.format("news"), json=submission((challenge_id, answer)))


# --- the clips --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", captcha_audio.LOCALES)
def test_every_digit_has_voice_clips_in_the_packages_format(locale: str) -> None:
    voices = captcha_audio.voice_dir(locale)
    assert sorted(p.name for p in voices.iterdir()) == list(captcha_audio.DIGITS)
    for digit in captcha_audio.DIGITS:
        clips = sorted((voices / digit).glob("*.wav"))
        assert len(clips) >= 3, f"{locale}/{digit}: a bot could learn one fixed clip"
        for clip in clips:
            # What AudioCaptcha mixes: 8 kHz, 8-bit unsigned, mono.
            params, seconds = parse_wav(clip.read_bytes())
            assert (params.nchannels, params.sampwidth, params.framerate) == (1, 1, 8000)
            assert 0.1 < seconds < 1.0, clip


def test_the_clips_are_package_data() -> None:
    """Every clip is matched by pyproject's package-data, so an installed
    package (the container's, a wheel's) has them too."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["service"]
    clips = sorted((ROOT / "service" / "captcha" / "voices").rglob("*.wav"))
    assert len(clips) >= 2 * 10 * 3
    for clip in clips:
        relative = PurePosixPath(clip.relative_to(ROOT / "service").as_posix())
        assert any(relative.match(p) for p in patterns), f"{relative} is not package data"
    dockerignore = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert "!service" in dockerignore


def test_rendering_a_clip_takes_milliseconds_not_the_packages_160() -> None:
    # Not a timing test of the machine: a bound twenty times what it measures
    # (about 1 ms; bench/captchas.py has the figure), to catch a per-sample
    # Python loop coming back.
    voice = captcha_audio.renderer("vi")
    voice.generate("0123456789")
    start = time.perf_counter()
    for _ in range(20):
        clip = voice.generate(captcha_audio.new_spoken_answer())
    per_clip = (time.perf_counter() - start) / 20
    assert per_clip < 0.02, f"{per_clip * 1000:.1f} ms a clip"
    params, seconds = parse_wav(bytes(clip))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 1, 8000)
    assert 3 < seconds < 10


def test_spoken_answers_are_six_digits() -> None:
    answers = {captcha_audio.new_spoken_answer() for _ in range(2000)}
    assert all(len(a) == 6 and a.isdigit() for a in answers)
    assert {c for a in answers for c in a} == set("0123456789")


# --- serving ----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_audio_is_served_for_a_live_challenge(make_client: MakeClient, locale: str) -> None:
    client = await make_client(sites={"news": site(locale=locale)})
    [known] = await stock_spoken(client, 1)

    response = await client.get(audio_url("news", known.id))
    assert response.status == 200, await response.text()
    assert response.content_type == "audio/wav"
    assert response.headers["Cache-Control"] == "no-store"
    clip = await response.read()
    params, seconds = parse_wav(clip)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 1, 8000)
    assert 3 < seconds < 10
    # The clip is the one rendered with the challenge, replayable as it is.
    again = await client.get(audio_url("news", known.id))
    assert again.status == 200
    assert await again.read() == clip


async def test_the_service_renders_in_each_sites_locale(make_client: MakeClient) -> None:
    """Through the real render process: an English site's clips are English.
    The English digits take longer to say (0.43 s against 0.29 s on average),
    so forty clips tell the two apart by far more than chance could."""
    client = await make_client(
        captcha={"pool_size": 40, "pool_low_water": 20, "render_batch": 40},
        sites={"news": site(locale="vi"), "sport": site(locale="en")},
    )
    captcha = client.app[SERVICES].captcha
    durations = {}
    for site_id in ("news", "sport"):
        assert await captcha.refill_once(site_id) == 40
        pool = await redis_of(client).lrange(keys_of(client, site_id).captcha_pool, 0, -1)
        durations[site_id] = statistics.mean(parse_wav(e.split(b" ", 3)[3])[1] for e in pool)
        response = await client.post(CAPTCHAS.format(site_id))
        body = await response.json()
        served = await client.get(body["audio_url"])
        assert served.status == 200
        parse_wav(await served.read())
    assert durations["sport"] - durations["news"] > 0.4, durations


async def test_audio_is_refused_once_the_challenge_is_spent(client: Client) -> None:
    right, wrong = await stock_spoken(client, 2)
    assert (await submit(client, right.id, right.image)).status == 202
    assert (await submit(client, wrong.id, "ZZZZZ")).status == 400
    for known in (right, wrong):
        response = await client.get(audio_url("news", known.id))
        body = await expect_problem(response, 404, "unknown-captcha")
        assert "already answered" in body["detail"]
        live = await redis_of(client).hkeys(keys_of(client).captcha_live)
        assert not [k for k in live if k.startswith(known.id.encode())]


async def test_audio_is_refused_once_the_challenge_expired(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    expired, control = await stock_spoken(client, 2)
    now = await redis_now_ms(redis)
    assert await redis.zadd(keys.captcha_expiry, {expired.id: now - 1}, xx=True, ch=True) == 1
    response = await client.get(audio_url("news", expired.id))
    body = await expect_problem(response, 404, "unknown-captcha")
    assert "expired" in body["detail"]
    assert (await client.get(audio_url("news", control.id))).status == 200


async def test_later_issues_clean_expired_clips_out(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    expired = await stock_spoken(client, 3)
    for known in expired:
        assert (await client.get(audio_url("news", known.id))).status == 200
    past = await redis_now_ms(redis) - 1000
    await redis.zadd(keys.captcha_expiry, {known.id: past for known in expired})
    [fresh] = await stock_spoken(client, 1)
    live = {k.decode() for k in await redis.hkeys(keys.captcha_live)}
    assert live == {fresh.id, f"{fresh.id}/audio"}


async def test_a_listener_may_replay_a_clip_a_bounded_number_of_times(client: Client) -> None:
    [known, other] = await stock_spoken(client, 2)
    for _ in range(AUDIO_PLAYS):
        assert (await client.get(audio_url("news", known.id))).status == 200
    response = await client.get(audio_url("news", known.id))
    body = await expect_problem(response, 404, "unknown-captcha")
    assert "played" in body["detail"]
    # The challenge itself still stands, answered by ear, and other clips play.
    assert (await client.get(audio_url("news", other.id))).status == 200
    assert (await submit(client, known.id, known.spoken)).status == 202


@pytest.mark.parametrize(
    "challenge_id", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "has%20space-and-more-chars", "x" * 65]
)
async def test_audio_of_an_unknown_challenge_is_404(client: Client, challenge_id: str) -> None:
    response = await client.get(audio_url("news", challenge_id))
    await expect_problem(response, 404, "unknown-captcha")
    assert not [key async for key in redis_of(client).scan_iter()]


async def test_audio_of_an_unknown_site_is_404(client: Client) -> None:
    response = await client.get(audio_url("nope", "AAAAAAAAAAAAAAAAAAAAAA"))
    await expect_problem(response, 404, "unknown-site")


async def test_a_minted_challenge_has_no_clip(client: Client) -> None:
    [(challenge_id, _)] = await mint(client)
    response = await client.get(audio_url("news", challenge_id))
    body = await expect_problem(response, 404, "unknown-captcha")
    assert "no spoken version" in body["detail"]


async def test_the_audio_route_allows_the_sites_origins(client: Client) -> None:
    [known] = await stock_spoken(client, 1)
    origin = client.app[SETTINGS].sites["news"].allowed_origins[0]
    response = await client.get(audio_url("news", known.id), headers={"Origin": origin})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


# --- answering --------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["spoken", "image"])
async def test_either_answer_passes_once_and_spends_both(client: Client, first: str) -> None:
    [known] = await stock_spoken(client, 1)
    answers = {"spoken": known.spoken, "image": known.image}
    second = "image" if first == "spoken" else "spoken"

    response = await submit(client, known.id, answers[first])
    assert response.status == 202, await response.text()
    response = await submit(client, known.id, answers[second])
    body = await expect_problem(response, 400, "captcha-failed")
    assert "expired" in body["detail"] or "spent" in body["detail"]
    await expect_problem(await client.get(audio_url("news", known.id)), 404, "unknown-captcha")


async def test_a_spoken_answer_is_accepted_from_a_plain_form(client: Client) -> None:
    [known] = await stock_spoken(client, 1)
    origin = client.app[SETTINGS].sites["news"].allowed_origins[0]
    # Typed as heard, with spaces.
    form = form_submission(
        (known.id, " ".join(known.spoken)),
        name="Nguyễn Văn An",
        email="an@example.vn",
        body="Nghe được rồi.",
        return_to=f"{origin}/bai-viet",
    )
    response = await client.post(COMMENTS.format("news"), data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert "lb_status=pending" in response.headers["Location"]


@pytest.mark.parametrize("kind", ["spoken", "image"])
async def test_a_wrong_answer_of_either_kind_spends_the_challenge(
    client: Client, kind: str
) -> None:
    [known] = await stock_spoken(client, 1)
    wrong = f"{(int(known.spoken) + 1) % 1_000_000:06d}" if kind == "spoken" else "ZZZZZ"
    body = await expect_problem(await submit(client, known.id, wrong), 400, "captcha-failed")
    assert "wrong" in body["detail"]
    for answer in (known.spoken, known.image):
        assert (await submit(client, known.id, answer)).status == 400


async def test_a_spoken_answer_to_another_challenge_fails(client: Client) -> None:
    first, second = await stock_spoken(client, 2)
    response = await submit(client, first.id, second.spoken)
    await expect_problem(response, 400, "captcha-failed")


async def test_spoken_answers_are_stored_only_as_keyed_hashes(client: Client) -> None:
    redis, keys = redis_of(client), keys_of(client)
    issued = await stock_spoken(client, 3)
    keyring = Keyring.from_secret(TEST_SECRET)
    for known in issued:
        stored = await redis.hget(keys.captcha_live, known.id)
        image = keyring.captcha_answer("news", known.id, known.image)
        spoken = keyring.captcha_answer("news", known.id, known.spoken)
        assert stored == f"{image}:{spoken}".encode()
    everything = [blob for _, blob in await redis_contents(redis, dumps=True)]
    for known in issued:
        leaks = [blob[:80] for blob in everything if known.spoken.encode() in blob]
        assert not leaks, f"spoken answer {known.spoken} in clear: {leaks}"


# --- the event loop ---------------------------------------------------------------------


async def test_issuing_and_playing_under_load_never_stall_the_event_loop(
    make_client: MakeClient,
) -> None:
    """Ten clients issue challenges and fetch their clips while the
    background refill renders images and clips in its process and pushes them
    to the pool. A generous bound: the figure itself is in bench/captchas.py."""
    bound = 0.25
    client = await make_client(
        captcha={"pool_size": 150, "pool_low_water": 100, "render_batch": 50},
        refill_captchas=True,
    )
    redis, keys = redis_of(client), keys_of(client)
    # The first fill, and the render process start-up.
    await eventually(
        lambda: redis.llen(keys.captcha_pool),
        "the first fill of the pool",
        until=lambda level: level == 150,
        within=20,
    )
    issued: list[str] = []

    async def reader() -> None:
        for _ in range(20):
            response = await client.post(CAPTCHAS.format("news"))
            assert response.status == 201
            body = await response.json()
            clip = await client.get(body["audio_url"])
            assert clip.status == 200
            await clip.read()
            issued.append(body["id"])

    async def load() -> None:
        # Ten, not more: the test's own client shares the loop, and forty
        # concurrent ones make 20-30 ms gaps of their own, rendering or not.
        await asyncio.gather(*(reader() for _ in range(10)))
        # ...and until the refill that this woke has topped the pool up again.
        await eventually(
            lambda: redis.llen(keys.captcha_pool),
            "the refill to top the pool up",
            until=lambda level: level >= 100,
            within=20,
        )

    gap, _ = await max_loop_gap(load)
    assert len(set(issued)) == 200
    assert await redis.llen(keys.captcha_pool) >= 100  # the refill ran during the load
    assert gap < bound, f"the event loop stalled {gap * 1000:.0f} ms"
