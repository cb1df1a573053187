"""What holds a worker's event loop, measured where it happens: the loop's
scheduling delay (a small task that asks to wake up every so often and
records how late it woke) and the cyclic garbage collector's pauses, both
exported as metrics. A tail latency that the handlers' own timings do not
explain shows up in one of these."""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from typing import Any

from service.background import checkpoint
from service.metrics import Metrics

# Often enough to catch a stall of a few milliseconds within a second, rarely
# enough to cost nothing (ten wake-ups a second).
LAG_INTERVAL_SECONDS = 0.1


class GcWatch:
    """Times each collection of the cyclic garbage collector, by generation,
    through gc.callbacks: a pause holds the loop like any other callback.

    The callback only appends to a deque: a collection can start inside any
    allocation, prometheus-client's own included, while it holds its
    (non-reentrant) lock, so observing there would deadlock the worker.
    `flush` moves the pauses into the metric, from the loop."""

    def __init__(self, metrics: Metrics) -> None:
        self._children = [metrics.gc_pause.labels(str(g)) for g in range(3)]
        self._started = 0.0
        self._pauses: deque[tuple[int, float]] = deque(maxlen=10_000)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pauses.append((info["generation"], time.perf_counter() - self._started))

    def flush(self) -> None:
        pauses = self._pauses
        while pauses:
            generation, seconds = pauses.popleft()
            self._children[generation].observe(seconds)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


async def watch_loop(
    metrics: Metrics, gc_watch: GcWatch | None = None, interval: float = LAG_INTERVAL_SECONDS
) -> None:
    """Records, every `interval`, how much later than asked the loop woke this
    task: the time some other callback held the loop. uvloop's timers have
    millisecond resolution, so lags under 1 ms read as 0 to 1 ms. Also moves
    the collector's pauses into their metric."""
    observe = metrics.loop_lag.observe
    clock = time.perf_counter
    while True:
        checkpoint()
        asked = clock()
        await asyncio.sleep(interval)
        observe(max(0.0, clock() - asked - interval))
        if gc_watch is not None:
            gc_watch.flush()


def freeze_start_up() -> None:
    """Moves everything start-up allocated (modules, settings, compiled word
    lists, the learned model) out of the collector's reach: a full collection
    then scans only what requests allocate, instead of every long-lived
    object each time."""
    gc.collect()
    gc.freeze()
