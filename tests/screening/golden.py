"""What the screening answers for every comment of the corpora (tests/data),
written down once so that a faster rewrite can be checked to answer the
same: the rules' assessment (score, reasons in order, verdict, links,
fingerprint), the model's features (a digest of their slots and values: the
shipped base model and the site models in Redis hold weights for these very
slots), and, with a fixed model made here from a hash of the slot (not the
shipped base model, which is retrained on its own schedule), the
probability, the reasons it explains and the combined assessment.

Regenerate only for a change of behaviour that is meant, and say so in the
commit:

    .venv/bin/python -m tests.screening.golden
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from service.screening.learned import screen_comment
from service.screening.model import DIMENSION, Features, Model
from service.screening.screen import Screen, Signal
from service.settings import AbuseRules, ModelRules, Site
from tests.helpers import DATA

# Compressed: a quarter of the size, and nobody reads it but the test.
GOLDEN = Path(__file__).with_name("screened.jsonl.gz")
# Holding, and at a threshold the fixed model reaches for about a third of
# the corpora, so that explain and the combined verdict are exercised;
# releasing too, which this model (no judge of abuse) does for a few hundred.
SITE = Site(model=ModelRules(holds=True, hold_at=0.6, spam_at=0.97, release_below=0.02, explain=3))
SCREEN = Screen.for_rules(AbuseRules())


def fixed_model() -> Model:
    """Weights in [-3, 3) from a multiplicative hash of the slot: the same
    on every machine and for every numpy, unlike a random generator's."""
    slots = np.arange(DIMENSION, dtype=np.uint64)
    spread = (slots * 0x9E3779B1) % (1 << 32)
    weights = (spread.astype(np.float64) / (1 << 32) * 6.0 - 3.0).astype(np.float32)
    return Model(weights, bias=0.25)


def digest(features: Features) -> str:
    raw = features.indices.astype("<u4").tobytes() + features.values.astype("<f4").tobytes()
    return hashlib.sha256(raw).hexdigest()[:24]


def items() -> Iterator[tuple[str, str, str, str, tuple[Signal, ...]]]:
    """(id, name, body, honeypot, signals) for every corpus item; some with
    a honeypot or a form token's signal, as the accept path passes them."""
    for path in sorted(DATA.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line:
                continue
            item = json.loads(line)
            honeypot = "http://x.example" if n % 17 == 0 else ""
            signals = (Signal("no-form-token", 2.0),) if n % 5 == 0 else ()
            yield f"{path.stem}/{item['id']}", item.get("name", ""), item["body"], honeypot, signals


def screened(model: Model) -> Iterator[dict[str, Any]]:
    for key, name, body, honeypot, signals in items():
        result = screen_comment(SCREEN, model, SITE, name, body, honeypot, signals)
        assert result.features is not None and result.signal is not None
        rules, combined = result.rules, result.assessment
        yield {
            "id": key,
            "score": rules.score,
            "reasons": list(rules.reasons),
            "verdict": rules.verdict,
            "links": rules.links,
            "fingerprint": rules.fingerprint.hex(),
            "features": [len(result.features), digest(result.features)],
            "probability": result.signal.probability,
            "explain": model.explain(result.features, 5),
            "combined": [combined.score, list(combined.reasons), combined.verdict],
        }


def main() -> None:
    lines = (json.dumps(record, ensure_ascii=False) for record in screened(fixed_model()))
    text = "".join(f"{line}\n" for line in lines)
    # mtime=0: the same answers make the same bytes, so git sees no change.
    GOLDEN.write_bytes(gzip.compress(text.encode(), 9, mtime=0))


def read() -> list[dict[str, Any]]:
    lines = gzip.decompress(GOLDEN.read_bytes()).decode().splitlines()
    return [json.loads(line) for line in lines]


if __name__ == "__main__":
    main()
