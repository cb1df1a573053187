"""A simulated newsroom: a labelled corpus replayed as a stream of comments,
each screened, then decided by its label and learnt from.

    .venv/bin/python bench/learning.py --corpus tests/data/heldout-3.jsonl \\
        --base-from tests/data/corpus.jsonl tests/data/corpus-b.jsonl tests/data/heldout.jsonl

Each comment, in file order (or shuffled with --shuffle SEED), is screened
three ways with the site's settings: by the rules alone (the site's Screen,
as bench/evaluate.py does: every author a newcomer), by the model alone
(its probability at `model.hold_at` or above, for a body of at least
`model.min_length` characters) and by both (the rules' assessment combined
with the model's signal, as a worker would, with `model.holds` on, and
`model.hold_at` and `model.release_below` as --hold-at and
--release-below set them). Each is
counted as held (hold or worse) or not, against the label. Then a moderator
decides by the label and the model learns from the decision (unless the
site's `model.learn` is false, or --frozen: the difference is what the
site's own decisions taught the model).

Prints the learning curve (every 50 decisions, the recall of abuse and the
share of clean comments held over the last 100 comments, for the three),
the figures over the comments after the first 0, 100, 200, ... decisions,
and what extract + probability cost per comment (median CPU time).

--start base: the base model shipped with the package (trained on the
corpora scripts/train-base-model.py lists in TRAINING, so on those its
figures flatter it; it warns); --start empty: a model
that knows nothing; --base-from PATH...: a base trained here, as
scripts/train-base-model.py trains one, from other corpora only: on a corpus
it did not read, the curve shows what a new site would see.

The rules were tuned on most of those corpora too, so on them the rules
alone hold more than on unseen text. --rules-at REV screens with the rules as they
were at a git revision instead (its service/ and config/, from git archive,
in a subprocess), "both" being held by those rules or by the model: with the
rules of before a corpus was tuned on and a base trained on the corpora
they were tuned on, the replay is as blind as a new site's text, e.g.

    .venv/bin/python bench/learning.py --corpus tests/data/heldout-3.jsonl \
        --base-from tests/data/corpus.jsonl tests/data/corpus-b.jsonl \
        tests/data/heldout.jsonl --rules-at 34514c9

--lang and --base-lang replay the comments of one language to a base that
read only the other's: a readership unlike the base's, where what a site
learns from its own decisions shows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from service.screening.learned import screen_comment
from service.screening.model import Model, base_model, extract, extract_folded, train
from service.screening.screen import Screen
from service.screening.textfold import Folded, fold, fold_name
from service.settings import ModelRules, load_settings

ROOT = Path(__file__).resolve().parent.parent
WAYS = ("rules", "model", "both")


@dataclass(frozen=True, slots=True)
class Outcome:
    abusive: bool
    held: dict[str, bool]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, nargs="+", required=True, help="jsonl of tests/data's format"
    )
    parser.add_argument("--lang", help="replay the comments of this language only (vi, en)")
    parser.add_argument("--start", choices=("base", "empty"), default="base")
    parser.add_argument("--base-from", type=Path, nargs="+", help="train the base on these")
    parser.add_argument("--base-lang", help="train the base on comments of this language only")
    parser.add_argument("--site", default="demo")
    parser.add_argument("--shuffle", type=int, metavar="SEED", help="replay in a shuffled order")
    parser.add_argument("--every", type=int, default=50, help="decisions between curve points")
    parser.add_argument("--window", type=int, default=100, help="comments a curve point covers")
    parser.add_argument("--rules-at", metavar="REV", help="the rules of this git revision")
    parser.add_argument(
        "--hold-at", type=float, metavar="P", help="set model.hold_at for the replay"
    )
    parser.add_argument(
        "--release-below", type=float, metavar="P", help="set model.release_below for the replay"
    )
    parser.add_argument(
        "--frozen", action="store_true", help="model.learn off: the base alone, never learning"
    )
    args = parser.parse_args()
    if args.rules_at and args.release_below is not None:
        parser.error("--rules-at replays another revision's verdicts: it cannot release them")

    site = load_settings(mode="development").sites[args.site]
    # "Both" measures what the model does when it may hold (`model.holds`,
    # off by default), whatever the site says.
    changes: dict[str, Any] = {"holds": True}
    if args.hold_at is not None:
        changes["hold_at"] = args.hold_at
    if args.frozen:
        changes["learn"] = False
    if args.release_below is not None:
        changes["release_below"] = args.release_below
    site = site.model_copy(update={"model": ModelRules(**{**site.model.model_dump(), **changes})})
    screen = Screen.for_rules(site.abuse)
    items = [
        item
        for path in args.corpus
        for line in path.read_text("utf-8").splitlines()
        if line and (item := json.loads(line)) and args.lang in (None, item["lang"])
    ]
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(items)
    model, origin = start(args)
    old_rules = rules_at(args.rules_at, items) if args.rules_at else None
    abusive = sum(item["label"] == "abusive" for item in items)
    corpora = ", ".join(str(path) for path in args.corpus)
    lang = f", {args.lang} only" if args.lang else ""
    print(f"corpus {corpora}{lang} ({len(items)} comments: {abusive} abusive), ", end="")
    print("shuffled" if args.shuffle is not None else "in file order", end="")
    print(f", the rules of {args.rules_at}" if args.rules_at else "")
    release = f"model.release_below {site.model.release_below}, " if args.release_below else ""
    print(
        f"model: {origin}; site {args.site!r}: model.hold_at {site.model.hold_at}, {release}",
        end="",
    )
    print(f"abuse.hold_at {site.abuse.hold_at}, learning {'on' if site.model.learn else 'off'}")

    outcomes: list[Outcome] = []
    learning: list[float] = []
    print(f"\nlearning curve: over the last {args.window} comments, abuse held / clean held")
    print(f"{'decisions':>9}  " + "  ".join(f"{way:>15}" for way in WAYS) + "  (abusive, clean)")
    for n, item in enumerate(items, 1):
        name, body, label = item["name"], item["body"], item["label"] == "abusive"
        # As a worker screens it (the site's model enabled, as it is by default).
        screened = screen_comment(screen, model, site, name, body)
        rules, features, signal = screened.rules, screened.features, screened.signal
        assert features is not None and signal is not None
        probability = signal.probability
        held = {
            "rules": screen.newcomer_verdict(rules) != "pass",
            "model": probability >= site.model.hold_at and len(body) >= site.model.min_length,
            "both": screen.newcomer_verdict(screened.assessment) != "pass",
        }
        if old_rules is not None:
            held["rules"] = old_rules[n - 1]
            held["both"] = held["rules"] or held["model"]
        outcomes.append(Outcome(label, held))
        if site.model.learn:
            started = time.thread_time()
            model.learn(features, label)
            learning.append(time.thread_time() - started)
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

    costs = cost(model, items)
    print("\ncost per comment, CPU time: the median over the comments of the best of 5 runs")
    print(f"{'':<46} {'corpus':>8} {'200-400':>8} {'sample':>8}")
    for what, label in (
        ("extract", "extract(name, body) + probability"),
        ("fold", "  of which fold_name(name) and fold(body)"),
        ("folded", "extract_folded (the screen's folds) + prob."),
    ):
        figures = (costs[what], costs.get(f"{what}-typical"), costs[f"sample-{what}"])
        print(f"  {label:<44} " + " ".join(f"{micro(f):>8}" for f in figures))
    print(f"  {'learn (one step, in the replay)':<44} {micro(learning):>8}")
    print("  (200-400: the corpus' comments of 200-400 characters but floods; sample:")
    print("  bench/sample_comment.txt, the accept path benchmark's comment, by each of")
    print("  bench/sample_names.txt)")
    return 0


def cost(model: Model, items: list[dict[str, Any]]) -> dict[str, list[float]]:
    """CPU time of extract + probability for each comment, the best of 5
    (the first run finds its words not yet hashed, and a shared machine
    takes the CPU away now and then), whole and in its parts."""
    costs: dict[str, list[float]] = {}

    def scored(name: str, body: str) -> float:
        return model.probability(extract(name, body))

    def folded(name: Folded, body: Folded) -> float:
        return model.probability(extract_folded(name, body))

    def folds(name: str, body: str) -> tuple[Folded, Folded]:
        return fold_name(name), fold(body)

    def best(what: str, typical: bool, run: Callable[..., object], *args: Any) -> None:
        times = []
        for _ in range(5):
            started = time.thread_time()
            run(*args)
            times.append(time.thread_time() - started)
        costs.setdefault(what, []).append(min(times))
        if typical:
            costs.setdefault(f"{what}-typical", []).append(min(times))

    # The accept path's benchmark comment, by each of its authors.
    sample = (ROOT / "bench" / "sample_comment.txt").read_text("utf-8").rstrip()
    names = (ROOT / "bench" / "sample_names.txt").read_text("utf-8").split("\n")
    authored = [{"name": name, "body": sample, "kind": "sample"} for name in names if name]
    for item in [*items, *authored]:
        name, body = item["name"], item["body"]
        # A typical comment: 200-400 characters of prose, not a flood.
        typical = 200 <= len(body) <= 400 and item["kind"] != "flood"
        group = "sample-" if item["kind"] == "sample" else ""
        best(f"{group}extract", typical, scored, name, body)
        best(f"{group}fold", typical, folds, name, body)
        best(f"{group}folded", typical, folded, *folds(name, body))
    return costs


def start(args: argparse.Namespace) -> tuple[Model, str]:
    if args.base_from:
        paths = [path.resolve() for path in args.base_from]
        apart = args.lang and args.base_lang and args.lang != args.base_lang
        if not apart and any(path.resolve() in paths for path in args.corpus):
            print("warning: the base is trained on the corpus it is measured on", file=sys.stderr)
        trainer = _trainer()
        model = train(trainer.examples(paths, args.base_lang))
        lang = f" ({args.base_lang} only)" if args.base_lang else ""
        return model, f"a base trained here on {', '.join(p.name for p in paths)}{lang}"
    if args.start == "empty":
        return Model.empty(), "empty"
    trainer = _trainer()
    for path in args.corpus:
        if path.name in trainer.TRAINING:
            print(
                f"warning: the shipped base model was trained on {path.name}: "
                "its figures flatter it (see --base-from)",
                file=sys.stderr,
            )
    return base_model().copy(), f"the shipped base ({', '.join(trainer.TRAINING)})"


_OLD_SCREEN = """
import json, sys
try:
    from service.screening.screen import Screen
except ImportError:  # before service/ was grouped by stage
    from service.abuse import Screen
from service.settings import AbuseRules
screen = Screen.for_rules(AbuseRules())
held = []
for line in sys.stdin:
    item = json.loads(line)
    held.append(screen.newcomer_verdict(screen.assess(item["name"], item["body"])) != "pass")
print(json.dumps(held))
"""


def rules_at(revision: str, items: list[dict[str, Any]]) -> list[bool]:
    """Whether the default rules of a git revision hold each item (every
    author a newcomer), screened in a subprocess that imports that
    revision's service/ and config/ (git archive into a temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", revision, "service", "config"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        done = subprocess.run(
            [sys.executable, "-c", _OLD_SCREEN],
            input="\n".join(json.dumps(item) for item in items),
            cwd=folder,
            env={**os.environ, "PYTHONPATH": folder},
            capture_output=True,
            text=True,
            check=True,
        )
    held: list[bool] = json.loads(done.stdout)
    return held


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


def micro(seconds: list[float] | None) -> str:
    return f"{statistics.median(seconds) * 1e6:.0f} µs" if seconds else "-"


if __name__ == "__main__":
    sys.exit(main())
