"""Two checkouts measured in one run, for the CPU benches (accept_cpu.py,
screen_cpu.py): each round runs the bench's child process once in each tree,
the order flipped every round, so that a drift in the machine's load falls
on both alike. The child is this checkout's script, run with the other
tree's `service` on its path: the same measurement of the other code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def checkouts(base: Path | None) -> dict[str, Path]:
    """ "this" (the checkout the bench runs from) and, if given, "base"."""
    return {"this": HERE.parent} | ({"base": base.resolve()} if base else {})


def alternate(trees: dict[str, Path], rounds: int) -> Iterator[tuple[str, Path]]:
    for round_ in range(rounds):
        order = list(trees.items())
        yield from order if round_ % 2 else reversed(order)


def child_figures(tree: Path, script: str, *args: str) -> Any:
    """What `script --child *args` printed last, as JSON, run in `tree`."""
    out = subprocess.run(
        [sys.executable, str(HERE / script), "--child", *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.splitlines()[-1])
