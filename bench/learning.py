"""A simulated newsroom: a labelled corpus replayed as a stream of comments,
each screened, then decided by its label and learnt from.

    .venv/bin/python bench/learning.py --corpus tests/data/heldout-3.jsonl \\
        --base-from tests/data/corpus.jsonl tests/data/corpus-b.jsonl tests/data/heldout.jsonl

Each comment, in file order (or shuffled with --shuffle SEED), is screened
three ways with the site's settings: by the rules alone (the site's Screen,
as bench/evaluate.py does: every author a newcomer), by the model alone
(its probability at `model.hold_at` or above) and by both (the rules'
assessment combined with the model's signal, as a worker would). Each is
counted as held (hold or worse) or not, against the label. Then a moderator
decides by the label and the model learns from the decision (unless the
site's `model.learn` is false).

Prints the learning curve (every 50 decisions, the recall of abuse and the
share of clean comments held over the last 100 comments, for the three),
the figures over the comments after the first 0, 100, 200, ... decisions,
and what extract + probability cost per comment (median CPU time).

--start base: the base model shipped with the package (trained on the four
tuning corpora, so on those its figures flatter it); --start empty: a model
that knows nothing; --base-from PATH...: a base trained here, as
scripts/train-base-model.py trains one, from other corpora only: on a corpus
it did not read, the curve shows what a new site would see.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from service.screening.learned import combine, model_signal
from service.screening.model import Model, base_model, extract, extract_folded, train
from service.screening.screen import Screen
from service.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
WAYS = ("rules", "model", "both")


@dataclass(frozen=True, slots=True)
class Outcome:
    abusive: bool
    held: dict[str, bool]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a jsonl of tests/data's format")
    parser.add_argument("--start", choices=("base", "empty"), default="base")
    parser.add_argument("--base-from", type=Path, nargs="+", help="train the base on these")
    parser.add_argument("--site", default="demo")
    parser.add_argument("--shuffle", type=int, metavar="SEED", help="replay in a shuffled order")
    parser.add_argument("--every", type=int, default=50, help="decisions between curve points")
    parser.add_argument("--window", type=int, default=100, help="comments a curve point covers")
    args = parser.parse_args()

    site = load_settings(mode="development").sites[args.site]
    screen = Screen.for_rules(site.abuse)
    items = [json.loads(line) for line in args.corpus.read_text("utf-8").splitlines() if line]
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(items)
    model, origin = start(args)
    abusive = sum(item["label"] == "abusive" for item in items)
    print(f"corpus {args.corpus} ({len(items)} comments: {abusive} abusive), ", end="")
    print("shuffled" if args.shuffle is not None else "in file order")
    print(f"model: {origin}; site {args.site!r}: model.hold_at {site.model.hold_at}, ", end="")
    print(f"abuse.hold_at {site.abuse.hold_at}, learning {'on' if site.model.learn else 'off'}")

    outcomes: list[Outcome] = []
    costs: dict[str, list[float]] = {"extract": [], "folded": [], "typical": [], "learn": []}
    print(f"\nlearning curve: over the last {args.window} comments, abuse held / clean held")
    print(f"{'decisions':>9}  " + "  ".join(f"{way:>15}" for way in WAYS) + "  (abusive, clean)")
    for n, item in enumerate(items, 1):
        name, body, label = item["name"], item["body"], item["label"] == "abusive"
        rules, folded_name, folded_body = screen.assess_folded(name, body)
        started = time.thread_time()
        model.probability(extract(name, body))
        costs["extract"].append(time.thread_time() - started)
        if 200 <= len(body) <= 400:
            costs["typical"].append(costs["extract"][-1])
        started = time.thread_time()
        features = extract_folded(folded_name, folded_body)
        probability = model.probability(features)
        costs["folded"].append(time.thread_time() - started)
        signal = model_signal(model, features, site.model, site.abuse, rules.score)
        both = combine(rules, signal, site.abuse)
        held = {
            "rules": screen.newcomer_verdict(rules) != "pass",
            "model": probability >= site.model.hold_at,
            "both": screen.newcomer_verdict(both) != "pass",
        }
        outcomes.append(Outcome(label, held))
        if site.model.learn:
            started = time.thread_time()
            model.learn(features, label)
            costs["learn"].append(time.thread_time() - started)
        if n % args.every == 0 or n == len(items):
            window = outcomes[-args.window :]
            cells = "  ".join(f"{cell(window, way):>15}" for way in WAYS)
            counts = f"({sum(o.abusive for o in window)}, {sum(not o.abusive for o in window)})"
            print(f"{n:>9}  {cells}  {counts}")

    print("\nafter the first N decisions: the comments that came after them")
    print(f"{'N':>9}  " + "  ".join(f"{way:>15}" for way in WAYS) + "  (abusive, clean)")
    for first in range(0, len(items), 100):
        rest = outcomes[first:]
        cells = "  ".join(f"{cell(rest, way):>15}" for way in WAYS)
        counts = f"({sum(o.abusive for o in rest)}, {sum(not o.abusive for o in rest)})"
        print(f"{first:>9}  {cells}  {counts}")

    print("\ncost per comment, median CPU time:")
    print(f"  extract(name, body) + probability:          {micro(costs['extract'])}")
    print(f"    of comments of 200-400 characters:        {micro(costs['typical'])}")
    print(f"  extract_folded (the screen's folds) + prob.: {micro(costs['folded'])}")
    print(f"  learn:                                       {micro(costs['learn'])}")
    return 0


def start(args: argparse.Namespace) -> tuple[Model, str]:
    if args.base_from:
        paths = [path.resolve() for path in args.base_from]
        if args.corpus.resolve() in paths:
            print("warning: the base is trained on the corpus it is measured on", file=sys.stderr)
        trainer = _trainer()
        model = train(trainer.examples(paths))
        return model, f"a base trained here on {', '.join(p.name for p in paths)}"
    if args.start == "empty":
        return Model.empty(), "empty"
    trainer = _trainer()
    if args.corpus.name in trainer.TRAINING:
        print(
            f"warning: the shipped base model was trained on {args.corpus.name}: "
            "its figures flatter it (see --base-from)",
            file=sys.stderr,
        )
    return base_model().copy(), f"the shipped base ({', '.join(trainer.TRAINING)})"


def _trainer() -> ModuleType:
    """scripts/train-base-model.py, whose name is no module name."""
    path = ROOT / "scripts" / "train-base-model.py"
    spec = importlib.util.spec_from_file_location("train_base_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell(outcomes: list[Outcome], way: str) -> str:
    """Recall of abuse / share of clean comments held, '-' where there are none."""
    abusive = [o.held[way] for o in outcomes if o.abusive]
    clean = [o.held[way] for o in outcomes if not o.abusive]
    return f"{share(abusive):>6} / {share(clean):>6}"


def share(held: list[bool]) -> str:
    return f"{sum(held) / len(held):.1%}" if held else "-"


def micro(seconds: list[Any]) -> str:
    return f"{statistics.median(seconds) * 1e6:.0f} µs" if seconds else "-"


if __name__ == "__main__":
    sys.exit(main())
