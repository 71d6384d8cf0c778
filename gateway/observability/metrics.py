"""Every Prometheus series the gateway exports, on a registry of the app's own.

A registry per app: tests build many apps in one process, and the global default registry
would refuse the second. Label values are bounded: routes are the app's route templates,
GraphQL operations are labelled by their *root fields* (schema names such as ``fullinfo``),
never by the client-chosen ``operationName``, which only goes to the log line.
``Metrics`` is the upstream layer's observer (``gateway.upstream.observer``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from gateway.upstream.breaker import BreakerState, CircuitBreaker

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class Metrics:
    """Every series the gateway exports, on one registry served at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "canaduck_requests",
            "HTTP requests answered",
            ["route", "operation", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "canaduck_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("canaduck_requests_in_flight", "Requests being answered", registry=r)
        self.upstream_calls = Counter(
            "canaduck_upstream_calls",
            "Calls to upstream services, by outcome code",
            ["service", "outcome"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "canaduck_upstream_call_duration_seconds",
            "Duration of upstream calls, retries included",
            ["service"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_retries = Counter(
            "canaduck_upstream_retries",
            "Second attempts granted by the retry policy",
            ["service"],
            registry=r,
        )
        self.cache_events = Counter(
            "canaduck_cache_events", "Cache lookups by result", ["service", "result"], registry=r
        )
        self.breaker_state = Gauge(
            "canaduck_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            ["service"],
            registry=r,
        )
        self._shed_children: dict[str, Counter] = {}
        self.shed_requests = Counter(
            "canaduck_shed_requests",
            "Requests answered 503 OVERLOADED at once, past GATEWAY_MAX_IN_FLIGHT",
            ["door"],
            registry=r,
        )
        self.in_flight_limit = Gauge(
            "canaduck_in_flight_limit", "The load shedder's current limit", registry=r
        )
        self.event_loop_lag = Gauge(
            "canaduck_event_loop_lag_seconds",
            "How late the event loop ran the shedder's last 10 ms timer",
            registry=r,
        )
        # For the soak and for operators: tasks that pile up are a leak in the making.
        self.asyncio_tasks = Gauge(
            "canaduck_asyncio_tasks", "asyncio tasks alive in this process", registry=r
        )
        self.asyncio_tasks.set_function(_task_count)
        ProcessCollector(registry=r)  # process_open_fds, process_resident_memory_bytes, ...
        self.cache_errors = Counter(
            "canaduck_cache_errors",
            "Cache calls that failed or timed out (each read as a miss)",
            ["operation"],
            registry=r,
        )
        self.cache_breaker_state = Gauge(
            "canaduck_cache_breaker_state",
            "Cache breaker: 0 closed, 1 half-open, 2 open (the in-process cache stays 0)",
            registry=r,
        )

    def watch_breakers(self, breakers: Mapping[str, CircuitBreaker]) -> None:
        """Read each breaker's state at scrape time (no bookkeeping on the hot path)."""
        for name, breaker in breakers.items():
            self.breaker_state.labels(name).set_function(_state_reader(breaker))

    def watch_cache_breaker(self, breaker: CircuitBreaker | None) -> None:
        if breaker is not None:
            self.cache_breaker_state.set_function(_state_reader(breaker))

    def watch_shedding(self, limit: Callable[[], float], lag: Callable[[], float]) -> None:
        self.in_flight_limit.set_function(limit)
        self.event_loop_lag.set_function(lag)

    def shed(self, door: str) -> None:
        # Under a flood this runs thousands of times a second: the labelled child is
        # looked up once per door (``labels`` takes a lock and builds a key every call).
        child = self._shed_children.get(door)
        if child is None:
            child = self._shed_children[door] = self.shed_requests.labels(door)
        child.inc()

    def cache_error(self, operation: str) -> None:
        self.cache_errors.labels(operation).inc()

    def upstream_call(self, service: str, outcome: str, seconds: float) -> None:
        """One call that went to the network (cache hits never come here)."""
        self.upstream_calls.labels(service, outcome).inc()
        self.upstream_seconds.labels(service).observe(seconds)

    def cache_event(self, service: str, result: str) -> None:
        self.cache_events.labels(service, result).inc()

    def retry(self, service: str) -> None:
        self.upstream_retries.labels(service).inc()


def _task_count() -> float:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no running loop (a scrape outside the server)
        return 0


def _state_reader(breaker: CircuitBreaker) -> Callable[[], float]:
    return lambda: _BREAKER_VALUE[breaker.state]
