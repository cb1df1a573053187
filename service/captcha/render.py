"""Rendering challenges, each an image and its spoken alternative
(audio.py). This runs in worker processes only: one PNG costs several
milliseconds of CPU, far too long for the event loop. It is kept apart from
the pool (pool.py) so that a worker imports little besides Pillow."""

from __future__ import annotations

import base64
import io
import os
import secrets

from service.captcha import audio, drawing
from service.keyring import Keyring
from service.process.lifeline import die_with_parent

# No 0/O, 1/I/L: characters a reader cannot tell apart in a distorted image.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 5


def start_renderer(parent: int, niceness: int) -> None:
    """First thing in a render process: die with the worker that started it
    (a worker killed outright would otherwise orphan it), and step back
    behind the request path (`niceness` is added to the worker's)."""
    die_with_parent(parent)
    os.nice(niceness)


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def new_challenge_id() -> str:
    return secrets.token_urlsafe(16)


PNG_COLOURS = 16


def png(answer: str, width: int, height: int) -> bytes:
    """The challenge as a 16-colour PNG: as legible as a true-colour one at
    about a quarter of the bytes, which every reader downloads and the pool
    keeps in Redis; quantizing costs the render process about 1 ms more."""
    out = io.BytesIO()
    drawing.draw(answer, width, height).image.quantize(PNG_COLOURS).save(out, format="PNG")
    return out.getvalue()


def render_batch(
    secret: str, site: str, count: int, width: int, height: int, locale: str | None = None
) -> list[bytes]:
    """Pool entries `id hmac base64png`, or with a spoken clip in `locale`
    `id hmac:spokenhmac base64png wav`: the answers never leave here."""
    keyring = Keyring.from_secret(secret)
    voice = audio.renderer(locale) if locale else None
    entries = []
    for _ in range(count):
        challenge_id, answer = new_challenge_id(), new_answer()
        image = png(answer, width, height)
        digest = keyring.captcha_answer(site, challenge_id, answer)
        if voice is None:
            entries.append(f"{challenge_id} {digest} ".encode() + base64.b64encode(image))
            continue
        spoken = audio.new_spoken_answer()
        digest += ":" + keyring.captcha_answer(site, challenge_id, spoken)
        wav = voice.generate(spoken)
        entries.append(f"{challenge_id} {digest} ".encode() + base64.b64encode(image) + b" " + wav)
    return entries
