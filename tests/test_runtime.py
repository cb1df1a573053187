"""The runtime watches: the event loop's lag and the collector's pauses end up
in the metrics, where an operator (and `make bench`) reads them, without ever
touching the metrics library from inside a collection."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

from service.metrics import Metrics
from service.process.runtime import GcWatch, watch_loop


def _sample(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    value = metrics.registry.get_sample_value(name, labels or {})
    return value or 0.0


async def test_a_callback_that_holds_the_loop_shows_as_lag() -> None:
    metrics = Metrics()
    task = asyncio.create_task(watch_loop(metrics, interval=0.005))
    await asyncio.sleep(0.02)
    time.sleep(0.05)  # noqa: ASYNC251 (holds the loop, as a slow callback would)
    await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    count = _sample(metrics, "loibinh_event_loop_lag_seconds_count")
    total = _sample(metrics, "loibinh_event_loop_lag_seconds_sum")
    under_20ms = _sample(metrics, "loibinh_event_loop_lag_seconds_bucket", {"le": "0.02"})
    assert count >= 2
    # The 50 ms hold is in one observation, at least 45 ms late.
    assert total >= 0.045
    assert under_20ms < count


def test_collections_are_timed_by_generation() -> None:
    metrics = Metrics()
    watch = GcWatch(metrics)
    watch.install()
    try:
        gc.collect()
        gc.collect(0)
    finally:
        watch.remove()
    assert watch not in gc.callbacks
    # Nothing reaches the metric inside a collection (see GcWatch): only at flush.
    assert _sample(metrics, "loibinh_gc_pause_seconds_count", {"generation": "2"}) == 0
    watch.flush()
    full = _sample(metrics, "loibinh_gc_pause_seconds_count", {"generation": "2"})
    young = _sample(metrics, "loibinh_gc_pause_seconds_count", {"generation": "0"})
    assert full >= 1
    assert young >= 1
