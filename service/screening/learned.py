"""The learned model as one more signal beside the rules: its probability,
the score it adds and the reasons a moderator reads, and the assessment with
them in it. Nothing here touches the store: the accept script receives the
combined score and reasons as it receives the rules' alone.

The model lifts the score to the site's hold threshold (`abuse.hold_at`)
when its probability reaches its own (`model.hold_at`), and to the spam
threshold only if the site sets `model.spam_at`. So with the model a comment
is held when the rules or the model would hold it, and filed as spam or
rejected as the rules alone would (unless `model.spam_at` says otherwise).
It lowers what the rules found only if the site sets `model.release_below`,
and only a comment they would merely hold: one it is that sure is clean
goes out, unless the site's memory (a duplicate, a first-time author's link)
holds it again in the accept script.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from service.screening.model import Features, Model, extract_folded
from service.screening.screen import Assessment, Screen, Signal, Thresholds, verdict
from service.settings import AbuseRules, ModelRules, Site


# Not frozen: built for every comment screened, where a frozen dataclass's
# __init__ costs four times a plain one's; nothing changes one once built.
@dataclass(slots=True)
class ModelSignal:
    """What the model says of a comment: its probability of abuse, the
    score it adds to the rules' (0 below its threshold; below 0 when it
    releases), and the reasons: `model:0.93` and `model+:<feature>` for
    the features that raised it most, `model:0.04` alone when it releases,
    or none below its threshold."""

    probability: float
    score_added: float
    reasons: tuple[str, ...]


# The rules' reasons the model may overrule: what they found in the body's
# words, which the model reads too. Shape (shouting, floods), links, phone
# numbers, the author's name and the form are beyond its n-grams: replayed on
# six sets, every abusive comment a release let out had been held for one of
# those, and every clean one for its words.
_WORDS = ("suspect-word:", "threat:", "hate:", "quoted-word:")


def model_signal(
    model: Model,
    features: Features,
    rules: ModelRules,
    abuse: AbuseRules,
    score: float = 0.0,
    *,
    length: int,
    reasons: tuple[str, ...] = (),
) -> ModelSignal:
    """The model's signal for a comment whose rules scored `score` for
    `reasons` and whose body is `length` characters long: at
    `rules.hold_at` or above, enough to lift it to `abuse.hold_at` (at
    `rules.spam_at`, if set, to `abuse.spam_at`), never more; under
    `rules.release_below`, if set, what takes a score the rules would only
    hold, for its words alone, to just under `abuse.hold_at`; nothing for a
    body shorter than `rules.min_length`."""
    probability = model.probability(features)
    decides = rules.holds and length >= rules.min_length
    if probability < rules.hold_at:
        below = rules.release_below
        # Cheapest first: most comments stop at the setting or the score.
        if (
            decides
            and below is not None
            and probability < below
            and abuse.hold_at <= score < abuse.spam_at
            and reasons
            and all(reason.startswith(_WORDS) for reason in reasons)
        ):
            lowered = math.nextafter(abuse.hold_at, -math.inf) - score
            # The sum must fall under the threshold as the accept script adds it.
            while score + lowered >= abuse.hold_at:
                lowered = math.nextafter(lowered, -math.inf)
            return ModelSignal(probability, lowered, (f"model:{probability:.2f}",))
        return ModelSignal(probability, 0.0, ())
    spam = rules.spam_at is not None and probability >= rules.spam_at
    target = abuse.spam_at if spam else abuse.hold_at
    # A model that may not hold, or not a comment this short, still says why
    # it would have.
    added = max(0.0, target - score) if decides else 0.0
    # The sum must reach the threshold exactly as the accept script adds it.
    while added and score + added < target:
        added = math.nextafter(added, math.inf)
    named = (f"model+:{name}" for name in model.explain(features, rules.explain))
    return ModelSignal(probability, added, (f"model:{probability:.2f}", *named))


def combine(assessment: Assessment, signal: ModelSignal, abuse: AbuseRules) -> Assessment:
    """The rules' assessment with the model's score and reasons added and
    the verdict recomputed with the site's thresholds."""
    if not signal.reasons and not signal.score_added:
        return assessment
    score = assessment.score + signal.score_added
    thresholds = Thresholds(abuse.hold_at, abuse.spam_at, abuse.reject_at)
    # Built outright: dataclasses.replace reads the fields' definitions
    # each time, a tenth of the whole model's signal.
    return Assessment(
        score,
        assessment.reasons + signal.reasons,
        verdict(score, thresholds),
        assessment.links,
        assessment.fingerprint,
    )


# Not frozen: built for every comment screened, where a frozen dataclass's
# __init__ costs four times a plain one's; nothing changes one once built.
@dataclass(slots=True)
class Screened:
    """A comment screened by the rules and the model: the combined
    assessment, the rules' own, and the model's features and signal (None
    when the site has no model, or has turned it off)."""

    assessment: Assessment
    rules: Assessment
    features: Features | None
    signal: ModelSignal | None


def screen_comment(
    screen: Screen,
    model: Model | None,
    site: Site,
    name: str,
    body: str,
    honeypot: str = "",
    signals: Iterable[Signal] = (),
) -> Screened:
    """Screen a comment with the site's rules and, if it has one and it is
    enabled, its model, folding the text once for both."""
    rules, folded_name, folded_body = screen.assess_folded(name, body, honeypot, signals)
    if model is None or not site.model.enabled:
        return Screened(rules, rules, None, None)
    features = extract_folded(folded_name, folded_body)
    signal = model_signal(
        model,
        features,
        site.model,
        site.abuse,
        rules.score,
        length=len(body),
        reasons=rules.reasons,
    )
    return Screened(combine(rules, signal, site.abuse), rules, features, signal)
