"""ALTCHA-compatible proof of work: challenges signed with the service's own
key, and the check of a solution the ALTCHA widget sends back.

A challenge is SHA-256(salt + number) for a random number in [0, maxnumber];
the reader's browser finds the number by trying them all. The signature,
HMAC-SHA256(key, challenge), proves the challenge is ours, and the salt
carries its expiry and difficulty as ALTCHA's own libraries do
(`<random>?expires=<unix>&maxnumber=<n>&`), so nothing is stored until a
solution is accepted. The salt ends in `&` so that digits cannot be moved
between the number and the expiry without changing the hash. That a
solution is accepted once is the accept script's part (a replay mark).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from service.errors import CaptchaFailed

ALGORITHM = "SHA-256"
# A widget's payload is about 300 bytes; anything much longer is not one.
MAX_PAYLOAD = 2048


@dataclass(frozen=True, slots=True)
class PowPuzzle:
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str

    def as_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "challenge": self.challenge,
            "maxnumber": self.maxnumber,
            "salt": self.salt,
            "signature": self.signature,
        }


@dataclass(frozen=True, slots=True)
class Solution:
    """A verified solution: the challenge (what the replay mark is named
    after), its difficulty, and how long it has left in milliseconds."""

    challenge: str
    maxnumber: int
    ttl_ms: int


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sign(key: bytes, challenge: str) -> str:
    return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()


def make_challenge(key: bytes, maxnumber: int, expires_at: int) -> PowPuzzle:
    """A fresh challenge that expires at `expires_at` (Unix seconds)."""
    salt = f"{secrets.token_hex(12)}?expires={expires_at}&maxnumber={maxnumber}&"
    number = secrets.randbelow(maxnumber + 1)
    challenge = _hash(salt + str(number))
    return PowPuzzle(ALGORITHM, challenge, maxnumber, salt, _sign(key, challenge))


def solve(challenge: str, salt: str, maxnumber: int) -> int | None:
    """What the widget does in the browser, for tests and the benchmark."""
    for number in range(maxnumber + 1):
        if _hash(salt + str(number)) == challenge:
            return number
    return None


def verify(key: bytes, payload: str, now_ms: int) -> Solution:
    """Check a widget's payload (base64 of its JSON): the signature, then the
    expiry, then the solution. Raises CaptchaFailed saying which failed."""
    fields = _decode(payload)
    algorithm, challenge = fields.get("algorithm"), fields.get("challenge")
    salt, signature, number = fields.get("salt"), fields.get("signature"), fields.get("number")
    if algorithm != ALGORITHM:
        raise CaptchaFailed(f"the proof of work must use {ALGORITHM}")
    if not all(isinstance(v, str) and v for v in (challenge, salt, signature)):
        raise CaptchaFailed("the proof-of-work payload lacks its challenge, salt or signature")
    assert isinstance(challenge, str) and isinstance(salt, str) and isinstance(signature, str)
    if not hmac.compare_digest(_sign(key, challenge), signature):
        raise CaptchaFailed("the proof-of-work challenge was not issued by this service")
    params = _params(salt)
    expires_ms = params.get("expires", 0) * 1000
    if expires_ms <= now_ms:
        raise CaptchaFailed("the proof-of-work challenge expired; ask for a new one")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise CaptchaFailed("the proof-of-work number must be a whole number")
    if not hmac.compare_digest(_hash(salt + str(number)), challenge):
        raise CaptchaFailed("the proof-of-work solution is wrong; ask for a new challenge")
    return Solution(challenge, params.get("maxnumber", 0), expires_ms - now_ms)


def _decode(payload: str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise CaptchaFailed("the proof-of-work payload is too long")
    try:
        data = orjson.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise CaptchaFailed("the proof-of-work payload is not base64 of a JSON object") from None
    if not isinstance(data, dict):
        raise CaptchaFailed("the proof-of-work payload is not base64 of a JSON object")
    return data


def _params(salt: str) -> dict[str, int]:
    """The salt's signed parameters. Only a salt ending in `&` is ours."""
    _, question, query = salt.partition("?")
    if not question or not salt.endswith("&"):
        raise CaptchaFailed("the proof-of-work challenge was not issued by this service")
    out = {}
    for name, values in parse_qs(query).items():
        if name in ("expires", "maxnumber") and values[0].isdigit():
            out[name] = int(values[0])
    return out
