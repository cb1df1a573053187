"""Rewritten hot paths of the screening give the same answers as the
plain definitions they replaced. The body's fingerprint (screen.fingerprint)
is also compared with those the site's Redis already holds, written by
earlier versions of the service: its bytes must never change for the same
words, however it is computed."""

from __future__ import annotations

import hashlib
import itertools
import random
import unicodedata

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from service.screening import model, screen, textfold
from service.screening.model import Features
from service.screening.screen import FINGERPRINT_MIN_WORDS, SIGNATURE_VALUES, fingerprint
from service.screening.textfold import fold, fold_name


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


@given(st.lists(st.integers(0, 40), max_size=60), st.randoms(use_true_random=False))
def test_merged_features_are_unique_slots_with_their_values_added(
    slots: list[int], rng: random.Random
) -> None:
    # Features.grouped sorts slot and position packed together; by
    # definition, merged is np.unique's slots and np.bincount's sums.
    values = [rng.choice([0.1, 0.07, 0.035, 0.25]) for _ in slots]
    features = Features(np.array(slots, np.uint32), np.array(values, np.float32))
    unique, inverse = np.unique(features.indices, return_inverse=True)
    sums = np.bincount(inverse, weights=features.values, minlength=len(unique))
    merged, added, first = features.grouped()
    assert merged.dtype == np.uint32 and added.dtype == np.float32
    assert merged.tolist() == unique.tolist()
    assert added.tobytes() == sums.astype(np.float32).tobytes()
    assert first.tolist() == [slots.index(slot) for slot in unique.tolist()]


@given(st.text(alphabet="abc \u00adé\u200bＡ!$@", max_size=20))
def test_an_ascii_text_folds_as_any_text_does(text: str) -> None:
    # fold() skips NFKC and the invisible characters for ASCII text, and the
    # symbols-for-letters pattern for a text without one of its symbols.
    # (Not that pattern here: it is not idempotent, "a@$aa" reading
    # "a@saa" after one pass and "aasaa" after two, and fold() runs it once.)
    base = unicodedata.normalize("NFKC", textfold._INVISIBLE.sub("", text)).casefold()
    assert fold(text) == fold(base)


def ngram_slots_by_definition(text: str, start: int, end: int, seed: int = 0) -> list[int]:
    """The slot of each 3-, 4- and 5-gram of text[start:end], spelled out:
    the polynomial over its code points modulo 2**32, plus the space's seed,
    spread by Fibonacci hashing."""
    slots = []
    for n in model.NGRAMS:
        for i in range(start, end - n + 1):
            h = sum(ord(c) * pow(model._P, k, 1 << 32) for k, c in enumerate(text[i : i + n]))
            spread = (h + seed) * model._SPREAD & model._MASK
            slots.append(spread >> (32 - model.DIMENSION_BITS))
    return slots


@given(
    st.lists(st.text(alphabet="aăđ ngu🐶\u0301x", min_size=1, max_size=6), max_size=12),
    st.lists(st.text(alphabet="lanLAN😀", min_size=1, max_size=5), max_size=3),
)
def test_ngram_slots_are_the_polynomial_hash_by_definition(
    words: list[str], names: list[str]
) -> None:
    # extract_folded hashes every n-gram with one product of matrices over
    # a strided view of the code points, its padding cut off.
    body = textfold.Folded(tuple(words), tuple(words))
    name = textfold.Folded(tuple(names), tuple(names))
    features = model.extract_folded(name, body)
    source = features._source
    assert source is not None
    body_slots = ngram_slots_by_definition(source.text, 0, source.body_size)
    name_slots = ngram_slots_by_definition(
        source.text, source.body_size, len(source.text), model._NAME_SEED
    )
    indices = features.indices.tolist()
    assert indices[: source.body_grams] == body_slots
    name_start = source.body_grams + max(0, 2 * len(words) - 1)
    assert indices[name_start : name_start + source.name_grams] == (name_slots if names else [])


@given(st.text(alphabet="ab đĐ*1 .", max_size=30), st.text(alphabet="xy Đ", max_size=8))
def test_a_folds_words_are_the_sets_of_its_tokens(text: str, name: str) -> None:
    # Made once and kept: the word lists and the frames share them.
    for folded in (fold(text), fold_name(name) + fold(text)):
        assert folded.words() == (frozenset(folded.marked), frozenset(folded.plain))
        assert folded.words() is folded.words()


def test_features_past_the_positions_made_once_are_grouped_alike() -> None:
    # grouped() packs each position from a table of 65,536; more features
    # than that (no comment has them) number their own.
    rng = np.random.default_rng(7)
    slots = rng.integers(0, 1 << 18, 70_000).astype(np.uint32)
    features = Features(slots, np.full(len(slots), 0.25, np.float32))
    unique, first = np.unique(slots, return_index=True)
    merged, added, positions = features.grouped()
    assert merged.tolist() == unique.tolist()
    assert positions.tolist() == first.tolist()
    assert added.sum() == np.float32(0.25 * len(slots))


def test_every_animal_said_as_a_word_is_in_the_block_searched_first() -> None:
    # fold() looks for the animals only in a text with a character of their block.
    assert all(textfold._ANIMAL_BLOCK.fullmatch(animal) for animal in textfold._ANIMALS)
    assert fold("đồ 🦐 não 🐽").marked == ("đồ", "tôm", "não", "lợn")


@given(
    st.lists(st.sampled_from([0.5, -0.5, 0.0, -0.0, 1e-30, 3.0, 2.9999998, -3.0]), max_size=80)
    | st.lists(st.floats(-4, 4, width=32), max_size=80),
    st.integers(0, 40),
)
def test_the_strongest_pushes_are_a_stable_argsorts_first_positive_ones(
    pushes: list[float], count: int
) -> None:
    # explain names features in this order, ties by slot, stopping at the
    # first push that is not positive.
    array = np.array(pushes, np.float32)
    top = (-array).argsort(kind="stable")[:count].tolist()
    expected = [i for i in top if array[i] > 0]
    assert model._strongest(array, count).tolist() == expected


@given(st.text(alphabet="aaà\n.-dotDOTchấmCHẤM:/([)] hxps", max_size=30))
def test_a_text_without_what_an_obfuscated_link_needs_holds_none(text: str) -> None:
    # The author's name is searched only when _may_hide_link says it may.
    if screen._OBFUSCATED_LINK.search(text) is not None:
        assert screen._may_hide_link(text)


@given(st.text(alphabet="aaàà\n\n..uu", max_size=20))
def test_a_run_of_three_is_found_as_the_drawn_out_pattern_finds_it(text: str) -> None:
    # fold() tests for a drawn-out letter with _THRICE, then removes runs with _REPEAT.
    assert (textfold._THRICE.search(text) is None) == (textfold._REPEAT.search(text) is None)
