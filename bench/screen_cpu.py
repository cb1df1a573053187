"""CPU of the text screening of one submission (screen_comment: the rules,
the features and the base model), over every comment of the corpora in
tests/data, as the accept path calls it for a site with default settings.

time.thread_time() over a pass through the corpora, divided by its size:
the worker's own CPU, which a busy shared machine does not blur. Caches of
words and names are warm after the first pass, as in a running worker.

To compare two checkouts in the same run, give the other one with --base:
passes alternate between the two (each in its own child process) and the
medians are printed side by side.

    .venv/bin/python bench/screen_cpu.py [--passes 5] [--rounds 5] [--base DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from alternating import alternate, checkouts, child_figures  # noqa: E402 (bench/ is not a package)


def comments(root: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted((root / "tests" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line:
                item = json.loads(line)
                found.append((item.get("name") or "Bạn đọc", item["body"][:5000] or "Hay"))
    return found


def measure(passes: int) -> dict[str, list[float]]:
    """CPU microseconds per comment, one figure per pass, for all comments
    and for the short ones (under 200 characters, most of a news site's)."""
    from service.screening.learned import screen_comment
    from service.screening.model import base_model
    from service.screening.screen import Screen
    from service.settings import Site

    site = Site()
    screen, model = Screen.for_rules(site.abuse), base_model()
    everything = comments(Path.cwd())
    short = [c for c in everything if len(c[1]) < 200]
    figures: dict[str, list[float]] = {"all": [], "short": []}
    for n in range(passes + 1):  # the first pass warms the caches up
        for kind, items in (("all", everything), ("short", short)):
            started = time.thread_time()
            for name, body in items:
                screen_comment(screen, model, site, name, body)
            if n:
                figures[kind].append((time.thread_time() - started) / len(items) * 1e6)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5, help="passes per child process")
    parser.add_argument("--rounds", type=int, default=5, help="child processes per tree")
    parser.add_argument("--base", type=Path, help="another checkout to measure alongside")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.passes)))
        return 0
    trees = checkouts(args.base)
    figures: dict[str, dict[str, list[float]]] = {t: {"all": [], "short": []} for t in trees}
    for name, tree in alternate(trees, args.rounds):
        for kind, values in child_figures(
            tree, "screen_cpu.py", "--passes", str(args.passes)
        ).items():
            figures[name][kind] += values
    for kind in ("all", "short"):
        medians = {t: statistics.median(figures[t][kind]) for t in trees}
        line = ", ".join(f"{t} {m:.1f} us" for t, m in medians.items())
        ratio = f" ({medians['this'] / medians['base']:.2f} of base)" if args.base else ""
        print(f"{kind} comments: {line} CPU per comment{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
