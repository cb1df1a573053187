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
from dataclasses import dataclass

# Digits standing for letters, in words that mix both ("sh1t", "idi0t"): a
# number alone ("2022") stays a number.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_INVISIBLE = dict.fromkeys(
    c for c in range(0x2000, 0x2070) if unicodedata.category(chr(c)) == "Cf"
) | {0xFEFF: None, 0x00AD: None}
# A word, where an asterisk inside stands for a masked letter ("f*ck").
_TOKEN = re.compile(r"[^\W_]+(?:\*+[^\W_]+)*", re.UNICODE)
_REPEAT = re.compile(r"(.)\1{2,}")


@dataclass(frozen=True, slots=True)
class Folded:
    """A text as two token lists: with Vietnamese diacritics, and without."""

    marked: tuple[str, ...]
    plain: tuple[str, ...]


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def fold(text: str) -> Folded:
    base = unicodedata.normalize("NFC", text.translate(_INVISIBLE)).casefold()
    marked = _tokens(base)
    return Folded(marked, tuple(strip_marks(t) for t in marked))


def fold_term(term: str) -> tuple[tuple[str, ...], bool]:
    """A word-list entry as tokens, and whether it is matched against the
    marked fold only: it carries diacritics, or is written `=word` (plain
    letters that another word shares once stripped: "ngu", stupid, is not
    "ngủ", to sleep)."""
    exact = term.startswith("=")
    folded = fold(term.removeprefix("="))
    marked = exact or folded.marked != folded.plain
    return (folded.marked if marked else folded.plain), marked


def _tokens(text: str) -> tuple[str, ...]:
    raw = [_REPEAT.sub(r"\1", _unleet(t)) for t in _TOKEN.findall(text)]
    # Letters written apart ("đ . m", "d i t") are one word written apart:
    # runs of single letters are joined back together.
    out: list[str] = []
    run: list[str] = []
    for token in raw:
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            out.append("".join(run))
            run = []
        out.append(token)
    if run:
        out.append("".join(run))
    return tuple(out)


def _unleet(token: str) -> str:
    if token.isdigit() or not any(c.isdigit() for c in token):
        return token
    return token.translate(_LEET)
