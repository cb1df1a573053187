"""Rendering spoken challenges (the audio alternative, WCAG 1.1.1). Like the
images, this runs in the render worker processes only.

The `captcha` package's AudioCaptcha spends about 160 ms on a 4-character
clip, most of it drawing noise one `secrets.randbelow` at a time and mixing
byte by byte in Python. SpokenCaptcha keeps its design (8 kHz 8-bit voice
clips, each character sped up or slowed down and made louder or softer, over
white noise and a babble of other clips played backwards) and does every
per-sample step in C: random bytes from the OS, `bytes.translate` for
gains, Pillow for resampling and for mixing. It also keeps the clip short
(0.25 to 0.55 s between characters instead of 1 to 3 s), which is what a
listener needs and what Redis holds per pooled challenge.

Challenges are spoken as digits, their own alphabet: espeak-ng names most
letters of the image alphabet with the same rhyme and a different first
consonant (Vietnamese "bê, xê, đê, giê, pê, tê, vê"; English "bee, cee, dee,
gee, pee, tee, vee, zee"), which noise makes indistinguishable, while the
ten digits all rhyme differently in both languages. See the README and
`scripts/make-voices.py --alphabet`.
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib.resources import files
from pathlib import Path

from captcha.audio import (
    BEEP,
    END_BEEP,
    SILENCE,
    WAVE_SAMPLE_RATE,
    AudioCaptcha,
    patch_wave_header,
)
from PIL import Image, ImageChops

LOCALES = ("vi", "en")
DIGITS = "0123456789"
LENGTH = 6
RATE = WAVE_SAMPLE_RATE
MID = 128  # silence in unsigned 8-bit audio
SILENT = bytes([MID])


def new_spoken_answer() -> str:
    return "".join(secrets.choice(DIGITS) for _ in range(LENGTH))


def voice_dir(locale: str) -> Path:
    return Path(str(files("service.captcha") / "voices" / locale))


@cache
def _gain(level: float) -> bytes:
    """A translate table scaling a sample's distance from silence."""
    return bytes(min(255, max(0, round(MID + (v - MID) * level))) for v in range(256))


# White noise four steps wide around silence, as the package makes it.
_NOISE = bytes(MID - 2 + v % 4 for v in range(256))


def _resize(clip: bytes, length: int) -> bytes:
    """Nearest-neighbour stretch: like tape played faster or slower."""
    if length == len(clip):
        return clip
    image = Image.frombytes("L", (len(clip), 1), clip)
    return image.resize((length, 1), Image.Resampling.NEAREST).tobytes()


def _mix(a: bytes, b: bytes) -> bytes:
    """The sum of two tracks of the same length, clipped: additive mixing."""
    size = (len(a), 1)
    image = ImageChops.add(
        Image.frombytes("L", size, a), Image.frombytes("L", size, b), scale=1.0, offset=-MID
    )
    return image.tobytes()


def _gap(low_ms: int, high_ms: int) -> int:
    return (low_ms + secrets.randbelow(high_ms - low_ms + 1)) * RATE // 1000


class SpokenCaptcha(AudioCaptcha):
    """AudioCaptcha with every per-sample step vectorised; same voice format."""

    def __init__(self, voicedir: str | Path) -> None:
        super().__init__(str(voicedir))
        self.load()
        self._clips: dict[str, list[bytes]] = {
            k: [bytes(v) for v in vs] for k, vs in self._cache.items()
        }
        self._all = [clip for clips in self._clips.values() for clip in clips]

    def _twist(self, clip: bytes, speed_pct: int, level_pct: int) -> bytes:
        clip = _resize(clip, len(clip) * speed_pct // 100)
        return clip.translate(_gain(level_pct / 100))

    def _voice(self, char: str) -> bytes:
        # The package's ranges: speed 0.90 to 1.20, loudness 0.80 to 1.20.
        clip = secrets.choice(self._clips[char])
        return self._twist(clip, 90 + secrets.randbelow(31), 80 + secrets.randbelow(41))

    def _babble(self) -> bytes:
        # Another clip backwards, 0.8 to 1.6 times as long, 0.2 to 0.6 as loud.
        clip = secrets.choice(self._all)[::-1]
        return self._twist(clip, 80 + secrets.randbelow(9) * 10, 20 + secrets.randbelow(5) * 10)

    def create_wave_body(self, chars: str) -> bytearray:
        voices = [self._voice(c) for c in chars]
        track = bytearray()
        for voice in voices:
            track += SILENT * _gap(250, 550) + voice
        track += SILENT * _gap(300, 500)
        length = len(track)
        babble = bytearray()
        while len(babble) < length:
            babble += self._babble() + SILENT * _gap(0, 100)
        noise = secrets.token_bytes(length).translate(_NOISE)
        body = _mix(_mix(bytes(track), bytes(babble[:length])), noise)
        return BEEP + SILENCE + BEEP + bytearray(body) + END_BEEP

    def generate(self, chars: str) -> bytearray:
        # The package's generate() less its cache check: loaded in __init__.
        body: bytearray = patch_wave_header(self.create_wave_body(chars))
        return body


@cache
def renderer(locale: str) -> SpokenCaptcha:
    return SpokenCaptcha(voice_dir(locale))
