"""Auto-moderation: signals read from a submission's text, each with a
reason code and a weight, summed into a score; the site's thresholds turn the
score into a verdict (publish as the mode says, hold, spam or reject). Every
hold has reasons a moderator can read.

Some words are abuse only in a frame: violence aimed at "mày" or "you" is a
threat, contempt next to a people's name is hate (frames.py, with the word
files threat.txt and hate.txt); news that names the same acts and peoples
stays clean. Words in quotes are reported, not said, and only banned words
count there.

The text's signals are pure computation, done before the accept script; so
is the form token's (formtoken.py). The signals that need the site's memory
(duplicates of recent comments, the author's earlier rejections, a link from
a first-time author) are read inside the accept script, which adds their
weights, with the ones given here, and turns the total into the verdict
(lua/accept.lua): one round trip still.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import operator
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from service.screening.frames import (
    BrainInsult,
    Frame,
    Spots,
    default_frames,
    english_threat,
    read_sections,
)
from service.screening.textfold import (
    Folded,
    Memo,
    fold,
    fold_name,
    fold_term,
    strip_marks,
    undoubled,
)
from service.settings import DEFAULTS, AbuseRules

WORDS_DIR = DEFAULTS / "words"

# Weights: a banned word alone reaches the default reject threshold; a
# suspect word, shouting or a flood alone reach the hold threshold.
HONEYPOT = 10.0  # a person never sees the field, so never fills it in
BANNED_WORD = 10.0
# A banned word only inside a reported quote ("bị gọi là 'óc chó'"): named
# to condemn it, not sworn. It weighs, but holds nothing alone.
QUOTED_WORD = 1.0
SUSPECT_WORD = 3.0
LINK = 1.0  # per link beyond the first
MANY_LINKS = 4.0  # three or more
SHOUTING = 3.0
FLOOD = 3.0
PHONE = 3.0  # a phone number in a news comment is nearly always an advert
SHORT_LINK = 2.0  # a shortened link hides where it goes
RISKY_LINK = 2.0  # a link to a domain of the kind spam registers
OBFUSCATED_LINK = 4.0  # only someone hiding from a filter writes "hxxps"
NAME_ADVERT = 4.0  # a domain or a phone number as the author's name
# Words that are abusive only in a frame: violence aimed at someone, contempt
# for a whole people (config/words/threat.txt, hate.txt). Held, as a suspect
# word is: a person reads the context.
THREAT = 3.0
HATE = 3.0
# The form token (formtoken.py): none at all is a client that never asked
# for a challenge through the widget; one we never issued is forged.
NO_FORM_TOKEN = 2.0
BAD_FORM_TOKEN = 5.0
STALE_FORM_TOKEN = 3.0
TOO_FAST = 3.0
# Read by the accept script from the site's memory (see ScriptWeights).
DUPLICATE = 4.0  # the same text again, by anyone, within the window
NEAR_DUPLICATE = 3.0  # the same text with a few words changed
STRIKE = 1.5  # per earlier rejection of the author, up to three
FIRST_TIME_LINK = 2.0  # a link in an author's very first comment

# Texts shorter than this many words are not fingerprinted: "Hay quá!" and
# "Cảm ơn tác giả" are said by many readers in good faith.
FINGERPRINT_MIN_WORDS = 6
# Measured on the corpus (tests/data): unrelated comments agree in at most 5
# of 16 values, copies with a few words changed in 7 or more. The accept
# script looks a signature up by 8 bands of 2 values.
SIGNATURE_VALUES = 16
NEAR_DUPLICATE_AGREEMENT = 7

_URL = re.compile(
    r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|vn|xyz|top|info|io|me|ly|gy|gd|id)/\S*",
    re.IGNORECASE,
)
# Vietnamese numbers (0 or +84, then nine digits, or ten for a landline's
# area code: "0254 3 812 669"), however they are spaced ("0 9 1 8 - 6 2 7").
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]{0,3}\d){9,10}(?!\d)")
# A North American number: with its area code, or seven digits after a word
# that asks to call (a bare "500-1000" is a range).
_US_PHONE = re.compile(
    r"(?<![\d-])(?:\(\d{3}\) ?|\d{3}-)\d{3}-\d{4}(?![\d-])"
    r"|\b(?:call|text|ring|phone|tel|whatsapp|sms)\b(?:\W+\w+){0,2}?\W+\d{3}-\d{4}(?![\d-])",
    re.IGNORECASE,
)
_SHORTENERS = re.compile(
    r"\b(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|cutt\.ly|s\.id|shorturl\.at|rb\.gy|is\.gd|t\.me"
    r"|t\.ly)/",
    re.IGNORECASE,
)
# Top-level domains that spam favours (cheap to register, rarely a news source).
_RISKY_TLDS = frozenset(
    [
        *("click", "pro", "online", "shop", "site", "love", "vip", "top", "xyz", "bet", "win"),
        *("club", "live", "store", "fun", "buzz", "icu", "cc", "tk", "ml", "ga", "cf", "gq"),
        *("link", "loan", "work", "casino", "poker", "sbs", "cfd", "bond", "monster", "rest"),
        *("today", "life", "world", "space", "website", "asia", "biz", "tours"),
    ]
)
_RISKY_TLD = re.compile(rf"\b[\w-]+\.(?:{'|'.join(sorted(_RISKY_TLDS))})\b", re.IGNORECASE)
# A domain written bare, with no "/" or "www." ("gamebai-vip99.club"): a
# dot, then letters that may be a top-level domain, finds the candidates.
_DOT_TLD = re.compile(r"\.[a-z]{2,7}(?![\w-])", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"(?<![\w.@-])([\w-]+)\.([a-z]{2,3}\.)?([a-z]{2,7})(?![\w-])", re.I)
# Second-level domains that only public bodies get ("covid-19.gov.vn").
_OFFICIAL = frozenset({"gov.", "edu.", "ac.", "int.", "mil."})
# A domain spelled out letter by letter ("k e t o . c o m") folds to one run
# of single letters ending in its top-level domain.
_SPACED_DOMAIN = re.compile(r"\w{3,}(?:com|net|org|info|xyz|club|vip|online|site|shop|bet|store)")
# A link written so that no filter sees it: "hxxps://", "site[.]org", "(dot) com".
_OBFUSCATED_LINK = re.compile(
    r"\bh(?:xx|\*\*)ps?://|\w\s*[\[(]\s*(?:\.|dot|chấm)\s*[\])]\s*\w"
    r"|\w\s+(?:dot|chấm)\s+(?:com|net|org|vn|club|xyz|vip|online|shop|site|top|bet)\b"
    r"|\w\s+\.\s+(?:com|net|org|vn|info|xyz|vip|top|club|online|shop|store|site)\b",
    re.IGNORECASE,
)
# Digits as words (diacritics stripped: "năm" is "nam"), for a phone number
# spelled out so that no digit shows.
_DIGIT_WORDS = frozenset(
    [
        "khong",
        "mot",
        "hai",
        "ba",
        "bon",
        "tu",
        "nam",
        "lam",
        "sau",
        "bay",
        "tam",
        "chin",
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
    ]
)
# A name that is an address or a domain: the author field used as an advert.
_NAME_LINK = re.compile(
    r"(?:https?://|www\.)|\b[\w-]{2,}\.(?:com|net|org|vn|info|biz|io|me|co|us|ru|cn|online"
    r"|top|xyz|club|vip|shop|site|pro|bet|win|live|store|fun|link|click|loan|health|app)\b"
    # Round ten: a shortened link as the name ("cutt.ly/sungarden390").
    r"|\b[\w-]{2,}\.(?:ly|gy|gd|id)/\w",
    re.IGNORECASE,
)
# Quoted words are mentioned, not said: a reader reporting "'liệu hồn đấy'"
# or "'we know where you live'" is not the one threatening. A quote opens
# and closes outside a word, so "don't" and "M'Nông" are not quotes.
_QUOTED = re.compile(
    "(?<!\\w)(?:'[^'\\n]{1,200}'|\"[^\"\\n]{1,200}\"|‘[^’\\n]{1,200}’|“[^”\\n]{1,200}”"
    "|«[^»\\n]{1,200}»)(?!\\w)"
)
# Words that aim what comes before them at the reader being answered.
_ADDRESSED = frozenset({"mày", "mầy", "mi", "bay", "you", "u", "ya", "ur", "your"})
_ADDRESSED_PLAIN = frozenset({"may", "mi", "you", "u", "ya", "ur", "your"})
# A character or a short run drawn out ("!!!!!!!!!!", "hahahahahahahaha"),
# and a word, a smiley or an emoji said eight times in a row.
_CHAR_FLOOD = re.compile(r"(\S)\1{9,}|(\S{2,6}?)\2{7,}")
_WORD_FLOOD = re.compile(r"(\S{1,12}\s+)\1{7,}")


# Not frozen: built for every comment screened, where a frozen dataclass's
# __init__ costs four times a plain one's; nothing changes one once built.
@dataclass(slots=True)
class Signal:
    reason: str
    weight: float


# Not frozen: built for every comment screened, where a frozen dataclass's
# __init__ costs four times a plain one's; nothing changes one once built.
@dataclass(slots=True)
class Assessment:
    score: float
    reasons: tuple[str, ...]
    verdict: str  # "pass", "hold", "spam" or "reject"
    links: int = 0
    # MinHash signature and exact hash of the body's words (see fingerprint()).
    fingerprint: bytes = b""


# What the accept script adds from the site's memory, in the order it reads them.
SCRIPT_WEIGHTS = (
    f"{DUPLICATE} {NEAR_DUPLICATE} {STRIKE} {FIRST_TIME_LINK} {NEAR_DUPLICATE_AGREEMENT}"
)


class WordList:
    """Terms matched on whole words (or runs of words), never inside one."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._marked: set[tuple[str, ...]] = set()
        self._plain: set[tuple[str, ...]] = set()
        terms = list(terms)
        # A `=word` shares its letters with another word once its marks are
        # gone ("ngu", stupid; "ngủ", to sleep): a text typed with no marks
        # at all cannot tell them apart (see Screen._word_signals). A phrase
        # ("=nam ky") still can, by its other word.
        self.exact = frozenset(fold_term(t)[0][0] for t in terms if t[:1] == "=" and " " not in t)
        for term in terms:
            tokens, marked = fold_term(term)
            if not tokens:
                continue
            (self._marked if marked else self._plain).add(tokens)
            # A drawn-out word folds without its doubles ("asshooole").
            if len(tokens) == 1 and len(tokens[0]) >= 5 and undoubled(tokens[0]) != tokens[0]:
                (self._marked if marked else self._plain).add((undoubled(tokens[0]),))
        # A phrase written without spaces ("ditme") is the phrase too; a
        # word that is a term itself ("braindead", and "brain dead") stays
        # that term. Sorted, so that every process builds the same lists
        # (a set's order changes with the hash seed).
        self._marked_joined = {"".join(t): t for t in sorted(self._marked, key=_phrases_first)}
        self._plain_joined = {"".join(t): t for t in sorted(self._plain, key=_phrases_first)}
        self._marked_index = _index(self._marked, self._marked_joined)
        self._plain_index = _index(self._plain, self._plain_joined)
        self._marked_starts = frozenset(self._marked_index)
        self._plain_starts = frozenset(self._plain_index)
        # What a masked word ("f*ck") can only be, found by trying it on
        # every term: once for each word, since readers mask the same few.
        self._marked_masked: Memo[str, list[str]] = Memo(
            functools.partial(_masked, joined=self._marked_joined), 4096
        )
        self._plain_masked: Memo[str, list[str]] = Memo(
            functools.partial(_masked, joined=self._plain_joined), 4096
        )

    def find(self, folded: Folded) -> list[str]:
        found: list[str] = []
        masked = "*" in "".join(folded.marked)
        marked_words, plain_words = folded.words()
        for tokens, words, runs, terms, joined, index, starts, masks in (
            (
                folded.marked,
                marked_words,
                folded.marked_runs,
                self._marked,
                self._marked_joined,
                self._marked_index,
                self._marked_starts,
                self._marked_masked,
            ),
            (
                folded.plain,
                plain_words,
                folded.plain_runs,
                self._plain,
                self._plain_joined,
                self._plain_index,
                self._plain_starts,
                self._plain_masked,
            ),
        ):
            for run in runs:
                for i in range(len(run) - 1):
                    for j in range(i + 2, len(run) + 1):
                        part = run[i:j]
                        if part != run and (part,) in terms:
                            found.append(part)
                        elif part != run and part in joined:
                            found.append(" ".join(joined[part]))
            # Only the words that start a term are looked at, found by a set
            # intersection and tuple.index, both in C; the matches are put
            # back in the text's order.
            at: list[tuple[int, int, str]] = []
            for token in starts & words:
                lengths, phrase = index[token]
                i = -1
                for _ in range(tokens.count(token)):
                    i = tokens.index(token, i + 1)
                    for n in lengths:
                        window = tokens[i : i + n]
                        if window in terms:
                            at.append((i, len(at), " ".join(window)))
                    if phrase:
                        at.append((i, len(at), " ".join(phrase)))
            if masked:
                for i, token in enumerate(tokens):
                    if "*" in token and token not in index:
                        at += ((i, len(at) + k, t) for k, t in enumerate(masks[token]))
            if at:  # most texts hold no term: spare the sort and the generator
                found += (term for _, _, term in sorted(at))
        return found


_Hit = tuple[tuple[int, ...], tuple[str, ...]]


def _phrases_first(term: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    return -len(term), term


def _index(terms: set[tuple[str, ...]], joined: dict[str, tuple[str, ...]]) -> dict[str, _Hit]:
    """Each word that matters: the lengths of the terms it starts, and the
    phrase it is when written without spaces. Most words are in neither."""
    index: dict[str, _Hit] = {}
    for term in terms:
        lengths, phrase = index.get(term[0], ((), ()))
        index[term[0]] = (tuple(sorted({*lengths, len(term)})), phrase)
    for word, phrase in joined.items():
        if len(phrase) > 1:
            index[word] = (index.get(word, ((), ()))[0], phrase)
    return index


def _masked(token: str, joined: dict[str, tuple[str, ...]]) -> list[str]:
    """A word with letters masked by asterisks ("f*ck") matches the terms
    it can only be."""
    pattern = re.compile("".join("." if c == "*" else re.escape(c) for c in token) + r"\Z")
    return [" ".join(t) for word, t in joined.items() if pattern.match(word)]


def read_words(name: str) -> list[str]:
    """A word list of the package's defaults. A missing one is an error, not
    an empty list: a service that quietly screened with no words would pass
    everything its list was meant to hold."""
    path = WORDS_DIR / f"{name}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _insults(sections: dict[str, list[str]]) -> list[str]:
    """The insults of config/words/insult.txt: its heads before its traits."""
    return [
        f"{head} {trait}"
        for heads, traits in (
            ("head", "trait"),
            ("strong-head", "slur"),
            ("plain-head", "plain-trait"),
            ("en-head", "en-trait"),
        )
        for head in sections.get(heads, [])
        for trait in sections.get(traits, [])
    ]


def _default_frames() -> list[Frame]:
    """The frames of the default word files, with this module's weights."""
    threat, hate = read_sections(read_words("threat")), read_sections(read_words("hate"))
    return default_frames(threat, hate, THREAT, HATE)


@dataclass(frozen=True, slots=True)
class Thresholds:
    hold: float
    spam: float
    reject: float


class Screen:
    """One site's auto-moderation: its word lists and thresholds."""

    def __init__(
        self,
        banned: Iterable[str],
        suspect: Iterable[str],
        thresholds: Thresholds,
        allowed: Iterable[str] = (),
        frames: Iterable[Frame] = (),
        fingerprints: bool = True,
        brains: BrainInsult | None = None,
    ) -> None:
        allowed = list(allowed)
        self._brains = brains
        self._banned = WordList(banned)
        self._suspect = WordList(suspect)
        self._allowed = WordList(allowed)
        self._innocent = Spots(allowed)
        self._frames = tuple(frames)
        # For each key word (see Spots), in each fold: a bit for each side
        # of each frame that it may be part of (frame n: bits 2n and 2n + 1).
        self._frame_keys: tuple[dict[str, int], dict[str, int]] = ({}, {})
        for n, frame in enumerate(self._frames):
            for bit, spots in ((1 << 2 * n, frame.anchor), (2 << 2 * n, frame.near)):
                for keys, words in zip(self._frame_keys, spots.keys, strict=True):
                    for word in words:
                        keys[word] = keys.get(word, 0) | bit
        self._frame_words = tuple(frozenset(keys) for keys in self._frame_keys)
        self._thresholds = thresholds
        # A site that keeps no window of recent comments compares none.
        self._fingerprints = fingerprints

    @classmethod
    def for_rules(cls, rules: AbuseRules) -> Screen:
        """The screen of a site's rules. Sites whose rules screen alike share
        one: building a screen folds every word of the word files (tens of
        milliseconds and about a megabyte each), and most sites keep the
        default words."""
        return _screen_for(
            tuple(rules.banned_words),
            tuple(rules.suspect_words),
            tuple(rules.allowed_words),
            rules.default_words,
            Thresholds(rules.hold_at, rules.spam_at, rules.reject_at),
            rules.duplicate_window_seconds > 0,
        )

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    def assess(
        self, name: str, body: str, honeypot: str = "", signals: Iterable[Signal] = ()
    ) -> Assessment:
        return self.assess_folded(name, body, honeypot, signals)[0]

    def assess_folded(
        self, name: str, body: str, honeypot: str = "", signals: Iterable[Signal] = ()
    ) -> tuple[Assessment, Folded, Folded]:
        """`assess`, and the name and body as folded for it (fold_name and
        fold), for the learned model to read without folding them again."""
        found = [Signal("honeypot", HONEYPOT)] if honeypot else []
        found += signals
        folded_name, folded_body = fold_name(name), fold(body)
        # What the author says in their own words: the body less what it reports.
        said = folded_body
        if _quotes(body) and _QUOTED.search(body):
            unreported = _unreported(body)
            if unreported != body:
                said = fold(unreported)
        whole = folded_name + folded_body
        said_whole = whole if said is folded_body else folded_name + said
        found += self._word_signals(whole, said_whole, folded_body.marked == folded_body.plain)
        found += self._frame_signals(said)
        if not body.isascii():
            body = unicodedata.normalize("NFKC", body)  # "ｈｔｔｐｓ://" is a link too
        # Every link pattern needs a "/" or "www.": most comments have neither.
        links = len(_URL.findall(body)) if "/" in body or "www." in body.lower() else 0
        # A linked domain of the shapes spam registers is as risky as a bare one.
        risky = bool(links and (_RISKY_TLD.search(body) or _spam_domains(body)))
        if not links and _DOT_TLD.search(body):
            links = _spam_domains(body)
            risky = links > 0
        found += _link_signals(name, body, links, risky, folded_body.plain_runs, folded_name.plain)
        found += _shape_signals(body, folded_body.plain)
        score = sum(signal.weight for signal in found)
        assessment = Assessment(
            score,
            tuple(signal.reason for signal in found),
            self._verdict(score),
            links,
            fingerprint(folded_body.plain) if self._fingerprints else b"",
        )
        return assessment, folded_name, folded_body

    def _word_signals(self, folded: Folded, said: Folded, unmarked: bool) -> list[Signal]:
        """Banned and suspect words in the author's own words (`said`: a
        quoted "liệu hồn" is reported, not meant), less the suspect `=word`
        ones when the body carries no diacritics (`unmarked`); banned words
        found only in what is reported are `quoted-word`s."""
        banned, suspect = self._banned.find(said), self._suspect.find(said)
        quoted = [] if said is folded else self._banned.find(folded)
        if unmarked and suspect and self._suspect.exact:
            suspect = [t for t in suspect if t not in self._suspect.exact]
        # English swear words stay swear words inside a compound
        # ("clusterfuck", "fuckwit"), and so does the transposed "fcuk"
        # ("fcuking", round ten); no innocent word holds these.
        joined = " ".join(said.plain)
        if "fuck" in joined or "fvck" in joined or "fcuk" in joined:
            banned += [w for w in said.plain if "fuck" in w or "fvck" in w or "fcuk" in w]
        if self._brains:
            suspect += self._brains.find(said, unmarked, "brain" in joined or "skull" in joined)
        if banned or quoted:
            banned, quoted = self._innocent_removed(folded, banned, quoted)
        if suspect:
            [suspect] = self._innocent_removed(said, suspect)
        # A word found through both folds, or in both lists ("đm" banned,
        # "dm" suspect), is one word: counted once, the worse way.
        taken: set[str] = set()
        return [
            *(Signal(f"banned-word:{t}", BANNED_WORD) for t in _distinct(banned, taken)),
            *(Signal(f"suspect-word:{t}", SUSPECT_WORD) for t in _distinct(suspect, taken)),
            *(Signal(f"quoted-word:{t}", QUOTED_WORD) for t in _distinct(quoted, taken)),
        ]

    def _frame_signals(self, said: Folded) -> list[Signal]:
        """Threats and hate: words abusive only near one another, one signal
        of each kind at most."""
        if not self._frames:
            return []
        found: dict[str, Signal] = {}
        # Which sides of which frames the text may hold, from its key words.
        sides = 0
        for keys, words, text in zip(
            self._frame_keys, self._frame_words, said.words(), strict=True
        ):
            for word in words & text:
                sides |= keys[word]
        if sides:
            words_sets = said.words()
            for n, frame in enumerate(self._frames):
                both = 3 << 2 * n
                if sides & both != both or frame.reason in found:
                    continue
                terms = frame.find(said, words_sets, self._innocent)
                if terms:
                    found[frame.reason] = Signal(f"{frame.reason}:{terms}", frame.weight)
        if "threat" not in found and (threat := english_threat(said.plain)):
            found["threat"] = Signal(f"threat:{threat}", THREAT)
        return list(found.values())

    def _innocent_removed(self, folded: Folded, *found: list[str]) -> tuple[list[str], ...]:
        """The terms found, less those that stand inside an allowed phrase
        the text contains ("óc chó" in "hạt óc chó", a walnut)."""
        phrases = [f" {strip_marks(p)} " for p in self._allowed.find(folded)]
        if not phrases:
            return found
        return tuple(
            [t for t in terms if not any(f" {strip_marks(t)} " in p for p in phrases)]
            for terms in found
        )

    def newcomer_verdict(self, assessment: Assessment) -> str:
        """The verdict the accept script reaches for a first-time author with
        no duplicate on the site: what an evaluation on a corpus measures."""
        score = assessment.score + (FIRST_TIME_LINK if assessment.links else 0.0)
        return self._verdict(score)

    def _verdict(self, score: float) -> str:
        return verdict(score, self._thresholds)


def verdict(score: float, limits: Thresholds) -> str:
    """The verdict a score reaches: "reject", "spam", "hold" or "pass"."""
    if score >= limits.reject:
        return "reject"
    if score >= limits.spam:
        return "spam"
    if score >= limits.hold:
        return "hold"
    return "pass"


@lru_cache(maxsize=256)
def _screen_for(
    banned: tuple[str, ...],
    suspect: tuple[str, ...],
    allowed: tuple[str, ...],
    default_words: bool,
    thresholds: Thresholds,
    fingerprints: bool,
) -> Screen:
    # A screen holds no state that changes after it is built: sharing is safe.
    if not default_words:
        return Screen(banned, suspect, thresholds, allowed, fingerprints=fingerprints)
    insult = read_sections(read_words("insult"))
    return Screen(
        [*read_words("banned"), *banned],
        [*read_words("suspect"), *_insults(insult), *suspect],
        thresholds,
        [*read_words("allowed"), *allowed],
        _default_frames(),
        fingerprints=fingerprints,
        brains=BrainInsult.of(insult),
    )


def fingerprint(words: tuple[str, ...]) -> bytes:
    """A MinHash signature of the text's word pairs (16 values of 16 bits)
    and a 32-bit hash of the exact words: two texts' signatures agree in
    about as many places as the texts share word pairs, so a copy with a few
    words changed still agrees in most. Empty for a text too short to tell a
    copy from a coincidence."""
    if len(words) < FINGERPRINT_MIN_WORDS:
        return b""
    # Each pair's 16 values are kept as their 32 big-endian bytes: the
    # minimum of every column is then one numpy reduction over the pairs'
    # bytes joined, not a transposition and 16 minimums in Python. A pair
    # said twice changes no minimum, so pairs are not made distinct first;
    # the ufunc's own reduce spares ndarray.min's Python wrappers.
    hashes = b"".join(map(_PAIR_HASHES.__getitem__, itertools.pairwise(words)))
    columns = np.frombuffer(hashes, ">u2").reshape(-1, SIGNATURE_VALUES)
    signature: bytes = np.minimum.reduce(columns, axis=0).astype(">u2").tobytes()
    return signature + hashlib.blake2b(" ".join(words).encode(), digest_size=4).digest()


def _pair_hashes(pair: tuple[str, str]) -> bytes:
    return hashlib.blake2b(" ".join(pair).encode(), digest_size=2 * SIGNATURE_VALUES).digest()


# Readers reuse the same word pairs: hash each once.
_PAIR_HASHES = Memo(_pair_hashes, 65536)


def _spam_domains(body: str) -> int:
    """How many bare domains of the kinds spam registers the text names: a
    cheap top-level domain, or a hyphenated name with digits
    ("xem-bongda99.net"). A bare "vnexpress.net" or "who.int" is a source
    named, not a link to follow."""
    count = 0
    for label, second, tld in _BARE_DOMAIN.findall(body):
        if second.lower() in _OFFICIAL:
            continue
        if tld.lower() in _RISKY_TLDS or ("-" in label and any(map(str.isdigit, label))):
            count += 1
    return count


def _link_signals(
    name: str,
    body: str,
    links: int,
    risky: bool,
    runs: tuple[str, ...] = (),
    name_words: tuple[str, ...] = (),
) -> list[Signal]:
    """Links and adverts: how many links, to where, written how, and an
    author's name used as one."""
    found = []
    if risky:
        found.append(Signal("risky-link", RISKY_LINK))
    lowered = body.lower()
    # The patterns need a bracket, "hxx" or a spelled-out dot: most comments have none.
    if (
        "[" in body
        or "(" in body
        or "hxx" in lowered
        or " dot " in lowered
        or " chấm " in lowered
        or " . " in body
    ) and _OBFUSCATED_LINK.search(body):
        found.append(Signal("obfuscated-link", OBFUSCATED_LINK))
    elif runs and any(map(_SPACED_DOMAIN.fullmatch, runs)):
        # Letters spelled apart run together when folded ("k e t o . c o m").
        found.append(Signal("obfuscated-link", OBFUSCATED_LINK))
    if (
        ("." in name and _NAME_LINK.search(name))
        or (any(map(str.isdigit, name)) and _PHONE.search(name))
        or _spelled_number(name_words)
        or (_may_hide_link(name) and _OBFUSCATED_LINK.search(name))
    ):
        found.append(Signal("advert-in-name", NAME_ADVERT))
    if links >= 3:
        found.append(Signal(f"many-links:{links}", MANY_LINKS))
    elif links == 2:
        found.append(Signal("links:2", LINK))
    if "/" in body and _SHORTENERS.search(body):
        found.append(Signal("short-link", SHORT_LINK))
    return found


def _may_hide_link(text: str) -> bool:
    """Whether a text holds what every form of _OBFUSCATED_LINK needs: "://",
    a bracket, a dot, or one spelled out ("dot", "chấm", in any case). A few
    scans in C, where the pattern tries each position: most names hold none."""
    if "." in text or "(" in text or "[" in text or "://" in text:
        return True
    lowered = text.lower()
    return "dot" in lowered or "chấm" in lowered


def _shape_signals(body: str, words: tuple[str, ...]) -> list[Signal]:
    """What the text looks like rather than what it says: phone numbers,
    capitals, floods."""
    found = []
    # Every number the pattern takes holds a "0" or "84": two scans in C
    # settle most comments, where the pattern would try every position.
    if (
        (("0" in body or "8" in body) and _PHONE.search(body))
        or ("-" in body and _US_PHONE.search(body))
        or _spelled_number(words)
    ):
        found.append(Signal("phone-number", PHONE))
    if _shouting(body):
        found.append(Signal("shouting", SHOUTING))
    if _flooded(body) or _repetitive(words):
        found.append(Signal("flood", FLOOD))
    return found


def _unreported(body: str) -> str:
    """The body less the quotes it reports: those with a word of saying or
    naming just before or after them ("bị nhắn tin 'liệu hồn đấy'", "called
    them 'vermin'", "'...', anh ta nói"). Quotes with none are the author's
    own words in scare quotes ("mày đúng là 'đồ ngu'"), which count."""
    kept: list[str] = []
    last = 0
    for quote in _QUOTED.finditer(body):
        start, end = quote.span()
        reporting = _reporting_words()
        before = fold(body[max(0, start - 60) : start])
        after = fold(body[end : end + 40])
        # A comment that opens with a quote answers it ("'Prawns for brains'
        # is a vile thing to say"), unless it says the quote to someone
        # ("'Đồ súc sinh' như mày").
        opening = not body[:start].strip() and _ADDRESSED.isdisjoint(after.marked[:3])
        if (
            not opening
            and not _named_as(before.plain)
            and all(
                words.isdisjoint(text)
                for words, text in (
                    (reporting, before.marked[-6:]),
                    (reporting, before.plain[-6:]),
                    (reporting, after.marked[:3]),
                    (reporting, after.plain[:3]),
                )
            )
        ):
            continue
        kept += (body[last:start], " ")
        last = end
    return "".join(kept) + body[last:]


def _named_as(before: tuple[str, ...]) -> bool:
    """Round ten: a quote that names what someone was called, "gọi <them>
    là '...'", however many words the ones called take ("gọi mấy bà bán
    rau 60 tuổi là 'lũ óc sò'"): the call stands further back than the six
    words a reporting word is looked for in. "... mày là '...'" says it to
    the reader."""
    return (
        len(before) > 1
        and before[-1] == "la"
        and before[-2] not in _ADDRESSED_PLAIN
        and "goi" in before[-12:-1]
    )


@lru_cache(maxsize=1)
def _reporting_words() -> frozenset[str]:
    return frozenset(word for line in read_words("reporting") for word in line.split())


def _quotes(body: str) -> bool:
    # Five scans in C: cheaper than a pattern, and most comments have no quote.
    return "'" in body or '"' in body or "“" in body or "‘" in body or "«" in body


def _distinct(terms: list[str], taken: set[str]) -> list[str]:
    """The terms not yet counted, by their plain spelling with or without
    spaces ("brain dead" is "braindead")."""
    out = []
    for term in terms:
        plain = strip_marks(term).replace(" ", "")
        if plain not in taken:
            taken.add(plain)
            out.append(term)
    return out


def _spelled_number(words: tuple[str, ...]) -> bool:
    """A phone number hidden from filters: seven or more digits in words in
    a row (a North American number: "five five five zero one eight seven"),
    or eight or more digits, three or more in words and the rest in figures
    that open with a 0 as a phone number does ("0974 ba sáu hai năm một
    tám"), or of one or two between words ("0 tám 6 hai 5 bảy"); a year
    ("từ năm 1991") or a hotline ("1900 9095") is none."""
    # Either needs digits in words: most texts hold none, which a set's
    # test in C tells before a walk through every word in Python.
    if _DIGIT_WORDS.isdisjoint(words):
        return False
    spelled = digits = 0
    for word in words:
        if word in _DIGIT_WORDS:
            spelled += 1
            digits += 1
        # Figures that open with a 0, or (round ten) a figure or two between
        # digits in words ("0 tám 6 hai 5 bảy 1 4 không 9"): a year ("năm
        # 2024") is longer.
        elif word.isdigit() and (
            (word[:1] == "0" and len(word) <= 4) or (digits and len(word) <= 2)
        ):
            digits += len(word)
        else:
            spelled = digits = 0
            continue
        if spelled >= 7 or (digits >= 8 and spelled >= 3):
            return True
    return False


def _repetitive(words: tuple[str, ...]) -> bool:
    """A phrase said over and over ("xóa bài đi xóa bài đi ..."): many words,
    few of them different."""
    return len(words) >= 16 and len(set(words)) * 4 < len(words)


def _flooded(body: str) -> bool:
    # The flood patterns try every position and backtrack (tens of µs on a
    # comment); each needs what a plain split shows first: an unbroken run of
    # ten or more characters, or the same chunk twice in a row.
    chunks = body.split()
    return bool(
        (max(map(len, chunks), default=0) >= 10 and _CHAR_FLOOD.search(body))
        or (any(map(operator.eq, chunks, chunks[1:])) and _WORD_FLOOD.search(body))
    )


def _shouting(body: str) -> bool:
    upper = sum(map(str.isupper, body))
    if upper < 14:
        return False  # "UBND TP.HCM" is an acronym, not a shout
    letters = sum(map(str.isalpha, body))
    return letters >= 20 and upper / letters > 0.7
