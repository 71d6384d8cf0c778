"""Wiring: ``create_app(settings)`` builds the gateway; the lifespan owns the HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from canaduck.logs import configure_structlog
from canaduck.problems import install_problem_handlers
from gateway.config import GatewaySettings
from gateway.context import problem_context
from gateway.dependencies import State
from gateway.errors import Service
from gateway.graphql.endpoint import mount_graphql
from gateway.graphql.subgraph import mount_subgraph
from gateway.live.gate import LiveGate
from gateway.live.hub import LiveHub
from gateway.observability import routes as operator_routes
from gateway.observability.metrics import Metrics
from gateway.observability.middleware import Observe
from gateway.pages import display
from gateway.pages.static_files import STATIC_URL, StaticAssets
from gateway.request_scope import BACKSTOP_GRACE_SECONDS, RequestScope
from gateway.rest import routes as rest_routes
from gateway.rest.fast import RestFastPath
from gateway.shedding import AdaptiveLimit, Drain, LoadShedder
from gateway.upstream.services import Upstreams

# After the drain, how long past its deadline a request in flight may take to finish (its
# backstop answers at deadline + BACKSTOP_GRACE_SECONDS), before uvicorn cancels it.
DRAIN_GRACE_SECONDS = BACKSTOP_GRACE_SECONDS + 0.5

DESCRIPTION = """\
One GraphQL schema over the Canaduck weather and joke services.

* **GraphQL** at `/graphql` (GraphiQL in a browser): `fullinfo(city)` fans out to both
  services concurrently, and each field calls only the service it needs.
* **REST** for legacy scripts: `/weather` and `/joke` pass the services' answers through
  unchanged, `/fullinfo` returns the merged JSON.
* **Display** for wall screens: open `/display?city=Rodez&city=Honolulu` in a browser.
"""


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transports: Mapping[Service, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the gateway. ``transports`` replaces the network per upstream (tests only)."""
    settings = settings or GatewaySettings()
    transports = transports or {}
    metrics = Metrics()
    # Shared polling for subscriptions (gateway.live), its series beside the others.
    live = LiveHub(settings, registry=metrics.registry)
    configure_structlog()  # our events go through logging (CANADUCK_LOG_FORMAT picks the lines)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            upstreams = await Upstreams.open(stack, settings, transports, metrics)
            metrics.watch_breakers({u.service: u.breaker for u in upstreams})
            metrics.watch_cache_breaker(upstreams.cache.backend.breaker)
            await live.open(stack, upstreams)
            yield {"settings": settings, "upstreams": upstreams, "metrics": metrics}

    app = FastAPI(
        title="Canaduck gateway",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        # Prometheus metrics and our own log line say what operators need; FastAPI's native
        # OpenTelemetry would otherwise look for a configured provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_problem_handlers(app, context=problem_context)
    # The fast doors first, so they are the innermost middlewares: /graphql's endpoint and
    # the REST routes' hot path, each in front of FastAPI's routing.
    mount_graphql(app, settings)
    app.add_middleware(RestFastPath)
    # WebSocket and SSE streams on /graphql: counted and bounded apart from plain requests.
    app.add_middleware(LiveGate, hub=live, max_connections=settings.live_max_connections)
    # Middleware added last runs first: Observe (metrics, the request log line) wraps the
    # request scope (ID, deadline, body cap, disconnects), which wraps everything else.
    app.add_middleware(
        RequestScope,
        timeout_seconds=settings.request_timeout_seconds,
        max_body_bytes=settings.max_request_body_bytes,
    )
    app.add_middleware(Observe, metrics=metrics)
    # Outermost of all: a shed request costs no request scope, no log line, no routing.
    drain = Drain(
        seconds=settings.shutdown_drain_seconds,
        grace_seconds=settings.request_timeout_seconds + DRAIN_GRACE_SECONDS,
    )
    limit = AdaptiveLimit(
        ceiling=settings.max_in_flight,
        floor=settings.min_in_flight,
        max_lag_seconds=settings.shed_loop_lag_seconds,
    )
    metrics.watch_shedding(lambda: limit.current, lambda: limit.lag_seconds)
    app.add_middleware(
        LoadShedder,
        limit=limit,
        metrics=metrics,
        drain=drain,
        refusal_pause_seconds=settings.shed_pause_seconds,
    )
    app.include_router(operator_routes.router)
    app.include_router(rest_routes.router)
    app.include_router(display.router)
    mount_subgraph(app, settings)  # /subgraph/graphql, for a federation router (private)
    app.mount(STATIC_URL, StaticAssets(), name="static")
    return app
