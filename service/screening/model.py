"""The learned screen: a logistic regression over hashed features of a
comment's folded text, one per site, trained online from the moderators'
decisions.

A comment becomes hundreds of features (`extract`; about 750 for 200
characters): the character 3- to 5-grams of its body, folded as the rules
fold it (textfold.py: "đ.m", "nguuu" and "đ\u200bm" are the words they hide)
and without diacritics, so that a word typed without its marks shares its
n-grams; its words, with their diacritics ("ngủ" is not "ngu"), and word
pairs; and the author's name, its n-grams and words, in a space of its own.
Each feature is hashed into one of 2**18 slots, with a hash that is the same
in every process (a polynomial over code points computed with numpy over the
whole text at once, and CRC-32 for words), and valued 1/sqrt(n) for the n
features of its space (at least `NORM_FLOOR`), so that a long comment weighs
no more than a short one and a two-word one is not trusted as if it were
long.

The model (`Model`) keeps a float32 weight per slot; its probability is the
logistic of the weights' sum over the comment's features (and a bias, kept
at 0). It learns one decision at a time (`learn`: an implicit AdaGrad step
of log loss with a light L2), and takes one back (`unlearn`) when a
moderator reverses it.

Stored data holds no text: `Features.to_bytes` keeps the hashed slots and
their values only; the names that explain a score (`explain`) live in the
worker's memory while the comment is screened.
"""

from __future__ import annotations

import math
import random
import struct
import sys
import zlib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from service.screening.textfold import Folded, Memo, fold, fold_name, strip_marks

Slots = npt.NDArray[np.uint32]
Values = npt.NDArray[np.float32]

# 2**18 slots: a float32 weight and a float32 AdaGrad sum each, so 2 MiB a
# model (1 MiB without the sums, which only learning needs). A comment of
# 200-400 characters has 700-1,300 features: few of them share a slot.
DIMENSION_BITS = 18
DIMENSION = 1 << DIMENSION_BITS
# Character n-grams of the body and of the name, spaces included ("_ngu_").
NGRAMS = (3, 4, 5)
# A space's features are worth 1/sqrt(max(n, NORM_FLOOR)) each, and the
# name's half that: "Hay quá!" is too short to say much, and a name is
# mostly the author's own. Both chosen by cross-validation on the corpora
# (docs/screening.md, "The model's settings"): the floor at 30, from 50,
# ranked a little better; the name at full or twice the weight ranked far
# better there, much of it because the corpora's writers named their
# abusers and their readers apart: such a base scored praise by "John
# Smith" 0.98 and an insult by "Nguyễn Thị Lan" 0.01.
NORM_FLOOR = 30
NAME_SCALE = 0.5
# Learning, chosen on the corpora (the same section): AdaGrad's step for a
# site's decisions; the base model's, half of it, since the base reads each
# corpus item BASE_EPOCHS times and a site its own text once, and its own
# text is what a site learns from best; the sum a slot starts from, so that
# its first step is not the whole rate whatever the gradient; the L2 pull
# on the weights a step touches.
LEARNING_RATE = 4.0
BASE_LEARNING_RATE = 2.0
BASE_EPOCHS = 40
ADAGRAD_START = 0.1
L2 = 1e-4

# h(s) = s[0] + s[1] * P + s[2] * P**2 + ... mod 2**32, over code points,
# then Fibonacci hashing: the top bits of h * _SPREAD pick the slot.
_P = 0x01000193
_SPREAD = 0x9E3779B1
_SHIFT = np.uint32(32 - DIMENSION_BITS)
# Seeds keep the spaces apart: a pair is not a word, the name is not the body.
_PAIR = np.uint32(0x85EBCA77)
_NAME_SEED = 0xC2B2AE3D
_MASK = (1 << 32) - 1
# Multiplying by _SPREAD is linear modulo 2**32 (h * S = s[0] * S + s[1] *
# (P * S) + ..., (h + seed) * S = h * S + seed * S), so it is folded into
# every coefficient and cached hash below rather than done once more over
# the whole array: the same slots, one numpy call fewer.
_SPREAD_POWERS = [pow(_P, k, 1 << 32) * _SPREAD & _MASK for k in range(max(NGRAMS))]
# Every n-gram's hash at once, as one product of matrices: a row of
# coefficients for each n (P**k * _SPREAD for its first n code points, 0
# past them) by a view of the text's code points, one column for each
# position (five code points from it, overlapping: no copy). uint32's
# products and sums wrap modulo 2**32 as the hash does; one call where a
# rolling hash took eight ufuncs and their slices (half the time).
_GRAM_COEFFICIENTS = np.array(
    [[_SPREAD_POWERS[k] if k < n else 0 for k in range(max(NGRAMS))] for n in NGRAMS], np.uint32
)
# The view reads max(NGRAMS) code points from each start of a shortest
# n-gram: the text is padded with as many zeros as the longest reaches past.
_GRAM_PADDING = bytes(4 * (max(NGRAMS) - min(NGRAMS)))
_CODE_POINT = np.dtype(np.uint32)
_SPREAD_NAME_SEED = np.uint32(_NAME_SEED * _SPREAD & _MASK)
# CRC-32 of words times _SPREAD, each computed once (a dict lookup, in C
# through map, costs a tenth of hashing one).
_WORD_HASHES: Memo[str, int] = Memo(lambda word: zlib.crc32(word.encode()) * _SPREAD & _MASK, 65536)
_NAME_WORD_HASHES: Memo[str, int] = Memo(
    lambda word: zlib.crc32(word.encode(), 0x5BD1E995) * _SPREAD & _MASK, 16384
)
# The plain spelling of the texts that explain scores, which recur as the words do.
_EXPLAINED: Memo[str, str] = Memo(strip_marks, 16384)


class _Source(NamedTuple):
    """What a comment's features were hashed from, to name them: the text
    of the n-grams (the body, then the name, each between spaces), the
    body's and the name's words, and how many features each group holds.
    A named tuple: built for every comment screened, in a tenth of a
    frozen dataclass's time."""

    text: str
    body_size: int
    words: tuple[str, ...]
    names: tuple[str, ...]
    body_grams: int
    name_grams: int

    def name(self, position: int) -> str:
        if position < self.body_grams:
            return "ngram:" + self._gram(position, 0, self.body_size)
        position -= self.body_grams
        words = self.words
        if position < len(words):
            return "word:" + words[position]
        position -= len(words)
        if position < len(words) - 1:
            return f"word:{words[position]} {words[position + 1]}"
        position -= max(0, len(words) - 1)
        if position < self.name_grams:
            return "name:" + self._gram(position, self.body_size, len(self.text))
        return "name:" + self.names[position - self.name_grams]

    def _gram(self, position: int, start: int, end: int) -> str:
        for n in NGRAMS:
            count = max(0, end - start - n + 1)
            if position < count:
                return self.text[start + position : start + position + n].replace(" ", "_")
            position -= count
        raise IndexError(position)


class Features:
    """A comment's hashed features: the slots (`indices`, which may repeat)
    and their values. Freshly extracted, it also knows the text each came
    from, to explain a score; read back from bytes, it does not."""

    __slots__ = ("_source", "indices", "values")

    def __init__(self, indices: Slots, values: Values, source: _Source | None = None) -> None:
        self.indices = indices
        self.values = values
        self._source = source

    def __len__(self) -> int:
        return len(self.indices)

    def name(self, slot: int) -> str:
        """The readable name of the first feature hashed to `slot`
        ("ngram:_ngu_", "word:não tôm", "name:…"), or "slot:<n>" when the
        text is not known (features read back from bytes)."""
        hits = np.flatnonzero(self.indices == slot)
        if self._source is None or not len(hits):
            return f"slot:{slot}"
        return self._source.name(int(hits[0]))

    def merged(self) -> tuple[Slots, Values]:
        """Each slot once, with the sum of its values, in slot order."""
        slots, values, _ = self.grouped()
        return slots, values

    def grouped(self) -> tuple[Slots, Values, npt.NDArray[np.uint32]]:
        """`merged`, and the position of each slot's first feature (what
        `name` looks up), from one sort of slot and position packed into one
        64-bit key: a third of a stable argsort's time, and np.unique's
        bookkeeping spared. Arrays' own methods and ufuncs rather than
        numpy's functions, which are Python wrappers around them."""
        count = len(self.indices)
        if not count:
            return self.indices, self.values, np.zeros(0, np.uint32)
        keys = self.indices.astype(np.uint64)
        keys <<= 32
        keys |= (
            _POSITIONS[:count] if count <= len(_POSITIONS) else np.arange(count, dtype=np.uint64)
        )
        keys.sort()
        # Each key's two halves, read in place: the slot, and the position.
        halves = keys.view(np.uint32)
        ordered, positions = halves[_HIGH_HALF::2], halves[_LOW_HALF::2]
        # The first feature of each slot, and the sum of the slot's values,
        # added in float64 as np.bincount adds, then rounded once.
        starts = np.concatenate(([True], ordered[1:] != ordered[:-1])).nonzero()[0]
        sums = np.add.reduceat(self.values.take(positions), starts, dtype=np.float64)
        return ordered[starts], sums.astype(np.float32), positions[starts]

    def name_at(self, position: int) -> str:
        """The readable name of the feature at `position` (see `name`)."""
        if self._source is None:
            return f"slot:{int(self.indices[position])}"
        return self._source.name(position)

    def to_bytes(self) -> bytes:
        """The slots and their values only: no text, so no name, email or
        address (docs/screening.md says what hashed slots still tell). An
        12-byte header, then 5 bytes a distinct slot: 3 for the slot, a
        float16 for its value."""
        slots, values = self.merged()
        header = _FEATURES.pack(_FEATURES_MAGIC, DIMENSION_BITS, len(slots))
        low = slots.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
        return header + low.tobytes() + values.astype("<f2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        if len(data) < _FEATURES.size:
            raise ValueError("not features: too short")
        magic, bits, count = _FEATURES.unpack_from(data)
        if magic != _FEATURES_MAGIC or bits != DIMENSION_BITS:
            raise ValueError("not features of this model's kind and dimension")
        if len(data) != _FEATURES.size + 5 * count:
            raise ValueError("features of the wrong length")
        slots = np.zeros((count, 4), np.uint8)
        slots[:, :3] = np.frombuffer(data, np.uint8, 3 * count, _FEATURES.size).reshape(-1, 3)
        values = np.frombuffer(data, "<f2", count, _FEATURES.size + 3 * count)
        return cls(slots.view("<u4").ravel().astype(np.uint32), values.astype(np.float32))


# The positions of a comment's features, made once (a comment of 5,000
# characters has about 15,000 features).
_POSITIONS = np.arange(1 << 16, dtype=np.uint64)
# Where the high and the low 32 bits of a uint64 lie in memory.
_HIGH_HALF, _LOW_HALF = (1, 0) if sys.byteorder == "little" else (0, 1)

_FEATURES_MAGIC = b"LBF1"
_FEATURES = struct.Struct("<4sBxxxI")


def extract(name: str, body: str) -> Features:
    """The features of a comment: its body's character n-grams, words and
    word pairs, and its author's name in a space of its own."""
    return extract_folded(fold_name(name), fold(body))


def extract_folded(name: Folded, body: Folded) -> Features:
    """`extract` of a name and a body already folded (fold_name and fold:
    Screen.assess_folded gives both)."""
    words, names = body.marked, name.marked
    body_text = " " + " ".join(body.plain) + " "
    text = f"{body_text} {' '.join(names)} " if names else body_text
    body_size = len(body_text)
    # Column i of window: the code points from i on; row j of hashes: the
    # NGRAMS[j]-grams at each position, the last ones past the text's end
    # (padding) being cut off below.
    starts = len(text) - min(NGRAMS) + 1
    window = np.ndarray(
        (max(NGRAMS), starts), _CODE_POINT, text.encode("utf-32-le") + _GRAM_PADDING, 0, (4, 4)
    )
    hashes = _GRAM_COEFFICIENTS @ window
    grams: list[Slots] = []
    named: list[Slots] = []
    for row, n in zip(hashes, NGRAMS, strict=True):
        grams.append(row[: max(0, body_size - n + 1)])
        named.append(row[body_size : len(text) - n + 1])
    parts = grams
    body_grams = sum(map(len, grams))
    name_grams = sum(map(len, named)) if names else 0
    word_hashes = np.fromiter(map(_WORD_HASHES.__getitem__, words), np.uint32, len(words))
    parts += (word_hashes, word_hashes[:-1] * _PAIR + word_hashes[1:])
    if names:
        parts += named
        parts.append(np.fromiter(map(_NAME_WORD_HASHES.__getitem__, names), np.uint32, len(names)))
    hashed = np.concatenate(parts)
    counts = (body_grams, max(0, 2 * len(words) - 1), name_grams + len(names))
    if name_grams:
        hashed[body_grams + counts[1] : body_grams + counts[1] + name_grams] += _SPREAD_NAME_SEED
    hashed >>= _SHIFT
    return Features(
        hashed,
        np.array(_norms(counts), np.float32).repeat(counts),
        _Source(text, body_size, words, names, body_grams, name_grams),
    )


def _norm(count: int) -> float:
    return 1 / math.sqrt(max(count, NORM_FLOOR))


# A space's value for each count of features it may have: a dict lookup, not
# a generator and three square roots, for every comment.
_NORMS: Memo[int, float] = Memo(_norm, 65536)


def _norms(counts: tuple[int, int, int]) -> tuple[float, float, float]:
    body, words, name = counts
    return _NORMS[body], _NORMS[words], _NORMS[name] * NAME_SCALE


class Model:
    """A site's learned screen: a float32 weight per slot, their AdaGrad
    sums of squared gradients, a bias, and a version: the steps taken since
    the base model (0 is the base model itself).

    The bias stays where it was made (0: even odds): the model learns only
    weights, so that a comment it knows nothing of (two words, another
    language) scores 0.5 and is held by the rules alone, never by the
    model. A learnt bias came out at +2 on the corpora (a corpus comment is
    abuse unless common words say otherwise) and held a tenth of the
    English comments to a model that had read only Vietnamese.
    """

    __slots__ = ("bias", "sums", "version", "weights")

    def __init__(
        self,
        weights: Values | None = None,
        sums: Values | None = None,
        bias: float = 0.0,
        version: int = 0,
    ) -> None:
        self.weights = np.zeros(DIMENSION, np.float32) if weights is None else weights
        # None: a model read without its sums, which can score but not learn.
        self.sums = sums
        self.bias = bias
        self.version = version

    @classmethod
    def empty(cls) -> Model:
        """A model that knows nothing (every comment 0.5), ready to learn."""
        return cls(sums=np.full(DIMENSION, ADAGRAD_START, np.float32))

    def copy(self) -> Model:
        """A model of its own, writable, that learns without changing this one."""
        sums = None if self.sums is None else self.sums.copy()
        return Model(self.weights.copy(), sums, self.bias, self.version)

    def logit(self, features: Features) -> float:
        return self.bias + float(np.dot(self.weights.take(features.indices), features.values))

    def probability(self, features: Features) -> float:
        """How likely the model finds the comment abusive, in [0, 1]."""
        return _sigmoid(self.logit(features))

    def explain(self, features: Features, k: int = 3) -> list[str]:
        """The k features that pushed the score up most, readable
        ("ngram:_ngu_", "word:não tôm", "name:…"). A feature whose text is
        inside one already named, or holds it, is not named again: "_ngu",
        "ngu_" and "word:ngu" are one reason."""
        slots, values, positions = features.grouped()
        pushes = self.weights.take(slots) * values
        found: list[str] = []
        said: list[tuple[bool, str]] = []
        top = _strongest(pushes, 10 * k)
        for position in positions[top].tolist():
            if len(found) == k:
                break
            name = features.name_at(position)
            kind, _, text = name.partition(":")
            about = (kind == "name", _EXPLAINED[text.replace("_", " ").strip()])
            if any(
                about[0] == named and (about[1] in other or other in about[1])
                for named, other in said
            ):
                continue
            found.append(name)
            said.append(about)
        return found

    def learn(
        self, features: Features, label: bool, weight: float = 1.0, *, rate: float = LEARNING_RATE
    ) -> None:
        """One step of log loss towards `label` (True: abusive), `weight`
        times as strong as one decision: AdaGrad, with the L2 pull on the
        weights the step touches, taken implicitly (with the gradient where
        the step lands, not where it starts), so that no step overshoots
        however large, and `unlearn` can take it back exactly."""
        if weight <= 0:
            raise ValueError("a decision's weight is positive")
        sums = self._sums()
        step = _Step(self, sums, features, rate)
        target = float(label)

        # The landing logit falls as the error grows, so f(error) =
        # (sigmoid(landing) - label) * weight - error falls too: one root,
        # between -weight and 0 (abusive) or 0 and weight (clean), found by
        # regula falsi (the Illinois variant) in a few evaluations.
        def f(error: float) -> float:
            return (_sigmoid(step.landing(error)) - target) * weight - error

        low, high = (-weight, 0.0) if label else (0.0, weight)
        f_low, f_high = f(low), f(high)
        error, side = low, 0
        for _ in range(_MAX_ITERATIONS):
            if f_low == f_high:
                break
            error = high - f_high * (high - low) / (f_high - f_low)
            f_error = f(error)
            if abs(f_error) < _TOLERANCE * weight:
                break
            if f_error > 0:
                low, f_low = error, f_error
                if side == -1:
                    f_high /= 2
                side = -1
            else:
                high, f_high = error, f_error
                if side == 1:
                    f_low /= 2
                side = 1
        step.take(self, sums, error)
        self.version += 1

    def unlearn(
        self, features: Features, label: bool, weight: float = 1.0, *, rate: float = LEARNING_RATE
    ) -> None:
        """Take back `learn(features, label, weight)`: exactly when it was
        the last step, and otherwise the step that would have brought the
        model where it is now from that example. A reversed decision is
        `unlearn` of the old label, then `learn` of the new one."""
        if weight <= 0:
            raise ValueError("a decision's weight is positive")
        sums = self._sums()
        # The step's error was the gradient where it landed: here.
        error = (self.probability(features) - float(label)) * weight
        slots, values = features.merged()
        root = np.sqrt(sums[slots].astype(np.float64))
        before = (self.weights[slots] + rate * error * values / root) / (1 - rate * L2 / root)
        grad = error * values + L2 * before
        self.weights[slots] = before
        sums[slots] = np.maximum(sums[slots] - grad * grad, ADAGRAD_START)
        self.version += 1

    def _sums(self) -> Values:
        if self.sums is None:
            raise ValueError("this model was read without its AdaGrad sums: it cannot learn")
        return self.sums

    def to_bytes(self, with_sums: bool = True) -> bytes:
        """A 24-byte header (kind, dimension, version, bias), the weights as
        raw little-endian float32, then the sums, which a worker that only
        scores does without: 2,097,176 bytes with them, 1,048,600 without."""
        flags = _WITH_SUMS if with_sums and self.sums is not None else 0
        header = _MODEL.pack(_MODEL_MAGIC, DIMENSION_BITS, flags, self.version, self.bias)
        parts = [header, self.weights.astype("<f4").tobytes()]
        if flags and self.sums is not None:
            parts.append(self.sums.astype("<f4").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        if len(data) < _MODEL.size:
            raise ValueError("not a model: too short")
        magic, bits, flags, version, bias = _MODEL.unpack_from(data)
        if magic != _MODEL_MAGIC or bits != DIMENSION_BITS:
            raise ValueError("not a model of this kind and dimension")
        arrays = 2 if flags & _WITH_SUMS else 1
        if len(data) != _MODEL.size + 4 * DIMENSION * arrays:
            raise ValueError("a model of the wrong length")
        weights = np.frombuffer(data, "<f4", DIMENSION, _MODEL.size).astype(np.float32)
        sums = None
        if arrays == 2:
            sums = np.frombuffer(data, "<f4", DIMENSION, _MODEL.size + 4 * DIMENSION)
            sums = sums.astype(np.float32)
        return cls(weights, sums, bias, version)


def _strongest(pushes: Values, count: int) -> npt.NDArray[np.uint32]:
    """The indices of the `count` largest positive pushes, the largest
    first, equal ones in the order of their index: what a stable argsort of
    -pushes gives, cut at `count` and at the first push not above 0. Each
    push and its index packed into one 64-bit key, sorted once: a positive
    float32's bits, as an integer, order as its value does, so the inverted
    bits put the largest first. Half a stable argsort's time (timsort, for
    floats), and the pushes that cannot be named are not sorted at all."""
    order = (pushes > 0).nonzero()[0]
    keys = (~pushes.take(order).view(np.uint32)).astype(np.uint64)
    keys <<= 32
    keys |= order.astype(np.uint64)
    keys.sort()
    return keys[:count].view(np.uint32)[_LOW_HALF::2]


# A step's error is found to within this share of the decision's weight.
_TOLERANCE = 1e-12
_MAX_ITERATIONS = 100


class _Step:
    """One implicit AdaGrad step of a model on a comment's features: where
    it lands for a given error, and taking it."""

    __slots__ = ("bias", "rate", "slots", "sums", "values", "weights")

    def __init__(self, model: Model, sums: Values, features: Features, rate: float) -> None:
        self.slots, values = features.merged()
        self.values = values.astype(np.float64)
        self.weights = model.weights[self.slots].astype(np.float64)
        self.sums = sums[self.slots].astype(np.float64)
        self.bias, self.rate = model.bias, rate

    def _moved(self, error: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        grad = error * self.values + L2 * self.weights
        sums = self.sums + grad * grad
        return self.weights - self.rate * grad / np.sqrt(sums), sums

    def landing(self, error: float) -> float:
        """The logit after a step of this error."""
        return self.bias + float(np.dot(self._moved(error)[0], self.values))

    def take(self, model: Model, sums: Values, error: float) -> None:
        model.weights[self.slots], sums[self.slots] = self._moved(error)


_MODEL_MAGIC = b"LBM1"
_MODEL = struct.Struct("<4sBBxxQd")
_WITH_SUMS = 1
BASE_MODEL_FILE = "base_model.bin"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def train(
    examples: Sequence[tuple[Features, bool]],
    epochs: int = BASE_EPOCHS,
    rate: float = BASE_LEARNING_RATE,
    seed: int = 0,
) -> Model:
    """A model learnt from nothing on labelled examples, `epochs` times in
    an order shuffled anew each time (the same for the same seed): how the
    base model is built (scripts/train-base-model.py)."""
    model = Model.empty()
    order = list(range(len(examples)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for i in order:
            features, label = examples[i]
            model.learn(features, label, rate=rate)
    model.version = 0
    return model


@cache
def base_model() -> Model:
    """The model every site starts from, trained on the project's labelled
    corpora by scripts/train-base-model.py and shipped with the package.
    Loaded once and shared: read-only (learning on it raises); a site
    learns on a `copy()`."""
    data = (resources.files("service.screening") / BASE_MODEL_FILE).read_bytes()
    model = Model.from_bytes(data)
    model.weights.flags.writeable = False
    if model.sums is not None:
        model.sums.flags.writeable = False
    return model
