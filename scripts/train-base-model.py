#!/usr/bin/env python3
"""Train the base model every site's learned screen starts from, and write it
into the package: service/screening/base_model.bin (shipped as package data,
read by service.screening.model.base_model()).

It learns from the project's own labelled corpora that the screening may be
tuned on (tests/data: the four tuning corpora, the blind sets heldout-4 to
heldout-14 once they were spent, and the training sets train-t1 to
train-t13), each item BASE_EPOCHS times in an order shuffled with a fixed
seed, so that the same code and corpora make the same file. An item whose
abuse is in the author's name alone (kind "name": "Bài viết rất hay, cảm ơn
tác giả" by a spam domain) is learnt from its name alone: its body is no
abuse. A blind set is read only once it has been measured (it is spent
then); one not yet measured never is. Run it with the project's virtual
environment after changing the features, the learning or the corpora:

    .venv/bin/python scripts/train-base-model.py           # write the file
    .venv/bin/python scripts/train-base-model.py --check   # exit 1 if it differs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from service.screening.model import BASE_MODEL_FILE, Features, extract, train

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# The corpora the screening is tuned on; never a blind set.
TRAINING = (
    "corpus.jsonl",
    "corpus-b.jsonl",
    "heldout.jsonl",
    "heldout-3.jsonl",
    # Blind sets once measured are spent: they teach the base model now.
    "heldout-4.jsonl",
    "heldout-5.jsonl",
    "heldout-6.jsonl",
    "heldout-7.jsonl",
    "heldout-8.jsonl",
    "heldout-9.jsonl",
    "heldout-10.jsonl",
    "heldout-11.jsonl",
    "heldout-12.jsonl",
    "heldout-13.jsonl",
    "heldout-14.jsonl",
    # Written to be learnt from (tests/data/README.md, "Training sets").
    "train-t1.jsonl",
    "train-t2.jsonl",
    "train-t3.jsonl",
    "train-t4.jsonl",
    "train-t5.jsonl",
    "train-t6.jsonl",
    "train-t7.jsonl",
    "train-t8.jsonl",
    "train-t9.jsonl",
    "train-t10.jsonl",
    "train-t11.jsonl",
    "train-t12.jsonl",
    "train-t13.jsonl",
)
TARGET = ROOT / "service" / "screening" / BASE_MODEL_FILE


def examples(paths: Iterable[Path], lang: str | None = None) -> list[tuple[Features, bool]]:
    """The labelled examples of corpora in the format of tests/data (those of
    one language only, if given): an item whose abuse is its author's name
    alone is learnt from the name alone. (bench/learning.py builds its bases
    from other corpora with this.)"""
    found = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line:
                item = json.loads(line)
                if lang and item["lang"] != lang:
                    continue
                body = "" if item["kind"] == "name" else item["body"]
                found.append((extract(item["name"], body), item["label"] == "abusive"))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    examples_ = examples(DATA / name for name in TRAINING)
    data = train(examples_).to_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    abusive = sum(label for _, label in examples_)
    print(f"{len(examples_)} examples ({abusive} abusive) from {', '.join(TRAINING)}")
    print(f"{len(data):,} bytes, sha256 {digest}...")
    if args.check:
        same = TARGET.exists() and TARGET.read_bytes() == data
        print(f"{TARGET.relative_to(ROOT)}: {'the same' if same else 'DIFFERENT'}")
        return 0 if same else 1
    TARGET.write_bytes(data)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
