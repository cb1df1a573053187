"""Folding text for word matching, so that the tricks people use to slip a
word past a filter do not work: case, Unicode form, Vietnamese diacritics
(đ → d), invisible characters, leetspeak, letters spaced or dotted apart
("đ.m", "d i t"), letters drawn out ("nguuuu").

Two folds are kept: one that keeps Vietnamese diacritics (for words whose
plain-letter form is an everyday word: "lồn" is not "lon", a can) and one
that drops them (for words that are unambiguous without: "dit me").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, TypeVar

# Digits standing for letters, in words that mix both ("sh1t", "idi0t"): a
# number alone ("2022") stays a number.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
# Zero-width and other invisible characters people slip inside words.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Vietnamese (and most Latin) diacritics, once decomposed (NFD).
_MARKS = re.compile("[\u0300-\u036f]")
# A word, where an asterisk inside stands for a masked letter ("f*ck").
_TOKEN = re.compile(r"[^\W_]+(?:\*+[^\W_]+)*", re.UNICODE)
_REPEAT = re.compile(r"(.)\1{2,}")
# Whether _REPEAT finds anything: the same runs, in less than half its
# time (no repetition to count, only two characters to compare).
_THRICE = re.compile(r"(.)\1\1")
# A word drawn out ("Ngguuuuu") loses its doubled letters too: no Vietnamese
# syllable doubles a consonant, and the word lists index their terms with
# doubles undone as well ("asshooole" is "ashole", still "asshole").
_DRAWN_WORD = re.compile(r"[^\W\d_]*([^\W\d_])\1{2,}[^\W\d_]*")
_DOUBLE = re.compile(r"(.)\1+")
# Short letter groups joined by dots ("ng.u", "ch.ó"): a word broken up by
# hand. Groups of three letters or more ("TP.HCM", "nội.Ngu") stay apart.
_DOTTED = re.compile(r"(?<![\w.])[^\W\d_]{1,2}(?:\.[^\W\d_]{1,2})+(?![\w])")
# What every dotted word holds, a letter, a dot and a letter: found in a
# twentieth of _DOTTED's time, since the engine skips ahead to each dot
# (most comments have dots, ending sentences, and no dotted word).
_LETTER_DOT_LETTER = re.compile(r"\.(?<=[^\W\d_]\.)(?=[^\W\d_])")
# Animal emoji said of a person ("con 🐶", "đồ 🐷") are the words.
_ANIMALS = dict.fromkeys("🐶🐕🐩", " chó ") | dict.fromkeys("🐷🐖🐽", " lợn ") | {"🦐": " tôm "}
_HAS_ANIMAL = re.compile("[🐶🐕🐩🐷🐖🐽🦐]")
# The engine tests a character against a class of seven characters past
# U+FFFF one by one, but against one range at once: the block that holds
# them all (animals, food, faces) finds the few texts worth the search
# above in a quarter of its time.
_ANIMAL_BLOCK = re.compile("[\U0001f400-\U0001f9ff]")
_DIGIT = re.compile(r"\d")
_SYMBOL_LETTER = {"!": "i", "$": "s", "@": "a"}
# Cyrillic, Greek and Armenian letters that look like Latin ones ("fսck"):
# a reader writing those alphabets is still matched as written elsewhere.
# The lunate sigma "ϲ", a "c" to the eye, casefolds to "σ".
_LOOKALIKES = "аеорсухіјѕԁɡһӏкмтвнսոզօνοαιкτρεχσ"
_HOMOGLYPHS = str.maketrans(_LOOKALIKES, "aeopcyxijsdghlkmtbhunqovoaiktpexc")
# Translating walks the text in Python's slow path: find a look-alike first.
_HAS_LOOKALIKE = re.compile(f"[{_LOOKALIKES}]")
# The symbol comes first, so the engine skips ahead to one; the letter
# before it is checked only there. A "$" also starts a word ("$hit"): a
# price has a digit after it.
_IN_WORD_SYMBOL = re.compile(r"[!$@](?<=[^\W\d_][!$@])(?=[^\W\d_])|\$(?<![\w$]\$)(?=[^\W\d_]{2})")
# Words run together in a name ("FuckTheMods") are words.
# Only a small letter before the capital: "à-ỹ" holds capitals too ("Đ", "Ọ"),
# and "ĐKM" or "TRỌNG" are one word each.
_SMALL = "".join(c for c in map(chr, range(0xDF, 0x1EFA)) if c.islower())
_CAMEL = re.compile(f"(?<=[a-z{_SMALL}])(?=[A-Z])")


# Not frozen: built for every comment screened, where a frozen dataclass's
# __init__ costs four times a plain one's; nothing changes one once built.
@dataclass(slots=True)
class Folded:
    """A text as two token lists, with Vietnamese diacritics and without, and
    the runs of single letters that were joined into one token: a word may
    hide in part of a run ("đ.m à" joins to "đmà", "à" being a word)."""

    marked: tuple[str, ...]
    plain: tuple[str, ...]
    marked_runs: tuple[str, ...] = ()
    plain_runs: tuple[str, ...] = ()
    # The distinct words of each fold, made when first asked for (`words`).
    _words: tuple[frozenset[str], frozenset[str]] | None = field(
        default=None, repr=False, compare=False
    )

    def words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The distinct words of the marked and the plain fold. Made once
        for a text: the word lists (banned, suspect, allowed) and the frames
        each intersect their vocabularies with them, and a set intersection
        walks the smaller set where one with a tuple hashes every word."""
        if self._words is None:
            self._words = (frozenset(self.marked), frozenset(self.plain))
        return self._words

    def __add__(self, other: Folded) -> Folded:
        # A separator no term contains: no phrase spans the two texts.
        return Folded(
            (*self.marked, "\x00", *other.marked),
            (*self.plain, "\x00", *other.plain),
            self.marked_runs + other.marked_runs,
            self.plain_runs + other.plain_runs,
        )


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return _MARKS.sub("", decomposed)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(dict[K, V], Generic[K, V]):
    """`function` of each key computed once, looked up (through map, in C)
    in a tenth of an lru_cache's time: readers reuse the same few thousand
    words. Bounded: past `size` keys, new ones are computed each time."""

    def __init__(self, function: Callable[[K], V], size: int) -> None:
        super().__init__()
        self._function, self._size = function, size

    def __missing__(self, key: K) -> V:
        value = self._function(key)
        if len(self) < self._size:
            self[key] = value
        return value


# Each token's plain spelling.
PLAIN = Memo(strip_marks, 65536)


def fold(text: str) -> Folded:
    # NFKC: fullwidth and other compatibility forms ("ｆｕｃｋ") are plain letters.
    # Every invisible character is outside ASCII, as is what NFKC changes:
    # most English comments skip both, and a scan in C tells.
    if text.isascii():
        base = text.casefold()
    else:
        base = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold()
    if not base.isascii():
        if _HAS_LOOKALIKE.search(base):
            base = base.translate(_HOMOGLYPHS)
        if _ANIMAL_BLOCK.search(base) and _HAS_ANIMAL.search(base):
            base = _HAS_ANIMAL.sub(lambda m: _ANIMALS[m.group()], base)
    # Symbols standing for letters inside a word ("sh!t", "a$$", "c@c").
    if "!" in base or "$" in base or "@" in base:  # three scans in C, cheaper than the pattern's
        base = _IN_WORD_SYMBOL.sub(lambda m: _SYMBOL_LETTER[m.group()], base)
    # Drawn-out letters ("nguuuu") are one letter.
    if _THRICE.search(base):
        base = _DRAWN_WORD.sub(_undrawn, base)
        base = _REPEAT.sub(r"\1", base)
    if "." in base and _LETTER_DOT_LETTER.search(base):
        base = _DOTTED.sub(_undotted, base)
    marked, runs = _tokens(base)
    plain = PLAIN.__getitem__
    return Folded(marked, tuple(map(plain, marked)), runs, tuple(map(plain, runs)))


@lru_cache(maxsize=16384)
def fold_name(name: str) -> Folded:
    """An author's name folded as a text is, with the words it runs
    together ("FuckTheMods") apart."""
    # Readers post under the same names again and again, and a Folded never
    # changes: each is folded once (5 us; a cache hit is a tenth of that).
    return fold(_CAMEL.sub(" ", name))


def _undotted(match: re.Match[str]) -> str:
    # Single letters all dotted apart ("d.i.t.m.e") are already a run that
    # _tokens joins, where a word may hide in part of it.
    word = match.group()
    return word if len(word) == 2 * word.count(".") + 1 else word.replace(".", "")


def _undrawn(match: re.Match[str]) -> str:
    return undoubled(match.group())


def undoubled(word: str) -> str:
    """A word with its doubled letters single ("asshole" → "ashole"), as a
    drawn-out word folds."""
    return _DOUBLE.sub(r"\1", word)


def fold_term(term: str) -> tuple[tuple[str, ...], bool]:
    """A word-list entry as tokens, and whether it is matched against the
    marked fold only: it carries diacritics, or is written `=word` (plain
    letters that another word shares once stripped: "ngu", stupid, is not
    "ngủ", to sleep)."""
    exact = term.startswith("=")
    folded = fold(term.removeprefix("="))
    marked = exact or folded.marked != folded.plain
    return (folded.marked if marked else folded.plain), marked


def _tokens(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    raw = _TOKEN.findall(text)
    if _DIGIT.search(text):
        # Only a word of letters and digits together can be leet ("sh1t"):
        # isalpha() and isdigit() tell the rest apart at C speed.
        raw = [t if t.isalpha() or t.isdigit() else _unleet(t) for t in raw]
    if 1 not in map(len, raw):  # a scan in C: most texts have no one-letter word
        return tuple(raw), ()
    # Letters written apart ("đ . m", "d i t") are one word written apart:
    # runs of single letters are joined back together.
    out: list[str] = []
    runs: list[str] = []
    run: list[str] = []
    for token in [*raw, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            out.append("".join(run))
            if len(run) > 1:
                runs.append(out[-1])
            run = []
        if token:
            out.append(token)
    return tuple(out), tuple(runs)


def _unleet(token: str) -> str:
    if not any(c.isdigit() for c in token):
        return token  # letters and asterisks ("f*ck")
    return token.translate(_LEET)
