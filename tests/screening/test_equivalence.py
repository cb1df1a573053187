"""Rewritten hot paths of the screening give the same answers as the
plain definitions they replaced. The body's fingerprint (screen.fingerprint)
is also compared with those the site's Redis already holds, written by
earlier versions of the service: its bytes must never change for the same
words, however it is computed."""

from __future__ import annotations

import hashlib
import itertools

from hypothesis import given
from hypothesis import strategies as st

from service.screening import screen, textfold
from service.screening.screen import FINGERPRINT_MIN_WORDS, SIGNATURE_VALUES, fingerprint
from service.screening.textfold import fold


def minhash_by_definition(words: tuple[str, ...]) -> bytes:
    """MinHash spelled out: for each of the 16 values, the least, over the
    text's distinct word pairs, of that 16-bit value of the pair's BLAKE2b;
    then the 32-bit BLAKE2b of the words."""
    if len(words) < FINGERPRINT_MIN_WORDS:
        return b""
    least = [0xFFFF] * SIGNATURE_VALUES
    for first, second in itertools.pairwise(words):
        digest = hashlib.blake2b(f"{first} {second}".encode(), digest_size=32).digest()
        for k in range(SIGNATURE_VALUES):
            least[k] = min(least[k], int.from_bytes(digest[2 * k : 2 * k + 2], "big"))
    exact = hashlib.blake2b(" ".join(words).encode(), digest_size=4).digest()
    return b"".join(v.to_bytes(2, "big") for v in least) + exact


# A few words, so that texts repeat pairs, as comments do.
WORDS = st.sampled_from(["tôi", "hay", "bài", "viết", "quá", "ngu", "x", "đm", "\x00", "a1"])


@given(st.lists(WORDS | st.text(min_size=1, max_size=8), max_size=40))
def test_fingerprint_is_minhash_by_definition(words: list[str]) -> None:
    assert fingerprint(tuple(words)) == minhash_by_definition(tuple(words))


def test_fingerprint_bytes_are_those_redis_already_holds() -> None:
    # Computed by the version before the numpy reduction: a stored
    # fingerprint must still match a new copy of its text.
    text = "Bài viết rất hay và đầy đủ thông tin, tôi sống ở Cà Mau hơn hai mươi năm"
    assert fingerprint(fold(text).plain).hex() == (
        "089a1571131803332c601a67325b08900aa802120cc11728005d115c0a54042c2ebe6d88"
    )


# Groups of one to three letters (with and without marks), digits, dots,
# spaces and underscores, in any order.
DOTTY = st.lists(
    st.sampled_from(["a", "ng", "ĐƯ", "chó", ".", ".", " ", "1", "_", "à", "x"]), max_size=12
).map("".join)


@given(DOTTY)
def test_a_text_without_letter_dot_letter_has_no_dotted_word(text: str) -> None:
    # fold() runs _DOTTED only when the cheap pattern finds a letter, a dot
    # and a letter: it must never miss a text that _DOTTED would change.
    if textfold._LETTER_DOT_LETTER.search(text) is None:
        assert textfold._DOTTED.sub(textfold._undotted, text) == text


@given(st.text(alphabet="0123456789+84 .-\n٠٨a", max_size=24))
def test_a_phone_number_holds_a_zero_or_an_eight(text: str) -> None:
    # The screen looks for a phone number only in a text with "0" or "8".
    if screen._PHONE.search(text) is not None:
        assert "0" in text or "8" in text
