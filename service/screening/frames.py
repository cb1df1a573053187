"""Threat and hate frames: words that are abuse only near one another.

"Giết" is news and "mày" is a pronoun; "giết mày" is a threat. "Thanh Hóa"
is a province and "trộm cắp" a crime; "dân Thanh Hóa ... trộm cắp" is hate.
A Frame finds a term of one kind of word (Spots) within a few words of a term
of another, unless the pair stands inside an innocent phrase or right after
a denial ("không phải", "not all"). The frames' vocabularies are the
`[section]`s of config/words/threat.txt and hate.txt; English threats, whose
word order matters, are patterns here (english_threat).

This is kept apart from screen.py, which sums the signals into a verdict,
because it is its own matching machinery (positions and windows rather than
the word lists' yes or no) and the part of the screening each round of
tuning changes most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from service.screening.textfold import Folded, fold_term, strip_marks

# English threats, on the folded words (apostrophes split them: "i ll", "you re").
_I_WILL = (
    r"(?:(?:i|we) (?:ll|will|d|would|m going to|m gonna|are going to|re going to|gonna|am gonna"
    r"|am going to)|id|im going to|im gonna)"
)
_YOU_ARE = r"(?:(?:you|u|ya) (?:re|r|are)|ur|youre)"
_EN_THREAT = re.compile(
    rf"\b{_I_WILL} (?:\w+ ){{0,2}}?(?:kill|murder|shoot|stab|strangle|hang|beat|smash|burn|bury"
    r"|break|slit|punch|hunt|find|come for|track) (?:\w+ )?(?:you|u|ya|your|ur|him|her|them"
    r"|yourself|the guy|that guy|this guy|whoever)\b"
    rf"|\b{_I_WILL} (?:happily |gladly )?(?:pull the trigger|do it myself)\b"
    r"|\bburn (?:the|your|ur|his|her|their) (?:\w+ ){0,2}?(?:down|house|office|home|shop|car)\b"
    rf"|\b{_YOU_ARE} (?:so |already |a )?(?:dead|dead meat|done for|a dead man)\b"
    r"|\b(?:you|u) (?:ll|will|re going to|are going to|re gonna|are gonna) (?:be sorry"
    r"|regret (?:this|it|that|the day|writing|posting|saying|messing|crossing)"
    r"|pay for (?:this|it|that))\b"
    r"|\b(?:i|we) know where (?:you|u|ur|he|she|they|(?:your|his|her|their) \w+"
    r"|(?:that|the|this) \w+) (?:live|work|sleep"
    r"|stay|park|study|go)"
    r"|\b(?:i|we) know (?:what|which) (?:car|bike|motorbike|house|school|hotel|hostel|guesthouse"
    r"|street) (?:you|u)\b"
    r"|\b(?:i|we) know (?:your|ur) (?:address|street|house|home|plate|office|school|kids"
    r"|hotel|hostel|guesthouse|car|face"
    r"|family|wife|husband)\b"
    r"|\b(?:(?:i|we) (?:ve |have |already )?(?:got|have) |ive got |found |traced |tracked down )"
    r"(?:your|ur) (?:facebook|fb|address|home|house|street|plate|number|phone|ip|office|kids"
    r"|family|wife|husband|school|location|workplace)\b"
    r"|\bsee what happens to (?:you|u|your|ur)\b"
    r"|\b(?:hope|wish|pray) (?:you|u|he|she|they|your \w+) (?:\w+ )?(?:dies?|get killed"
    r"|gets killed|rots?|burns?|drowns?|gets? shot|gets? cancer|suffers?)\b"
    r"|\bdeserves? to (?:die|be (?:shot|hanged|hung|killed|beaten|lynched|burned))\b"
    r"|\bshould (?:be|get) (?:(?:\w+ ){1,2}(?:and|then) )?(?:shot|hanged|hung|lynched|beaten"
    r"|killed|stabbed|burned|strung up)\b"
    r"|\bsomeone (?:should|needs to|ought to|has to|must|will) (?:\w+ )?(?:shoot|kill|hang"
    r"|stab|beat|punch|burn|run over|take out)\b"
    # (Round ten: "someone needs to kill off the idea" kills an idea.)
    r"(?! off (?:the|this|that) (?:idea|notion|myth|plan|scheme|practice|policy)\b)"
    r"|\b(?:bring|bringing|grab|grabbing) (?:a|my|the) (?:bat|baseball bat|knife|gun|machete"
    r"|crowbar|axe)\b"
    r"|\b(?:kill|shoot|hang) (?:your|ur)sel(?:f|ves)\b|\bkys\b|\bgo die\b"
    r"|\bdie in a (?:fire|ditch|hole)\b|\bwatch (?:your|ur) back\b|\bwatch yoursel(?:f|ves)\b"
    r"|\bsleep with one eye open\b|\byour days are numbered\b"
    r"|\byou (?:won t|will not) see (?:it|me|us) coming\b"
    # Veiled threats with no word of violence: a visit, a stretcher, the walk home.
    r"|\b(?:someone|somebody|might) (?:should |ought to |could )?pay (?:him|her|them) a"
    r" (?:little |quick |friendly )?visit\b"
    r"|\bwatch (?:his|her|their) backs?\b"
    r"|\b(?:ll|will) (?:leave|go home|be leaving|be going home) (?:on a stretcher|in a body bag)\b"
    r"|\bthink twice before (?:walking|going|driving) (?:home|out)\b"
    # Round eight: the target's haunts or habits known, their names kept,
    # people who are easy to find.
    r"|\b(?:i|we) know which (?:hotel|guesthouse|hostel|pub|bar|gym|house|flat|street|road"
    r"|school|office|laptop|car|boat|room|building|route|flight|train)\b"
    r"|\b(?:i|we) know the (?:hotel|guesthouse|hostel|pub|bar|gym|boat|car|route|flat)"
    r" (?:you|he|she|they|the|his|her|your)\b"
    r"|\b(?:i|we) know (?:his|her|their|your|ur) (?:shift|schedule|routine|movements)\b"
    r"|\b(?:i|we) (?:ve|have) (?:kept|got|made) (?:a list|your names|all your names)\b"
    r"|\b(?:people|he|she|they)(?: are| is| re| s)? (?:very |so |quite )?easy to find\b"
    # Round ten: the reader's own home not hard to find (a third person's is
    # directions: "their office is not hard to find"), a brick through a window.
    r"|\b(?:your|ur) (?:house|home|flat|address|place) (?:isn t|is not|won t be|wouldn t be"
    r"|s not) (?:hard|difficult) to find\b"
    r"|\b(?:a brick|bricks|a rock|rocks|a stone|stones) through (?:your|ur|his|her|their)"
    r" (?:\w+ )?windows?\b"
    # A visit by someone, or by all of us ("someone might pop by and say
    # hello", "we might all pop round one evening"), and the old idioms of
    # a racket ("be a shame if something happened", "funny how things
    # happen to empty buildings").
    r"|\b(?:(?:someone|somebody) might|we might all) pop (?:round|by)\b"
    r"|\bbe a (?:real )?shame if (?:something|anything|people started|someone started)\b"
    r"|\bfunny how things happen to\b"
)
# A word each of those patterns needs (the verb or the thing, not the pronoun):
# most texts, English ones too, have none of them.
_EN_THREAT_WORDS = frozenset(
    {
        "kill",
        "murder",
        "shoot",
        "stab",
        "strangle",
        "hang",
        "beat",
        "smash",
        "burn",
        "bury",
        "break",
        "slit",
        "punch",
        "hunt",
        "find",
        "come",
        "track",
        "trigger",
        "myself",
        "dead",
        "done",
        "regret",
        "pay",
        "sorry",
        "know",
        "facebook",
        "fb",
        "address",
        "home",
        "house",
        "street",
        "plate",
        "number",
        "phone",
        "ip",
        "office",
        "kids",
        "family",
        "wife",
        "husband",
        "school",
        "location",
        "workplace",
        "happens",
        "hope",
        "wish",
        "pray",
        "deserve",
        "deserves",
        "shot",
        "hanged",
        "hung",
        "lynched",
        "beaten",
        "killed",
        "stabbed",
        "burned",
        "strung",
        "someone",
        "bat",
        "knife",
        "gun",
        "machete",
        "crowbar",
        "axe",
        "kys",
        "yourself",
        "yourselves",
        "die",
        "watch",
        "sleep",
        "numbered",
        "coming",
        "visit",
        "stretcher",
        "bag",
        "twice",
        "list",
        "names",
        "hard",
        "difficult",
        "through",
        "pop",
        "shame",
        "funny",
    }
)
# Words too common to tell whether a phrase may be in a text.
_COMMON_WORDS = frozenset(
    {
        "người",
        "nguoi",
        "dân",
        "dan",
        "là",
        "la",
        "ở",
        "o",
        "chỉ",
        "chi",
        "ăn",
        "an",
        "con",
        "cho",
        "nhà",
        "nha",
        "cái",
        "cai",
        "bị",
        "bi",
        "vụ",
        "vu",
        "không",
        "khong",
        "đi",
        "di",
        "về",
        "ve",
        "đồ",
        "do",
        "toàn",
        "toan",
        "thằng",
        "thang",
        "mấy",
        "may",
        "bọn",
        "bon",
        "tụi",
        "tui",
        "cả",
        "ca",
        "the",
        "to",
        "of",
        "a",
        "in",
        "on",
        "you",
        "your",
        "i",
        "we",
        "they",
        "them",
        "be",
        "are",
        "is",
        "all",
        "like",
        "back",
        "nam",
        "trong",
        "ngoài",
        "ha",
        "hà",
        "can",
        "ban",
        "nào",
        "dong",
        "đồng",
        "thanh",
        "quang",
        "tin",
        "trên",
        "hết",
        "biết",
        "mọi",
        "phải",
        "cần",
        "nên",
        "chung",
        "công",
        "tính",
        "cao",
        "hóa",
        "bình",
        "binh",
        "ra",
        "sao",
        "được",
        "cũng",
        "này",
        "đến",
        "thì",
        "với",
        "có",
        "những",
        "một",
        "các",
        "đã",
        "để",
        "khi",
        "rồi",
        "nhiều",
        "lại",
        "sẽ",
        "vì",
        "nhưng",
        "mà",
        "nữa",
        "lên",
        "vào",
        "làm",
        "như",
        "còn",
        "năm",
        "việt",
        "duoc",
        "cung",
        "nay",
        "nao",
        "den",
        "thi",
        "voi",
        "co",
        "nhung",
        "mot",
        "cac",
        "da",
        "de",
        "roi",
        "nhieu",
        "lai",
        "se",
        "vi",
        "ma",
        "nua",
        "len",
        "vao",
        "lam",
        "nhu",
        "viet",
        "sinh",
        "nguyen",
    }
)
# A word of contempt right after a denial is the opposite ("không phải bệnh
# hoạn", "not lazy").
_NEGATIONS = frozenset(
    {"không", "chẳng", "chả", "đâu", "ko", "not", "never", "isn", "aren", "wasn", "weren", "no"}
)
# A stereotype that others say, reported to be refuted ("người ta cứ nói dân
# miền Tây lười"), is no more the author's than a denied one.
_DENIED_GROUP = frozenset(
    [
        *(("not", "all"), ("không", "phải"), ("chẳng", "phải"), ("đâu", "phải")),
        *(("ta", "nói"), ("cứ", "nói"), ("hay", "nói"), ("đừng", "nói"), ("ai", "bảo")),
        *(("ta", "bảo"), ("ai", "nói"), ("ta", "nghĩ"), ("ta", "cho")),
        # Round nine: a stereotype others run down or blame a people with
        # ("đi đâu cũng chê dân miền Tây lười", "đổ lỗi cho người nhập cư").
        *(("cũng", "chê"), ("hay", "chê"), ("lỗi", "cho"), ("tội", "cho")),
    ]
)
# The author naming their own people ("tôi người Nghệ An, chưa ăn gian của
# ai") answers a stereotype; it does not hold one.
_OWN_PEOPLE = frozenset({"tôi", "tui", "mình"})
# Round ten: nor does an author who names the blaming ("blaming foreigners
# for a board decision is lazy"), as "đổ lỗi cho" above.
_BLAMING = frozenset({"blaming", "scapegoating"})
# Round ten: "người miền Trung không ai muốn năm nào cũng ngửa tay": no one
# wants the stereotype, between the group and its mark.
_NO_ONE_WANTS = ("không", "ai", "muốn")


# A term found in a text: the positions of its first word and past its last.
_Spot = tuple[int, int, str]


class Spots:
    """Terms matched like a WordList's (whole words, both folds), found with
    where they stand, for the signals that depend on which word is near
    which. Only the words that start a term are looked for."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._marked: dict[str, list[tuple[str, ...]]] = {}
        self._plain: dict[str, list[tuple[str, ...]]] = {}
        for term in terms:
            tokens, marked = fold_term(term)
            if tokens:
                (self._marked if marked else self._plain).setdefault(tokens[0], []).append(tokens)
        self._marked_firsts = frozenset(self._marked)
        self._plain_firsts = frozenset(self._plain)
        # A word each term needs, as rare as can be told ("bẩn" in "ở bẩn"):
        # a text with none of them has no term, and most texts stop there.
        self.keys = (
            frozenset(map(_key, (t for ts in self._marked.values() for t in ts))),
            frozenset(map(_key, (t for ts in self._plain.values() for t in ts))),
        )

    def find(self, folded: Folded, words: tuple[frozenset[str], frozenset[str]]) -> list[_Spot]:
        """The terms in the text, given the sets of its marked and plain words."""
        spots: list[_Spot] = []
        for tokens, index, starts in (
            (folded.marked, self._marked, self._marked_firsts & words[0]),
            (folded.plain, self._plain, self._plain_firsts & words[1]),
        ):
            if not starts:
                continue
            for i, token in enumerate(tokens):
                if token in starts:
                    for term in index[token]:
                        if tokens[i : i + len(term)] == term:
                            spots.append((i, i + len(term), " ".join(term)))
        return spots


@dataclass(frozen=True, slots=True)
class Frame:
    """Two kinds of words that are abuse together and innocent apart ("tao"
    and "giết", a people and "ăn bám"): a term of `near` within `window`
    words of a term of `anchor` gives the signal `reason`."""

    reason: str
    weight: float
    anchor: Spots
    near: Spots
    window: int
    # Whether a term of `near` right after a denial ("không phải") is excused.
    negatable: bool = False
    # Phrases of the frame's own in which its terms are innocent, besides
    # the allowed list's ("người dân Thanh Hóa" names residents).
    excused: Spots | None = None
    # A third kind of word the text must hold as well, anywhere ("có ngày"
    # and "bị tạt axit" are a threat when "thì đừng trách" follows).
    also: Spots | None = None
    # Whether the allowed list's phrases excuse its terms: "bị tạt axit" is
    # news, unless "có ngày ... thì đừng trách" frames it.
    allowed_excuse: bool = True

    def find(
        self, folded: Folded, words: tuple[frozenset[str], frozenset[str]], innocent: Spots
    ) -> str:
        """The two terms, as the text has them, or "" when the frame is not
        there. `words` are the text's marked and plain words."""
        nears = self.near.find(folded, words)
        anchors = self.anchor.find(folded, words) if nears else []
        if not anchors:
            return ""
        excused = innocent.find(folded, words) if self.allowed_excuse else []
        if self.excused is not None:
            excused += self.excused.find(folded, words)
        for start, end, term in anchors:
            if _inside(start, end, excused):
                continue
            for near_start, near_end, near_term in nears:
                if start < near_end and near_start < end:
                    continue  # the same words
                gap = near_start - end if near_start >= end else start - near_end
                if gap > self.window or _inside(near_start, near_end, excused):
                    continue
                if self.negatable and _denied(folded.marked, start, near_start):
                    continue
                if self.also is not None and not self.also.find(folded, words):
                    return ""
                return f"{term} {near_term}" if start < near_start else f"{near_term} {term}"
        return ""


def _key(term: tuple[str, ...]) -> str:
    """The word of a term most likely to be rare: the longest of its
    uncommon words ("bẩn" in "ở bẩn"), else its longest."""
    rare = [word for word in term if word not in _COMMON_WORDS] or list(term)
    return max(reversed(rare), key=len)


def _inside(start: int, end: int, phrases: list[_Spot]) -> bool:
    """Whether the words from start to end are part of one of the phrases."""
    return any(first <= start and end <= last for first, last, _ in phrases)


def _denied(tokens: tuple[str, ...], anchor: int, near: int) -> bool:
    """A denial in the three words before the word of contempt ("không phải
    bệnh hoạn"), "không ai muốn" between the group and it, or right before
    the group ("not all Muslims", "chê dân ...", "tôi người ...", "blaming
    foreigners")."""
    for i in range(max(0, near - 3), near):
        # "đâu cũng" is "everywhere" ("đi đâu cũng trộm cắp"), no denial.
        if tokens[i] in _NEGATIONS and tokens[i : i + 2] != ("đâu", "cũng"):
            return True
    if anchor < near and any(
        tokens[i : i + 3] == _NO_ONE_WANTS for i in range(anchor + 1, near - 2)
    ):
        return True
    return tokens[max(0, anchor - 2) : anchor] in _DENIED_GROUP or (
        anchor > 0 and (tokens[anchor - 1] in _OWN_PEOPLE or tokens[anchor - 1] in _BLAMING)
    )


def read_sections(lines: Iterable[str]) -> dict[str, list[str]]:
    """A word file's entries (see abuse.read_words) by their `[section]`."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines:
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.append(line)
    return sections


def pairs(firsts: list[str], seconds: list[str]) -> list[str]:
    """Each word of one list before each of the other written the same way,
    with diacritics or without ("dân thanh hóa", "dan thanh hoa")."""
    return [
        f"{first} {second}"
        for first in firsts
        for second in seconds
        if (strip_marks(first) == first) == (strip_marks(second) == second)
    ]


def default_frames(
    threat: dict[str, list[str]],
    hate: dict[str, list[str]],
    threat_weight: float,
    hate_weight: float,
) -> list[Frame]:
    """The threat and hate frames of config/words/threat.txt and hate.txt
    (their sections), with the weights of their signals."""
    if not threat or not hate:
        return []
    act = Spots(threat["act"])
    groups = Spots([*hate["group"], *pairs(hate["people"], hate["place"])])
    residents = Spots(pairs(hate["residents"], hate["place"]))
    return [
        Frame("threat", threat_weight, Spots(threat["who"]), act, 4),
        Frame("threat", threat_weight, Spots(threat["short-who"]), act, 0),
        Frame("threat", threat_weight, Spots(threat["call"]), Spots(threat["violence"]), 1),
        Frame(
            "threat",
            threat_weight,
            Spots(threat["omen"]),
            Spots(threat["harm"]),
            6,
            also=Spots(threat["blame"]),
            allowed_excuse=False,
        ),
        Frame("threat", threat_weight, Spots(threat["whoever"]), Spots(threat["menace"]), 6),
        Frame("threat", threat_weight, Spots(threat["crew"]), Spots(threat["ambush"]), 6),
        Frame("threat", threat_weight, Spots(threat["whereabouts"]), Spots(threat["known"]), 8),
        Frame("hate", hate_weight, Spots(hate["head"]), groups, 1),
        Frame(
            "hate", hate_weight, groups, Spots(hate["mark"]), 6, negatable=True, excused=residents
        ),
    ]


def english_threat(words: tuple[str, ...]) -> str:
    """An English threat in the folded words, as they read; empty if none."""
    if _EN_THREAT_WORDS.isdisjoint(words):
        return ""
    match = _EN_THREAT.search(" ".join(words))
    return match.group() if match else ""


# Round nine: a compound on "skull" is the same insult ("puddleskull",
# "bufferskulls", "numbskulled"); a skull alone, or after a word ("a
# fractured skull"), is news.
_EN_EMPTY_HEADS = ("brain", "brains", "brained", "skull", "skulls", "skulled")


@dataclass(frozen=True, slots=True)
class BrainInsult:
    """An insult of a person's brain, whatever it is likened to: readers
    coin a new one every thread ("lũ óc tôm khô", "đúng là não bọ gậy",
    "soybrains", "sheep-brains"), so the form is matched, not each coinage.
    In Vietnamese a brain ("não", "óc") with a word after it, right after a
    contemptuous head ("lũ", "đồ", "đúng là", an optional "đầu" between),
    unless the word names a faculty ("óc sáng tạo", "não bộ"); in English a
    compound that ends in "brain(s)" or "brained" ("soybrain"), or
    "brains"/"brained" after a word other than a pronoun or a determiner
    ("the brains", "pick your brains"). The words are insult.txt's [brain],
    [brain-head], [plain-brain-head], [brain-faculty] and [en-brain-not]."""

    brains: frozenset[str]
    heads: frozenset[str]
    plain_heads: frozenset[str]
    faculties: frozenset[str]
    en_not: frozenset[str]

    @classmethod
    def of(cls, sections: dict[str, list[str]]) -> BrainInsult:
        def words(name: str) -> frozenset[str]:
            return frozenset(" ".join(fold_term(w)[0]) for w in sections.get(name, []))

        return cls(
            words("brain"),
            words("brain-head"),
            words("plain-brain-head"),
            words("brain-faculty"),
            words("en-brain-not"),
        )

    def find(self, said: Folded, unmarked: bool, english: bool) -> list[str]:
        """The insults in the text, as the words that make them. `unmarked`:
        the text has no diacritics at all, so its heads are read plain;
        `english`: the text holds "brain" somewhere."""
        found: list[str] = []
        tokens = said.plain if unmarked else said.marked
        if not self.brains.isdisjoint(tokens):
            heads = self.plain_heads if unmarked else self.heads
            for i, token in enumerate(tokens[:-1]):
                if token not in self.brains or tokens[i + 1] in self.faculties:
                    continue
                j = i - 1 if i and tokens[i - 1] not in ("đầu", "dau") else i - 2
                if j < 0:
                    continue
                for head in (f"{tokens[j - 1]} {tokens[j]}" if j else "", tokens[j]):
                    if head in heads:
                        found.append(f"{head} {token} {tokens[i + 1]}")
                        break
        if english:
            words = said.plain
            for i, token in enumerate(words):
                end = next((e for e in _EN_EMPTY_HEADS if token.endswith(e)), "")
                if len(token) > len(end) + 1 and end and not token.startswith(("brain", "skull")):
                    if not _called(words, i):
                        found.append(token)
                elif (
                    token in ("brains", "brained")
                    and i
                    and words[i - 1] not in self.en_not
                    and not _called(words, i - 1)
                ):
                    found.append(f"{words[i - 1]} {token}")
        return found


# Round ten: "calling 80-year-olds pudding-brains doesn't make it fair"
# names what others were called; "calling you a soybrain" still says it.
_CALLING = frozenset({"call", "calls", "called", "calling"})
_TO_THE_READER = frozenset({"you", "u", "ya", "ur", "your"})


def _called(words: tuple[str, ...], at: int) -> bool:
    """Whether the insult at `at` is what someone else was called: a word
    of calling among the four words before it, none of them the reader."""
    before = words[max(0, at - 4) : at]
    return not _CALLING.isdisjoint(before) and _TO_THE_READER.isdisjoint(before)
