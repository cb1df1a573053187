"""The keyed hashes are HMAC-SHA-256, however the keyring computes them:
hashes stored before a change must still match after it."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from service.keyring import Keyring

PARTS = st.lists(st.text(max_size=40), min_size=1, max_size=4)


def reference(key: bytes, *parts: str) -> str:
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()[:16].hex()


@given(st.binary(max_size=200), PARTS)
def test_keyed_hash_is_hmac_sha256(key: bytes, parts: list[str]) -> None:
    # Keys longer than SHA-256's block (64 bytes) are hashed first, as HMAC does.
    keyring = Keyring.from_secret("s" * 40)
    assert keyring._hex(key, *parts) == reference(key, *parts)
    assert keyring._hex(key, *parts) == reference(key, *parts)  # from the kept pads


def test_each_purpose_hashes_with_its_own_key() -> None:
    keyring = Keyring.from_secret("a secret of forty characters, or about!!")
    assert keyring.ip_hash("demo", "192.0.2.1") == reference(keyring.ip, "demo", "192.0.2.1")
    assert keyring.email_hash("demo", "A@Example.vn") == reference(
        keyring.email, "demo", "a@example.vn"
    )
    assert keyring.captcha_answer("demo", "id", "K7P2M") == reference(
        keyring.captcha, "demo", "id", "K7P2M"
    )
