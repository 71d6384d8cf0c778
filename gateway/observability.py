"""What operators see: Prometheus metrics and one JSON log line per request.

Metrics live in a registry of the app's own (tests build many apps in one process, and the
global default registry would refuse the second). Label values are bounded: routes are the
app's route templates, GraphQL operations are labelled by their *root fields* (schema
names such as ``fullinfo``), never by the client-chosen ``operationName``, which only goes
to the log line.

``Observe`` is the outermost middleware: it sees every answer, including the 413s and
504s the request scope makes itself, and the request ID that scope put on the response.
Deeper layers add to the request's :class:`RequestRecord` through a context variable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.breaker import BreakerState, CircuitBreaker

if TYPE_CHECKING:
    from gateway.upstreams import Upstream

log = structlog.get_logger("gateway.request")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass
class RequestRecord:
    """What one request did, filled in by the layers it went through."""

    operation: str | None = None  # the client's operationName: logs only
    fields: str | None = None  # root fields, e.g. "fullinfo": bounded, a metrics label
    # Per upstream used: {status, latencyMs, cache, ageSeconds}. GraphQL answers it as
    # extensions.sources, /fullinfo as "sources", and the log line carries it.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


_record: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


def current_record() -> RequestRecord | None:
    return _record.get()


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

    def watch_breakers(self, upstreams: Iterable[Upstream]) -> None:
        """Read each breaker's state at scrape time (no bookkeeping on the hot path)."""
        for upstream in upstreams:
            self.breaker_state.labels(upstream.service).set_function(
                _state_reader(upstream.breaker)
            )

    def upstream_call(self, service: str, outcome: str, seconds: float) -> None:
        """One call that went to the network (cache hits never come here)."""
        self.upstream_calls.labels(service, outcome).inc()
        self.upstream_seconds.labels(service).observe(seconds)

    def source(
        self, service: str, status: str, latency_ms: float, cache: str, age_seconds: float
    ) -> None:
        """Where the request's answer from ``service`` came from."""
        if cache != "off":
            self.cache_events.labels(service, cache).inc()
        record = _record.get()
        if record is not None:
            record.sources[service] = {
                "status": status,
                "latencyMs": round(latency_ms, 1),
                "cache": cache,
                "ageSeconds": round(age_seconds),
            }

    def retry(self, service: str) -> None:
        self.upstream_retries.labels(service).inc()


def _state_reader(breaker: CircuitBreaker) -> Callable[[], float]:
    return lambda: _BREAKER_VALUE[breaker.state]


def _header(message: Message, name: bytes) -> str | None:
    for key, value in message.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class Observe:
    """Count, time and log every HTTP request (pure ASGI, outermost)."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock
        self._paths: frozenset[str] | None = None

    def _route(self, scope: Scope) -> str:
        """The route template, a bounded label ("unmatched" for unknown paths)."""
        route = getattr(scope.get("route"), "path", None)
        if route:
            return str(route)
        # Routes of included routers (Strawberry's among them) leave no "route" in the scope
        # this middleware sees; their paths are fixed, so the OpenAPI paths bound the label.
        if self._paths is None:
            app = scope.get("app")
            self._paths = frozenset(app.openapi()["paths"]) if isinstance(app, FastAPI) else None
        path = str(scope["path"])
        if path.startswith("/static/"):
            return "/static"
        return path if self._paths is not None and path in self._paths else "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        record = RequestRecord()
        token = _record.set(record)
        status = 500
        request_id: str | None = None

        async def observed_send(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                request_id = _header(message, b"x-request-id")
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.metrics.in_flight.dec()
            _record.reset(token)
            seconds = self.clock() - started
            route = self._route(scope)
            self.metrics.requests.labels(route, record.fields or "", str(status)).inc()
            self.metrics.request_seconds.labels(route).observe(seconds)
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                request_id=request_id,
                operation=record.operation,
                fields=record.fields,
                upstreams=record.sources or None,
            )
