"""Prometheus metrics. Each app gets its own registry (tests build many apps);
with several worker processes, prometheus-client's multiprocess mode sums the
workers' values so that any worker can answer a scrape."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Accept-path latencies are in the low milliseconds; the default buckets start at 5 ms.
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)

# Event-loop lag and collector pauses: from a tenth of a millisecond (uvloop's
# timers resolve 1 ms) to a stall of a second.
_LAG_BUCKETS = (
    0.0001,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    1.0,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "loibinh_http_requests",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "loibinh_http_request_duration_seconds",
            "Time to answer, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.submissions = Counter(
            "loibinh_submissions",
            "Comment submissions by outcome and reason",
            ["site", "outcome", "reason"],
            registry=r,
        )
        self.captcha_pool = Gauge(
            "loibinh_captcha_pool_level",
            "Pre-rendered challenges waiting in a site's pool",
            ["site"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.captcha_rendered = Counter(
            "loibinh_captcha_rendered",
            "Challenges rendered",
            ["site"],
            registry=r,
        )
        self.captcha_pool_empty = Counter(
            "loibinh_captcha_pool_empty",
            "Challenges rendered on demand because the pool was empty",
            ["site"],
            registry=r,
        )

        self.captcha_checks = Counter(
            "loibinh_captcha_checks",
            "Third-party captcha checks by outcome: passed, refused (the reader's "
            "token), unavailable (the provider or the site's keys)",
            ["site", "provider", "outcome"],
            registry=r,
        )
        self.captcha_check_latency = Histogram(
            "loibinh_captcha_check_duration_seconds",
            "Time a third-party captcha check took, retries included",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        # Operations: the moderation backlog, what moderators and webhooks
        # did, and how Redis behaved.
        self.queue_depth = Gauge(
            "loibinh_queue_depth",
            "Comments in each moderation state, read from Redis at each scrape",
            ["site", "state"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.decisions = Counter(
            "loibinh_moderation_decisions",
            "Moderation decisions by action and outcome, as each item's result reports them",
            ["site", "action", "outcome"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "loibinh_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (failed, tried again "
            "later) or dead (failed for the last time: a dead letter)",
            ["site", "outcome"],
            registry=r,
        )
        self.redis_errors = Counter(
            "loibinh_redis_errors",
            "Requests answered 503 because Redis could not be reached or timed out",
            ["route"],
            registry=r,
        )
        self.redis_failovers = Counter(
            "loibinh_redis_failovers",
            "Times readiness found Redis back after finding it unreachable: a failover "
            "on Sentinel or Cluster, a restart on a single Redis",
            registry=r,
        )
        self.draining = Gauge(
            "loibinh_draining",
            "1 from SIGTERM until the process exits: readiness answers 503 meanwhile",
            registry=r,
            multiprocess_mode="max",
        )
        # The process and the Python runtime: memory, CPU, file descriptors,
        # garbage collections. With several workers these describe the worker
        # that answers the scrape (prometheus-client cannot sum them).
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(collector)
        self._redis_down = False
        self.loop_lag = Histogram(
            "loibinh_event_loop_lag_seconds",
            "How much later than asked a worker's event loop woke a timer: the "
            "time other work held the loop",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.gc_pause = Histogram(
            "loibinh_gc_pause_seconds",
            "Pauses of the cyclic garbage collector, by generation",
            ["generation"],
            buckets=_LAG_BUCKETS,
            registry=r,
        )

        # Children by label values, cached: labels() costs more than inc().
        self._answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._submitted: dict[tuple[str, str, str], Any] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        # Methods are the client's to choose: unknown ones share a label, so
        # that no one can grow the series without bound.
        method = method if method in _METHODS else "OTHER"
        key = (route, method, status)
        children = self._answered.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route),
            )
            self._answered[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def submitted(self, site: str, outcome: str, reason: str) -> None:
        key = (site, outcome, reason)
        child = self._submitted.get(key)
        if child is None:
            child = self._submitted[key] = self.submissions.labels(site, outcome, reason)
        child.inc()

    def redis_reachable(self, reachable: bool) -> None:
        """What readiness found; Redis found back after an outage counts as a failover."""
        if reachable and self._redis_down:
            self.redis_failovers.inc()
        self._redis_down = not reachable

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                registry.register(collector)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
