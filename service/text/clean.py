"""Normalising readers' text: one Unicode form (NFC), one newline, and no
characters that could hide or reorder what a moderator reads."""

from __future__ import annotations

import re
import unicodedata

# Cc (C0/C1 controls), Cs (lone surrogates, which JSON's \\ud800 escapes can
# produce and UTF-8 cannot encode), Co/Cn are left alone; bidi embeddings,
# overrides and isolates are refused because they can make a comment display
# differently from what it says.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_FORBIDDEN_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_BIDI}]")
_FORBIDDEN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029{_BIDI}]")
_NEWLINES = re.compile(r"\r\n?")


def clean(value: str, *, multiline: bool) -> str:
    """NFC-normalised and trimmed text, or ValueError naming what is refused.

    Form posts send CRLF, so CR is folded into LF before control characters
    are looked for.
    """
    if multiline:
        value = _NEWLINES.sub("\n", value)
    bad = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_LINE).search(value)
    if bad:
        raise ValueError(f"contains a forbidden control character U+{ord(bad.group()):04X}")
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value.strip()


def scrub(value: str, *, multiline: bool) -> str:
    """The text with every character `clean` refuses removed: for text that
    was already published elsewhere (an import), where refusing a whole
    comment for a stray control character would lose it."""
    if multiline:
        value = _NEWLINES.sub("\n", value)
    return (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_LINE).sub("", value)
