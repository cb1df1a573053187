#!/usr/bin/env python3
"""Make the voice clips of the audio captcha with espeak-ng (Debian's package
`espeak-ng`): service/captcha/voices/<locale>/<digit>/<variant>.wav, in the format the
`captcha` package's AudioCaptcha reads (8 kHz, 8-bit unsigned, mono).

Only a developer runs this, to regenerate the clips: they are committed and
shipped as package data, never made at run time. Run it with the project's
virtual environment (it uses Pillow to resample):

    .venv/bin/python scripts/make-voices.py             # write the clips
    .venv/bin/python scripts/make-voices.py --alphabet  # why digits (README)
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import wave
from array import array
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
VOICES = ROOT / "service" / "captcha" / "voices"
DIGITS = "0123456789"
IMAGE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RATE = 8000
# Peak of a clip, as a fraction of full scale: the renderer adds babble on
# top of the voice, and the sum must stay clear of clipping.
PEAK = 0.55
# Where speech starts and ends: a sample above this fraction of full scale.
THRESHOLD = 0.02
# espeak-ng voice variants (the files in espeak-ng-data/voices/!v), pitch and
# words per minute: several voices per digit, so that a listener-bot cannot
# match one fixed waveform.
VARIANTS = (("m1", 45, 150), ("f2", 60, 140), ("m3", 35, 160), ("f4", 70, 150))
LANGUAGES = {"vi": "vi", "en": "en-us"}


def espeak(*args: str) -> bytes:
    # Our own arguments, and the espeak-ng on PATH (main checks it is there).
    command = ["espeak-ng", *args]
    return subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603


def speak(language: str, text: str, variant: str, pitch: int, speed: int) -> wave.Wave_read:
    voice = f"{language}+{variant}"
    return wave.open(
        io.BytesIO(espeak("-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text))
    )


def to_clip(source: wave.Wave_read) -> bytes:
    """16-bit speech at espeak's rate -> trimmed, normalised 8 kHz 8-bit."""
    assert source.getsampwidth() == 2 and source.getnchannels() == 1
    samples = array("h", source.readframes(source.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    floats = array("f", (s / 32768 for s in samples))
    # Lanczos resampling low-passes as it shrinks: no aliasing at 8 kHz.
    image = Image.frombytes("F", (len(floats), 1), floats.tobytes())
    width = round(len(floats) * RATE / source.getframerate())
    shrunk = array("f", image.resize((width, 1), Image.Resampling.LANCZOS).tobytes())
    loud = [i for i, v in enumerate(shrunk) if abs(v) > THRESHOLD]
    speech = shrunk[max(loud[0] - 80, 0) : loud[-1] + 80]
    gain = PEAK / max(abs(v) for v in speech)
    return bytes(min(255, max(0, round(128 + v * gain * 127))) for v in speech)


def write(path: Path, clip: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(RATE)
        out.writeframes(clip)


def make() -> None:
    for locale, language in LANGUAGES.items():
        shutil.rmtree(VOICES / locale, ignore_errors=True)
        for digit in DIGITS:
            for variant, pitch, speed in VARIANTS:
                clip = to_clip(speak(language, digit, variant, pitch, speed))
                write(VOICES / locale / digit / f"{variant}.wav", clip)
        size = sum(p.stat().st_size for p in (VOICES / locale).rglob("*.wav"))
        print(f"{locale}: {len(DIGITS) * len(VARIANTS)} clips, {size} bytes")


def phonemes(language: str, text: str) -> str:
    return espeak("-q", "-x", "-v", language, text).decode().strip().rstrip("_|").strip()


def rhyme(transcription: str) -> str:
    """What is left once the onset is dropped: letters whose names differ
    only in their first consonant ("bê", "đê", "pê", "tê", "vê"; English
    "bee", "dee", "pee", "tee", "vee") are the ones noise makes alike."""
    vowels = "aeiouEIOUV@03"
    for i, ch in enumerate(transcription):
        if ch in vowels or ch == "'":
            return transcription[i:].replace("'", "")
    return transcription


def alphabet() -> None:
    for locale, language in LANGUAGES.items():
        for name, symbols in (("image alphabet", IMAGE_ALPHABET), ("digits", DIGITS)):
            groups: dict[str, list[str]] = {}
            for symbol in symbols:
                groups.setdefault(rhyme(phonemes(language, symbol)), []).append(symbol)
            alike = {r: s for r, s in groups.items() if len(s) > 1}
            confusable = sum(len(s) for s in alike.values())
            listing = "; ".join(f"{''.join(s)} (-{r})" for r, s in sorted(alike.items()))
            print(f"{locale} {name}: {confusable}/{len(symbols)} share a rhyme: {listing or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphabet", action="store_true", help="report, write nothing")
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is missing: apt-get install espeak-ng")
    if parser.parse_args().alphabet:
        alphabet()
    else:
        make()


if __name__ == "__main__":
    main()
