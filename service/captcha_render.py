"""Rendering image challenges. This runs in worker processes only: one PNG
costs several milliseconds of CPU, far too long for the event loop. It is kept
apart from captcha.py so that a worker imports little besides Pillow."""

from __future__ import annotations

import base64
import secrets
from functools import cache

from captcha.image import ImageCaptcha

from service.keyring import Keyring

# No 0/O, 1/I/L: characters a reader cannot tell apart in a distorted image.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 5


def new_answer() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def new_challenge_id() -> str:
    return secrets.token_urlsafe(16)


@cache
def _renderer(width: int, height: int) -> ImageCaptcha:
    return ImageCaptcha(width=width, height=height)


def render_batch(secret: str, site: str, count: int, width: int, height: int) -> list[bytes]:
    """Pool entries `id hmac base64png`: the answer itself never leaves here."""
    keyring = Keyring.from_secret(secret)
    image = _renderer(width, height)
    entries = []
    for _ in range(count):
        challenge_id, answer = new_challenge_id(), new_answer()
        png = image.generate(answer, format="png").getvalue()
        digest = keyring.captcha_answer(site, challenge_id, answer)
        entries.append(f"{challenge_id} {digest} ".encode() + base64.b64encode(png))
    return entries
